"""`-p KEY=VALUE` values read as YAML scalars, with dates and times kept as typed strings."""

from __future__ import annotations

from typing import Any

import yaml


class _NoTimestampLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver.

    Why: a command's params travel as JSON, which has no date type; `2026-11-01` read as a
    `datetime.date` could not be encoded (a traceback at send time). The flow validates
    dates from strings itself, so the value stays exactly as the operator typed it.
    """


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """Each `KEY=VALUE` as a YAML scalar (numbers, booleans, lists); dates stay strings.

    Raises:
        ValueError: a pair without `=` or a value that is not YAML (names the key).
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {pair!r}: expected KEY=VALUE")
        try:
            params[key] = yaml.load(value, Loader=_NoTimestampLoader) if value else ""
        except yaml.YAMLError as exc:
            raise ValueError(f"--param {key}: value is not valid YAML: {exc}") from exc
    return params

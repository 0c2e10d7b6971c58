"""The checks behind `engine.config.loader`: one deployment file, every error with its line.

Reading, line numbers, duplicate and unknown keys and plain types come from
`engine.contract.checked_yaml`; this module adds what only a deployment has (cron lines, time zones,
flow parameters).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from engine.config.schedule_checks import check_schedule
from engine.config.secret_checks import check_secret_parameters
from engine.config.spec import PLACEHOLDER_RE, PLACEHOLDERS, ConfigError, DeploymentSpec
from engine.contract.checked_yaml import (
    CheckedFile,
    Entry,
    has_type,
    read_checked,
    suggest,
    type_name,
)
from engine.contract.logical_date import template_errors
from engine.pipeline import locations
from engine.pipeline.flows import FLOWS

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TOP_KEYS = (
    "name",
    "version",
    "schedule",
    "flow_name",
    "parameters",
    "description",
    "protected",
    "tags",
    "work_pool",
    "work_queue",
    "secret_parameters",
)
_SCHEDULE_KEYS = ("cron", "timezone")
_BANNED_IN_NAMES = frozenset("/%&><")
"""Characters Prefect refuses in work pool and queue names."""
_SIMPLE_TYPES: tuple[type, ...] = (str, int, float, bool)


def load_file(path: Path) -> tuple[DeploymentSpec | None, list[ConfigError], int | None]:
    """Like `load_deployment_file`, plus the line of `name` for cross-file errors."""
    check = read_checked(path)
    top = check.top(
        _TOP_KEYS,
        expected="keys (name, version, schedule, flow_name, ...)",
        empty="file is empty; a deployment needs at least name, version, schedule and "
        "flow_name (see config/README.md), or delete the file",
    )
    if top is None or check.root is None:
        return None, check.sorted_errors(), None
    top_line = check.root.start_mark.line + 1
    missing_hints = {
        "name": "add e.g. `name: ai-inference-prod`",
        "version": 'add e.g. `version: "1.0.0"`',
        "schedule": 'add `schedule:` with `cron: "0 2 * * *"` and optionally `timezone:`',
        "flow_name": f"add `flow_name:` naming one of: {', '.join(sorted(FLOWS))}",
    }
    for key, hint in missing_hints.items():
        if key not in top and not check.already_explained(key):
            check.error(top_line, key, f"required key is missing; {hint}")

    name = _check_name(check, top.get("name"))
    version = _check_version(check, top.get("version"))
    cron, timezone = check_schedule(check, top.get("schedule"))
    flow_name = _check_flow_name(check, top.get("flow_name"))
    parameters = _check_parameters(check, top.get("parameters"), flow_name, top.get("flow_name"))

    description = ""
    if (entry := top.get("description")) is not None:
        description = check.expect(entry, str) or ""
    protected = False
    if (entry := top.get("protected")) is not None:
        protected = check.expect(entry, bool) or False
    tags: tuple[str, ...] = ()
    if (entry := top.get("tags")) is not None:
        if isinstance(entry.value, list) and all(isinstance(t, str) for t in entry.value):
            tags = tuple(entry.value)
        else:
            check.error(entry.value_line, "tags", "must be a list of strings, e.g. [nightly, ml]")

    work_pool, work_queue = _check_pool(check, top.get("work_pool"), top.get("work_queue"))
    secret = check_secret_parameters(check, top.get("secret_parameters"), parameters, flow_name)

    name_line = top["name"].value_line if "name" in top else None
    if (
        check.errors
        or name is None
        or version is None
        or cron is None
        or timezone is None
        or flow_name is None
        or parameters is None
    ):
        return None, check.sorted_errors(), name_line
    spec = DeploymentSpec(
        name=name,
        version=version,
        cron=cron,
        timezone=timezone,
        flow_name=flow_name,
        parameters=parameters,
        path=path,
        description=description,
        protected=protected,
        tags=tags,
        work_pool=work_pool,
        work_queue=work_queue,
        secret_parameters=secret,
    )
    return spec, [], name_line


def _check_pool(check: CheckedFile, pool: Entry | None, queue: Entry | None) -> tuple[str, str]:
    """`work_pool` and `work_queue`: Prefect names, and a queue only inside a pool."""
    names = {"work_pool": "", "work_queue": ""}
    for key, entry in (("work_pool", pool), ("work_queue", queue)):
        if entry is None:
            continue
        value = entry.value
        if not isinstance(value, str) or not value.strip() or _BANNED_IN_NAMES & set(value):
            check.error(
                entry.value_line,
                key,
                f"must be a Prefect {key.replace('_', ' ')} name (a non-empty string without "
                f"{' '.join(sorted(_BANNED_IN_NAMES))}), e.g. `{key}: gpu-hosts`; got {value!r}",
            )
            continue
        names[key] = value
    if queue is not None and pool is None:
        check.error(
            queue.key_line,
            "work_queue",
            "a work queue needs a pool: add `work_pool: NAME` (or remove `work_queue` to let "
            "the engine serve this deployment itself)",
        )
    return names["work_pool"], names["work_queue"]


def _check_name(check: CheckedFile, entry: Entry | None) -> str | None:
    if entry is None:
        return None
    if not isinstance(entry.value, str) or not _NAME_RE.match(entry.value):
        check.error(
            entry.value_line,
            "name",
            f"{entry.value!r} is not a valid deployment name; use lowercase letters, digits, "
            "'.', '_' and '-', starting with a letter or digit (e.g. ai-inference-prod)",
        )
        return None
    return entry.value


def _check_version(check: CheckedFile, entry: Entry | None) -> str | None:
    if entry is None:
        return None
    value = entry.value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # YAML turns `version: 1.10` into the float 1.1; show the text as written.
        raw = entry.node.value if isinstance(entry.node, yaml.ScalarNode) else value
        check.error(
            entry.value_line,
            "version",
            f'{raw} was read as a number; quote it: version: "{raw}"',
        )
        return None
    if not isinstance(value, str) or not value.strip():
        check.error(
            entry.value_line, "version", f'must be a non-empty string like "1.0.0", got {value!r}'
        )
        return None
    return value


def _check_flow_name(check: CheckedFile, entry: Entry | None) -> str | None:
    if entry is None:
        return None
    known = ", ".join(sorted(FLOWS))
    if not isinstance(entry.value, str) or entry.value not in FLOWS:
        check.error(
            entry.value_line,
            "flow_name",
            f"unknown flow {entry.value!r}; known flows: {known} (see engine/pipeline/flows.py)",
        )
        return None
    return entry.value


def _check_parameters(
    check: CheckedFile,
    entry: Entry | None,
    flow_name: str | None,
    flow_entry: Entry | None,
) -> dict[str, Any] | None:
    entries: dict[str, Entry] = {}
    if entry is not None:
        must_be = f"must be a mapping of parameter name -> value, got {type_name(entry.value)}"
        given = check.sub_mapping(entry, must_be, None)
        if given is None:
            return None
        entries = given

    for key, param in entries.items():
        for text in _strings(param.value):
            for placeholder in PLACEHOLDER_RE.findall(text):
                if placeholder not in PLACEHOLDERS and placeholder != "date":
                    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                    check.error(
                        param.value_line,
                        f"parameters.{key}",
                        f"unknown placeholder {{{placeholder}}}; known placeholders: {known}, "
                        "{date} and {date:FORMAT} (the run's logical date)",
                    )
            for bad_template in template_errors(text):
                check.error(param.value_line, f"parameters.{key}", bad_template)
    if "logical_date" in entries:
        check.error(
            entries["logical_date"].key_line,
            "parameters.logical_date",
            "is set per run (its fire time, or a trigger's --date), not in the deployment "
            "file; remove it and write {date:%Y-%m-%d} in the parameters that depend on it",
        )

    for key in locations.DATA_PARAMETERS:
        location = entries.get(key)
        if location is not None and isinstance(location.value, str):
            problem = locations.missing_support(location.value)
            if problem is not None:
                check.error(location.value_line, f"parameters.{key}", problem)

    if flow_name is None:
        # Without a known flow there is no signature to check against; the flow_name
        # error already says what to fix.
        return {key: e.value for key, e in entries.items()}

    flow = FLOWS[flow_name]
    try:
        signature = inspect.signature(flow.fn, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        signature = inspect.signature(flow.fn)
    params = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = [
        n
        for n, p in params.items()
        if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]

    for key, param in entries.items():
        if key not in params or key not in named:
            if not takes_any:
                check.error(
                    param.key_line,
                    f"parameters.{key}",
                    f"flow {flow_name} has no parameter {key!r}; {suggest(key, named)}",
                )
            continue
        annotation = params[key].annotation
        if annotation in _SIMPLE_TYPES and not has_type(param.value, annotation):
            quote = " (quote it)" if annotation is str else ""
            check.error(
                param.value_line,
                f"parameters.{key}",
                f"flow {flow_name} expects {annotation.__name__}, got "
                f"{type_name(param.value)} {param.value!r}{quote}",
            )

    required = [
        n for n in named if params[n].default is inspect.Parameter.empty and n not in entries
    ]
    if required:
        anchor = entry or flow_entry
        check.error(
            anchor.key_line if anchor else None,
            "parameters",
            f"flow {flow_name} requires parameter(s) {', '.join(required)}; "
            "add them under `parameters:`",
        )
    return {key: e.value for key, e in entries.items()}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)

"""The `secret_parameters:` key of a deployment file: a list of the flow's parameter names."""

from __future__ import annotations

import inspect
from typing import Any

import yaml

from engine.contract.checked_yaml import CheckedFile, Entry, suggest
from engine.pipeline.flows import FLOWS


def check_secret_parameters(
    check: CheckedFile,
    entry: Entry | None,
    parameters: dict[str, Any] | None,
    flow_name: str | None,
) -> frozenset[str]:
    """`secret_parameters: [name, ...]`: each a parameter of the flow (set here or not)."""
    if entry is None:
        return frozenset()
    value = entry.value
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        check.error(
            entry.value_line,
            "secret_parameters",
            "must be a list of parameter names, e.g. [api_token]",
        )
        return frozenset()
    if flow_name is not None:
        named = [
            n
            for n, p in inspect.signature(FLOWS[flow_name].fn).parameters.items()
            if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
        ]
        known = set(named) | set(parameters or {})
        items = entry.node.value if isinstance(entry.node, yaml.SequenceNode) else []
        lines = [item.start_mark.line + 1 for item in items] or [entry.value_line] * len(value)
        for name, line in zip(value, lines, strict=False):
            if name not in known:
                check.error(
                    line,
                    "secret_parameters",
                    f"flow {flow_name} has no parameter {name!r}; {suggest(name, named)}",
                )
    return frozenset(value)

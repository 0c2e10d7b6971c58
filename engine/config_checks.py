"""The checks behind `engine.config`: one deployment file, every error with its line.

Line numbers come from the YAML node tree (`yaml.compose`), not from guessing.
"""

from __future__ import annotations

import difflib
import inspect
import re
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter
from yaml.constructor import SafeConstructor

from engine.deployment_spec import PLACEHOLDER_RE, PLACEHOLDERS, ConfigError, DeploymentSpec
from engine.flows import FLOWS

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
)
_SCHEDULE_KEYS = ("cron", "timezone")
_SIMPLE_TYPES: tuple[type, ...] = (str, int, float, bool)


@dataclass
class _Entry:
    """A mapping value with the lines needed to point at it."""

    key_line: int
    value_line: int
    node: yaml.Node
    value: Any


class _FileCheck:
    """Collects the errors of one file while its node tree is walked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[ConfigError] = []
        self._constructor = SafeConstructor()
        self._suggested: set[str] = set()

    def already_explained(self, dotted: str) -> bool:
        """Whether an error already covers `dotted` (an error on it, or a typo of it that
        was answered with "did you mean"), so "required key is missing" would be noise."""
        return dotted in self._suggested or any(e.field == dotted for e in self.errors)

    def error(self, line: int | None, field_name: str, message: str) -> None:
        self.errors.append(ConfigError(self.path, line, field_name, message))

    def mapping(
        self, node: yaml.MappingNode, prefix: str, known: Sequence[str] | None
    ) -> dict[str, _Entry]:
        """The entries of `node`; reports non-string, duplicate and (if `known` is given)
        unknown keys. Entries that fail are left out."""
        entries: dict[str, _Entry] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag.endswith(":str")):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "(complex)"
                self.error(key_line, prefix.rstrip("."), f"key {shown!r} must be a plain name")
                continue
            key = str(key_node.value)
            dotted = prefix + key
            if key in entries:
                self.error(
                    key_line,
                    dotted,
                    f"duplicate key (first at line {entries[key].key_line}); "
                    "YAML would silently keep only the last one, so remove one of them",
                )
                continue
            if known is not None and key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                self._suggested.update(prefix + c for c in close)
                self.error(key_line, dotted, f"unknown key {key!r}; {_suggest(key, known)}")
                continue
            try:
                value = self._constructor.construct_object(value_node, deep=True)
            except yaml.YAMLError as exc:
                self.error(key_line, dotted, f"cannot read value: {exc}")
                continue
            entries[key] = _Entry(key_line, value_node.start_mark.line + 1, value_node, value)
        return entries


def _suggest(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    listed = ", ".join(known)
    return f"did you mean {close[0]!r}? (known: {listed})" if close else f"known: {listed}"


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def load_file(path: Path) -> tuple[DeploymentSpec | None, list[ConfigError], int | None]:
    """Like `load_deployment_file`, plus the line of `name` for cross-file errors."""
    check = _FileCheck(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        check.error(None, "", f"cannot read file: {exc}; check it exists and is UTF-8 text")
        return None, check.errors, None

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or str(exc)
        if exc.context:
            detail = f"{detail} ({exc.context})"
        check.error(
            mark.line + 1 if mark else None, "", f"invalid YAML: {detail}; fix the syntax there"
        )
        return None, check.errors, None
    except yaml.YAMLError as exc:
        check.error(None, "", f"invalid YAML: {exc}")
        return None, check.errors, None

    if root is None:
        check.error(
            None,
            "",
            "file is empty; a deployment needs at least name, version, schedule and flow_name "
            "(see config/README.md), or delete the file",
        )
        return None, check.errors, None
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        check.error(
            root.start_mark.line + 1,
            "",
            f"expected a mapping of keys (name, version, schedule, flow_name, ...), got {kind}",
        )
        return None, check.errors, None

    top = check.mapping(root, "", _TOP_KEYS)
    top_line = root.start_mark.line + 1
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
    cron, timezone = _check_schedule(check, top.get("schedule"))
    flow_name = _check_flow_name(check, top.get("flow_name"))
    parameters = _check_parameters(check, top.get("parameters"), flow_name, top.get("flow_name"))

    description = ""
    if (entry := top.get("description")) is not None:
        if isinstance(entry.value, str):
            description = entry.value
        else:
            check.error(
                entry.value_line, "description", f"must be a string, got {_type_name(entry.value)}"
            )
    protected = False
    if (entry := top.get("protected")) is not None:
        if isinstance(entry.value, bool):
            protected = entry.value
        else:
            check.error(
                entry.value_line,
                "protected",
                f"must be true or false, got {_type_name(entry.value)} {entry.value!r}",
            )
    tags: tuple[str, ...] = ()
    if (entry := top.get("tags")) is not None:
        if isinstance(entry.value, list) and all(isinstance(t, str) for t in entry.value):
            tags = tuple(entry.value)
        else:
            check.error(entry.value_line, "tags", "must be a list of strings, e.g. [nightly, ml]")

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
        return None, check.errors, name_line
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
    )
    return spec, [], name_line


def _check_name(check: _FileCheck, entry: _Entry | None) -> str | None:
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


def _check_version(check: _FileCheck, entry: _Entry | None) -> str | None:
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


def _check_schedule(check: _FileCheck, entry: _Entry | None) -> tuple[str | None, str | None]:
    if entry is None:
        return None, None
    if not isinstance(entry.node, yaml.MappingNode):
        check.error(
            entry.value_line,
            "schedule",
            'must be a mapping with `cron: "0 2 * * *"` and optionally `timezone: UTC`',
        )
        return None, None
    sub = check.mapping(entry.node, "schedule.", _SCHEDULE_KEYS)

    cron: str | None = None
    cron_entry = sub.get("cron")
    if cron_entry is None:
        if not check.already_explained("schedule.cron"):
            check.error(
                entry.key_line, "schedule.cron", 'required key is missing; add `cron: "0 2 * * *"`'
            )
    elif not isinstance(cron_entry.value, str):
        check.error(
            cron_entry.value_line,
            "schedule.cron",
            f'must be a quoted string such as "0 2 * * *", got {_type_name(cron_entry.value)}',
        )
    elif len(cron_entry.value.split()) != 5 or not croniter.is_valid(cron_entry.value):
        check.error(
            cron_entry.value_line,
            "schedule.cron",
            f"{cron_entry.value!r} is not a valid cron expression (5 fields: minute hour "
            'day-of-month month day-of-week, e.g. "0 2,14 * * *" for 02:00 and 14:00)',
        )
    else:
        cron = cron_entry.value

    timezone: str | None = "UTC"
    tz_entry = sub.get("timezone")
    if tz_entry is not None:
        timezone = _check_timezone(check, tz_entry)
    return cron, timezone


def _check_timezone(check: _FileCheck, entry: _Entry) -> str | None:
    value = entry.value
    if not isinstance(value, str):
        check.error(
            entry.value_line,
            "schedule.timezone",
            f"must be an IANA time zone name such as Asia/Shanghai, got {_type_name(value)}",
        )
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        known = zoneinfo.available_timezones()
        by_fold = {tz.casefold(): tz for tz in known}
        close = [by_fold[value.casefold()]] if value.casefold() in by_fold else []
        close = close or difflib.get_close_matches(value, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as Europe/London"
        check.error(entry.value_line, "schedule.timezone", f"unknown time zone {value!r}; {hint}")
        return None
    return value


def _check_flow_name(check: _FileCheck, entry: _Entry | None) -> str | None:
    if entry is None:
        return None
    known = ", ".join(sorted(FLOWS))
    if not isinstance(entry.value, str) or entry.value not in FLOWS:
        check.error(
            entry.value_line,
            "flow_name",
            f"unknown flow {entry.value!r}; known flows: {known} (see engine/flows/__init__.py)",
        )
        return None
    return entry.value


def _check_parameters(
    check: _FileCheck,
    entry: _Entry | None,
    flow_name: str | None,
    flow_entry: _Entry | None,
) -> dict[str, Any] | None:
    entries: dict[str, _Entry] = {}
    if entry is not None:
        if not isinstance(entry.node, yaml.MappingNode):
            check.error(
                entry.value_line,
                "parameters",
                f"must be a mapping of parameter name -> value, got {_type_name(entry.value)}",
            )
            return None
        entries = check.mapping(entry.node, "parameters.", None)

    for key, param in entries.items():
        for text in _strings(param.value):
            for placeholder in PLACEHOLDER_RE.findall(text):
                if placeholder not in PLACEHOLDERS:
                    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                    check.error(
                        param.value_line,
                        f"parameters.{key}",
                        f"unknown placeholder {{{placeholder}}}; known placeholders: {known}",
                    )

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
                    f"flow {flow_name} has no parameter {key!r}; {_suggest(key, named)}",
                )
            continue
        annotation = params[key].annotation
        if annotation in _SIMPLE_TYPES and not _has_type(param.value, annotation):
            quote = " (quote it)" if annotation is str else ""
            check.error(
                param.value_line,
                f"parameters.{key}",
                f"flow {flow_name} expects {annotation.__name__}, got "
                f"{_type_name(param.value)} {param.value!r}{quote}",
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


def _has_type(value: Any, annotation: type) -> bool:
    # bool is an int subclass; `retries: true` for an int parameter is a mistake.
    if annotation is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if annotation is float:
        return isinstance(value, (int, float))
    return isinstance(value, annotation)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)

"""The trigger form's logic, without Textual: fields from a deployment's parameter schema,
typed validation of what was entered, and what will run.

The schema is the OpenAPI document the engine publishes as the deployment doc's
`parameter_schema` (docs/redis-keys.md). Defaults are the deployment's parameters, else the
flow's own defaults; a trigger sends only the values that differ from them (the engine
merges them over the deployment's parameters and checks them again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from engine.contract.documents import Deployment
from engine.contract.logical_date import (
    LOGICAL_DATE_PARAM,
    in_zone,
    parse_logical_date,
    render,
    uses_logical_date,
)
from engine.contract.retry_plan import RETRY_PARAMETERS
from engine.contract.secrets import fingerprint

Kind = Literal["str", "int", "float", "bool", "enum", "json"]

_KINDS: dict[str, Kind] = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "json",
    "object": "json",
}
_KIND_WORDS: dict[Kind, str] = {
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "yes/no",
    "enum": "one of",
    "json": "JSON",
}


@dataclass(frozen=True)
class ParamField:
    """One parameter as the form shows it."""

    name: str
    kind: Kind
    required: bool
    """The flow has no default for it: a value must be given (the deployment's counts)."""
    has_default: bool
    default: Any = None
    """The deployment's value, else the flow's default."""
    nullable: bool = False
    """Optional in the flow's signature: an empty entry means null."""
    choices: tuple[Any, ...] = ()
    json_type: str = ""
    """`array` or `object` for JSON fields."""
    description: str = ""
    secret: bool = False
    """Marked secret in the deployment file: the input is masked, its default is the
    value's fingerprint, and nothing shows what is typed (engine/contract/secrets.py)."""

    @property
    def type_word(self) -> str:
        if self.kind == "enum":
            return "one of " + ", ".join(str(c) for c in self.choices)
        return _KIND_WORDS[self.kind] + (" or empty" if self.nullable else "")


def fields_from_schema(
    schema: Any,
    deployment_params: Any,
    hidden: frozenset[str] = RETRY_PARAMETERS,
    secret: frozenset[str] = frozenset(),
) -> list[ParamField]:
    """The form's fields, in the flow signature's order. Empty for a missing schema.

    Parameters in `hidden` are left out: by default the retry controls (`refresh_cache`,
    `from_task`), which a retry sets, not a trigger. Those in `secret` (the deployment's
    `secret_parameters`) and those the schema marks `writeOnly` are secret fields.
    """
    if not isinstance(schema, dict):
        return []
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    definitions = schema.get("definitions") or schema.get("$defs") or {}
    required = set(schema.get("required") or [])
    params = deployment_params if isinstance(deployment_params, dict) else {}
    ordered = sorted(
        properties.items(),
        key=lambda item: (item[1].get("position", 1_000_000), item[0]),
    )
    return [
        _field(name, prop, name in required, params, definitions, name in secret)
        for name, prop in ordered
        if name not in hidden
    ]


def hidden_fields(schema: Any, hidden: frozenset[str] = RETRY_PARAMETERS) -> list[str]:
    """Names of the schema's parameters the form leaves out, in signature order."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    return sorted(
        (name for name in properties if name in hidden),
        key=lambda name: (properties[name].get("position", 1_000_000), name),
    )


def _resolve(prop: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    if ref is None and isinstance(prop.get("allOf"), list) and len(prop["allOf"]) == 1:
        ref = prop["allOf"][0].get("$ref")
    if isinstance(ref, str):
        target = definitions.get(ref.rsplit("/", 1)[-1])
        if isinstance(target, dict):
            return {**target, **{k: v for k, v in prop.items() if k not in ("$ref", "allOf")}}
    return prop


def _field(
    name: str,
    prop: dict[str, Any],
    required: bool,
    params: dict[str, Any],
    definitions: dict[str, Any],
    secret: bool = False,
) -> ParamField:
    secret = secret or prop.get("writeOnly") is True
    prop = _resolve(prop, definitions)
    nullable = False
    variants = prop.get("anyOf")
    if isinstance(variants, list):
        concrete = [_resolve(v, definitions) for v in variants if v.get("type") != "null"]
        nullable = len(concrete) < len(variants)
        if len(concrete) == 1:
            prop = {**concrete[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    choices = tuple(prop["enum"]) if isinstance(prop.get("enum"), list) else ()
    json_type = str(prop.get("type") or "")
    kind: Kind = "enum" if choices else _KINDS.get(json_type, "json")
    has_default = name in params or "default" in prop
    default = params[name] if name in params else prop.get("default")
    return ParamField(
        name=name,
        kind=kind,
        required=required,
        has_default=has_default,
        default=default,
        nullable=nullable,
        choices=choices,
        json_type=json_type if kind == "json" else "",
        description=str(prop.get("description") or ""),
        secret=secret,
    )


def initial_text(param: ParamField) -> str:
    """What a text input shows at first: the default, as it would be typed."""
    value = param.default
    if param.secret or not param.has_default or value is None:
        return ""  # a secret's default is its fingerprint: typing over it would send that
    if param.kind == "json":
        return json.dumps(value)
    return str(value)


def placeholder(param: ParamField) -> str:
    """What an empty text input shows: what leaving it empty means, worded so it cannot be
    taken for a value that is already there (a bare `text` or `0` reads like one)."""
    wanted = {"str": "text", "int": "a whole number", "float": "a number"}.get(param.kind, "JSON")
    if param.secret:
        if param.has_default:
            return f"secret: empty keeps {shown_value(param, param.default)}"
        return f"secret, not shown; type {wanted}"
    if param.required:
        return f"empty: required, type {wanted}"
    if param.nullable:
        return "empty: sends null"
    if param.name == LOGICAL_DATE_PARAM:
        return "empty: now; or a date, YYYY-MM-DD"
    if param.kind == "str":
        return "empty: sends empty text"
    return f"empty: type {wanted}"


def parse_value(param: ParamField, raw: Any) -> Any:
    """The typed value of one entry: text for str/int/float/json, bool, or an enum choice.

    Raises:
        ValueError: what is wrong, phrased for the operator (without the field name).
    """
    if param.kind == "bool":
        if not isinstance(raw, bool):
            raise ValueError(f"must be yes or no, not {raw!r}")
        return raw
    if param.kind == "enum":
        if raw is None and param.nullable:
            return None
        if raw not in param.choices:
            raise ValueError("pick one of " + ", ".join(str(c) for c in param.choices))
        return raw
    text = "" if raw is None else str(raw)
    if not text.strip():
        if param.nullable:
            return None
        if param.required:
            raise ValueError("required: type a value")
        if param.kind == "str":
            return ""
        raise ValueError(f"type a {_KIND_WORDS[param.kind]}")
    if param.name == LOGICAL_DATE_PARAM:
        # Checked here so a typo is named in the form; the engine reads it in the zone.
        parse_logical_date(text, "UTC")
    if param.kind == "str":
        return text
    if param.kind == "int":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"must be a whole number, not {text!r}") from None
    if param.kind == "float":
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError(f"must be a number, not {text!r}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be JSON: {exc.msg} at column {exc.colno}") from None
    expected = {"array": list, "object": dict}.get(param.json_type)
    if expected is not None and not isinstance(value, expected):
        raise ValueError(f"must be a JSON {param.json_type}")
    return value


def parse_entry(param: ParamField, raw: Any) -> Any:
    """`parse_value`, except that an empty secret entry keeps the deployment's value (its
    fingerprint, which the engine knows to leave alone) and a secret's error never quotes
    what was typed.

    Raises:
        ValueError: as `parse_value`.
    """
    if not param.secret:
        return parse_value(param, raw)
    if (raw is None or raw == "") and param.has_default:
        return param.default
    try:
        return parse_value(param, raw)
    except ValueError:
        raise ValueError(f"expected {param.type_word}; the entry is not shown") from None


def shown_value(param: ParamField | None, value: Any) -> str:
    """A value as the form, the preview and notifications show it: JSON, or a secret's
    fingerprint."""
    if param is not None and param.secret:
        return fingerprint(value)
    return json.dumps(value)


def overrides_text(fields: list[ParamField], overrides: dict[str, Any]) -> str:
    """`name=value, ...` for the notice that a trigger was sent, secrets as fingerprints."""
    secret = {param.name for param in fields if param.secret}
    return ", ".join(
        f"{k}={fingerprint(v) if k in secret else repr(v)}" for k, v in overrides.items()
    )


def same_value(a: Any, b: Any) -> bool:
    """Equal and of the same JSON type (so 1, 1.0 and true are three different values)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@dataclass
class FormCheck:
    """The outcome of checking every entry of the form."""

    values: dict[str, Any] = field(default_factory=dict)
    """Every parameter that will be sent or that the deployment supplies, typed."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Only what differs from the defaults: what the trigger command carries."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field name -> what is wrong with its entry."""

    @property
    def ok(self) -> bool:
        return not self.errors


def check_form(fields: list[ParamField], raw: dict[str, Any]) -> FormCheck:
    """Checks each entry in `raw` (field name -> text, bool or choice) against its field.

    Entries for names that are not fields are ignored: the form cannot send them.
    """
    result = FormCheck()
    for param in fields:
        try:
            value = parse_entry(param, raw.get(param.name))
        except ValueError as exc:
            result.errors[param.name] = str(exc)
            continue
        result.values[param.name] = value
        # A secret's default is the fingerprint: the same value typed again is no change.
        unchanged = param.has_default and (
            same_value(value, param.default)
            or (param.secret and fingerprint(value) == param.default)
        )
        if not unchanged:
            result.overrides[param.name] = value
    return result


@dataclass(frozen=True)
class Preview:
    """What will run, as lines for the preview dialog."""

    lines: list[str]
    changed: int


def preview(deployment: Deployment, fields: list[ParamField], check: FormCheck) -> Preview:
    """Deployment, version, the final parameters (changed ones marked) and the diff."""
    lines = [
        f"Deployment: {deployment.name}   Version: {deployment.version or '—'}",
        f"Flow: {deployment.flow_name or '—'}",
        "",
        "Parameters (* changed):",
    ]
    by_name = {param.name: param for param in fields}
    # The engine sends the deployment's parameters with the overrides on top; a parameter
    # the schema does not list (an engine older than its config) still runs, so show it.
    params = deployment.parameters
    final = dict(check.values)
    if isinstance(params, dict):
        final |= {k: v for k, v in params.items() if k not in final}
    # The retry controls the form does not offer still run, with the flow's defaults.
    schema = deployment.parameter_schema
    properties = schema.get("properties") if isinstance(schema, dict) else None
    for name in hidden_fields(schema):
        prop = properties.get(name) if isinstance(properties, dict) else None
        if name not in final and isinstance(prop, dict) and "default" in prop:
            final[name] = prop["default"]
    width = max((len(name) for name in final), default=0)
    secret = {name for name in deployment.secret_parameters if name not in by_name}
    by_name |= {name: ParamField(name, "json", False, True, secret=True) for name in secret}
    logical = _logical_date(final.get(LOGICAL_DATE_PARAM), deployment.timezone)
    for name, value in final.items():
        mark = "*" if name in check.overrides else " "
        param = by_name.get(name)
        line = f" {mark} {name:<{width}} = {shown_value(param, value)}"
        if name == LOGICAL_DATE_PARAM and not value:
            line += f"  (now, in {deployment.timezone})"
        elif uses_logical_date(value) and not (param and param.secret):
            # A secret's value is never shown, resolved or not.
            line += f"  → {json.dumps(render(value, logical))}"
        lines.append(line)
    lines.append("")
    if check.overrides:
        lines.append("Sent as overrides (the rest are the deployment's defaults):")
        for name, value in check.overrides.items():
            param = by_name.get(name)
            before = shown_value(param, param.default) if param and param.has_default else "(none)"
            lines.append(f"   {name}: {before} → {shown_value(param, value)}")
    else:
        lines.append("No changes: runs with the deployment's defaults (like t).")
    return Preview(lines, len(check.overrides))


def _logical_date(value: Any, zone: str) -> datetime:
    """The date the run will compute, as the engine will read it (`{date:FMT}` preview)."""
    if isinstance(value, str) and value.strip():
        try:
            return parse_logical_date(value, zone)
        except ValueError:
            pass  # named on the field already
    return in_zone(datetime.now(timezone.utc), zone)

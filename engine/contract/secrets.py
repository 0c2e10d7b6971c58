"""Secret parameters: what is stored and shown instead of their values (a fingerprint).

A deployment file marks parameters secret (`secret_parameters:` in config/README.md). The
flow gets the real value from Prefect; everything this product writes (Redis documents,
command results, the audit trail, lineage, the parquet table) and the console show
`fingerprint(value)` instead: equal values give equal fingerprints, so an operator can see
that a token changed without seeing the token. Engine and console share this one rule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

FINGERPRINT_PREFIX = "secret:sha256:"
"""Every fingerprint starts with this, so a reader can tell one from a value."""
_HEX_CHARS = 12
"""48 bits: enough to tell values apart, too few to be a stand-in for the value."""
SECRET_SCHEMA_MARKS: dict[str, Any] = {"format": "password", "writeOnly": True}
"""What a secret parameter's property gets in the published schema (the JSON schema
pydantic writes for `SecretStr`; Prefect's UI masks such a field too)."""


def fingerprint(value: Any) -> str:
    """`secret:sha256:<first 12 hex>` of `value` (a string's UTF-8, else its sorted JSON).

    Unsalted, so it is the same in every process and on every host; a short guessable
    secret (a dictionary word) can be confirmed by someone who guesses it: use long random
    tokens."""
    if is_fingerprint(value):
        return str(value)
    raw = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return FINGERPRINT_PREFIX + hashlib.sha256(raw.encode()).hexdigest()[:_HEX_CHARS]


def is_fingerprint(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FINGERPRINT_PREFIX)


def mask_parameters(parameters: Mapping[str, Any], secret: Collection[str]) -> dict[str, Any]:
    """`parameters` with the value of every name in `secret` replaced by its fingerprint."""
    return {
        name: fingerprint(value) if name in secret else value for name, value in parameters.items()
    }


def secret_values(parameters: Mapping[str, Any], secret: Collection[str]) -> list[str]:
    """The text forms of the secret parameters' values, longest first (for `scrub`)."""
    texts = set()
    for name in secret:
        if name in parameters and not is_fingerprint(parameters[name]):
            value = parameters[name]
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            if text:
                texts.add(text)
    return sorted(texts, key=len, reverse=True)


def scrub(text: str, values: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value replaced by its fingerprint: for
    messages that may quote a value (a validation error, a log line, a file path)."""
    for value in values:
        if value and value in text:
            text = text.replace(value, fingerprint(value))
    return text


def scrub_deep(value: Any, values: list[str]) -> Any:
    """`scrub` applied to every string in a JSON-like value (dicts, lists, strings)."""
    if not values:
        return value
    if isinstance(value, str):
        return scrub(value, values)
    if isinstance(value, list):
        return [scrub_deep(item, values) for item in value]
    if isinstance(value, dict):
        return {key: scrub_deep(item, values) for key, item in value.items()}
    return value


def mark_secret_schema(schema: Mapping[str, Any], secret: Collection[str]) -> dict[str, Any]:
    """A copy of a flow's parameter schema with the secret properties marked
    `format: password, writeOnly: true` and their defaults replaced by fingerprints."""
    properties = dict(schema.get("properties") or {})
    for name in secret:
        if name in properties:
            prop = {**properties[name], **SECRET_SCHEMA_MARKS}
            if "default" in prop:
                prop["default"] = fingerprint(prop["default"])
            properties[name] = prop
    return {**schema, "properties": properties}


def secret_names_in_schema(schema: Mapping[str, Any]) -> frozenset[str]:
    """The parameters `mark_secret_schema` marked: the flow reads its deployment's schema
    from Prefect to learn which parameters to mask in its lineage."""
    properties = schema.get("properties") or {}
    return frozenset(
        name
        for name, prop in properties.items()
        if isinstance(prop, dict) and prop.get("writeOnly") is True
    )

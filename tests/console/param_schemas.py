"""Parameter schemas as the engine publishes them (Prefect's OpenAPI of a flow signature)."""

from __future__ import annotations

from typing import Any

FLOW_SCHEMA: dict[str, Any] = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "source": {"position": 0, "title": "source", "type": "string"},
        "target": {"position": 1, "title": "target", "type": "string"},
        "model": {"default": "scorer-v1", "position": 2, "title": "model", "type": "string"},
        "refresh_cache": {
            "default": False,
            "position": 3,
            "title": "refresh_cache",
            "type": "boolean",
        },
        "from_task": {"default": "", "position": 4, "title": "from_task", "type": "string"},
        "logical_date": {
            "default": "",
            "position": 5,
            "title": "logical_date",
            "type": "string",
        },
    },
    "required": ["source", "target"],
    "definitions": {},
}
"""The real ai-inference-pipeline schema (engine.config.parameter_schema on engine/flows)."""

RICH_SCHEMA: dict[str, Any] = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "source": {"position": 0, "title": "source", "type": "string"},
        "batch": {"default": 64, "position": 1, "title": "batch", "type": "integer"},
        "threshold": {"default": 0.5, "position": 2, "title": "threshold", "type": "number"},
        "mode": {"$ref": "#/definitions/Mode", "default": "fast", "position": 3},
        "limit": {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "default": None,
            "position": 4,
            "title": "limit",
        },
        "dry_run": {"default": False, "position": 5, "title": "dry_run", "type": "boolean"},
        "tags": {"default": [], "items": {"type": "string"}, "position": 6, "type": "array"},
    },
    "required": ["source"],
    "definitions": {"Mode": {"enum": ["fast", "exact"], "title": "Mode", "type": "string"}},
}
"""Every kind the form handles: str, int, float, enum ($ref), optional int, bool, JSON."""

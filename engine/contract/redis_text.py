"""Text of a value read from Redis without decode_responses: bytes decoded as UTF-8 (a bad
byte replaced, so one unreadable field never fails a whole read), anything else as str."""

from __future__ import annotations

from typing import Any


def redis_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

"""Whether Redis lets the mirror run its Lua scripts (an ACL may refuse them)."""

from __future__ import annotations

import redis


def scripts_refused(exc: redis.exceptions.RedisError) -> bool:
    """An ACL without scripting, or a Redis with scripting disabled."""
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and "unknown command" in str(exc).lower()


def scripts_allowed(client: redis.Redis, script: str) -> bool:
    """Whether this connection may run `script` (loading it asks the same right)."""
    try:
        client.script_load(script)
    except redis.exceptions.RedisError as exc:
        if scripts_refused(exc):
            return False
        raise
    return True

"""Redis errors as the product prints them: what failed, against which Redis (its URL
redacted by `engine.contract.redact`), and what to do."""

from __future__ import annotations

import redis

from engine.contract.redact import redact_text, redact_url


def describe_redis_error(url: str, exc: BaseException) -> str:
    """One line for an operator: what failed, against which Redis (redacted), what to do."""
    where = redact_url(url)
    text = redact_text((str(exc).strip() or type(exc).__name__).splitlines()[0])
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return (
            f"Redis at {where} refused the command for this ACL user: {text} (a read-only "
            "user cannot send commands; see docs/operations.md)"
        )
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return f"Redis at {where} refused the login: {text} (check the user and password)"
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return (
            f"TLS to Redis at {where} failed: {text} (check ssl_ca_certs in the URL: it must "
            "name the CA that signed the server's certificate)"
        )
    return f"cannot reach Redis at {where}: {text}"


def setup_problem(url: str, timeout: float = 10.0) -> str | None:
    """Why Redis at `url` can never be used as configured (TLS verification, login, ACL
    rights), or None: reachable, or down for now (which reconnecting can fix)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (redis.exceptions.AuthenticationError, redis.exceptions.NoPermissionError) as exc:
        return describe_redis_error(url, exc)
    except redis.RedisError as exc:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
            return describe_redis_error(url, exc)
        return None
    finally:
        client.close()
    return None

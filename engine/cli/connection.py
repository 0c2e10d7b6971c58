"""The Redis a script command talks to (`--redis-url`, `$AIWF_REDIS_URL`, else the embedded
one) and the one way its failures are reported."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import redis

from engine.cli.output import EXIT_ERROR, EXIT_USAGE, Output
from engine.contract.keys import Keys
from engine.contract.paths import state_dir
from engine.contract.redact import redact_url
from engine.contract.redis_url import describe_redis_error
from engine.stack.launcher import prefix_from_env, redis_url_from_env


@dataclass
class Connection:
    url: str
    keys: Keys
    client: redis.Redis

    @property
    def shown_url(self) -> str:
        """The URL as it may be printed: its password replaced by ***."""
        return redact_url(self.url)

    def close(self) -> None:
        self.client.close()


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        default=None,
        help="Redis URL (default: $AIWF_REDIS_URL, else the embedded Redis)",
    )
    parser.add_argument(
        "--prefix", default=None, help="Redis key prefix (default: $AIWF_REDIS_PREFIX, else aiwf)"
    )


class BadRedisUrl(ValueError):
    """--redis-url or $AIWF_REDIS_URL is not a URL redis-py can use; names it, redacted."""


def connect(args: argparse.Namespace, timeout: float = 10.0) -> Connection:
    """A client for the installation named by the command line and environment.

    Raises:
        BadRedisUrl: the URL has a scheme or option redis-py does not know.
    """
    url = args.redis_url or redis_url_from_env(state_dir())
    keys = Keys(args.prefix or prefix_from_env())
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    except ValueError as exc:
        raise BadRedisUrl(
            f"Redis URL {redact_url(url)} is not usable: {exc} (use redis://, rediss:// "
            "or unix://; from --redis-url or $AIWF_REDIS_URL)"
        ) from exc
    return Connection(url, keys, client)


def redis_failed(out: Output, url: str, exc: BaseException) -> int:
    """Reports a Redis error (unreachable, refused login or ACL) with the URL redacted."""
    return out.fail(EXIT_ERROR, "redis", describe_redis_error(url, exc), redis_url=redact_url(url))


def bad_url(out: Output, exc: BadRedisUrl) -> int:
    return out.fail(EXIT_USAGE, "usage", str(exc))

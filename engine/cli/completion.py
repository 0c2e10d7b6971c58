"""Shell completion for both commands through argcomplete: subcommands and options, and
deployment names read from the Redis mirror (quickly, or none)."""

from __future__ import annotations

import argparse
from typing import Any

COMPLETION_HELP = """shell completion (bash; zsh with bashcompinit):
  eval "$(register-python-argcomplete {prog})"   # e.g. in ~/.bashrc
"""


def deployment_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Deployment names the engine mirrors, for `trigger <TAB>`; none if Redis does not
    answer within a second (completion must never hang the shell)."""
    import redis

    from engine.contract.keys import Keys
    from engine.contract.paths import state_dir
    from engine.stack.launcher import prefix_from_env, redis_url_from_env

    url = getattr(parsed_args, "redis_url", None) or redis_url_from_env(state_dir())
    keys = Keys(getattr(parsed_args, "prefix", None) or prefix_from_env())
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        names: Any = client.hkeys(keys.deployments)
        client.close()
    except (redis.RedisError, ValueError, OSError):
        return []
    return sorted(n.decode() for n in names if n.decode().startswith(prefix))


def complete_deployments(action: argparse.Action) -> None:
    action.completer = deployment_names  # type: ignore[attr-defined]


def enable(parser: argparse.ArgumentParser) -> None:
    """Answers a completion request from the shell and exits; a no-op otherwise (argcomplete
    checks `_ARGCOMPLETE` in the environment)."""
    import os

    if "_ARGCOMPLETE" not in os.environ:
        return  # no import cost on a normal start
    import argcomplete

    argcomplete.autocomplete(parser)

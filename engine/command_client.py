"""Sends operator commands to the engine through Redis and waits for their results.

Stdlib + redis only: the console and the `aiwf-engine trigger|retry|...` CLI both use it, so
every action, from a key press or a script, goes through the same stream and is audited.
"""

from __future__ import annotations

from typing import Any

import redis

from engine.protocol import COMMANDS_MAXLEN, ENGINE_GROUP, Command, CommandResult, Keys


def ensure_group(client: redis.Redis, keys: Keys) -> None:
    """Creates the engine's consumer group at the stream's start if it does not exist.

    Done by senders too, so a command sent before any engine ever ran is still delivered
    to the first engine (a group created later at `$` would skip it).
    """
    try:
        client.xgroup_create(keys.commands, ENGINE_GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class CommandClient:
    """`send` puts a command on the stream; `wait` blocks until its result arrives."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def send(self, action: str, target: str, params: dict[str, Any] | None = None) -> Command:
        command = Command(action=action, target=target, params=params or {})
        ensure_group(self.client, self.keys)
        self.client.xadd(
            self.keys.commands,
            command.to_fields(),  # type: ignore[arg-type]
            maxlen=COMMANDS_MAXLEN,
            approximate=True,
        )
        return command

    def wait(self, command_id: str, timeout: float) -> CommandResult | None:
        """The result, or None if none arrived within `timeout` seconds.

        The result stays readable (LINDEX, not a pop) so several waiters and later
        look-ups all see it.
        """
        key = self.keys.result(command_id)
        raw = self.client.lindex(key, 0)
        if raw is None:
            popped = self.client.blmove(key, key, timeout, "LEFT", "RIGHT")  # type: ignore[arg-type]
            raw = popped if popped is not None else self.client.lindex(key, 0)
        return None if raw is None else CommandResult.from_json(raw)

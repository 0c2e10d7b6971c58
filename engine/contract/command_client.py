"""Sends operator commands to the engine through Redis and waits for their results.

Stdlib + redis only: the console and the `aiwf-engine trigger|retry|...` CLI both use it, so
every action, from a key press or a script, goes through the same stream and is audited.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from engine.contract.commands import (
    DEFAULT_DEADLINE_SECONDS,
    Command,
    CommandResult,
    deadline_after,
)
from engine.contract.documents import decode
from engine.contract.keys import COMMANDS_MAXLEN, ENGINE_GROUP, Keys

BLOCK_SLICE_SECONDS = 1.0
"""Longest single blocking read while waiting for a result: well inside any client's
socket timeout (redis-py 8 defaults to 5 s)."""


def ensure_group(client: redis.Redis, keys: Keys, stream: str | None = None) -> None:
    """Creates the engine's consumer group at the stream's start if it does not exist.

    Done by senders too, so a command sent before any engine ever ran is still delivered
    to the first engine (a group created later at `$` would skip it). An operator's ACL
    user may not create groups: the engine creates the one on its stream, also at `0`.
    """
    try:
        client.xgroup_create(stream or keys.commands, ENGINE_GROUP, id="0", mkstream=True)
    except redis.exceptions.NoPermissionError:
        return
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def acl_user(client: redis.Redis) -> str:
    """The Redis ACL user the client logs in as, "" for the `default` user."""
    user = client.connection_pool.connection_kwargs.get("username") or ""
    return "" if user == "default" else str(user)


def command_stream(client: redis.Redis, keys: Keys) -> str:
    """Where this client's commands go: its ACL user's own stream when an engine reads it
    (an engine with an operators file creates each operator's stream and group), else the
    shared one (an engine without one reads only that; one with one refuses it, audited)."""
    user = acl_user(client)
    if user and client.exists(keys.operator_commands(user)):
        return keys.operator_commands(user)
    return keys.commands


class CommandClient:
    """`send` puts a command on the stream; `wait` blocks until its result arrives."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def send(
        self,
        action: str,
        target: str,
        params: dict[str, Any] | None = None,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> Command:
        """Puts the command on the stream; the engine refuses it if it has not started it
        within `deadline_seconds`.

        Raises:
            ValueError: the engine would refuse it unread (a field over the size caps,
                params nested too deep, an unknown action: docs/redis-keys.md); not sent.
        """
        command = Command(
            action=action,
            target=target,
            params=params or {},
            deadline=deadline_after(deadline_seconds),
        )
        try:
            Command.from_fields(command.to_fields())
        except ValueError as exc:
            raise ValueError(f"not sent: {exc}") from exc
        stream = command_stream(self.client, self.keys)
        if stream == self.keys.commands:  # an operator's own stream is the engine's to make
            ensure_group(self.client, self.keys)
        self.client.xadd(
            stream,
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
        deadline = time.monotonic() + timeout
        latest = self.latest(command_id)
        may_block = True
        while latest is None and (left := deadline - time.monotonic()) > 0:
            if may_block:
                try:
                    # In slices: redis-py 8's clients time a socket read out after 5 s by
                    # default, and one BLMOVE for the whole wait failed with "Timeout reading
                    # from socket" whenever the engine took longer than that to answer.
                    self.client.blmove(key, key, min(left, BLOCK_SLICE_SECONDS), "LEFT", "RIGHT")  # type: ignore[arg-type]  # Redis takes fractional seconds
                except redis.exceptions.NoPermissionError:
                    # An operator's ACL user reads results but may not write them: it polls
                    # for the rest of the wait (not a refused BLMOVE before every poll).
                    may_block = False
            if not may_block:
                time.sleep(min(0.2, left))
            latest = self.latest(command_id)
        return latest

    def latest(self, command_id: str) -> CommandResult | None:
        """The final result if there is one, else the first (a `cancelling`), else None.

        A cancel gets two results on its key: `cancelling` at once, the final one when
        Prefect reports the run's end. Picked by status, not position, so a BLMOVE rotation
        of the list cannot mix them up.
        """
        key = self.keys.result(command_id)
        raws: Any = self.client.lrange(key, 0, -1)
        # A bad result (not JSON, wrong types) is counted and skipped, like any document.
        decoded = [decode(raw, CommandResult, f"{key}[{n}]") for n, raw in enumerate(raws)]
        results = [r for r in decoded if r is not None]
        final = [r for r in results if r.final]
        chosen = final or results
        return chosen[0] if chosen else None

    def wait_final(
        self, command_id: str, timeout: float, poll: float = 0.25
    ) -> CommandResult | None:
        """Like `wait`, but past a `cancelling` result until the final one or `timeout`;
        returns the latest result seen (still `cancelling` if the run has not ended)."""
        deadline = time.monotonic() + timeout
        result = self.wait(command_id, timeout)
        while result is not None and not result.final:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(poll, remaining))
            result = self.latest(command_id)
        return result

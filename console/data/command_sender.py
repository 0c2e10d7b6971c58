"""Sends the operator's commands (from the command thread) and says what became of them:
the messages it posts, and the notifications the app shows for them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoPermissionError, RedisError
from textual.message import Message
from textual.notifications import SeverityLevel

from console.data.connection import describe_error, sync_client
from console.data.messages import CommandAnswered, CommandFailed, CommandSent
from console.data.state import Store
from engine.contract.command_client import CommandClient, acl_user
from engine.contract.commands import CommandResult
from engine.contract.keys import Keys
from engine.contract.reconnect import RECONNECT_FIRST
from engine.stack.launcher import engine_alive

CANCEL_WATCH_SECONDS = 900.0
"""How long a `cancelling` answer is watched for its final result (the engine watches the
run for up to 15 minutes)."""
ANSWER_POLL_SECONDS = 1.0
"""Longest single BLMOVE wait, so quitting never hangs on one."""


class CommandSender:
    """Puts commands on the stream through one blocking client and waits for the answers.

    Args:
        redis_url: the Redis the engine reads commands from.
        keys: key names under the prefix in use.
        post: receives CommandSent, CommandAnswered and CommandFailed.
        answer_timeout: seconds to wait for a command's result before saying so.
    """

    def __init__(
        self, redis_url: str, keys: Keys, post: Callable[[Message], object], answer_timeout: float
    ) -> None:
        self.redis_url = redis_url
        self.keys = keys
        self.post = post
        self.answer_timeout = answer_timeout
        self._client: redis.Redis | None = None

    def _connection(self) -> redis.Redis:
        if self._client is None:
            self._client = sync_client(self.redis_url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def send(
        self, action: str, target: str, params: dict[str, Any], cancelled: Callable[[], bool]
    ) -> None:
        """Sends and follows one command to its answer; blocking, for a thread worker.

        Args:
            cancelled: True once the worker is cancelled (the app is leaving): stop waiting.
        """
        try:
            client = self._connection()
            alive = engine_alive(client, self.keys)
            sender = CommandClient(client, self.keys)
            command = sender.send(action, target, params)
        except NoPermissionError:
            self.post(CommandFailed(action, target, self._not_allowed()))
            return
        except (RedisError, OSError) as exc:
            self.post(CommandFailed(action, target, describe_error(exc)))
            return
        except ValueError as exc:  # over the command size caps: refused before sending
            self.post(CommandFailed(action, target, str(exc)))
            return
        self.post(CommandSent(command, alive))
        deadline = time.monotonic() + self.answer_timeout
        result = None
        # Short waits, so quitting never hangs on a blocked BLMOVE.
        while result is None and not cancelled():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                result = sender.wait(command.id, min(ANSWER_POLL_SECONDS, remaining))
            except (RedisError, OSError):
                time.sleep(RECONNECT_FIRST)  # Redis is away; the status line says so already
        if not cancelled():
            self.post(CommandAnswered(command, result))
        # A cancel answers `cancelling` first; its final result follows when Prefect reports
        # the run's end.
        deadline = time.monotonic() + CANCEL_WATCH_SECONDS
        while result is not None and not result.final and not cancelled():
            if time.monotonic() > deadline:
                return
            time.sleep(RECONNECT_FIRST)
            try:
                latest = sender.latest(command.id)
            except (RedisError, OSError):
                continue
            if latest is not None and latest.final:
                result = latest
                self.post(CommandAnswered(command, result))

    def _not_allowed(self) -> str:
        """Why Redis refused the command's XADD, in an operator's words (its own text,
        "no permissions to access one of the keys", names neither user nor key)."""
        user = acl_user(self._connection()) or "default"
        return (
            f"Redis user '{user}' may not send commands (read-only in Redis's ACL: NOPERM); "
            "connect as an operator's user to act (docs/operations.md, Operators)"
        )


@dataclass(frozen=True)
class Notice:
    """A notification to show: `app.notify(text, title=..., severity=..., timeout=...)`."""

    text: str
    title: str
    severity: SeverityLevel = "information"
    timeout: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What the app shows for a CommandSent, CommandAnswered or CommandFailed."""

    notice: Notice
    answers_trigger: bool = False
    """A trigger's end (answered, failed): the screens' `trigger_answered(new_run)` is due."""
    new_run: str | None = None
    """The run a trigger started, if it did."""


def outcome(message: CommandSent | CommandAnswered | CommandFailed, store: Store) -> Outcome:
    """The notification (and a trigger's new run) for what became of a command."""
    if isinstance(message, CommandFailed):
        notice = Notice(
            f"Could not send {message.action} {message.target}: {message.reason}",
            "Command not sent",
            severity="error",
            timeout=15,
        )
        return Outcome(notice, answers_trigger=message.action == "trigger")
    what = describe(store, message.command.action, message.command.target)
    if isinstance(message, CommandSent):
        return Outcome(sent_notice(what, message.engine_alive))
    result = message.result
    new_run = result.flow_run_id if result is not None and result.ok else ""
    return Outcome(
        answered_notice(what, result),
        answers_trigger=message.command.action == "trigger",
        new_run=new_run or None,
    )


def describe(store: Store, action: str, target: str) -> str:
    """`retry run witty-fox`: names the run instead of its id where it is known."""
    run = store.flow_runs.get(target)
    if run is not None:
        return f"{action} run {run.name or target}"
    return f"{action} {target}"


def read_only_notice(action: str, target: str) -> Notice:
    return Notice(
        f"Read-only mode: {action} {target} was not sent.", "Read-only", severity="warning"
    )


def sent_notice(what: str, engine_is_alive: bool) -> Notice:
    if engine_is_alive:
        return Notice(f"Sent: {what}", "Command")
    return Notice(
        f"The engine is down: {what} is queued and will run when the engine is back.",
        "Command queued",
        severity="warning",
    )


def answered_notice(what: str, result: CommandResult | None) -> Notice:
    if result is None:
        return Notice(
            f"No answer yet from the engine for {what}; the command stays queued.",
            "Command",
            severity="warning",
        )
    if not result.final:
        return Notice(result.message, f"Cancelling: {what}")
    if result.ok:
        return Notice(result.message or f"{what}: done", f"Done: {what}")
    return Notice(
        result.message or "the engine gave no reason",
        f"Failed: {what}",
        severity="error",
        timeout=15,
    )

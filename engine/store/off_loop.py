"""The engine's way to Redis from its asyncio loop: blocking calls run on one thread.

The engine's loop also runs Prefect's Runner, the websockets and the command executor:
a Redis call made on it (a slow server, a failover, a long MULTI) would stop all of them.
So every Redis call the engine makes from the loop goes through `RedisCalls`, which runs
it on a single worker thread. One thread, not asyncio.to_thread's pool: calls run one at
a time in the order the loop asked for them, as they did on the loop itself, so a
read-then-write in the mirror (`RedisMirror.upsert_flow_run`) is never interleaved with
another write, and a command's result still lands before anything its follow-up tasks
write. The blocking XREADGROUP of the command stream is the one exception: it has a
connection and a thread of its own (engine/commands/executor.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

import redis

from engine.contract.commands import Command, CommandResult
from engine.contract.keys import Keys
from engine.store.audit_log import AuditLog
from engine.store.mirror import RedisMirror, audit_fields

P = ParamSpec("P")
T = TypeVar("T")


class RedisCalls:
    """Runs blocking Redis calls off the event loop, one at a time, in the order asked."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiwf-redis")

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on the Redis thread; the loop runs other tasks meanwhile.

        A caller cancelled while waiting does not stop a call that has started (a Redis
        command cannot be taken back); the calls queued after it still run in order.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Waits for the calls already queued, then ends the thread."""
        self._thread.shutdown(wait=True)


@dataclass(frozen=True)
class EngineStore:
    """What the engine's loops share to reach Redis."""

    client: redis.Redis
    keys: Keys
    mirror: RedisMirror
    """The only writer of the state keys."""
    call: RedisCalls = field(default_factory=RedisCalls)
    """Runs each blocking call off the loop (`await store.call(fn, *args)`)."""
    audit_log: AuditLog | None = None
    """Where results and audit entries also go, before Redis (None: Redis only)."""

    @classmethod
    def over(
        cls, client: redis.Redis, keys: Keys, audit_log: AuditLog | None = None
    ) -> EngineStore:
        """A store with its own mirror and Redis thread over `client`."""
        return cls(client, keys, RedisMirror(client, keys), audit_log=audit_log)

    def record_result(
        self, command: Command, result: CommandResult, ends_cancel_watch: bool = False
    ) -> None:
        """The result and audit entry: to the audit file first (it survives an emptied
        Redis), then to Redis (see RedisMirror.record_result). Blocking: call it through
        `call`."""
        if self.audit_log is not None:
            self.audit_log.append(audit_fields(command, result), result)
        self.mirror.record_result(command, result, ends_cancel_watch)

"""Task-run states and log lines from Prefect's websockets, written to Redis in batches.

One Redis round trip per event (and a hop to the Redis thread) capped the bridge at a few
thousand events a second. The websocket handlers now only queue what arrives; one writer
task takes everything queued, writes it in one call on the Redis thread (one read and one
MULTI for the task runs, one pipeline for every run's lines), and takes the next lot, which
gathered while it wrote. A quiet stream is written at once (a batch of one); a busy one in
batches as large as the wait for Redis. Order is kept: each batch's task runs are judged
in arrival order (`RedisMirror.upsert_task_runs`), each run's lines are appended in
arrival order, and batches go one at a time through the same Redis thread as every other
write, so nothing written after a command's result (engine/store/off_loop.py) overtakes it.

A burst the websocket had buffered reaches the handlers without a pause (its reads return
at once), so the writer would not start until the whole burst was queued, and the
handlers and the Redis writes would take turns instead of overlapping. Every TURN_ITEMS
items a handler lets the loop run once (`waits`, `make_room`): the writer takes what is
queued to the Redis thread, and the handlers go on while Redis writes it.

A batch Redis failed (a restart) is put back in front of what came meanwhile and tried
again after a pause: the mirror's writes fail only before the lines are in
(`RedisMirror.append_logs_of`), so nothing is written twice.
"""

from __future__ import annotations

import asyncio
import logging

import redis

from engine.contract.documents import LogLine, TaskRun
from engine.store.mirror import RedisMirror
from engine.store.off_loop import RedisCalls

logger = logging.getLogger("aiwf.engine.bridge")

RETRY_SECONDS = 1.0
"""Wait before writing a batch again after Redis failed it."""
ROOM = 100_000
"""Items queued beyond which a handler waits for the queue to drain (a Redis outage must
slow the websockets down, not grow the engine's memory without end)."""
TURN_ITEMS = 1_000
"""Items queued without the loop running, after which a handler lets the writer run."""


class WriteQueue:
    def __init__(self, call: RedisCalls, mirror: RedisMirror) -> None:
        self.call = call
        self.mirror = mirror
        self._task_runs: list[TaskRun] = []
        self._logs: dict[str, list[LogLine]] = {}
        self._queued = 0
        self._since_turn = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None

    def add_task_run(self, doc: TaskRun) -> None:
        self._task_runs.append(doc)
        self._queued += 1
        self._since_turn += 1
        self._wake()

    def add_logs(self, flow_run_id: str, lines: list[LogLine]) -> None:
        if lines:
            self._logs.setdefault(flow_run_id, []).extend(lines)
            self._queued += len(lines)
            self._since_turn += len(lines)
            self._wake()

    @property
    def waits(self) -> bool:
        """A handler should `await make_room()` before queueing more: ROOM items wait, or
        TURN_ITEMS came without the writer's turn (a property, not a coroutine: it is asked
        once per event)."""
        return self._queued >= ROOM or self._since_turn >= TURN_ITEMS

    async def make_room(self) -> None:
        """Waits for the queue to drain when it is full; else lets the writer run once."""
        self._since_turn = 0
        if self._queued >= ROOM:
            await self.drained()
        else:
            await asyncio.sleep(0)

    async def drained(self) -> None:
        """Returns once everything queued so far (and meanwhile) is in Redis."""
        await self._idle.wait()

    @property
    def queued(self) -> int:
        """Task runs and log lines not written yet (a batch being written counts)."""
        return self._queued

    def _wake(self) -> None:
        self._idle.clear()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._task_runs or self._logs:
                task_runs, self._task_runs = self._task_runs, []
                logs, self._logs = self._logs, {}
                taken = len(task_runs) + sum(len(lines) for lines in logs.values())
                try:
                    await self.call(self._write, task_runs, logs)
                    self._queued -= taken
                except (redis.RedisError, OSError) as exc:
                    logger.warning(
                        "could not write %d task runs and %d log lines: Redis failed (%s); "
                        "trying again",
                        len(task_runs),
                        sum(len(lines) for lines in logs.values()),
                        exc,
                    )
                    self._put_back(task_runs, logs)
                    await asyncio.sleep(RETRY_SECONDS)
                except Exception:
                    self._queued -= taken
                    # Not Redis: the same batch would fail again and hold up all after it.
                    # Prefect still has them: the reconcile loop writes active runs' task
                    # runs again, and the log screen's `p` copies a run's whole log.
                    logger.exception(
                        "dropped %d task runs and %d log lines that could not be written",
                        len(task_runs),
                        sum(len(lines) for lines in logs.values()),
                    )
        finally:
            if not (self._task_runs or self._logs):
                self._idle.set()

    def _put_back(self, task_runs: list[TaskRun], logs: dict[str, list[LogLine]]) -> None:
        self._task_runs = task_runs + self._task_runs
        newer = self._logs
        self._logs = {run: lines + newer.pop(run, []) for run, lines in logs.items()} | newer

    def _write(self, task_runs: list[TaskRun], logs: dict[str, list[LogLine]]) -> None:
        """On the Redis thread. Task runs first: a task's lines never precede its state."""
        if task_runs:
            self.mirror.upsert_task_runs(task_runs)
        if logs:
            self.mirror.append_logs_of(logs)

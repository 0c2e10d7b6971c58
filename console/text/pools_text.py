"""The rows of the work pools screen, from the engine's `Pools` document (no Textual)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.contract.documents import ConcurrencyLimit, Pools, Worker, WorkPool, WorkQueue
from engine.contract.times import parse_iso

PAUSED = "‖ paused"
OFFLINE = "○ offline"
ONLINE = "● online"


@dataclass(frozen=True)
class QueueRow:
    """A pool (queue "") or one of its queues: what the pause/resume key acts on."""

    pool: str
    queue: str
    state: str
    """`‖ paused`, or Prefect's status in words (ready, not ready: no worker polls it)."""
    paused: bool
    limit: str
    """The concurrency limit, `running/limit` for a pool, "-" when unlimited."""
    late: int

    @property
    def key(self) -> str:
        """The pool action's target: `POOL` or `POOL/QUEUE`."""
        return f"{self.pool}/{self.queue}" if self.queue else self.pool

    @property
    def what(self) -> str:
        return (
            f"work queue {self.queue} of pool {self.pool}"
            if self.queue
            else f"work pool {self.pool}"
        )


@dataclass(frozen=True)
class WorkerRow:
    pool: str
    name: str
    host: str
    state: str
    last_heartbeat: datetime | None

    @property
    def key(self) -> str:
        return f"{self.pool}/{self.name}"


def _state(paused: bool, status: str) -> str:
    if paused:
        return PAUSED
    return {"READY": "✓ ready", "NOT_READY": "! not ready"}.get(status, status.lower() or "-")


def _pool_row(pool: WorkPool) -> QueueRow:
    limit = "-" if pool.concurrency_limit is None else f"{pool.running}/{pool.concurrency_limit}"
    return QueueRow(
        pool.name, "", _state(pool.paused, pool.status), pool.paused, limit, pool.late_runs
    )


def _queue_row(pool: WorkPool, queue: WorkQueue) -> QueueRow:
    limit = "-" if queue.concurrency_limit is None else str(queue.concurrency_limit)
    return QueueRow(
        pool.name,
        queue.name,
        _state(queue.paused, queue.status),
        queue.paused,
        limit,
        queue.late_runs,
    )


def queue_rows(pools: Pools | None) -> list[QueueRow]:
    """Each pool followed by its queues."""
    rows: list[QueueRow] = []
    for pool in pools.pools if pools else []:
        rows.append(_pool_row(pool))
        rows.extend(_queue_row(pool, queue) for queue in pool.queues)
    return rows


def _worker_row(pool: WorkPool, worker: Worker) -> WorkerRow:
    state = ONLINE if worker.status == "ONLINE" else OFFLINE
    return WorkerRow(
        pool.name, worker.name, worker.host or "-", state, parse_iso(worker.last_heartbeat)
    )


def worker_rows(pools: Pools | None) -> list[WorkerRow]:
    return [_worker_row(pool, w) for pool in (pools.pools if pools else []) for w in pool.workers]


def limit_text(limit: ConcurrencyLimit) -> tuple[str, str, str]:
    """(name, kind, `occupied/limit` slots) of one concurrency limit."""
    kind = "tag" if limit.kind == "tag" else ("global" if limit.active else "global (off)")
    return limit.name, kind, f"{limit.occupied}/{limit.limit}"

"""`{p}:pools`: Prefect's work pools, queues, workers and concurrency limits as the engine
mirrors them (docs/redis-keys.md); re-exported by engine/contract/documents.py."""

from __future__ import annotations

import msgspec


class Worker(msgspec.Struct, frozen=True, kw_only=True):
    """One Prefect worker of a pool, in `Pools`."""

    name: str
    status: str = ""
    """Prefect's worker status: `ONLINE` or `OFFLINE` (missed its heartbeats)."""
    last_heartbeat: str | None = None
    host: str = ""
    """The worker's host: its name up to the first `:` when started as
    `prefect worker start --name HOST:...` (docs/operations.md), else ""."""


class WorkQueue(msgspec.Struct, frozen=True, kw_only=True):
    """One queue of a pool, in `Pools`."""

    name: str
    paused: bool = False
    concurrency_limit: int | None = None
    """None: no limit of its own."""
    status: str = ""
    """Prefect's queue status: `READY`, `NOT_READY` (no worker polls it) or `PAUSED`."""
    late_runs: int = 0
    """Runs of this queue in the `Late` state now."""


class WorkPool(msgspec.Struct, frozen=True, kw_only=True):
    """One Prefect work pool, in `Pools`."""

    name: str
    type: str = ""
    paused: bool = False
    status: str = ""
    """Prefect's pool status: `READY`, `NOT_READY` (no online worker) or `PAUSED`."""
    concurrency_limit: int | None = None
    running: int = 0
    """Runs of the pool that are Pending or Running (what its concurrency limit counts)."""
    late_runs: int = 0
    queues: list[WorkQueue] = []
    workers: list[Worker] = []


class ConcurrencyLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A Prefect concurrency limit and how many of its slots are taken, in `Pools`."""

    name: str
    """The global limit's name, or the tag of a tag-based limit."""
    kind: str = "global"
    """`global` (a named limit) or `tag` (limits task runs carrying the tag)."""
    limit: int = 0
    occupied: int = 0
    active: bool = True
    """False for a global limit switched off in Prefect."""


class Pools(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:pools` value: Prefect's work pools, queues, workers and concurrency limits."""

    pools: list[WorkPool] = []
    limits: list[ConcurrencyLimit] = []
    read_at: str | None = None
    """When the engine read these from Prefect (it re-reads every few seconds)."""

"""The console's one path in: a snapshot, then the updates stream and the heartbeat, posted
as typed messages; and the on-demand read of one run's task runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from redis.exceptions import RedisError
from textual.message import Message

from console.data.cancelled import reraise_if_cancelled
from console.data.connection import Link, describe_error, keep_following
from console.data.messages import (
    ConnectionChanged,
    DeploymentChanged,
    DeploymentRemoved,
    EngineStatusChanged,
    FlowRunsChanged,
    LineageChanged,
    PoolsChanged,
    SnapshotLoaded,
    TaskRunChanged,
    TaskRunsLoaded,
)
from console.data.store import RedisReader, Update
from engine.contract.documents import Deployment, FlowRun, Lineage, Pools, TaskRun
from engine.contract.keys import Keys
from engine.contract.times import parse_iso

BATCHES_PER_SECOND = 40
"""How often at most the feed posts what a busy updates stream brought (the app redraws
once per post); a change then waits at most 25 ms for the ones after it. Was 2: at 200
changes/s a change then took 0.5 s to the screen. A post repaints only the rows and titles
it changed (console/widgets/row_table.py), so 40 a second cost 14% of a core there."""

Post = Callable[[Message], object]
"""Where the feed's messages go (the app's `post_message`, safe from its workers)."""


class RedisFeed:
    """Reads Redis for the app and posts what it finds; the app applies it to the store.

    Args:
        redis_url: the Redis to read.
        keys: key names under the prefix in use.
        post: receives every message.
        heartbeat_interval: seconds between heartbeat reads (also the XREAD block time).
        runs_kept: how many of the newest flow runs a snapshot reads.
    """

    def __init__(
        self,
        redis_url: str,
        keys: Keys,
        post: Post,
        *,
        heartbeat_interval: float,
        runs_kept: int,
    ) -> None:
        self.redis_url = redis_url
        self.keys = keys
        self.post = post
        self.heartbeat_interval = heartbeat_interval
        self.runs_kept = runs_kept

    async def follow(self) -> None:
        """Snapshot, then tail the updates stream (heartbeat on the way), until cancelled;
        reconnects after a Redis error, re-reading the snapshot only if the stream has a gap."""
        block_ms = int(self.heartbeat_interval * 1000)
        reader = RedisReader(self.redis_url, self.keys, block_ms)
        last_id: str | None = None
        last_pools: Pools | None = None

        async def session(link: Link) -> None:
            nonlocal last_id, last_pools
            await reader.connect()
            if last_id is None or await reader.has_gap_after(last_id):
                # Note the stream position before reading the hashes (no gaps).
                last_id = await reader.read_last_update_id()
                deployments = await reader.read_deployments()
                # Every run Redis keeps (up to what the store holds), so the runs title
                # counts over all of them, not over the table's rows.
                runs = await reader.read_flow_runs(self.runs_kept)
                self.post(SnapshotLoaded(deployments, runs))
            link.up()
            next_beat = 0.0
            while True:
                reraise_if_cancelled()
                if time.monotonic() >= next_beat:
                    info = await reader.read_heartbeat()
                    beat_at = parse_iso(info.beat_at) if info else None
                    self.post(EngineStatusChanged(info, beat_at))
                    pools = await reader.read_pools()
                    if pools is not None and pools != last_pools:
                        self.post(PoolsChanged(pools))
                        last_pools = pools
                    next_beat = time.monotonic() + self.heartbeat_interval
                updates = await reader.read_updates(last_id)
                self._post_updates(updates)
                if updates:
                    last_id = updates[-1].entry_id
                if len(updates) > 1:
                    # A busy stream (changes were waiting): let the next ones gather, so
                    # the app redraws at most BATCHES_PER_SECOND times a second, not once
                    # per change. A lone change is posted at once.
                    await asyncio.sleep(1 / BATCHES_PER_SECOND)

        def report(connected: bool, reason: str) -> None:
            self.post(ConnectionChanged(connected, reason))

        await keep_following(session, reader.close, report)

    def _post_updates(self, updates: list[Update]) -> None:
        """Posts a batch read from the stream; consecutive flow-run changes go as one
        message holding the newest read of each run (a console fed 200 changes/s would
        otherwise redraw its runs table 200 times a second and fall behind)."""
        runs: dict[str, FlowRun] = {}
        for update in updates:
            if isinstance(update.doc, FlowRun):
                runs.pop(update.doc.id, None)  # the newest read moves to the end
                runs[update.doc.id] = update.doc
                continue
            if runs:
                self.post(FlowRunsChanged(list(runs.values())))
                runs = {}
            self._post_update(update)
        if runs:
            self.post(FlowRunsChanged(list(runs.values())))

    def _post_update(self, update: Update) -> None:
        if update.kind == "deployment_removed":
            self.post(DeploymentRemoved(update.id))
        # A bad document reads as None (counted): the next update of it repairs it.
        elif isinstance(update.doc, Deployment):
            self.post(DeploymentChanged(update.doc))
        elif isinstance(update.doc, TaskRun):
            self.post(TaskRunChanged(update.doc))
        elif isinstance(update.doc, Lineage):
            self.post(LineageChanged(update.id, update.doc))

    async def read_task_runs(self, flow_run_id: str) -> str:
        """Posts the run's task runs (and its lineage); returns why it could not ('' if it
        could)."""
        reader = RedisReader(self.redis_url, self.keys)
        try:
            docs = await reader.read_task_runs(flow_run_id)
            lineage = await reader.read_lineage(flow_run_id)
        except (RedisError, OSError) as exc:
            return describe_error(exc)
        finally:
            await reader.close()
        self.post(TaskRunsLoaded(flow_run_id, docs))
        if lineage is not None:
            self.post(LineageChanged(flow_run_id, lineage))
        return ""

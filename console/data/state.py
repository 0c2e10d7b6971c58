"""What the console currently knows: documents by id plus connection and engine status.

Only the app's message handlers write here (on the UI thread); widgets read. Every apply
method keeps the rule of docs/redis-keys.md: a document replaces the shown one unless it is
older (`updated`), because the snapshot and the tail may both carry a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.contract.documents import (
    Deployment,
    FlowRun,
    Heartbeat,
    Lineage,
    Pools,
    RunSummary,
    TaskRun,
)
from engine.contract.keys import RUNS_KEPT
from engine.contract.ordering import is_newer, run_order
from engine.contract.times import parse_iso


@dataclass
class Store:
    """Documents and status, as last applied from Redis.

    Attributes:
        redis_url: where the console reads from (shown in the status line).
        prefix: the key prefix in use.
        runs_kept: the most flow runs held; the oldest go (with their task runs).
    """

    redis_url: str
    prefix: str
    runs_kept: int = RUNS_KEPT
    deployments: dict[str, Deployment] = field(default_factory=dict)
    flow_runs: dict[str, FlowRun] = field(default_factory=dict)
    task_runs: dict[str, dict[str, TaskRun]] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)
    """Flow runs kept whatever their age: older runs a run screen brought from Prefect
    (`RunQuery.run_of`), which the trim to `runs_kept` would drop at once."""
    lineage: dict[str, Lineage] = field(default_factory=dict)
    """Flow run id -> lineage document of its latest attempt (read lazily, kept live)."""
    connected: bool | None = None
    """None until the first connection attempt ends."""
    connection_reason: str = ""
    engine: Heartbeat | None = None
    """The heartbeat document; None when the key is absent (engine down)."""
    beat_at: datetime | None = None
    pools: Pools | None = None
    """Prefect's work pools, queues, workers and limits; None until an engine wrote them."""
    heartbeat_read: bool = False
    """True once the heartbeat key was read (so an absent one means the engine is down)."""
    bad_documents: int = 0
    """Documents this console skipped as bad since it started (shown in the status line)."""
    services_note: str = ""
    """With --demo: why the demo services are gone (stopped by another console, exited)."""

    def apply_deployment(self, doc: Deployment) -> bool:
        current = self.deployments.get(doc.name)
        if current is not None and is_newer(current, doc):
            return False
        self.deployments[doc.name] = doc
        return True

    def remove_deployment(self, name: str) -> bool:
        return self.deployments.pop(name, None) is not None

    def apply_flow_run(self, doc: FlowRun) -> bool:
        current = self.flow_runs.get(doc.id)
        if current is not None and is_newer(current, doc):
            return False
        self.flow_runs[doc.id] = doc
        if len(self.flow_runs) > self.runs_kept:
            self._trim()
        return True

    def apply_task_run(self, doc: TaskRun) -> bool:
        tasks = self.task_runs.setdefault(doc.flow_run_id, {})
        current = tasks.get(doc.id)
        if current is not None and is_newer(current, doc):
            return False
        tasks[doc.id] = doc
        return True

    def apply_lineage(self, flow_run_id: str, doc: Lineage) -> bool:
        """Keeps the newer lineage doc (`recorded_at`): a retry's attempt replaces the last."""
        current = self.lineage.get(flow_run_id)
        if current is not None:
            a, b = parse_iso(doc.recorded_at), parse_iso(current.recorded_at)
            if a is not None and b is not None and a < b:
                return False
        self.lineage[flow_run_id] = doc
        return True

    def _trim(self) -> None:
        unpinned = [doc for doc in self.flow_runs.values() if doc.id not in self.pinned]
        excess = sorted(unpinned, key=run_order)[: len(self.flow_runs) - self.runs_kept]
        for doc in excess:
            self.flow_runs.pop(doc.id, None)
            self.task_runs.pop(doc.id, None)
            self.lineage.pop(doc.id, None)

    def runs_newest_first(self) -> list[FlowRun]:
        return sorted(self.flow_runs.values(), key=run_order, reverse=True)

    def tasks_of(self, flow_run_id: str) -> list[TaskRun]:
        return list(self.task_runs.get(flow_run_id, {}).values())

    def task_name(self, flow_run_id: str, task_run_id: str) -> str:
        """The task's name for a log line; `flow` for flow-level lines."""
        if not task_run_id:
            return "flow"
        doc = self.task_runs.get(flow_run_id, {}).get(task_run_id)
        return doc.name if doc else task_run_id[:8]

    def last_run(self, deployment: Deployment) -> FlowRun | RunSummary | None:
        """The deployment's newest started run: its `last_run`, unless a fresher one is here.

        The engine refreshes `last_run` when it rewrites the deployment; runs arrive more
        often, so the run documents win when they are newer.
        """
        best: FlowRun | RunSummary | None = deployment.last_run or None
        if best is not None and best.id in self.flow_runs:
            best = self.flow_runs[best.id]
        for doc in self.flow_runs.values():
            if doc.deployment_name != deployment.name:
                continue
            if parse_iso(doc.start_time) is None:
                continue
            if best is None or run_order(doc) > run_order(best):
                best = doc
        return best

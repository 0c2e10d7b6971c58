"""Typed messages: the only way data from Redis and command results reach the widgets.

The Redis feed (`console.data.feed`) and the command sender (`console.data.command_sender`)
post these to the app; the app applies them to its `Store` and tells the screens what changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from textual.message import Message

from engine.contract.commands import Command, CommandResult
from engine.contract.documents import Deployment, FlowRun, Heartbeat, Lineage, Pools, TaskRun


class SnapshotLoaded(Message):
    """A full read of deployments and the newest flow runs (at start or after a gap)."""

    def __init__(self, deployments: list[Deployment], flow_runs: list[FlowRun]) -> None:
        super().__init__()
        self.deployments = deployments
        self.flow_runs = flow_runs


class DeploymentChanged(Message):
    def __init__(self, doc: Deployment) -> None:
        super().__init__()
        self.doc = doc


class DeploymentRemoved(Message):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class FlowRunsChanged(Message):
    """Flow runs changed: one per run, the newest read of each, in stream order (the feed
    coalesces a batch of updates so the screens redraw once for all of them)."""

    def __init__(self, docs: list[FlowRun]) -> None:
        super().__init__()
        self.docs = docs


class TaskRunChanged(Message):
    def __init__(self, doc: TaskRun) -> None:
        super().__init__()
        self.doc = doc


class TaskRunsLoaded(Message):
    """Every task run of one flow run, read when a run screen opens."""

    def __init__(self, flow_run_id: str, docs: list[TaskRun]) -> None:
        super().__init__()
        self.flow_run_id = flow_run_id
        self.docs = docs


class LineageChanged(Message):
    """A run's lineage document (its latest attempt), from the `lineage` update kind or a
    lazy read when a run screen opens."""

    def __init__(self, flow_run_id: str, doc: Lineage) -> None:
        super().__init__()
        self.flow_run_id = flow_run_id
        self.doc = doc


class ConnectionChanged(Message):
    """Redis became reachable or unreachable; `reason` says why when it is down."""

    def __init__(self, connected: bool, reason: str = "") -> None:
        super().__init__()
        self.connected = connected
        self.reason = reason

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ConnectionChanged)


class PoolsChanged(Message):
    """The engine's view of Prefect's work pools, queues, workers and limits, as last read."""

    def __init__(self, pools: Pools) -> None:
        super().__init__()
        self.pools = pools

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PoolsChanged)


class EngineStatusChanged(Message):
    """The engine heartbeat as last read: `info` is None when the key is absent."""

    def __init__(self, info: Heartbeat | None, beat_at: datetime | None) -> None:
        super().__init__()
        self.info = info
        self.beat_at = beat_at

    @property
    def alive(self) -> bool:
        return self.info is not None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineStatusChanged)


class CommandSent(Message):
    """A command is on the stream; `engine_alive` says whether anyone is there to run it."""

    def __init__(self, command: Command, engine_alive: bool) -> None:
        super().__init__()
        self.command = command
        self.engine_alive = engine_alive


class CommandAnswered(Message):
    """The engine's result for a command, or None when it did not answer in time."""

    def __init__(self, command: Command, result: CommandResult | None) -> None:
        super().__init__()
        self.command = command
        self.result = result


class CommandFailed(Message):
    """The command could not even be put on the stream (Redis unreachable, its ACL user
    read-only, or over the command size caps)."""

    def __init__(self, action: str, target: str, reason: str) -> None:
        super().__init__()
        self.action = action
        self.target = target
        self.reason = reason


class CommandRequested(Message):
    """A screen asks the app to send a command (after any confirmation)."""

    def __init__(self, action: str, target: str, params: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.action = action
        self.target = target
        self.params = params or {}


NotSentReason = Literal["read-only", "declined", "wrong name", "ineligible", "protected"]


class CommandNotSent(Message):
    """The console decided not to send a command the operator asked for: read-only mode, a
    dialog declined or escaped, a protected name mistyped, or a target that cannot take it
    (no run in a state to, no parameter schema to fill).

    The console posts it where it decides (beside the notification that says so), so a test
    waits for this evidence instead of sleeping and then finding nothing on the stream.
    """

    def __init__(self, what: str, reason: NotSentReason) -> None:
        super().__init__()
        self.what = what
        """What was asked, as the operator reads it: `retry run brave-otter`, `bulk cancel`."""
        self.reason = reason


class TaskRunsWanted(Message):
    """A run screen opened: the app reads that run's task runs from Redis."""

    def __init__(self, flow_run_id: str) -> None:
        super().__init__()
        self.flow_run_id = flow_run_id


class LogWanted(Message):
    """A screen asks the app to open a run's log, only task `task_run_id`'s if given (the
    screens do not import the log feature, which sits above them)."""

    def __init__(self, flow_run_id: str, task_run_id: str | None = None) -> None:
        super().__init__()
        self.flow_run_id = flow_run_id
        self.task_run_id = task_run_id

"""Applies the feed's messages to the store, then calls the `show_*` hooks of the screens
that are open: data first, then the screens that show it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.message import Message

from console.data import messages as msg
from console.data.state import Store
from console.screens.base import LiveScreen

DATA_MESSAGES = (
    msg.SnapshotLoaded,
    msg.DeploymentChanged,
    msg.DeploymentRemoved,
    msg.FlowRunsChanged,
    msg.TaskRunChanged,
    msg.TaskRunsLoaded,
    msg.LineageChanged,
    msg.ConnectionChanged,
    msg.EngineStatusChanged,
    msg.PoolsChanged,
)
"""What `LiveScreens.apply` takes (the app hands each of these to it)."""


class LiveScreens:
    """The app's screens that are kept current, and the store they show."""

    def __init__(self, app: App[Any], store: Store) -> None:
        self.app = app
        self.store = store

    def live(self) -> list[LiveScreen]:
        """Screens to keep current: mounted ones not being torn down (data arriving while
        the app exits would otherwise query widgets that are already gone)."""
        return [
            screen
            for screen in self.app.screen_stack
            if isinstance(screen, LiveScreen)
            and screen.is_mounted
            and not (screen._closing or screen._pruning)
        ]

    def tick(self) -> None:
        # The top screen only, and through live(): a tick landing while the app exits
        # would otherwise query the widgets of a screen being torn down (or an empty stack).
        live = self.live()
        if live and live[-1] is self.app.screen_stack[-1]:
            live[-1].tick()

    def show_status(self) -> None:
        for screen in self.live():
            screen.show_status()

    def trigger_answered(self, new_run: str | None) -> None:
        for screen in self.live():
            screen.trigger_answered(new_run)

    def apply(self, message: Message) -> None:
        """Stores one of DATA_MESSAGES and shows what it changed."""
        store = self.store
        if isinstance(message, msg.SnapshotLoaded):
            self._apply_snapshot(message)
        elif isinstance(message, msg.DeploymentChanged):
            if store.apply_deployment(message.doc):
                self._each(lambda s: s.show_deployment(message.doc.name))
        elif isinstance(message, msg.DeploymentRemoved):
            if store.remove_deployment(message.name):
                self._each(lambda s: s.show_deployment(message.name))
        elif isinstance(message, msg.FlowRunsChanged):
            taken = [doc for doc in message.docs if store.apply_flow_run(doc)]
            if taken:
                with self.app.batch_update():
                    self._each(lambda s: s.show_flow_runs(taken))
        elif isinstance(message, msg.TaskRunChanged):
            if store.apply_task_run(message.doc):
                self._each(lambda s: s.show_task_run(message.doc))
        elif isinstance(message, msg.TaskRunsLoaded):
            for doc in message.docs:
                store.apply_task_run(doc)
            with self.app.batch_update():
                self._each(lambda s: s.show_task_runs(message.flow_run_id))
        elif isinstance(message, msg.LineageChanged):
            if store.apply_lineage(message.flow_run_id, message.doc):
                self._each(lambda s: s.show_lineage(message.flow_run_id))
        elif isinstance(message, msg.ConnectionChanged):
            changed = (store.connected, store.connection_reason) != (
                message.connected,
                message.reason,
            )
            store.connected = message.connected
            store.connection_reason = message.reason
            if changed:
                self.show_status()
        elif isinstance(message, msg.PoolsChanged):
            store.pools = message.pools
            self._each(lambda s: s.show_pools())
        elif isinstance(message, msg.EngineStatusChanged):
            store.engine = message.info
            store.beat_at = message.beat_at
            store.heartbeat_read = True
            self.show_status()

    def _apply_snapshot(self, message: msg.SnapshotLoaded) -> None:
        names = {doc.name for doc in message.deployments}
        for name in [n for n in self.store.deployments if n not in names]:
            self.store.remove_deployment(name)
        for doc in message.deployments:
            self.store.apply_deployment(doc)
        for run in message.flow_runs:
            self.store.apply_flow_run(run)
        with self.app.batch_update():
            self._each(lambda s: s.show_snapshot())

    def _each(self, show: Callable[[LiveScreen], None]) -> None:
        for screen in self.live():
            show(screen)

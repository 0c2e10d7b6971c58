"""The console app's wiring: the Redis feed and the command sender post typed messages, the
store and the live screens take them in (keys, help and `:` commands: console.cmdline)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from textual import on, work
from textual.message import Message
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState, get_current_worker

from console.cmdline.commanding_app import CommandingApp
from console.context import Clock, Context, local_now
from console.data import command_sender as notices
from console.data.command_sender import CommandSender, Notice
from console.data.feed import RedisFeed
from console.data.history import HistoryAsker
from console.data.messages import (
    CommandAnswered,
    CommandFailed,
    CommandNotSent,
    CommandRequested,
    CommandSent,
    FlowRunsChanged,
    LineageChanged,
    LogWanted,
    TaskRunsLoaded,
    TaskRunsWanted,
)
from console.data.rejected import RejectedWatch
from console.data.state import Store
from console.screens.live_screens import DATA_MESSAGES, LiveScreens
from console.screens.main import MainScreen
from engine.contract.keys import Keys
from themes import DEFAULT_THEME, register_themes

SERVICES_CHECK_SECONDS = 2.0
"""How often a --demo console checks that its demo services are still there."""


class ConsoleApp(CommandingApp):
    """Keyboard console over the Redis mirror of Prefect.

    Args:
        redis_url: the Redis to read and send commands to.
        keys: key names under the prefix in use.
        now: the clock (aware datetimes); times are shown in its zone.
        theme_name: a name from `themes.THEMES`.
        heartbeat_interval: seconds between heartbeat reads (also the XREAD block time).
        command_timeout: seconds to wait for a command's result before saying so.
        tick_interval: seconds between refreshes of running durations and the clock.
        read_only: hide and refuse every action that changes something.
        user_themes: extra themes (from YAML files) to register besides the built-ins.
        keymap: binding id -> keys (console.yaml's `keymap:`, checked by console.settings.keymap).
        theme_errors: user theme files that failed validation, one message per file
            (`themes.user.report_by_file`); shown on screen when the console opens.
    """

    CSS_PATH = "app.tcss"
    TITLE = "aiwf-console"
    # Screen classes for small terminals: app.tcss gives dialogs one-line buttons there.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (16, "-tall")]

    def __init__(
        self,
        redis_url: str,
        keys: Keys | None = None,
        *,
        now: Clock = local_now,
        theme_name: str = DEFAULT_THEME,
        heartbeat_interval: float = 2.0,
        command_timeout: float = 20.0,
        tick_interval: float = 1.0,
        read_only: bool = False,
        user_themes: Sequence[Theme] = (),
        keymap: Mapping[str, str] | None = None,
        services_notice: Callable[[], str] | None = None,
        theme_errors: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.keys = keys or Keys()
        self.redis_url = redis_url
        self.read_only = read_only
        self.store = Store(redis_url=redis_url, prefix=self.keys.prefix)
        self.ctx = Context(
            store=self.store, now=now, redis_url=redis_url, keys=self.keys, read_only=read_only
        )
        self.tick_interval = tick_interval
        self.feed = RedisFeed(
            redis_url,
            self.keys,
            self.post_message,
            heartbeat_interval=heartbeat_interval,
            runs_kept=self.store.runs_kept,
        )
        self.screens = LiveScreens(self, self.store)
        self.commands = CommandSender(redis_url, self.keys, self.post_message, command_timeout)
        self.rejected = RejectedWatch()
        """Bad documents skipped from here on: a warning per key, a count in the status line."""
        self.services_notice = services_notice
        """With --demo: says why the demo services are gone ('' while they are up)."""
        register_themes(self)
        for theme in user_themes:
            self.register_theme(theme)
        self.theme = theme_name
        self.theme_errors = list(theme_errors)
        if keymap:
            self.set_keymap(dict(keymap))

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(self.ctx)

    def on_mount(self) -> None:
        self._follow_redis()
        self.set_interval(self.tick_interval, self._tick)
        if self.services_notice is not None:
            self._check_services()
            self.set_interval(SERVICES_CHECK_SECONDS, self._check_services)
        # On screen too: stderr before the screen opens is gone once it does.
        for message in self.theme_errors:
            self.notify(message, title="Theme skipped", severity="error", timeout=30, markup=False)

    def _check_services(self) -> None:
        note = self.services_notice() if self.services_notice is not None else ""
        if note != self.store.services_note:
            self.store.services_note = note
            self.screens.show_status()

    def _tick(self) -> None:
        self._warn_bad_documents()
        self.screens.tick()

    def _warn_bad_documents(self) -> None:
        if self.rejected.count != self.store.bad_documents:
            self.store.bad_documents = self.rejected.count
            self.screens.show_status()
        warning = self.rejected.take_warning()
        if warning is not None:
            self.notify(
                warning.text,
                title="Bad documents in Redis",
                severity="warning",
                timeout=15,
                markup=False,
            )

    # The one path in (console.data.feed), and the task runs a run screen wants.

    @work(exclusive=True, group="redis", exit_on_error=False)
    async def _follow_redis(self) -> None:
        await self.feed.follow()

    @work(group="task-runs", exit_on_error=False)
    async def _read_task_runs(self, flow_run_id: str) -> None:
        reason = await self.feed.read_task_runs(flow_run_id)
        if reason:
            self.notify(f"Could not read the task runs: {reason}", severity="error")
        elif flow_run_id not in self.store.flow_runs:  # older than the mirror keeps
            await self._read_older_run(flow_run_id)

    async def _read_older_run(self, flow_run_id: str) -> None:
        """The run and its task runs from Prefect, through the engine, kept in the store
        while the console runs (a run from an older page of the history)."""
        asker = HistoryAsker(self.ctx.redis_url, self.ctx.keys)
        try:
            page, reason = await asyncio.to_thread(asker.older_run, flow_run_id)
        finally:
            asker.close()
        if page is None or not page.ok or not page.runs:
            why = page.error if page is not None and page.error else reason or "no such run"
            self.notify(f"Could not read run {flow_run_id} from Prefect: {why}", severity="error")
            return
        self.store.pinned.add(flow_run_id)
        self.post_message(FlowRunsChanged(page.runs))
        self.post_message(TaskRunsLoaded(flow_run_id, page.task_runs))
        if page.lineage is not None:  # Redis dropped it with the run; the engine's table kept it
            self.post_message(LineageChanged(flow_run_id, page.lineage))

    def _apply_data(self, message: Message) -> None:
        self.screens.apply(message)  # the store first, then the screens that show it

    # The one handler of every message of the feed: `on` once per type (Textual dispatches
    # on a message's exact type).
    for _feed_message in DATA_MESSAGES:
        _apply_data = on(_feed_message)(_apply_data)
    del _feed_message

    def on_task_runs_wanted(self, message: TaskRunsWanted) -> None:
        self._read_task_runs(message.flow_run_id)

    def on_log_wanted(self, message: LogWanted) -> None:
        from console.logs.screen import LogScreen

        self.push_screen(LogScreen(self.ctx, message.flow_run_id, message.task_run_id))

    # Commands: sent and awaited in a thread (console.data.command_sender), then notified.

    def on_command_requested(self, message: CommandRequested) -> None:
        if self.read_only:  # the screens refuse first; this is the last line of defence
            self.post_message(CommandNotSent(f"{message.action} {message.target}", "read-only"))
            self._show(notices.read_only_notice(message.action, message.target))
            if message.action == "trigger":
                self.screens.trigger_answered(None)
            return
        self._send_command(message.action, message.target, message.params)

    @work(thread=True, group="commands", exit_on_error=False)
    def _send_command(self, action: str, target: str, params: dict[str, Any]) -> None:
        worker = get_current_worker()
        self.commands.send(action, target, params, lambda: worker.is_cancelled)

    @on(CommandSent)
    @on(CommandAnswered)
    @on(CommandFailed)
    def _command_outcome(self, message: CommandSent | CommandAnswered | CommandFailed) -> None:
        outcome = notices.outcome(message, self.store)
        if outcome.answers_trigger:
            self.screens.trigger_answered(outcome.new_run)
        self._show(outcome.notice)

    def _show(self, notice: Notice) -> None:
        self.notify(
            notice.text, title=notice.title, severity=notice.severity, timeout=notice.timeout
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(
                f"{event.worker.name} stopped: {event.worker.error!r}",
                title="Internal error",
                severity="error",
                timeout=30,
            )

    def on_unmount(self) -> None:
        self.commands.close()

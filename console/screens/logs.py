"""A run's log, or one task's: reads the log stream from its start, then follows it live."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from redis.exceptions import RedisError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Label

from console.context import Context
from console.screens.base import LiveScreen
from console.store import START_ID, LogEntry, RedisReader, describe_error
from console.widgets.log_view import LogView
from console.widgets.status_bar import StatusBar

PAGE = 1000
"""Entries per XRANGE/XREAD call."""


class LogScreen(LiveScreen):
    """Log lines of flow run `flow_run_id`, only task `task_run_id`'s if one is given."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the run", id="log.back"),
        Binding(
            "f",
            "toggle_follow",
            "Follow",
            tooltip="Scroll to new lines as they arrive",
            id="log.toggle_follow",
        ),
    ]

    def __init__(self, ctx: Context, flow_run_id: str, task_run_id: str | None) -> None:
        super().__init__(ctx)
        self.flow_run_id = flow_run_id
        self.task_run_id = task_run_id
        self.last_id = START_ID
        """The last log stream entry read: the tail continues after it, also on reconnect."""
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="log-title", classes="title")
        yield LogView(self._task_name, self.ctx.now().tzinfo, id="log")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.log_view.focus()
        self._follow_log()

    def _task_name(self, task_run_id: str) -> str:
        return self.ctx.store.task_name(self.flow_run_id, task_run_id)

    def _title(self) -> str:
        run = self.ctx.store.flow_runs.get(self.flow_run_id, {})
        scope = self._task_name(self.task_run_id) if self.task_run_id else "all tasks"
        title = f"Log: {run.get('name', self.flow_run_id)} / {scope}"
        if self.is_mounted:
            mode = "following" if self.log_view.auto_scroll else "paused (f: follow)"
            title += f"  ({self.log_view.lines_written} lines, {mode})"
        if self.problem:
            title += f"  ✖ {self.problem}"
        return title

    def _update_title(self) -> None:
        self.query_one("#log-title", Label).update(self._title())

    def _show(self, entries: list[LogEntry]) -> None:
        if not entries:
            return
        self.last_id = entries[-1].entry_id
        if self.task_run_id is not None:
            entries = [e for e in entries if e.fields.get("task_run_id") == self.task_run_id]
        self.log_view.add_entries(entries)
        self._update_title()

    @work(exclusive=True, group="log", exit_on_error=False)
    async def _follow_log(self) -> None:
        reader = RedisReader(self.ctx.redis_url, self.ctx.keys)
        backoff = 0.5
        try:
            while True:
                try:
                    while True:  # catch up, a page at a time
                        page = await reader.read_logs(self.flow_run_id, self.last_id, PAGE)
                        self._show(page)
                        if len(page) < PAGE:
                            break
                    if self.problem:
                        self.problem = ""
                        self._update_title()
                    backoff = 0.5
                    while True:
                        self._show(await reader.tail_logs(self.flow_run_id, self.last_id, PAGE))
                except (RedisError, OSError) as exc:
                    self.problem = f"Redis: {describe_error(exc)}; retrying"
                    self._update_title()
                    await reader.close()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            await reader.close()

    def refresh_all(self) -> None:
        super().refresh_all()
        self._update_title()

    def action_toggle_follow(self) -> None:
        self.log_view.auto_scroll = not self.log_view.auto_scroll
        if self.log_view.auto_scroll:
            self.log_view.scroll_end(animate=False)
        self._update_title()

    def action_back(self) -> None:
        self.app.pop_screen()

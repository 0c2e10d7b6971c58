"""A run's log, or one task's: follows the stream (console.logs.follow), filters, searches,
saves. One worker scans message text for a search or a hide pattern, another writes a saved
view; only the LogView's visible rows hold line text.
"""

from __future__ import annotations

import re
import uuid
from array import array
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from redis.exceptions import RedisError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Label
from textual.worker import get_current_worker

from console.context import Context
from console.data.connection import describe_error
from console.data.store import LogEntry, RedisReader
from console.logs.follow import LogFollower
from console.logs.index import LEVELS, WINDOWS, LogFilter, row_of, step_match, visible_matches
from console.logs.prefect_copy import copy_from_prefect
from console.logs.prompt import LogPrompt
from console.logs.scan import compile_pattern, default_save_path, scan_text
from console.logs.view import LogView
from console.screens.base import LiveScreen
from console.text.formatting import lines_text, pattern_text
from console.widgets.status_bar import StatusBar
from console.widgets.titles import show_title
from engine.contract.documents import TaskRun


def _key(key: str, action: str, label: str, tip: str, show: bool = True) -> Binding:
    return Binding(key, action, label, tooltip=tip, show=show, id=f"log.{action}")


class LogScreen(LiveScreen):
    """Log lines of flow run `flow_run_id`, only task `task_run_id`'s if one is given."""

    BINDINGS: ClassVar[list[BindingType]] = [
        _key("escape", "back", "Back", "Clear the search and hidden lines, else back"),
        _key("f", "toggle_follow", "Follow", "Follow new lines on/off"),
        _key("slash", "search", "Search", "Search messages (regex; lowercase: any case)"),
        _key("n", "next_match", "Next", "Next search match", show=False),
        _key("N", "previous_match", "Prev", "Previous search match", show=False),
        _key("x", "hide", "Hide", "Hide lines whose message matches a regex", show=False),
        _key(
            "m", "min_level", "Level", "Cycle the minimum level: all, DEBUG ... ERROR", show=False
        ),
        _key("R", "window", "Window", "Cycle the time window: all, 1m, 5m, 15m, 1h", show=False),
        _key("A", "attempt", "Attempt", "Cycle the task's attempts (task logs)", show=False),
        _key("W", "toggle_wrap", "Wrap", "Wrap long lines on/off", show=False),
        _key("t", "toggle_timestamps", "Time", "Show or hide timestamps", show=False),
        _key("g", "top", "Top", "Jump to the first line (stops following)", show=False),
        _key("G", "bottom", "Bottom", "Jump to the last line", show=False),
        _key("s", "save", "Save", "Save the lines shown to a file"),
        _key(
            "p",
            "from_prefect",
            "Prefect",
            "Read the run's whole log from Prefect (lines the engine dropped from Redis too)",
            show=False,  # the title offers it when lines were dropped
        ),
    ]

    def __init__(
        self, ctx: Context, flow_run_id: str, task_run_id: str | None, from_prefect: bool = False
    ) -> None:
        super().__init__(ctx)
        self.flow_run_id = flow_run_id
        self.task_run_id = task_run_id
        self.copy_id = uuid.uuid4().hex if from_prefect else ""
        """The log copy this screen reads (`keys.log_copy`), asked of the engine on mount;
        empty: the screen reads the mirror's stream."""
        self.copy_note = "copying from Prefect…" if from_prefect else ""
        self.filter = LogFilter(task=task_run_id)
        self.level_choice = 0
        self.window_choice = 0
        self.busy = ""
        """What a worker is doing (`reading 45%`), shown in the title."""
        self.problem = ""
        self.trimmed = ""
        self.search: re.Pattern[str] | None = None
        self.hide: re.Pattern[str] | None = None
        self.matches = array("q")
        """Positions whose message the search matched, in stream order."""
        self.shown_matches = array("q")
        """Those of `matches` the view shows (n/N move among them)."""
        self._names: list[str] = []
        """Task names the lines were drawn with (tags), in index order."""
        self.follower: LogFollower
        """Reads the stream (set on mount, when the view and its index exist)."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="log-title", classes="title")
        yield LogView(self._task_name, self.ctx.now().tzinfo, id="log")
        yield LogPrompt(id="log-prompt")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.log_view.focus()
        reader = RedisReader(self.ctx.redis_url, self.ctx.keys)
        copy_key = self.ctx.keys.log_copy(self.copy_id) if self.copy_id else ""
        self.follower = LogFollower(reader, self.flow_run_id, self.log_view.index, self, copy_key)
        self._follow_log()
        if self.copy_id:
            self._copy_from_prefect()

    def _task_name(self, task_run_id: str) -> str:
        return self.ctx.store.task_name(self.flow_run_id, task_run_id)

    # The title says everything that narrows or moves the view.

    def _title(self) -> str:
        run = self.ctx.store.flow_runs.get(self.flow_run_id)
        scope = self._task_name(self.task_run_id) if self.task_run_id else "all tasks"
        where = "Log from Prefect" if self.copy_id else "Log"
        parts = [f"{where}: {run.name if run else self.flow_run_id} / {scope}"]
        if not self.is_mounted:
            return parts[0]
        view = self.log_view
        index = view.index
        if self.task_run_id and self.filter.attempt:
            total = index.attempts_of(self.task_run_id)
            parts.append(f"attempt {self.filter.attempt} of {total}")
        parts.append(lines_text(view.lines_written))
        # Next to the count, where a narrow terminal still shows them: what is missing, and
        # the key that brings it (or what the copy from Prefect holds).
        parts += [part for part in (self.copy_note, self.trimmed) if part]
        if self.filter.min_level:
            parts.append(f"≥ {LEVELS[self.level_choice][1]}")
        if self.filter.since:
            parts.append(WINDOWS[self.window_choice][1])
        if self.hide is not None:
            parts.append(f"hiding {pattern_text(self.hide.pattern)}")
        if self.search is not None:
            current = view.current
            nth = row_of(self.shown_matches, current) if current is not None else None
            where = f"{nth + 1}/" if nth is not None else ""
            parts.append(f"{pattern_text(self.search.pattern)} {where}{len(self.shown_matches):,}")
        if view.wrap:
            parts.append("wrapped")
        parts.append("following" if view.auto_scroll else "paused")
        parts += [self.busy] if self.busy else []
        title = " · ".join(parts)
        problem = self.problem or view.fetch_error
        return f"{title}  ✖ {problem}" if problem else title

    def _update_title(self) -> None:
        for label in self.query("#log-title").results(Label):
            show_title(label, self._title())

    def refresh_all(self) -> None:
        super().refresh_all()
        self._update_title()

    def show_task_run(self, doc: TaskRun) -> None:
        if doc.flow_run_id == self.flow_run_id:
            self._names_changed()

    def show_task_runs(self, flow_run_id: str) -> None:
        if flow_run_id == self.flow_run_id:
            self._names_changed()

    def _names_changed(self) -> None:
        """Redraws (and, when wrapping, re-counts rows) only if a tag would read otherwise."""
        view = self.log_view
        names = [self._task_name(task_id) for task_id in view.index.task_ids]
        if names != self._names:
            self._names = names
            view.restyle(relayout=True)

    # Reading the stream (console.logs.follow); these are its LogTarget side.

    @work(exclusive=True, group="log", exit_on_error=False)
    async def _follow_log(self) -> None:
        self.log_view.source = self.follower.source
        try:
            await self.follower.follow()
        finally:
            self.log_view.source = None

    @property
    def indexed(self) -> bool:
        """The first pass over the stream is done (searches need it)."""
        return self.follower.indexed

    def show_new(self, start: int) -> None:
        view = self.log_view
        view.extend_view(view.index.view(self.filter, start))
        self.shown_matches = visible_matches(view.view, self.matches)

    def show_older(self, offset: int) -> None:
        view = self.log_view
        top = view.top_position()
        view.shift(offset)
        self.matches = array("q", (position + offset for position in self.matches))
        view.set_view(view.index.view(self.filter), None if top is None else top + offset)
        self.shown_matches = visible_matches(view.view, self.matches)
        self._names_changed()
        self._update_title()

    def take_tail(self, entries: list[LogEntry]) -> None:
        view = self.log_view
        start = len(view.index)
        for entry in entries:
            position = view.index.add_line(entry.entry_id, entry.line)
            view.remember(position, entry.line)
            msg = entry.line.msg
            if self.hide is not None and self.hide.search(msg):
                view.index.hidden[position] = 1
            if self.search is not None and self.search.search(msg):
                self.matches.append(position)
        if entries:
            self.show_new(start)
            self._update_title()

    def show_busy(self, busy: str) -> None:
        self.busy = busy
        self._update_title()

    def show_problem(self, problem: str) -> None:
        self.problem = problem
        self._update_title()

    def show_trimmed(self, note: str) -> None:
        if not note and self.flow_run_id in self.ctx.store.pinned and not self.copy_id:
            # A run older than the mirror keeps: Redis dropped its log with it.
            note = "older than Redis keeps: its log is in Prefect (p)"
        self.trimmed = note
        self._update_title()

    # Filters.

    def _refilter(self) -> None:
        view = self.log_view
        view.set_view(view.index.view(self.filter), view.top_position())
        self.shown_matches = visible_matches(view.view, self.matches)
        self._update_title()

    def action_min_level(self) -> None:
        self.level_choice = (self.level_choice + 1) % len(LEVELS)
        self.filter = replace(self.filter, min_level=LEVELS[self.level_choice][0])
        self._refilter()

    def action_window(self) -> None:
        """Windows end at the newest line, so a finished run's last minutes can be seen."""
        self.window_choice = (self.window_choice + 1) % len(WINDOWS)
        seconds = WINDOWS[self.window_choice][0]
        since = self.log_view.index.newest_ts() - seconds if seconds else 0.0
        self.filter = replace(self.filter, since=since)
        self._refilter()

    def action_attempt(self) -> None:
        if self.task_run_id is None:
            tip = "Attempts are per task: open a task's log (enter on the run screen), then A."
            self.notify(tip, severity="warning")
            return
        total = self.log_view.index.attempts_of(self.task_run_id)
        attempt = (self.filter.attempt + 1) % (total + 1)
        self.filter = replace(self.filter, attempt=attempt)
        if total == 1:
            self.notify(f"{self._task_name(self.task_run_id)} ran once: one attempt.")
        self._refilter()

    def action_toggle_wrap(self) -> None:
        self.log_view.wrap = not self.log_view.wrap
        self.log_view.restyle()

    def action_toggle_timestamps(self) -> None:
        self.log_view.timestamps = not self.log_view.timestamps
        self.log_view.restyle()

    def action_toggle_follow(self) -> None:
        view = self.log_view
        view.auto_scroll = not view.auto_scroll
        if view.auto_scroll:
            view.scroll_to_end(immediate=True)
        self._update_title()

    def action_top(self) -> None:
        self.log_view.auto_scroll = False  # else the next line would jump back down
        self.log_view.scroll_home(animate=False, immediate=True)
        self._update_title()

    def action_bottom(self) -> None:
        self.log_view.scroll_to_end(immediate=True)

    # Search and hide.

    def action_search(self) -> None:
        text = self.search.pattern if self.search else ""
        self.query_one(LogPrompt).open("search", "/", text, "regex in the message")

    def action_hide(self) -> None:
        text = self.hide.pattern if self.hide else ""
        self.query_one(LogPrompt).open("hide", "hide", text, "regex; empty shows every line")

    def action_save(self) -> None:
        if not self.indexed:  # the older lines would move under the save
            self.notify(f"Still reading the log ({self.busy}); try again when it is read.")
            return
        self.query_one(LogPrompt).open("save", "save to", str(self._default_save_path()))

    def _default_save_path(self) -> Path:
        run = self.ctx.store.flow_runs.get(self.flow_run_id)
        scope = self._task_name(self.task_run_id) if self.task_run_id else "all"
        return default_save_path(run.name if run else self.flow_run_id, scope, self.ctx.now())

    def on_log_view_paused(self, event: LogView.Paused) -> None:
        self._update_title()

    def on_log_prompt_cancelled(self, event: LogPrompt.Cancelled) -> None:
        self.log_view.focus()

    def on_log_prompt_submitted(self, event: LogPrompt.Submitted) -> None:
        self.log_view.focus()
        if event.mode == "save":
            if event.text.strip():
                self._save(Path(event.text.strip()).expanduser())
            return
        if not event.text:
            self._clear(event.mode)
            return
        if not self.indexed:
            self.notify(f"Still reading the log ({self.busy}); try again when it is read.")
            return
        pattern, error = compile_pattern(event.text)
        if pattern is None:
            self.notify(f"Not a valid regex {event.text!r}: {error}", severity="error")
            return
        self._scan(event.mode, pattern)

    def _clear(self, mode: str) -> bool:
        view = self.log_view
        if mode == "search" and self.search is not None:
            self.search = None
            self.matches = array("q")
            view.pattern = view.current = None
            view.restyle()
        elif mode == "hide" and self.hide is not None:
            self.hide = None
            view.index.hide_only()
        else:
            return False
        self._refilter()
        return True

    @work(exclusive=True, group="log-scan", exit_on_error=False)
    async def _scan(self, mode: str, pattern: re.Pattern[str]) -> None:
        source = self.log_view.source
        if source is None:
            return
        index = self.log_view.index

        def progress(done: int) -> None:
            verb = "searching" if mode == "search" else "hiding"
            self.show_busy(f"{verb} {done * 100 // max(len(index), 1)}%")

        try:
            found = await scan_text(source, index, pattern, progress)
        except (RedisError, OSError) as exc:
            self.notify(f"Search stopped: Redis: {describe_error(exc)}", severity="error")
            return
        finally:
            self.busy = ""
        view = self.log_view
        if mode == "hide":
            self.hide = pattern
            index.hide_only(found)
            self._refilter()
            return
        self.search = pattern
        self.matches = found
        view.pattern = pattern
        view.restyle()
        self.shown_matches = visible_matches(view.view, found)
        if not self.shown_matches:
            view.current = None
            self.notify(f"No line shown matches /{pattern.pattern}/.", severity="warning")
            self._update_title()
            return
        self._go_to(step_match(self.shown_matches, None, view.top_position() or 0, True))

    def _go_to(self, position: int) -> None:
        self.log_view.go_to(position)
        self._update_title()

    def _step(self, forward: bool) -> None:
        shown = self.shown_matches
        if self.search is None or not shown:
            self.notify("No search matches: / searches.", severity="warning")
            return
        view = self.log_view
        self._go_to(step_match(shown, view.current, view.top_position() or 0, forward))

    def action_next_match(self) -> None:
        self._step(True)

    def action_previous_match(self) -> None:
        self._step(False)

    # Saving.

    @work(exclusive=True, group="log-save", exit_on_error=False)
    async def _save(self, path: Path) -> None:
        view = self.log_view
        if view.source is None:
            return
        total = max(len(view.view), 1)

        def progress(done: int) -> None:
            self.show_busy(f"saving {done * 100 // total}%")

        try:
            written = await view.save_shown(path, progress)
        except OSError as exc:
            self.notify(
                f"Could not write {path}: {exc.strerror or exc}. Type another path (s).",
                severity="error",
            )
            return
        except RedisError as exc:
            self.notify(f"Saving stopped: Redis: {describe_error(exc)}", severity="error")
            return
        finally:
            self.show_busy("")
        self.notify(f"Saved {written:,} lines to {path}", title="Log saved")

    # The whole log, from Prefect.

    def action_from_prefect(self) -> None:
        if self.copy_id:
            self.notify("This is the run's log as Prefect holds it: Esc goes back.")
            return
        self.app.push_screen(
            LogScreen(self.ctx, self.flow_run_id, self.task_run_id, from_prefect=True)
        )

    @work(thread=True, exclusive=True, group="log-copy", exit_on_error=False)
    def _copy_from_prefect(self) -> None:
        note = copy_from_prefect(self.ctx, self.copy_id, self.flow_run_id)
        if not get_current_worker().is_cancelled:  # else the screen (or the app) is gone
            self.app.call_from_thread(self._show_copy_note, note)

    def _show_copy_note(self, note: str) -> None:
        self.copy_note = note
        self._update_title()

    def action_back(self) -> None:
        if not (self._clear("search") or self._clear("hide")):
            self.app.pop_screen()

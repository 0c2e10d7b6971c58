"""Log lines as `time level [task] message`, the level as a word tinted by the theme."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from rich.text import Text
from textual.widgets import RichLog

from console.formatting import LEVEL_TONES, iso_time
from console.store import LogEntry
from console.widgets.tones import tone_style

MAX_LINES = 50_000
"""Lines kept in memory; a virtualised view that pages from Redis is a later step."""


class LogView(RichLog):
    """A RichLog fed with log stream entries; `task_name` turns a task run id into a name."""

    def __init__(
        self, task_name: Callable[[str], str], zone: tzinfo | None, *, id: str | None = None
    ) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False, id=id)
        self.task_name = task_name
        self.zone = zone
        self.lines_written = 0
        """Entries shown so far (tests and the title read it)."""

    def add_entries(self, entries: list[LogEntry]) -> None:
        for entry in entries:
            self.write(self.format_entry(entry))
            self.lines_written += 1

    def format_entry(self, entry: LogEntry) -> Text:
        fields = entry.fields
        level = (fields.get("level_name") or fields.get("level") or "?").upper()
        line = Text(no_wrap=True, end="")
        line.append(iso_time(fields.get("ts"), self.zone), tone_style(self.app, "muted"))
        line.append(" ")
        line.append(f"{level:<8}", tone_style(self.app, LEVEL_TONES.get(level, "muted"), True))
        line.append(" ")
        line.append(f"[{self.task_name(fields.get('task_run_id', ''))}]", "bold")
        line.append(" ")
        line.append(fields.get("msg", ""))
        return line

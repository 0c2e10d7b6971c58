"""How one log line is laid out: `time level [task #attempt] message`, wrapped or not.

Row counts must be known for lines that were never fetched (the scrollbar of a million-line
log), so wrapping is by characters with a hanging indent, and a message's row count follows
from its line lengths alone (`LogIndex.lengths`). A line that is not wrapped shows its
newlines as `⏎`, which keeps one row per line and the same character count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from rich.style import Style
from rich.text import Text

from console.text.formatting import iso_time
from engine.contract.documents import LogLine

TIME_WIDTH = 15
"""`11-25 09:56:00 ` (format_time plus a space)."""
LEVEL_WIDTH = 9
"""`WARNING  `: the longest common level name, padded, plus a space."""
GUTTER = "▶ "
"""Marks the current search match (not by colour alone)."""
MIN_TEXT = 10
"""Narrowest message column when wrapping; narrower terminals crop instead."""
NEWLINE = "⏎"


@dataclass(frozen=True)
class Layout:
    """What changes how every line looks; part of each rendered-line cache key."""

    width: int
    wrap: bool = False
    timestamps: bool = True
    gutter: bool = False
    """Leave room for the current-match mark (while a search is active)."""

    def prefix_width(self, tag: str) -> int:
        return (
            (len(GUTTER) if self.gutter else 0)
            + (TIME_WIDTH if self.timestamps else 0)
            + LEVEL_WIDTH
            + len(tag)
            + 3  # the brackets around the tag and the space after them
        )

    def text_width(self, tag: str) -> int:
        return max(MIN_TEXT, self.width - self.prefix_width(tag))

    def rows(self, tag: str, lengths: tuple[int, ...]) -> int:
        """Rows a message with these line lengths takes (1 unless wrapping)."""
        if not self.wrap:
            return 1
        avail = self.text_width(tag)
        return sum(max(1, -(-length // avail)) for length in lengths)


def tag_of(task_name: str, attempt: int) -> str:
    """`infer-0`, or `infer-0 #2` for a line of the task's second attempt."""
    return task_name if attempt <= 1 else f"{task_name} #{attempt}"


@dataclass(frozen=True)
class Styles:
    """Rich styles of the theme in use (the widget looks them up from theme variables)."""

    time: Style
    level: Callable[[str], Style]
    tag: Style
    match: Style
    current: Style


def entry_rows(
    line: LogLine,
    tag: str,
    layout: Layout,
    zone: tzinfo | None,
    styles: Styles,
    pattern: re.Pattern[str] | None = None,
    current: bool = False,
) -> list[Text]:
    """The rows of one log line: one row, or as many as `Layout.rows` says when wrapping."""
    level = (line.level_name or line.level or "?").upper()
    prefix = Text(no_wrap=True, end="")
    if layout.gutter:
        prefix.append(GUTTER if current else " " * len(GUTTER), styles.current)
    if layout.timestamps:
        prefix.append(_time(line.ts, zone) + " ", styles.time)
    prefix.append(f"{level:<8} ", styles.level(level))
    prefix.append(f"[{tag}] ", styles.tag)
    msg = line.msg
    if not layout.wrap:
        body = Text(msg.replace("\n", NEWLINE), no_wrap=True, end="")
        _highlight(body, pattern, styles, current)
        return [prefix + body]
    avail = layout.text_width(tag)
    indent = Text(" " * prefix.cell_len, end="")
    rows: list[Text] = []
    for part in msg.split("\n"):
        body = Text(part, no_wrap=True, end="")
        _highlight(body, pattern, styles, current)
        for start in range(0, max(1, len(part)), avail):
            rows.append((indent if rows else prefix) + body[start : start + avail])
    return rows


def _highlight(body: Text, pattern: re.Pattern[str] | None, styles: Styles, current: bool) -> None:
    if pattern is not None:
        body.highlight_regex(pattern, styles.current if current else styles.match)


def plain_line(line: LogLine, tag: str, zone: tzinfo | None, timestamps: bool) -> str:
    """The line as saved to a file: no styles, newlines kept."""
    level = (line.level_name or line.level or "?").upper()
    time = f"{_time(line.ts, zone)} " if timestamps else ""
    return f"{time}{level:<8} [{tag}] {line.msg}"


def _time(value: str | None, zone: tzinfo | None) -> str:
    """The line's time as the console shows times; an unreadable one as it was written."""
    try:
        return iso_time(value, zone)
    except ValueError:
        return str(value)[:14]

"""A virtualised log: draws only the visible rows, fetching their lines from Redis by ID.

The view is an array of index positions (`console.logs.index`); a row is drawn from the
line's fields, kept in an LRU cache, and its rendered strips in a second LRU cache (as
Toolong's `LogLines`). A row whose line is not cached yet is drawn as `…` and a fetch of
the visible rows (and a margin) is started; the rows are redrawn when it lands.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path

from redis.exceptions import RedisError
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.logs.index import LogIndex
from console.logs.lines import Layout, Styles, entry_rows, tag_of
from console.logs.scan import save_view
from console.logs.source import LogSource
from console.text.formatting import LEVEL_TONES
from console.widgets.tones import tone_style
from engine.contract.documents import LogLine

LINES_CACHED = 20_000
"""Fetched lines kept (fields only; about 1 kB each at most)."""
STRIPS_CACHED = 2_000
"""Rendered lines kept."""
MARGIN = 50
"""Rows fetched above and below the visible ones, so short scrolls find them cached."""
PLACEHOLDER = "…"


class LogView(ScrollView, can_focus=True):
    """Rows of `view` (positions in `index`); `task_name` turns a task run id into a name."""

    DEFAULT_CSS = """
    LogView { background: $surface; }
    """

    def __init__(
        self, task_name: Callable[[str], str], zone: tzinfo | None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.task_name = task_name
        self.zone = zone
        self.index = LogIndex()
        self.view: array[int] = array("q")
        """Positions shown, in order; one per line (several rows each when wrapping)."""
        self.source: LogSource | None = None
        self.auto_scroll = True
        """Follow: keep the newest line in sight as lines arrive."""
        self.wrap = False
        self.timestamps = True
        self.pattern: re.Pattern[str] | None = None
        """The search: its matches are highlighted and the gutter is shown."""
        self.current: int | None = None
        """Position of the current match (marked with the gutter glyph)."""
        self._laid_out: Layout | None = None
        """The layout row counts were computed for."""
        self._starts: array[int] | None = None
        """When wrapping: first row of each view line, plus the total at the end."""
        self._lines: OrderedDict[int, LogLine] = OrderedDict()
        self._strips: OrderedDict[tuple[object, ...], list[Strip]] = OrderedDict()
        self._fetching = False
        self._fetch_again = False
        self._shifts = 0
        """How many times positions moved (`shift`): a fetch begun before is dropped."""
        self._height_shown = 0
        """Rows the view had before the latest resize."""
        self.fetch_error = ""
        """Why the last fetch failed (shown by the screen's title), empty if it worked."""

    class Paused(Message):
        """The operator scrolled up, so following stopped (else the view would jump away)."""

    def _stop_following(self) -> None:
        if self.auto_scroll:
            self.auto_scroll = False
            self.post_message(self.Paused())

    def action_scroll_up(self) -> None:
        self._stop_following()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._stop_following()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._stop_following()
        super().action_scroll_home()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._stop_following()

    # What the screen changes.

    @property
    def lines_written(self) -> int:
        """Lines the view shows (tests and the title read it)."""
        return len(self.view)

    def remember(self, position: int, line: LogLine) -> None:
        """Caches a line's fields (lines just read from the tail need no fetch)."""
        self._lines[position] = line
        self._lines.move_to_end(position)
        while len(self._lines) > LINES_CACHED:
            self._lines.popitem(last=False)

    def shift(self, offset: int) -> None:
        """Every position moved by `offset` (older lines were put in front of the index):
        cached lines move with theirs; `set_view` follows with the new view."""
        self._lines = OrderedDict((p + offset, line) for p, line in self._lines.items())
        self._strips.clear()
        if self.current is not None:
            self.current += offset
        self._shifts += 1

    def set_view(self, view: array[int], keep: int | None = None) -> None:
        """Shows `view`; keeps position `keep` (or the nearest after it) at the top."""
        self.view = view
        self._relayout()
        if self.auto_scroll:
            self.scroll_to_end()
        elif keep is not None:
            self.scroll_to_row(self.row_of_line(bisect_right(view, keep - 1)))

    def extend_view(self, positions: Iterable[int]) -> None:
        added = array("q", positions)
        if not added:
            return
        self.view.extend(added)
        if self._starts is not None:
            layout = self.line_layout
            total = self._starts[-1]
            for position in added:
                total += layout.rows(self._tag(position), self.index.lengths(position))
                self._starts.append(total)
        self._resize()
        if self.auto_scroll:
            self.scroll_to_end()
        else:
            self.refresh()

    def restyle(self, relayout: bool = False) -> None:
        """Wrap, timestamps, search or task names changed: draw every row again.

        Row counts (a pass over the whole view when wrapping) are recomputed only if the
        layout changed: moving to another match or changing the pattern keeps them.
        """
        self._strips.clear()
        if relayout or self.line_layout != self._laid_out:
            self._relayout()
        else:
            self.refresh()

    def top_position(self) -> int | None:
        """Position of the line at the top of the screen."""
        located = self._locate(self.scroll_offset.y)
        return self.view[located[0]] if located is not None else None

    @property
    def line_layout(self) -> Layout:
        return Layout(
            width=max(1, self.scrollable_content_region.width),
            wrap=self.wrap,
            timestamps=self.timestamps,
            gutter=self.pattern is not None,
        )

    @property
    def row_count(self) -> int:
        return len(self.view) if self._starts is None else self._starts[-1]

    def row_of_line(self, line: int) -> int:
        """The first row of the view's `line`-th line."""
        if self._starts is None:
            return line
        return self._starts[min(line, len(self.view))]

    def go_to(self, position: int) -> None:
        """Makes the line at `position` the current one, in the middle; stops following."""
        self.auto_scroll = False
        self.current = position  # rendered strips are cached per current-or-not
        self.scroll_to_position(position)

    def scroll_to_position(self, position: int) -> None:
        """Scrolls the line at `position` (if the view shows it) to the middle."""
        line = bisect_right(self.view, position) - 1
        if line < 0 or self.view[line] != position:
            return
        row = self.row_of_line(line)
        self.scroll_to_row(max(0, row - self.scrollable_content_region.height // 2))
        self.refresh()

    # Scrolling is forced: the view sets its own virtual size, and Textual allows a scroll
    # only once the scrollbar for it has been laid out, on the next refresh. Unforced, the
    # scroll right after a page of lines lands is dropped (the newest lines never showed).

    def scroll_to_end(self, immediate: bool = False) -> None:
        """Shows the last row (after the next refresh unless `immediate`)."""
        if immediate:
            self.scroll_end(animate=False, x_axis=False, force=True, immediate=True)
        else:
            self.call_after_refresh(self._end_if_following)

    def _end_if_following(self) -> None:
        """A scroll to the end asked while following, done only if the view still follows:
        a search that lands between the ask and the refresh (the prompt closing resizes the
        view) keeps its match in sight, not the end."""
        if self.auto_scroll:
            self.scroll_end(animate=False, x_axis=False, force=True, immediate=True)

    def scroll_to_row(self, row: int) -> None:
        self.scroll_to(y=row, animate=False, force=True)

    def visible_text(self) -> list[str]:
        """The rows on screen as plain text (`…` for lines not fetched yet); for tests."""
        height = self.scrollable_content_region.height
        return [self._row_text(self.scroll_offset.y + y) for y in range(height)][
            : max(0, self.row_count - self.scroll_offset.y)
        ]

    @property
    def cached_lines(self) -> int:
        """Lines held in memory (the LRU cache), for tests."""
        return len(self._lines)

    async def save_shown(self, path: Path, progress: Callable[[int], None]) -> int:
        """Writes the lines shown now to `path` as shown, without styles; how many.

        Raises:
            OSError: the file cannot be written. RedisError: the stream cannot be read.
        """
        if self.source is None:
            return 0
        shown = array("q", self.view)
        tag, zone = self._tag, self.zone
        return await save_view(
            self.source, self.index, shown, path, tag, zone, self.timestamps, progress
        )

    # Layout.

    def _tag(self, position: int) -> str:
        task_id = self.index.task_ids[self.index.task[position]]
        return tag_of(self.task_name(task_id), self.index.attempt[position])

    def _relayout(self) -> None:
        self._laid_out = self.line_layout
        if self.wrap:
            layout = self.line_layout
            index = self.index
            widths: dict[tuple[int, int], str] = {}
            starts = array("q", [0])
            total = 0
            for position in self.view:
                key = (index.task[position], index.attempt[position])
                tag = widths.get(key)
                if tag is None:
                    tag = widths[key] = self._tag(position)
                total += layout.rows(tag, index.lengths(position))
                starts.append(total)
            self._starts = starts
        else:
            self._starts = None
        self._resize()
        self.refresh()

    def _resize(self) -> None:
        if self.wrap:
            width = self.scrollable_content_region.width
        else:
            longest_tag = max((len(self.task_name(t)) for t in self.index.task_ids), default=4)
            width = self.line_layout.prefix_width("x" * (longest_tag + 3)) + self.index.longest
        self.virtual_size = Size(width, self.row_count)

    def watch_show_horizontal_scrollbar(self, _shown: bool) -> None:
        # Longer task names (the run's task runs arrived) can widen the view past the
        # screen: the scrollbar it grows takes a row, so a following view scrolls again.
        if self.auto_scroll:
            self.scroll_to_end()

    def on_resize(self) -> None:
        # The current match on screen before stays on screen: a smaller terminal would
        # otherwise leave it below the view (go_to put it in the middle of the taller one).
        match_was_shown = self._on_screen(self.current, self._height_shown)
        if self.wrap:
            self._strips.clear()
            self._relayout()
        self._height_shown = self.scrollable_content_region.height
        if self.auto_scroll:
            # A shorter view (the prompt opened below it) would hide the newest line.
            self.scroll_to_end()
        elif match_was_shown and not self._on_screen(self.current, self._height_shown):
            assert self.current is not None
            self.scroll_to_position(self.current)

    def _on_screen(self, position: int | None, height: int) -> bool:
        """Whether the line at `position` starts within `height` rows from the top."""
        if position is None:
            return False
        line = bisect_right(self.view, position) - 1
        if line < 0 or self.view[line] != position:
            return False
        return 0 <= self.row_of_line(line) - self.scroll_offset.y < height

    # Drawing.

    def _styles(self) -> Styles:
        app = self.app
        return Styles(
            time=tone_style(app, "muted"),
            level=lambda level: tone_style(app, LEVEL_TONES.get(level, "muted"), True),
            tag=Style(bold=True),
            match=Style(reverse=True),
            current=tone_style(app, "accent", True) + Style(reverse=True),
        )

    def _locate(self, row: int) -> tuple[int, int] | None:
        """(view line, row within it) of a row."""
        if row < 0 or row >= self.row_count:
            return None
        if self._starts is None:
            return row, 0
        line = bisect_right(self._starts, row) - 1
        return line, row - self._starts[line]

    def _rows_of(self, position: int) -> list[Text] | None:
        line = self._lines.get(position)
        if line is None:
            return None
        self._lines.move_to_end(position)  # drawn lines are the last to be evicted
        return entry_rows(
            line,
            self._tag(position),
            self.line_layout,
            self.zone,
            self._styles(),
            self.pattern,
            position == self.current,
        )

    def _row_text(self, row: int) -> str:
        located = self._locate(row)
        if located is None:
            return ""
        line, sub = located
        rows = self._rows_of(self.view[line])
        return PLACEHOLDER if rows is None else rows[sub].plain.rstrip()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        strip = self._row_strip(scroll_y + y)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _row_strip(self, row: int) -> Strip:
        located = self._locate(row)
        if located is None:
            return Strip.blank(0)
        line, sub = located
        position = self.view[line]
        layout = self.line_layout
        key = (position, layout, position == self.current)
        strips = self._strips.get(key)
        if strips is None:
            rows = self._rows_of(position)
            if rows is None:
                self._want_lines()
                return Strip(list(Text(PLACEHOLDER, style="dim").render(self.app.console)))
            console = self.app.console
            strips = [Strip(list(text.render(console)), text.cell_len) for text in rows]
            self._strips[key] = strips
            while len(self._strips) > STRIPS_CACHED:
                self._strips.popitem(last=False)
        else:
            self._strips.move_to_end(key)
        strip = strips[min(sub, len(strips) - 1)]
        return strip.apply_style(self.rich_style)

    # Fetching.

    def _want_lines(self) -> None:
        if self._fetching:
            self._fetch_again = True
            return
        self._fetching = True
        self.run_worker(self._fetch(), group="log-fetch", exit_on_error=False)

    async def _fetch(self) -> None:
        try:
            while True:
                self._fetch_again = False
                await self._fetch_visible()
                if not self._fetch_again:
                    break
        finally:
            self._fetching = False

    async def _fetch_visible(self) -> None:
        if self.source is None or not self.view:
            return
        top = self._locate(max(0, self.scroll_offset.y - MARGIN))
        height = self.scrollable_content_region.height
        bottom = self._locate(min(self.row_count - 1, self.scroll_offset.y + height + MARGIN))
        if top is None or bottom is None:
            return
        wanted = [p for p in self.view[top[0] : bottom[0] + 1] if p not in self._lines]
        if not wanted:
            return
        shifts = self._shifts
        try:
            found = await self.source.read_lines(self.index, wanted)
        except (RedisError, OSError) as exc:
            self.fetch_error = f"Redis: {exc}"
            return
        self.fetch_error = ""
        if shifts != self._shifts:  # its positions are not the view's any more
            self._fetch_again = True
            return
        for position in wanted:
            # A line trimmed from the stream since it was indexed: say so, do not refetch.
            self.remember(position, found.get(position) or TRIMMED_LINE)
        self.refresh()


TRIMMED_LINE = LogLine(level_name="-", msg="(line trimmed from Redis: the stream keeps the newest)")
"""Shown for a line trimmed from the stream since it was indexed."""

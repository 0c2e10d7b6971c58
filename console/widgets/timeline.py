"""A Gantt chart of one run's task runs: a bar per task from its start to its end, scaled
to the run's span, with its state (glyph + word), duration and attempts.

`timeline_lines` is pure (documents, clock and width in; Rich lines out) so the layout is
tested without an app; `RunTimeline` draws it at the widget's width and redraws on each
tick, so a running task's bar grows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from console.context import Context
from console.text.formatting import format_duration, is_final, run_seconds, state_label
from console.widgets.tones import tone_style
from engine.contract.documents import FlowRun, TaskRun
from engine.contract.ordering import run_order
from engine.contract.times import parse_iso

StyleOf = Callable[[str], Style]
"""Tone name (`success`, `error`, ...) -> the theme's style for it."""

BAR = "█"
RUNNING_TIP = "▶"
NOT_STARTED = "· not started"
MIN_BAR = 12
"""Narrowest bar area: below it the state word is dropped (the glyph stays)."""
GAP = " "


@dataclass(frozen=True)
class Span:
    """The time the chart covers: the run's start to its end (or now, while it runs)."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 1e-3)

    def column(self, moment: datetime, width: int) -> float:
        return (moment - self.start).total_seconds() / self.seconds * width


def run_span(run: FlowRun | None, tasks: Sequence[TaskRun], now: datetime) -> Span | None:
    """From the earliest start (run or task) to the latest end; `now` while anything runs.

    None when nothing has started yet.
    """
    everything: list[FlowRun | TaskRun] = [*([run] if run else []), *tasks]
    starts = [parse_iso(d.start_time) for d in everything]
    begun = [s for s in starts if s is not None]
    if not begun:
        return None
    ends: list[datetime] = []
    for doc in everything:
        if parse_iso(doc.start_time) is None:
            continue
        end = parse_iso(doc.end_time)
        if end is None:  # running: now; finished without an end time: its start
            end = now if not is_final(doc.state_type) else parse_iso(doc.start_time)
        if end is not None:
            ends.append(end)
    start = min(begun)
    end = max([start, *ends])
    if end <= start:
        end = start + timedelta(seconds=1)
    return Span(start, end)


def _clock(moment: datetime, zone: tzinfo | None) -> str:
    return moment.astimezone(zone).strftime("%H:%M:%S")


def _axis(span: Span, width: int, zone: tzinfo | None) -> str:
    """Times at the left, middle and right of the bar area, as many as fit."""
    cells = [" "] * width
    left, right = _clock(span.start, zone), _clock(span.end, zone)
    marks: list[tuple[int, str]] = [(0, left)]
    if width >= len(left) + len(right) + 1:
        marks.append((width - len(right), right))
    middle = _clock(span.start + (span.end - span.start) / 2, zone)
    mid_at = (width - len(middle)) // 2
    if width >= 3 * len(middle) + 4:
        marks.append((mid_at, middle))
    for at, label in marks:
        for i, char in enumerate(label[: max(0, width - at)]):
            cells[at + i] = char
    return "".join(cells)


def _ruler(width: int) -> str:
    if width < 2:
        return "─" * width
    inner = ["─"] * (width - 2)
    if width >= 12:
        inner[(width - 2) // 2 - 1] = "┼"
    return "├" + "".join(inner) + "┤"


def ordered_tasks(tasks: Sequence[TaskRun]) -> list[TaskRun]:
    """Start order; tasks not started yet last, by name (as the task runs table)."""
    return sorted(
        tasks,
        key=lambda d: (d.start_time is None, run_order(d), d.name),
    )


def timeline_lines(
    run: FlowRun | None,
    tasks: Sequence[TaskRun],
    now: datetime,
    width: int,
    style_of: StyleOf,
) -> list[Text]:
    """The chart at `width` columns: axis, ruler, one line per task, a span line."""
    zone = now.tzinfo
    span = run_span(run, tasks, now)
    if not tasks:
        return [Text("No task runs yet: the chart fills in as tasks start.")]
    ordered = ordered_tasks(tasks)
    labels = [state_label(d.state_type, d.state_name) for d in ordered]
    name_w = min(max(len(d.name) for d in ordered), 24 if width >= 100 else 14)
    name_w = max(name_w, 4)
    dur_w, att_w = 8, 3
    state_w = max(len(label.text) for label in labels)
    bar_w = width - name_w - state_w - dur_w - att_w - 4 * len(GAP)
    words = bar_w >= MIN_BAR
    if not words:
        state_w = 1
        bar_w = width - name_w - state_w - dur_w - att_w - 4 * len(GAP)
    bar_w = max(bar_w, 1)
    muted = style_of("muted")

    def row(name: str, state: Text | str, bar: Text, dur: str, att: str) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="")
        shown = name if len(name) <= name_w else f"{name[: name_w - 1]}…"
        line.append(f"{shown:<{name_w}}{GAP}", style=Style(bold=True))
        cell = Text(state, end="") if isinstance(state, str) else state.copy()
        cell.truncate(state_w, pad=True)
        line.append_text(cell)
        line.append(GAP)
        line.append_text(bar)
        line.append(f"{GAP}{dur:>{dur_w}}{GAP}{att:>{att_w}}")
        return line

    head_bar = Text(_axis(span, bar_w, zone) if span else "", style=muted)
    lines = [row("Task", "State" if words else "", head_bar, "Duration", "Att")]
    lines.append(row("", "", Text(_ruler(bar_w), style=muted), "", ""))
    for doc, label in zip(ordered, labels, strict=True):
        style = style_of(label.tone)
        state = Text(label.text if words else label.glyph, style=style)
        bar = _bar(doc, span, now, bar_w, style, muted)
        seconds = run_seconds(doc, now)
        attempts = str(doc.run_count or 0)
        lines.append(row(doc.name, state, bar, format_duration(seconds), attempts))
    if span is not None:
        running = any(not is_final(d.state_type) and d.start_time for d in tasks)
        note = "  ▶ running: the bar grows live" if running else ""
        lines.append(
            Text(
                f"Span {_clock(span.start, zone)} → {_clock(span.end, zone)} "
                f"({format_duration(span.seconds)}){note}",
                style=muted,
                no_wrap=True,
                overflow="crop",
                end="",
            )
        )
    for line in lines:
        line.truncate(width)  # the span note and tiny widths: never wrap into a second row
    return lines


def _bar(
    doc: FlowRun | TaskRun, span: Span | None, now: datetime, width: int, style: Style, muted: Style
) -> Text:
    start = parse_iso(doc.start_time)
    if span is None or start is None:
        return Text(f"{NOT_STARTED[:width]:<{width}}", style=muted, end="")
    end = parse_iso(doc.end_time)
    running = end is None and not is_final(doc.state_type)
    if end is None:
        end = now if running else start
    # Both ends rounded the same way, so a task that starts as another ends touches it.
    first = min(math.floor(span.column(start, width) + 0.5), width - 1)
    last = min(max(first + 1, math.floor(span.column(end, width) + 0.5)), width)
    body = BAR * (last - first)
    if running:
        body = body[:-1] + RUNNING_TIP
    bar = Text(" " * first, end="")
    bar.append(body, style=style)
    bar.append(" " * (width - last))
    return bar


class RunTimeline(Widget):
    """The Gantt chart of run `flow_run_id`, from the store; `refresh()` redraws it."""

    DEFAULT_CSS = """
    RunTimeline {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, ctx: Context, flow_run_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.flow_run_id = flow_run_id

    def lines(self, width: int) -> list[Text]:
        store = self.ctx.store
        return timeline_lines(
            store.flow_runs.get(self.flow_run_id),
            store.tasks_of(self.flow_run_id),
            self.ctx.now(),
            width,
            lambda tone: tone_style(self.app, tone),
        )

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.lines(max(width, 1)))

    def render(self) -> Text:
        return Text("\n", end="").join(self.lines(max(self.content_size.width, 1)))

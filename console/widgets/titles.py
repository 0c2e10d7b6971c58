"""Setting a `.title` label's text (app.tcss: 100% wide, one line high) cheaply."""

from __future__ import annotations

from textual.widgets import Label


def show_title(title: Label, text: str) -> None:
    """The title's new text, drawn only if it changed and without a layout: its size is
    fixed by app.tcss. Titles are set on every batch of run changes and every indexed log
    page, where `Label.update` laid the whole screen out again and every widget on it was
    repainted (docs/benchmarks.md, "Mirror write to screen")."""
    if title.content != text:
        title.update(text, layout=False)

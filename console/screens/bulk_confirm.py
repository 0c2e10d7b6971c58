"""Confirms a bulk retry or cancel: the counts, what is skipped and why, and the runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from console.screens.confirm import ConfirmScreen

NAMES_SHOWN = 6
"""Run names listed in the dialog; the rest are counted."""


def bulk_question(verb: str, count: int, skipped: int, why: str) -> str:
    """`Retry 4 runs (2 skipped: still running)?`"""
    runs = "run" if count == 1 else "runs"
    skip = f" ({skipped} skipped: {why})" if skipped else ""
    return f"{verb} {count} {runs}{skip}?"


class BulkConfirmScreen(ConfirmScreen):
    """A yes/no question (`y` -> True; `n`, escape or a stray enter -> False) over a list
    of the runs it acts on."""

    DEFAULT_CSS = """
    #bulk-runs {
        width: 100%;
        margin-bottom: 1;
        color: $foreground-muted;
    }
    """

    def __init__(self, question: str, names: list[str], yes: str) -> None:
        super().__init__(question, yes=yes)
        self.names = names

    def compose(self) -> ComposeResult:
        shown = ", ".join(self.names[:NAMES_SHOWN])
        more = len(self.names) - NAMES_SHOWN
        if more > 0:
            shown += f" and {more} more"
        with Vertical(id="confirm-dialog"):
            yield Label(self.question, id="confirm-question")
            yield Label(shown, id="bulk-runs")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes")
                yield Button(f"{self.no} (n)", variant="primary", id="confirm-no")

"""The main screen's word on why it is empty or degraded (console.data.health), with what
to do; hidden while all is well."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.context import Context
from console.data.health import Problem, problems
from console.widgets.tones import tone_style

GLYPHS = {"error": "✖", "warning": "⚠"}
"""State is never shown by colour alone."""


class HealthPanel(Static):
    """Reads the store when told (`show_status`); its height follows the problems, up to a
    share of the screen (app.tcss), so the tables keep room on a small terminal."""

    def __init__(self, ctx: Context, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.shown: list[Problem] = []
        """The problems on screen now (tests and the status line read them)."""

    def on_mount(self) -> None:
        self.show_status()

    def show_status(self) -> None:
        found = problems(self.ctx.store)
        if found == self.shown and self.display == bool(found):
            return
        self.shown = found
        self.display = bool(found)
        self.set_class(any(p.severity == "error" for p in found), "-error")
        self.set_class(bool(found) and all(p.severity == "warning" for p in found), "-warning")
        self.update(self._text(found))

    def _text(self, found: list[Problem]) -> Text:
        text = Text(end="")
        for number, problem in enumerate(found):
            if number:
                text.append("\n")
            style = tone_style(self.app, problem.severity, bold=True)
            text.append(f"{GLYPHS[problem.severity]} {problem.title}", style)
            for line in problem.details:
                text.append(f"\n  {line}")
            if problem.action:
                text.append("\n  → ", style)
                text.append(problem.action)
        return text

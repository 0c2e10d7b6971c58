"""The bottom status line: read-only mode, Redis, engine heartbeat and what is wrong with
it, skipped bad documents, key prefix, Redis and Prefect URLs, the clock."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from console.context import Context
from console.data.health import problems
from console.text.formatting import beat_age
from console.widgets.tones import tone_style
from engine.contract.redact import redact_url

SEPARATOR = "  │  "


class StatusBar(Widget):
    """Reads the store on every refresh; the app refreshes it when a status changes."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """

    def __init__(self, ctx: Context, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx

    def on_mount(self) -> None:
        self.show_status()
        self.set_interval(1.0, self.show_status)

    def show_status(self) -> None:
        """Tints (classes) and text together. Classes are set here, not in `render`: a class
        changed while rendering restyles the padding a frame after the text."""
        store = self.ctx.store
        self.set_class(store.connected is False, "-disconnected")
        self.set_class(store.connected is True and store.engine is None, "-engine-down")
        self.refresh()

    def render(self) -> Text:
        store = self.ctx.store
        now = self.ctx.now()
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.ctx.read_only:
            line.append("⊘ read-only", tone_style(self.app, "warning", bold=True))
            line.append(SEPARATOR)
        if store.connected is None:
            line.append("◌ connecting", tone_style(self.app, "muted", bold=True))
        elif store.connected:
            line.append("● connected", tone_style(self.app, "success", bold=True))
        else:
            line.append("✖ disconnected", tone_style(self.app, "error", bold=True))
        line.append(SEPARATOR)
        if not store.connected:
            line.append("? engine unknown", tone_style(self.app, "muted", bold=True))
        elif store.engine is None:
            line.append("✖ engine down", tone_style(self.app, "error", bold=True))
            line.append(" (no heartbeat: commands wait)")
        else:
            line.append("♥ engine alive", tone_style(self.app, "success", bold=True))
            standbys = len(store.engine.standbys)
            spare = f", {standbys} standby" if standbys else ""
            line.append(f" (beat {beat_age(store.beat_at, now)} ago{spare})")
            # The main screen explains these; here a few words, on every screen.
            for problem in problems(store):
                glyph = "✖" if problem.severity == "error" else "⚠"
                style = tone_style(self.app, problem.severity, bold=True)
                line.append(f" {glyph} {problem.short}", style)
        line.append(SEPARATOR)
        if store.bad_documents:
            plural = "s" if store.bad_documents != 1 else ""
            bad = f"⚠ {store.bad_documents} bad document{plural} skipped"
            line.append(bad, tone_style(self.app, "warning", bold=True))
            line.append(SEPARATOR)
        if store.services_note:
            # After the connection and engine state, which stay readable at 80 columns; the
            # note explains them and pushes the prefix and URL out before them.
            line.append(f"✖ {store.services_note}", tone_style(self.app, "error", bold=True))
            line.append(SEPARATOR)
        line.append(f"prefix {store.prefix}")
        line.append(SEPARATOR)
        if store.connected and store.engine is not None and store.engine.prefect_api_url:
            # Which Prefect the engine mirrors (issue 10), as its heartbeat names it; before
            # the Redis URL, which this console was given and which is often long.
            embedded = " (embedded)" if store.engine.prefect_embedded else ""
            line.append(f"Prefect {redact_url(store.engine.prefect_api_url)}{embedded}")
            line.append(SEPARATOR)
        line.append(redact_url(store.redis_url))  # never the password
        if store.connected is False and store.connection_reason:
            line.append(f": {store.connection_reason}; retrying")
        # The clock stays at the right edge; the URL gives way first when space is short.
        clock = now.strftime("%H:%M:%S")
        room = self.content_size.width - len(clock) - 2
        if room > 0:
            line.truncate(room, overflow="ellipsis", pad=True)
            line.append("  ")
        line.append(clock)
        return line

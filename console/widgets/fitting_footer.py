"""A footer that leaves out the `^p palette` hint on narrow terminals.

At 80 columns the hint takes 12 of them, which is what the main, run and deployment
screens' action keys need. ctrl+p still opens the palette, and `?` lists the keys.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

PALETTE_HINT_MIN_WIDTH = 100
"""Narrowest terminal that still shows the `^p palette` hint."""


class FittingFooter(Footer):
    """`Footer` whose palette hint shows only from PALETTE_HINT_MIN_WIDTH columns."""

    def on_resize(self, event: events.Resize) -> None:
        wanted = event.size.width >= PALETTE_HINT_MIN_WIDTH
        if wanted != self.show_command_palette:
            self.show_command_palette = wanted
            self.refresh(recompose=True)  # the keys are composed once per bindings change

"""The console's colour themes: the only place in the product where colours are chosen.

TCSS and widgets refer to theme variables (`$primary`, `$error`, ...), never to colours.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.theme import Theme

from themes.colorblind import AIWF_COLORBLIND
from themes.dark import AIWF_DARK
from themes.high_contrast import AIWF_HIGH_CONTRAST
from themes.light import AIWF_LIGHT

DEFAULT_THEME = AIWF_DARK.name

THEMES: dict[str, Theme] = {
    theme.name: theme for theme in (AIWF_DARK, AIWF_LIGHT, AIWF_HIGH_CONTRAST, AIWF_COLORBLIND)
}
"""The built-in themes by name, as accepted by `aiwf-console --theme` (user themes too)."""


def register_themes(app: App[Any]) -> None:
    """Makes every theme in THEMES available to `app` (set one with `app.theme = name`)."""
    for theme in THEMES.values():
        app.register_theme(theme)

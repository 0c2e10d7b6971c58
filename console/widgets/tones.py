"""Turns a tone name (a theme variable such as `success`) into a Rich style of the theme.

Rich renderables inside a DataTable or RichLog cannot use TCSS variables, so they look the
colour up in the running theme instead of naming one.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color, ColorParseError

_VARIABLES: dict[str, str] = {
    "muted": "foreground-muted",
    "primary": "primary",
    "success": "success",
    "error": "error",
    "warning": "warning",
    "accent": "accent",
}


def tone_style(app: App[Any], tone: str, bold: bool = False) -> Style:
    """The theme's colour for `tone`; translucent colours are blended onto the background."""
    variables = app.theme_variables or app.get_css_variables()
    value = variables.get(_VARIABLES.get(tone, tone))
    if value is None:
        return Style(bold=bold)
    try:
        color = Color.parse(value)
        if color.a < 1:
            color = Color.parse(variables.get("background", "black")) + color
    except ColorParseError:  # a theme value that is not a plain colour ("auto 60%")
        return Style(bold=bold)
    return Style(color=color.rich_color, bold=bold)


def toned(app: App[Any], text: str, tone: str, bold: bool = False) -> Text:
    return Text(text, style=tone_style(app, tone, bold), end="")

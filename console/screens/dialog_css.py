"""The CSS every centred dialog box shares, so each dialog states only what is its own."""

from __future__ import annotations


def dialog_css(screen: str, dialog_id: str, width: int, border: str) -> str:
    """`screen` centred over the one below, its box `#dialog_id` `width` cells wide (never
    wider or taller than the terminal) with a thick `border` colour (a theme variable)."""
    return f"""
    {screen} {{
        align: center middle;
    }}
    {screen} #{dialog_id} {{
        width: {width};
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: thick {border};
        background: $surface;
    }}
"""

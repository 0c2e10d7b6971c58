"""`aiwf-high-contrast`: pure black and white with saturated state colours, for projectors,
glare and low vision."""

from __future__ import annotations

from textual.theme import Theme

AIWF_HIGH_CONTRAST = Theme(
    name="aiwf-high-contrast",
    primary="#00D7FF",
    secondary="#FFFFFF",
    accent="#FFD700",
    warning="#FFFF00",
    error="#FF4040",
    success="#00FF5F",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#262626",
    dark=True,
)

"""`aiwf-dark`: the default, for dark terminals."""

from __future__ import annotations

from textual.theme import Theme

AIWF_DARK = Theme(
    name="aiwf-dark",
    primary="#4FA3E0",
    secondary="#7A8FA6",
    accent="#E0A84F",
    warning="#E8B339",
    error="#E5534B",
    success="#57AB5A",
    foreground="#D7DEE6",
    background="#0F1419",
    surface="#161C23",
    panel="#1E2630",
    dark=True,
)

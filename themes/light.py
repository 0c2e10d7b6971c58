"""`aiwf-light`: for light terminals; darker accents keep contrast on a pale background."""

from __future__ import annotations

from textual.theme import Theme

AIWF_LIGHT = Theme(
    name="aiwf-light",
    primary="#0B5CAD",
    secondary="#4F6478",
    accent="#A65E00",
    warning="#9A6700",
    error="#C2272D",
    success="#1A7F37",
    foreground="#1F2328",
    background="#F6F8FA",
    surface="#FFFFFF",
    panel="#E6EBF0",
    dark=False,
)

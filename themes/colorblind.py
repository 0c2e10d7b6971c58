"""`aiwf-colorblind`: Okabe-Ito colours, distinguishable with deuteranopia and protanopia.

Success is sky blue, warning yellow and error vermillion: they differ in lightness and in
the blue-yellow axis, which red-green colour blindness keeps (tests/console/test_themes.py
checks this with a deuteranopia simulation). Glyphs still carry every state.
"""

from __future__ import annotations

from textual.theme import Theme

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito palette (Okabe and Ito, 2008)."""

AIWF_COLORBLIND = Theme(
    name="aiwf-colorblind",
    primary=OKABE_ITO["sky_blue"],
    secondary="#A0A8B0",
    accent=OKABE_ITO["orange"],
    warning=OKABE_ITO["yellow"],
    error=OKABE_ITO["vermillion"],
    success=OKABE_ITO["sky_blue"],
    foreground="#E8E8E8",
    background="#101010",
    surface="#181818",
    panel="#262626",
    dark=True,
)

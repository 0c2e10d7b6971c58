"""One-row prompts show what is typed, on every built-in theme: the log screen's `/`, `x`
and `s` (with its proposed path), the `/` filter bar and the `:` command line.

A bordered Input one row high has no row left for its text (Textual's `Input:focus` border
outranked the prompts' own rules): the text was typed but never seen. These tests read the
rows the screen draws, so they fail whenever the text is hidden, whatever hides it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from textual.color import Color
from textual.pilot import Pilot
from textual.widgets import Input

from console.cmdline.screen import CommandLineScreen
from console.logs.prompt import LogPrompt
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, log_line, wait_for
from tests.console.test_logs_keys import open_log
from themes import THEMES

MIN_CONTRAST = 4.5
"""WCAG AA for normal text: what the typed characters need against their background."""


def _luminance(color: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _cells(segments: list[Segment]) -> list[tuple[str, Any]]:
    """(character, style) per cell of one screen row (the prompts hold no wide characters)."""
    return [(char, segment.style) for segment in segments for char in segment.text]


async def assert_typed_text_shows(pilot: Pilot[Any], field: Input, typed: str) -> None:
    """`typed` is on the row the screen draws for `field`, readable against its background."""
    await pilot.pause()
    assert field.has_focus
    assert field.content_region.height >= 1, f"no row left for the text: {field.content_region}"
    region = field.content_region
    row = pilot.app.screen._compositor.render_strips()[region.y]
    cells = _cells(list(row))[region.x : region.right]
    text = "".join(char for char, _ in cells)
    assert typed in text, f"{typed!r} not drawn; the row shows {text!r}"
    start = text.index(typed)
    for char, style in cells[start : start + len(typed)]:
        assert style is not None and style.color is not None and style.bgcolor is not None
        fg, bg = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
        if style.reverse:
            fg, bg = bg, fg
        ratio = contrast(fg, bg)
        assert ratio >= MIN_CONTRAST, f"{char!r} drawn {fg.hex} on {bg.hex}: contrast {ratio:.1f}"


THEME_NAMES = pytest.mark.parametrize("theme", list(THEMES))


@THEME_NAMES
async def test_log_prompts_show_the_typed_text(
    make_app: AppFactory,
    mirror: RedisMirror,
    theme: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIWF_STATE_DIR", str(tmp_path))  # where the proposed path points
    fill_standard(mirror)
    app = make_app(theme_name=theme)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_log(pilot)
        prompt = screen.query_one(LogPrompt)
        field = prompt.query_one(Input)
        for key, typed in (("slash", "GPU mem"), ("x", "batch")):
            await pilot.press(key, *typed)
            assert field.value == typed
            await assert_typed_text_shows(pilot, field, typed)
            await pilot.press("escape")
            assert not prompt.display
        # Save: the proposed path shows, the cursor after it, and what is typed lands there.
        await pilot.press("s")
        proposed = field.value
        assert proposed == str(tmp_path / "saved-logs" / "witty-fox-all-20261125-100000.log")
        # Its end, with the cursor after it: the start scrolls out of a narrow prompt.
        await assert_typed_text_shows(pilot, field, "saved-logs/witty-fox-all-20261125-100000.log")
        await pilot.press("backspace", "backspace", "backspace", *"txt")
        assert field.value == proposed[:-3] + "txt"
        await assert_typed_text_shows(pilot, field, "-all-20261125-100000.txt")
        await pilot.press("escape")


@THEME_NAMES
async def test_filter_bar_and_command_line_show_the_typed_text(
    make_app: AppFactory, mirror: RedisMirror, theme: str
) -> None:
    fill_standard(mirror)
    app = make_app(theme_name=theme)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "witty-fox" in app.export_screenshot(), "runs")
        await pilot.press("slash", *"witty")
        field = app.screen.query_one("#filter-input", Input)
        await assert_typed_text_shows(pilot, field, "witty")
        await pilot.press("escape", "colon", *"audi")
        assert isinstance(app.screen, CommandLineScreen)
        await assert_typed_text_shows(pilot, app.screen.query_one(Input), "audi")


async def test_the_prompt_keeps_the_newest_line_in_sight(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    """The prompt takes a row from the log; a followed log still shows its last line."""
    fill_standard(mirror)
    mirror.append_logs("run-running", [log_line(at(-1), f"row {i}") for i in range(60)])
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith("row 59"), "last line")
        await pilot.press("slash")
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith("row 59"), "still last")
        assert view.scrollable_content_region.height == 24 - 4  # title, prompt, status, footer


async def test_prompts_at_40x10_show_the_text_and_the_path_end(
    make_app: AppFactory, mirror: RedisMirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIWF_STATE_DIR", str(tmp_path))
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(40, 10)) as pilot:
        screen = await open_log(pilot)
        field = screen.query_one(LogPrompt).query_one(Input)
        await pilot.press("slash", *"GPU")
        await assert_typed_text_shows(pilot, field, "GPU")
        await pilot.press("escape", "s")
        await assert_typed_text_shows(pilot, field, "100000.log")
        await pilot.press("escape")
        assert app.screen is screen

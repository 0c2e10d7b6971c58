"""Built-in themes load and differ; the colour-blind one survives deuteranopia; user theme
files load strictly, with errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color
from textual.widgets._toast import Toast

import console.app
from console import cli
from console.widgets.runs_table import RunsTable
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, fill_standard, wait_for
from tests.console.test_settings import FakeApp
from themes import THEMES
from themes.colorblind import AIWF_COLORBLIND
from themes.user import load_theme_file, load_user_themes, report_by_file

GOOD = """\
# my theme
name: solarized-ops
primary: "#268BD2"
secondary: "#2AA198"
accent: "#B58900"
foreground: "#EEE8D5"
background: "#002B36"
surface: "#073642"
panel: "#0A4555"
success: "#859900"
warning: "#CB4B16"
error: "#DC322F"
dark: true
"""


def test_four_built_in_themes_are_registered() -> None:
    assert {"aiwf-dark", "aiwf-light", "aiwf-high-contrast", "aiwf-colorblind"} <= set(THEMES)


@pytest.mark.parametrize("name", sorted(THEMES))
async def test_each_built_in_theme_loads(
    name: str, make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app(theme_name=name)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        assert app.theme == name
        variables = app.get_css_variables()
        for variable in ("success", "warning", "error", "background", "foreground"):
            Color.parse(variables[variable])


def _deuteranopia(colour: str) -> tuple[float, float, float]:
    """Machado et al. (2009) deuteranopia simulation (severity 1), in linear RGB."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    parsed = Color.parse(colour)
    r, g, b = linear(parsed.r), linear(parsed.g), linear(parsed.b)
    matrix = (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    )
    return tuple(  # type: ignore[return-value]
        min(1.0, max(0.0, row[0] * r + row[1] * g + row[2] * b)) for row in matrix
    )


def _distance(a: str, b: str) -> float:
    pa, pb = _deuteranopia(a), _deuteranopia(b)
    return float(sum((x - y) ** 2 for x, y in zip(pa, pb, strict=True)) ** 0.5)


def test_colorblind_states_stay_apart_under_deuteranopia() -> None:
    theme = AIWF_COLORBLIND
    assert theme.success and theme.warning and theme.error
    pairs = [
        (theme.success, theme.error),
        (theme.success, theme.warning),
        (theme.warning, theme.error),
    ]
    for a, b in pairs:
        assert _distance(a, b) > 0.3, (a, b, _distance(a, b))
    # The dark theme's green/red pair is what this theme exists to avoid.
    dark = THEMES["aiwf-dark"]
    assert dark.success and dark.error
    assert _distance(dark.success, dark.error) < _distance(theme.success, theme.error)


def test_a_good_user_theme_loads(tmp_path: Path) -> None:
    (tmp_path / "solarized.yaml").write_text(GOOD)
    loaded = load_user_themes(tmp_path, taken=THEMES)
    assert loaded.errors == []
    [theme] = loaded.themes
    assert (theme.name, theme.primary, theme.error, theme.dark) == (
        "solarized-ops",
        "#268BD2",
        "#DC322F",
        True,
    )


def test_theme_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nprimary: '#12345G'\nsuccess: 12\ndark: maybe\ncolour: red\n")
    theme, errors = load_theme_file(path)
    assert theme is None
    lines = [str(error) for error in errors]
    assert lines[0] == f"{path}:2: primary: '#12345G' is not a colour; use e.g. '#1E90FF'"
    assert lines[1].startswith(f"{path}:3: success: must be a colour string")
    assert lines[2] == f"{path}:4: dark: must be true or false, not 'maybe'"
    assert lines[3].startswith(f"{path}:5: colour: unknown key; known keys: name, primary")


def test_invalid_files_are_skipped_and_others_load(tmp_path: Path) -> None:
    (tmp_path / "a-good.yaml").write_text(GOOD)
    (tmp_path / "b-missing.yaml").write_text("secondary: '#FFFFFF'\n")
    (tmp_path / "c-clash.yaml").write_text("name: aiwf-dark\nprimary: '#FFFFFF'\n")
    (tmp_path / "d-yaml.yaml").write_text("name: [oops\n")
    loaded = load_user_themes(tmp_path, taken=THEMES)
    assert [theme.name for theme in loaded.themes] == ["solarized-ops"]
    text = [str(error) for error in loaded.errors]
    assert f"{tmp_path / 'b-missing.yaml'}: name: is required" in text
    assert f"{tmp_path / 'b-missing.yaml'}: primary: is required" in text
    assert any(t.startswith(f"{tmp_path / 'c-clash.yaml'}: name: 'aiwf-dark'") for t in text)
    assert any(t.startswith(f"{tmp_path / 'd-yaml.yaml'}:2: invalid YAML") for t in text)


def test_cli_accepts_user_themes_and_reports_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIWF_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("AIWF_REDIS_URL", "redis://nowhere:1/0")
    monkeypatch.setattr(console.app, "ConsoleApp", FakeApp)
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "solarized.yaml").write_text(GOOD)
    (tmp_path / "themes" / "bad.yaml").write_text("name: bad\nprimary: nocolour\n")
    assert cli.main(["--theme", "solarized-ops"]) == 0
    assert FakeApp.made["theme_name"] == "solarized-ops"
    assert [t.name for t in FakeApp.made["user_themes"]] == ["solarized-ops"]
    err = capsys.readouterr().err
    assert f"theme skipped: {tmp_path / 'themes' / 'bad.yaml'}:2: primary:" in err
    # And on screen: the app is handed one message per skipped file.
    [message] = FakeApp.made["theme_errors"]
    assert message.startswith(f"{tmp_path / 'themes' / 'bad.yaml'} was skipped:\nline 2: primary:")
    with pytest.raises(SystemExit) as exited:
        cli.main(["--theme", "bad"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unknown theme 'bad'" in err
    assert "(or fix a skipped theme file above)" in err


def test_errors_are_reported_once_per_file(tmp_path: Path) -> None:
    (tmp_path / "two.yaml").write_text("name: two\nprimary: nocolour\ndark: maybe\n")
    (tmp_path / "one.yaml").write_text("primary: '#FFFFFF'\n")
    messages = report_by_file(load_user_themes(tmp_path, taken=THEMES).errors)
    assert messages == [
        f"{tmp_path / 'one.yaml'} was skipped:\nname: is required\n"
        "Fix it and start the console again.",
        f"{tmp_path / 'two.yaml'} was skipped:\n"
        "line 2: primary: 'nocolour' is not a colour; use e.g. '#1E90FF'\n"
        "line 3: dark: must be true or false, not 'maybe'\n"
        "Fix it and start the console again.",
    ]


async def test_a_theme_file_that_fails_validation_is_reported_on_screen(
    make_app: AppFactory, mirror: RedisMirror, tmp_path: Path
) -> None:
    fill_standard(mirror)
    (tmp_path / "solarized.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text("name: broken\nprimary: nocolour\n")
    loaded = load_user_themes(tmp_path, taken=THEMES)
    app = make_app(user_themes=loaded.themes, theme_errors=report_by_file(loaded.errors))
    # notifications=True: run_test leaves toasts out unless asked.
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)), "a notification")
        [toast] = app.screen.query(Toast)
        shown = str(toast.render())
        assert "Theme skipped" in shown
        assert str(tmp_path / "broken.yaml") in shown
        assert "line 2: primary: 'nocolour' is not a colour" in shown
        assert toast.region.height > 0 and app.screen.region.contains_region(toast.region)
        # The good file still loaded.
        assert "solarized-ops" in app.available_themes


async def test_a_user_theme_applies_in_the_app(
    make_app: AppFactory, mirror: RedisMirror, tmp_path: Path
) -> None:
    fill_standard(mirror)
    (tmp_path / "solarized.yaml").write_text(GOOD)
    themes = load_user_themes(tmp_path).themes
    app = make_app(theme_name="solarized-ops", user_themes=themes)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        assert app.theme == "solarized-ops"
        assert app.current_theme.error == "#DC322F"

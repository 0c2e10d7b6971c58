"""Fuzzing the console's config files (console.yaml with its keymap, user themes) with
hypothesis: whatever the bytes, the console gets its documented errors (file, line, field)
and starts with the defaults or without that theme, never a traceback.

Derandomized (`fuzz`), so a failure here fails the same way on every run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.settings.console_yaml import SettingsError, SettingsInvalid, load_settings
from console.settings.keymap import check_keymap
from tests.console.test_themes import GOOD as THEME
from tests.fuzz_yaml import Mutated, assert_points_at, assert_well_formed, documents, fuzz, mutated
from themes import THEMES
from themes.user import load_theme_file, load_user_themes, report_by_file

SETTINGS = """\
read_only: false
keymap:
  main.trigger: x
  main.retry: "ctrl+r,R"
  app.quit: q
"""


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One directory for every example (hypothesis runs them inside one test call)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-console-") as name:
        yield Path(name)


def settings_errors(folder: Path, data: bytes) -> list[SettingsError]:
    """What `aiwf-console` reports about `data` as its console.yaml: every error, or none."""
    (folder / "console.yaml").write_bytes(data)
    try:
        settings = load_settings(folder)
    except SettingsInvalid as exc:
        assert exc.errors, "SettingsInvalid without errors"
        assert str(exc).splitlines() == [str(e) for e in exc.errors]
        return list(exc.errors)
    return list(check_keymap(settings))


def test_the_valid_documents_are_valid(scratch: Path) -> None:
    assert settings_errors(scratch, SETTINGS.encode()) == []
    (scratch / "theme.yaml").write_text(THEME)
    theme, errors = load_theme_file(scratch / "theme.yaml")
    assert errors == [] and theme is not None


@fuzz(400)
@given(change=mutated(SETTINGS))
def test_console_yaml_with_one_change_loads_or_is_refused_at_that_line(
    scratch: Path, change: Mutated
) -> None:
    errors = settings_errors(scratch, change.data)
    for error in errors:
        assert_well_formed(error, scratch / "console.yaml", change.data)
    assert_points_at(errors, change)


@fuzz(300)
@given(data=documents(SETTINGS))
def test_any_bytes_as_console_yaml_load_or_are_refused(scratch: Path, data: bytes) -> None:
    for error in settings_errors(scratch, data):
        assert_well_formed(error, scratch / "console.yaml", data)


@fuzz(400)
@given(change=mutated(THEME))
def test_a_theme_with_one_change_loads_or_is_refused_at_that_line(
    scratch: Path, change: Mutated
) -> None:
    path = scratch / "theme.yaml"
    path.write_bytes(change.data)
    theme, errors = load_theme_file(path)
    assert (theme is None) == bool(errors), change.how
    for error in errors:
        assert_well_formed(error, path, change.data)
    assert_points_at(errors, change)


@fuzz(200)
@given(files=st.lists(documents(THEME), min_size=1, max_size=3))
def test_bad_theme_files_are_skipped_and_reported_by_file(
    scratch: Path, files: list[bytes]
) -> None:
    folder = scratch / "themes"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for index, data in enumerate(files):
        (folder / f"t{index}.yaml").write_bytes(data)
    loaded = load_user_themes(folder, taken=THEMES)
    assert len(loaded.themes) + len({e.path for e in loaded.errors}) == len(files)
    shown = report_by_file(loaded.errors)
    assert all(line.endswith("Fix it and start the console again.") for line in shown)

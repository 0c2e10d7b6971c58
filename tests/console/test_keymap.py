"""console.yaml `keymap:`: strict loading, checks against the real binding ids and keys
(errors name file, line and id; exit 2), and a remapped key doing the work of the old one."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from console import cli
from console.screens.help import HelpScreen
from console.settings.console_yaml import SettingsInvalid, load_settings
from console.settings.keymap import check_keymap, key_problem, known_bindings
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    commands,
    fill_standard,
    wait_for,
)
from tests.console.test_help import help_rows
from tests.console.test_settings import FakeApp, config_dir

__all__ = ["config_dir"]  # a fixture, imported to be found by pytest


def write(directory: Path, text: str) -> Path:
    path = directory / "console.yaml"
    path.write_text(text)
    return path


def test_keymap_loads_with_lines(tmp_path: Path) -> None:
    write(tmp_path, "read_only: false\nkeymap:\n  main.trigger: x\n  app.command_line: ctrl+k\n")
    settings = load_settings(tmp_path)
    assert settings.keymap == {"main.trigger": "x", "app.command_line": "ctrl+k"}
    assert settings.keymap_lines == {"main.trigger": 3, "app.command_line": 4}
    assert check_keymap(settings) == []


def test_keymap_shape_errors_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "keymap:\n  main.trigger: x\n  main.trigger: y\n  main.retry: [r]\n")
    with pytest.raises(SettingsInvalid) as raised:
        load_settings(tmp_path)
    lines = [str(error) for error in raised.value.errors]
    assert lines == [
        f"{path}:3: keymap.main.trigger: duplicate key (first at line 2); "
        "YAML would silently keep only the last one, so remove one of them",
        f'{path}:4: keymap.main.retry: must be keys as text, e.g. x, ctrl+t or "f5,T" '
        "(quote , and :)",
    ]
    write(tmp_path, "keymap: t\n")
    with pytest.raises(SettingsInvalid, match=r"console.yaml:1: keymap: must be a mapping"):
        load_settings(tmp_path)


def test_unknown_ids_bad_keys_and_clashes_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "keymap:\n"
        "  main.triger: x\n"
        "  run.retry: ctl+r\n"
        "  main.filter: Escape\n"
        "  main.cancel_run: t\n",
    )
    lines = [str(error) for error in check_keymap(load_settings(tmp_path))]
    assert lines[0].startswith(
        f"{path}:2: keymap.main.triger: unknown binding id; did you mean main.trigger,"
    )
    assert "ids of main: main.back, main.cancel_run," in lines[0]
    assert lines[1].startswith(f"{path}:3: keymap.run.retry: 'ctl+r': unknown modifier 'ctl'")
    assert lines[2].startswith(f"{path}:4: keymap.main.filter: 'Escape' is not a key")
    assert lines[3] == (
        f"{path}:5: keymap.main.cancel_run: 't' is already main.trigger (Trigger) on the "
        "same screen; remap main.trigger too, or pick another key"
    )
    assert len(lines) == 4
    # A swap is fine: each key's old owner moves away.
    write(tmp_path, "keymap:\n  main.trigger: c\n  main.cancel_run: t\n")
    assert check_keymap(load_settings(tmp_path)) == []


def test_key_names() -> None:
    for good in ("x", "T", "?", "ctrl+t", "f5", "pageup", "question_mark", "colon", "a,b"):
        assert key_problem(good) is None, good
    for bad in ("", "x,", "foo", "ctrl+", "hyper+Esc", "FOO"):
        assert key_problem(bad) is not None, bad


def test_binding_ids_are_found_in_every_screen() -> None:
    ids = known_bindings()
    wanted = {"app.quit", "main.trigger", "run.timeline", "app.command_line", "timeline.back"}
    assert wanted | {"log.back", "parts.back", "writers.back", "audit.filter"} <= set(ids)
    assert ids["main.trigger"].key == "t"


def test_an_unknown_screen_lists_the_screens(tmp_path: Path) -> None:
    write(tmp_path, "keymap:\n  mian.trigger: x\n")
    (error,) = check_keymap(load_settings(tmp_path))
    assert "did you mean main.trigger," in str(error)
    scopes = sorted({binding_id.split(".")[0] for binding_id in known_bindings()})
    assert {"app", "main", "run", "log"} <= set(scopes)
    assert f"ids start with one of: {', '.join(scopes)}" in str(error)


def test_cli_stops_on_a_bad_keymap_and_passes_a_good_one(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(config_dir, "keymap:\n  main.trigger: x\n  nope.nothing: y\n")
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{config_dir / 'console.yaml'}:3: keymap.nope.nothing: unknown binding id" in err
    assert FakeApp.made == {}
    write(config_dir, "keymap:\n  main.trigger: x\n")
    assert cli.main([]) == 0
    assert FakeApp.made["keymap"] == {"main.trigger": "x"}


async def test_a_remapped_key_triggers_and_the_old_one_does_not(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(keymap={"main.trigger": "x", "app.command_line": "ctrl+k"})
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("t")  # no longer bound: does nothing
        await pilot.press("x")
        await wait_for(pilot, lambda: len(posted.sent) == 1, "the trigger")
        # Anything `t` had asked for would be in the app's queue ahead of `x`'s trigger.
        assert [(m.action, m.target) for m in posted.requested] == [
            ("trigger", "ai-inference-prod")
        ]
        assert len(commands(redis_client, keys)) == 1
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("trigger", "ai-inference-prod")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        assert rows["x"] == "Trigger" and "t" not in rows
        assert rows["^k"] == ":Command" and ":" not in rows
        await pilot.press("escape", "colon")
        assert not isinstance(app.screen, HelpScreen) and app.screen.id != "command"
        assert type(app.screen).__name__ == "MainScreen"
        await pilot.press("ctrl+k")
        assert type(app.screen).__name__ == "CommandLineScreen"

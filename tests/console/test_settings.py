"""console.yaml: strict loading, errors with file/line/key, exit 2, `--read-only` wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import console.app
from console import cli
from console.settings.console_yaml import ConsoleSettings, SettingsInvalid, load_settings
from engine.contract.paths import bundled_config_dir


class FakeApp:
    """Stands in for ConsoleApp: records what the CLI passed, runs nothing."""

    made: dict[str, Any] = {}
    return_code = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        FakeApp.made = kwargs

    def run(self) -> None:
        pass


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIWF_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("AIWF_REDIS_URL", "redis://nowhere:1/0")
    monkeypatch.setattr(console.app, "ConsoleApp", FakeApp)
    FakeApp.made = {}
    return tmp_path


def test_the_bundled_settings_load() -> None:
    settings = load_settings(bundled_config_dir())
    assert settings == ConsoleSettings(
        read_only=False, source=bundled_config_dir() / "console.yaml"
    )


def test_no_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == ConsoleSettings()


def test_errors_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "console.yaml"
    path.write_text("# settings\nread_only: 'yes please'\nreadonly: true\n")
    with pytest.raises(SettingsInvalid) as raised:
        load_settings(tmp_path)
    lines = [str(error) for error in raised.value.errors]
    assert lines[0].startswith(f"{path}:2: read_only: must be true or false")
    assert lines[1].startswith(f"{path}:3: readonly: unknown key; did you mean 'read_only'?")


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "console.yaml"
    path.write_text("- read_only\n")
    with pytest.raises(SettingsInvalid, match=r"console.yaml:1: must be a mapping"):
        load_settings(tmp_path)
    path.write_text("read_only: [true\n")
    with pytest.raises(SettingsInvalid, match=r"console.yaml:2: invalid YAML"):
        load_settings(tmp_path)


def test_a_bad_settings_file_stops_the_cli_with_exit_2(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / "console.yaml").write_text("read_only: 1\n")
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{config_dir / 'console.yaml'}:1: read_only: must be true or false" in err
    assert FakeApp.made == {}


@pytest.mark.parametrize(
    ("file_text", "argv", "expected"),
    [
        (None, [], False),
        ("read_only: true\n", [], True),
        ("read_only: false\n", ["--read-only"], True),
        (None, ["--read-only"], True),
    ],
)
def test_read_only_from_file_or_flag(
    config_dir: Path, file_text: str | None, argv: list[str], expected: bool
) -> None:
    if file_text is not None:
        (config_dir / "console.yaml").write_text(file_text)
    assert cli.main(argv) == 0
    assert FakeApp.made["read_only"] is expected

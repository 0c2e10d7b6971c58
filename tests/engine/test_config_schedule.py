"""Schedules `aiwf-engine run` could not serve are refused by the loader (and so by
`validate`): a cron that never fires, one Prefect refuses, a zone Prefect does not know; and a
deployments dir that cannot be listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.loader import load_deployment_file, load_deployments
from tests.engine.test_config import GOOD, only_error, write


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"])
def test_a_cron_that_never_fires_is_an_error_on_its_line(tmp_path: Path, cron: str) -> None:
    path = write(tmp_path, "never.yaml", GOOD.replace("0 2,14 * * *", cron))
    error = only_error(path)
    assert (error.line, error.field) == (4, "schedule.cron")
    assert str(error) == (
        f"{path}:4: schedule.cron: {cron!r} never fires: no date matches its day-of-month and "
        "month (such as 30 February, or 31 April); fix the day or the month"
    )


@pytest.mark.parametrize("cron", ["0 0 29 2 *", "0 0 30 2 1", "0 0 L 2 *"])
def test_rare_but_real_fire_times_are_fine(tmp_path: Path, cron: str) -> None:
    # 29 February comes every four years; "30 2 1" fires on Mondays (day OR weekday).
    spec, errors = load_deployment_file(
        write(tmp_path, "rare.yaml", GOOD.replace("0 2,14 * * *", cron))
    )
    assert errors == [] and spec is not None and spec.cron == cron


@pytest.mark.parametrize("cron", ["R 2 * * *", "r 2 * * 1"])
def test_random_and_hashed_fields_prefect_refuses_are_errors(tmp_path: Path, cron: str) -> None:
    path = write(tmp_path, "random.yaml", GOOD.replace("0 2,14 * * *", cron))
    error = only_error(path)
    assert (error.line, error.field) == (4, "schedule.cron")
    assert "not supported by Prefect" in error.message


@pytest.mark.parametrize(
    ("zone", "hint"),
    [
        ("a" * 300, "use an IANA name"),  # ZoneInfo raised OSError (name too long)
        ("America", "did you mean"),  # ZoneInfo raised IsADirectoryError
        ("zone.tab", "use an IANA name"),  # a data file of tzdata, not a zone
        ("asia/shanghai", "did you mean 'Asia/Shanghai'?"),
    ],
    ids=["too-long", "directory", "data-file", "case"],
)
def test_zones_are_the_ones_prefect_accepts(tmp_path: Path, zone: str, hint: str) -> None:
    path = write(tmp_path, "zone.yaml", GOOD.replace("Asia/Shanghai", f'"{zone}"'))
    error = only_error(path)
    assert (error.line, error.field) == (5, "schedule.timezone")
    assert error.message.startswith(f"unknown time zone {zone!r}; ")
    assert hint in error.message


def test_an_unreadable_deployments_dir_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests run as root, which reads any directory: stand in for EACCES.
    (tmp_path / "deployments").mkdir()

    def refuse(self: Path) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    result = load_deployments(tmp_path)
    assert result.specs == []
    [error] = result.errors
    assert (error.path, error.line, error.key) == (tmp_path / "deployments", None, "")
    assert error.message.startswith(f"cannot list {tmp_path / 'deployments'}: ")

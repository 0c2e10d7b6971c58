"""A local Prefect server's first start copies the database template it is given
(`AIWF_PREFECT_DB_TEMPLATE`, what scripts/test.sh makes) instead of migrating a new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.stack.services import PREFECT_DB_TEMPLATE_ENV, LocalPrefectServer


@pytest.fixture
def template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "template.db"
    path.write_bytes(b"an empty database")
    monkeypatch.setenv(PREFECT_DB_TEMPLATE_ENV, str(path))
    return path


def _database(state: Path) -> Path:
    (state / "prefect").mkdir(parents=True, exist_ok=True)
    return state / "prefect" / "prefect.db"


def test_a_new_state_dir_starts_from_the_template(tmp_path: Path, template: Path) -> None:
    state = tmp_path / "state"
    database = _database(state)
    LocalPrefectServer(state)._seed_database()
    assert database.read_bytes() == b"an empty database"


def test_a_database_of_its_own_is_never_replaced(tmp_path: Path, template: Path) -> None:
    state = tmp_path / "state"
    database = _database(state)
    database.write_bytes(b"a team's history")
    LocalPrefectServer(state)._seed_database()
    assert database.read_bytes() == b"a team's history"


def test_postgres_or_a_missing_template_leave_it_to_prefect(
    tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    database = _database(state)
    LocalPrefectServer(state, database_url="postgresql+asyncpg://db/prefect")._seed_database()
    assert not database.exists()
    monkeypatch.setenv(PREFECT_DB_TEMPLATE_ENV, str(tmp_path / "gone.db"))
    LocalPrefectServer(state)._seed_database()
    assert not database.exists()

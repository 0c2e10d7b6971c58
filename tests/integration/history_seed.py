"""Flow runs put straight into Prefect (not through the engine) for the history tests.

The flow, the deployment and one template run are made through Prefect's API; the runs are
copies of the template written into the server's SQLite database in one transaction, as the
history benchmark fills it (benchmarks/bench_history.py): a few hundred runs through the API
took a minute on a busy 2-core machine (two requests each, with SQLite answering 503 to
writers at once), written this way they take well under a second. Each copy has its own id,
name, state and expected start; like a run forced into a state through the API, none has a
start time, so Prefect orders them by expected start.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.stack.launcher import EmbeddedStack

KINDS = ("SCHEDULED", "FAILED", "COMPLETED", "CRASHED")
"""Run i gets KINDS[i % 4]; every run is expected at `now - i * SPACING`, so its expected
start spreads over days."""
SPACING = timedelta(minutes=40)


@dataclass(frozen=True)
class Seeded:
    flow_id: str
    deployment_id: str
    token: str
    """In every seeded run's name: `hist-<token>-<i>`."""
    ids: list[str]
    """Of the deployment's runs, then of the ad-hoc ones (no deployment)."""


def prefect_db(stack: EmbeddedStack) -> Path:
    """The SQLite file of the stack's local Prefect server."""
    return Path(stack.prefect.home) / "prefect.db"


async def seed(
    prefect: Any, database: Path, token: str, with_deployment: int, ad_hoc: int
) -> Seeded:
    """A flow and a deployment nobody serves (its runs stay as seeded), `with_deployment`
    runs of it and `ad_hoc` runs without a deployment (the mirror keeps none of those), in
    the Prefect server whose SQLite file is `database`."""
    http = prefect._client
    flow = (await http.post("/flows/", json={"name": f"history-seed-{token}"})).json()
    body = {"name": f"history-{token}", "flow_id": flow["id"]}
    deployment = (await http.post("/deployments/", json=body)).json()
    body = {"flow_id": flow["id"], "name": f"template-{token}",
            "state": {"type": "SCHEDULED", "name": "Scheduled"}}  # fmt: skip
    template = (await http.post("/flow_runs/", json=body)).json()
    ids = _copy(database, str(template["id"]), token, deployment["id"], with_deployment, ad_hoc)
    await http.delete(f"/flow_runs/{template['id']}")  # counted by no test
    return Seeded(flow["id"], deployment["id"], token, ids)


def _copy(
    database: Path, template_id: str, token: str, deployment_id: str, with_deployment: int,
    ad_hoc: int,
) -> list[str]:  # fmt: skip
    db = sqlite3.connect(database, timeout=60)
    db.row_factory = sqlite3.Row
    try:
        run = dict(db.execute("SELECT * FROM flow_run WHERE id = ?", (template_id,)).fetchone())
        state = dict(
            db.execute("SELECT * FROM flow_run_state WHERE id = ?", (run["state_id"],)).fetchone()
        )
        now = datetime.now(timezone.utc)
        ids, run_rows, state_rows = [], [], []
        for i in range(with_deployment + ad_hoc):
            run_row, state_row = copied_rows(
                run, state, f"hist-{token}-{i:04d}",
                deployment_id if i < with_deployment else None,
                KINDS[i % len(KINDS)], stamp(run["created"], now - i * SPACING), started=False,
            )  # fmt: skip
            ids.append(run_row["id"])
            run_rows.append(run_row)
            state_rows.append(state_row)
        insert_runs(db, state_rows, run_rows)
    finally:
        db.close()
    return ids


def copied_rows(
    run: dict[str, Any], state: dict[str, Any], name: str, deployment_id: str | None,
    kind: str, when: str, started: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """A copy of the template run row and its state row, with ids of its own, `name`, the
    state `kind` (a type such as "FAILED"), expected (and, if `started`, started and ended)
    at `when`; a scheduled copy is next scheduled then."""
    run_id, state_id = str(uuid.uuid4()), str(uuid.uuid4())
    ran = when if started else None
    run_row = run | {
        "id": run_id, "name": name, "deployment_id": deployment_id,
        "state_id": state_id, "state_type": kind, "state_name": kind.title(),
        "expected_start_time": when, "start_time": ran, "end_time": ran,
        "next_scheduled_start_time": when if kind == "SCHEDULED" else None,
        "created": when, "updated": when, "idempotency_key": None,
    }  # fmt: skip
    state_row = state | {
        "id": state_id, "flow_run_id": run_id, "type": kind, "name": kind.title(),
        "timestamp": when, "created": when, "updated": when,
    }  # fmt: skip
    return run_row, state_row


def insert_runs(
    db: sqlite3.Connection, state_rows: list[dict[str, Any]], run_rows: list[dict[str, Any]]
) -> None:
    """Writes flow runs and their state rows (whole rows, as `SELECT *` read them) in one
    transaction; also the history benchmark's fill."""
    with db:
        for table, rows in (("flow_run_state", state_rows), ("flow_run", run_rows)):
            columns = list(rows[0])
            db.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                [tuple(row[c] for c in columns) for row in rows],
            )


def stamp(template: str, moment: datetime) -> str:
    """`moment` written the way the database wrote the template's time."""
    text = moment.isoformat() if "T" in template else str(moment)
    return text if "+" in template or template.endswith("Z") else text.split("+")[0]

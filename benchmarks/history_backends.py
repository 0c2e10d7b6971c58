"""The two Prefect databases the history benchmarks run on, each holding 100,000 runs.

- `sqlite`: the benchmark stack's local Prefect server (what `--demo` and a new user run).
- `postgres`: a Prefect server on a private PostgreSQL cluster (Debian's binaries, started
  as the Postgres integration test starts them: tests/postgres_cluster.py), with an engine
  of its own on the benchmarks' Redis; the production path (docs/operations.md).

Both are filled the same way: the flow, the deployment and one template run through
Prefect's API, then copies of the template written straight into the database in one
transaction (a few seconds; through the API 100,000 runs would take an hour). Run i is
expected, started and ended at `now - i * SPACING`, in state KINDS[i % 5].
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.contract.keys import Keys
from engine.contract.paths import bundled_config_dir
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack, EngineProcess
from engine.stack.services import EmbeddedRedis, LocalPrefectServer
from tests.integration.history_seed import copied_rows, insert_runs, stamp
from tests.postgres_cluster import PostgresCluster

SPACING = timedelta(seconds=30)
"""100,000 runs span about 35 days."""
KINDS = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "COMPLETED")


@dataclass(frozen=True)
class PrefectWithHistory:
    """Where the history lives: the Prefect API, and the Redis its engine answers on."""

    database: str
    """"sqlite" or "postgres"."""
    api_url: str
    redis_url: str
    keys: Keys


def sqlite_backend(stack: EmbeddedStack) -> PrefectWithHistory:
    return PrefectWithHistory("sqlite", stack.api_url, stack.redis_url, Keys(stack.prefix))


@dataclass
class PostgresBackend:
    """PostgreSQL, a Prefect server on it and an engine on the given Redis, until `stop`."""

    root: Path
    redis: EmbeddedRedis
    cluster: PostgresCluster | None = None
    server: LocalPrefectServer | None = None
    engine: EngineProcess | None = None

    def start(self) -> PrefectWithHistory:
        self.cluster = PostgresCluster()
        self.cluster.start()
        self.server = LocalPrefectServer(self.root / "prefect", database_url=self.cluster.url)
        # The first start runs every Postgres migration: slower than SQLite's.
        self.server.start(progress=print, timeout=240)
        state = self.root / "engine"
        config = state / "config"
        shutil.copytree(bundled_config_dir(), config)
        ensure_demo_input(state)
        keys = Keys(f"bench-pg-{uuid.uuid4().hex[:6]}")
        self.engine = EngineProcess(
            state, self.redis.url, self.server.api_url, config, prefix=keys.prefix
        )
        self.engine.start(progress=print)
        return PrefectWithHistory("postgres", self.server.api_url, self.redis.url, keys)

    def stop(self) -> None:
        for part in (self.engine, self.server, self.cluster):
            if part is not None:
                part.stop()


def fill_sqlite(database: Path, template_run_id: str, deployment_id: str, runs: int) -> None:
    """`runs` copies of the template run (and its state row), each its own id, name, state
    and expected start, in one transaction."""
    db = sqlite3.connect(database, timeout=60)
    db.row_factory = sqlite3.Row
    run = dict(db.execute("SELECT * FROM flow_run WHERE id = ?", (template_run_id,)).fetchone())
    state_id = run["state_id"]
    state = dict(db.execute("SELECT * FROM flow_run_state WHERE id = ?", (state_id,)).fetchone())
    now = datetime.now(timezone.utc)
    run_rows, state_rows = [], []
    for i in range(runs):
        when = stamp(run["created"], now - i * SPACING)
        run_row, state_row = copied_rows(
            run, state, f"bench-run-{i:06d}", deployment_id, KINDS[i % len(KINDS)], when,
            started=True,
        )  # fmt: skip
        run_rows.append(run_row)
        state_rows.append(state_row)
    insert_runs(db, state_rows, run_rows)
    db.close()


def fill_postgres(
    cluster: PostgresCluster, template_run_id: str, deployment_id: str, runs: int
) -> None:
    """As `fill_sqlite`, in SQL on the server (generate_series): the same names, states and
    times. Foreign keys are not checked while it writes (flow_run and flow_run_state point
    at each other; every row written is whole), and the planner's statistics are renewed
    after, as they would be for a history grown over weeks."""
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    seed = (
        "CREATE TEMP TABLE seed AS SELECT i, gen_random_uuid() AS run_id, "
        "gen_random_uuid() AS state_id, "
        f"now() - i * interval '{SPACING.total_seconds():g} seconds' AS at, "
        f"(ARRAY[{kinds}])[i % {len(KINDS)} + 1] AS kind "
        f"FROM generate_series(0, {runs - 1}) AS i"
    )
    state_id = cluster.psql(f"SELECT state_id FROM flow_run WHERE id = '{template_run_id}'")
    times = ("created", "updated")
    run_values = {
        "id": "seed.run_id",
        "name": "'bench-run-' || lpad(seed.i::text, 6, '0')",
        "deployment_id": f"'{deployment_id}'::uuid",
        "state_id": "seed.state_id",
        "state_type": "seed.kind::{type}",
        "state_name": "initcap(seed.kind)",
        "idempotency_key": "NULL",
        **dict.fromkeys(("expected_start_time", "start_time", "end_time", *times), "seed.at"),
    }
    state_values = {
        "id": "seed.state_id",
        "flow_run_id": "seed.run_id",
        "type": "seed.kind::{type}",
        "name": "initcap(seed.kind)",
        **dict.fromkeys(("timestamp", *times), "seed.at"),
    }
    cluster.psql(
        ";\n".join(
            [
                "SET session_replication_role = replica",
                seed,
                _copy_rows(cluster, "flow_run_state", state_id.strip(), state_values),
                _copy_rows(cluster, "flow_run", template_run_id, run_values),
                "ANALYZE flow_run",
                "ANALYZE flow_run_state",
            ]
        )
    )


def _copy_rows(
    cluster: PostgresCluster, table: str, template_id: str, values: dict[str, str]
) -> str:
    """INSERT of one row per `seed` row: the template row's columns, but those in `values`
    (SQL over `seed`; `{type}` stands for the column's own type, an enum's name)."""
    described = cluster.psql(
        "SELECT column_name, udt_name FROM information_schema.columns "
        f"WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
    )
    columns = [line.split("|") for line in described.splitlines() if line]
    unknown = set(values) - {name for name, _ in columns}
    if unknown:
        pytest.fail(f"Prefect's {table} table has no column {', '.join(sorted(unknown))}")
    names = ", ".join(_quoted(name) for name, _ in columns)
    chosen = ", ".join(
        values[name].format(type=_quoted(kind)) if name in values else f"t.{_quoted(name)}"
        for name, kind in columns
    )
    return f"INSERT INTO {table} ({names}) SELECT {chosen} FROM {table} AS t, seed " + (
        f"WHERE t.id = '{template_id}'"
    )


def _quoted(identifier: str) -> str:
    return f'"{identifier}"'  # "timestamp" is a column of flow_run_state

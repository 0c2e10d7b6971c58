"""Full history, paged (issue 11 item 1): a query's page and total end to end through Redis
(XADD on `{p}:queries` -> the engine asks Prefect -> XREAD on the result key), with 100,000
flow runs in Prefect: each benchmark runs on Prefect's SQLite (the local server) and on
PostgreSQL (production), benchmarks/history_backends.py.

Setup writes the runs straight into Prefect's database (copies of one run made through the
API, seconds), so no engine mirrors them: every page comes from Prefect. The first start
of each stack and its fill take a minute or two on a busy machine.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis

from benchmarks.history_backends import (
    PostgresBackend,
    PrefectWithHistory,
    fill_postgres,
    fill_sqlite,
    sqlite_backend,
)
from benchmarks.support import goal, percentile
from engine.contract.history import QUERY_PAGE_DEFAULT, HistoryClient, RunQuery, new_query
from engine.stack.launcher import EmbeddedRedis, EmbeddedStack

pytestmark = pytest.mark.bench

RUNS = 100_000
TIMEOUT = 30.0
ROUNDS = 40
PAGE = QUERY_PAGE_DEFAULT
"""Runs per page, as the console asks (console/data/history.py HISTORY_PAGE)."""


@dataclass(frozen=True)
class History:
    """A Prefect holding RUNS runs of one deployment nobody serves, and a client asking its
    engine for pages."""

    client: HistoryClient
    deployment_id: str
    prefect: PrefectWithHistory


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def history_of(
    request: pytest.FixtureRequest,
    redis_server: EmbeddedRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[History]:
    """Each benchmark of this file once on the stack's SQLite Prefect, once on Postgres."""
    postgres: PostgresBackend | None = None
    if request.param == "sqlite":
        stack: EmbeddedStack = request.getfixturevalue("stack")
        prefect = sqlite_backend(stack)
    else:
        postgres = PostgresBackend(tmp_path_factory.mktemp("pg-history"), redis_server)
        prefect = postgres.start()
    try:
        run_id, deployment_id = asyncio.run(template(prefect.api_url))
        if postgres is None:
            fill_sqlite(Path(stack.prefect.home) / "prefect.db", run_id, deployment_id, RUNS)
        else:
            assert postgres.cluster is not None
            fill_postgres(postgres.cluster, run_id, deployment_id, RUNS)
        client = redis.Redis.from_url(prefect.redis_url)
        yield History(HistoryClient(client, prefect.keys), deployment_id, prefect)
        client.close()
    finally:
        if postgres is not None:
            postgres.stop()


async def template(api_url: str) -> tuple[str, str]:
    """A flow, a deployment nobody serves and one Completed run of it: (run, deployment)."""
    from prefect.client.orchestration import PrefectClient

    token = uuid.uuid4().hex[:6]
    async with PrefectClient(api=api_url) as prefect:
        http = prefect._client
        flow = (await http.post("/flows/", json={"name": f"bench-{token}"})).json()
        body = {"name": f"bench-{token}", "flow_id": flow["id"]}
        deployment = (await http.post("/deployments/", json=body)).json()
        body = {"flow_id": flow["id"], "deployment_id": deployment["id"], "name": "template",
                "state": {"type": "COMPLETED", "name": "Completed"}}  # fmt: skip
        run = (await http.post("/flow_runs/", json=body)).json()
        return str(run["id"]), str(deployment["id"])


FILTER_KINDS = (
    "deployment",
    "state",
    "last 7d",
    "text",
    "deployment+state+7d",
    "state+24h",
    "deployment by name",
    "text+state",
)


def filters(deployment_id: str) -> list[dict[str, Any]]:
    """One of each filter kind the console sends, and combinations."""
    week = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()
    day = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    failed = ["CRASHED", "FAILED"]
    return [
        {"deployment_id": deployment_id},
        {"state_types": failed},
        {"since": week},
        {"text": "bench-run-012"},
        {"deployment_id": deployment_id, "state_types": failed, "since": week},
        {"state_types": ["COMPLETED"], "since": day},
        {"deployment_id": deployment_id, "sort": "NAME_ASC"},
        {"text": "bench-run", "state_types": failed},
    ]


def asker(
    history: HistoryClient, queries: Iterator[RunQuery], by_filter: dict[int, list[float]]
) -> Callable[[], None]:
    """One ask per round; each round's time also noted under its filter's index."""
    rounds = itertools.count()

    def ask() -> None:
        started = time.perf_counter()
        page = history.ask(next(queries), TIMEOUT)
        by_filter.setdefault(next(rounds) % len(FILTER_KINDS), []).append(
            time.perf_counter() - started
        )
        assert page is not None and page.ok, page
        assert page.runs, "every benchmarked filter matches more than two pages"

    return ask


def prefect_alone(api_url: str, queries: list[RunQuery]) -> list[float]:
    """The same queries put to Prefect's API directly (what the engine asks, no Redis, no
    engine): the difference to the end-to-end figure is what the transport costs."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.sorting import FlowRunSort

    from engine.bridge.history import prefect_filter

    async def run() -> list[float]:
        times = []
        async with PrefectClient(api=api_url) as prefect:
            for query in queries:
                flow_run_filter = prefect_filter(query)
                started = time.perf_counter()
                await asyncio.gather(
                    prefect.read_flow_runs(
                        flow_run_filter=flow_run_filter,
                        sort=FlowRunSort(query.sort),
                        limit=query.limit,
                        offset=query.offset,
                    ),
                    *(
                        [prefect.count_flow_runs(flow_run_filter=flow_run_filter)]
                        if query.counted
                        else []
                    ),
                )
                times.append(time.perf_counter() - started)
        return times

    return asyncio.run(run())


def breakdown(
    benchmark: Any,
    history: History,
    offset: int,
    by: dict[int, list[float]],
) -> None:
    """Per filter kind (p50 ms end to end), and Prefect alone for the same queries."""
    benchmark.extra_info["p50_ms_by_filter"] = {
        FILTER_KINDS[i]: round(percentile(times, 0.5) * 1000, 1) for i, times in sorted(by.items())
    }
    queries = itertools.islice(fresh(history.deployment_id, offset), 16)
    direct = prefect_alone(history.prefect.api_url, list(queries))
    benchmark.extra_info["prefect_alone_ms"] = {
        "p50": round(percentile(direct, 0.5) * 1000, 1),
        "p95": round(percentile(direct, 0.95) * 1000, 1),
    }


def fresh(deployment_id: str, offset: int) -> Iterator[RunQuery]:
    """Each round a new query (its `until` moves on, so the engine's cache never answers)."""
    for fields in itertools.cycle(filters(deployment_id)):
        until = datetime.now(timezone.utc).isoformat()
        # As the console asks: the pages after the first without a count.
        yield new_query(**fields, until=until, offset=offset, limit=PAGE, counted=offset == 0)


def load_note(benchmark: Any, history: History) -> None:
    benchmark.extra_info["prefect_database"] = history.prefect.database
    benchmark.extra_info["load_average"] = " ".join(f"{n:.2f}" for n in os.getloadavg())


def test_history_first_page(benchmark: Any, history_of: History) -> None:
    """First page (PAGE runs) and total of a filter over 100,000 runs, cycling through every
    filter kind, asked as the console asks. Goal: p95 <= 300 ms."""
    history, deployment_id = history_of.client, history_of.deployment_id
    goal(benchmark, "p95 <= 300 ms", "p95_s", 0.3)
    load_note(benchmark, history_of)
    by: dict[int, list[float]] = {}
    ask = asker(history, fresh(deployment_id, 0), by)
    benchmark.pedantic(ask, rounds=ROUNDS, warmup_rounds=2)
    breakdown(benchmark, history_of, 0, by)


def test_history_next_page_without_its_first(benchmark: Any, history_of: History) -> None:
    """The page at offset PAGE of the same filters, without the count, asked cold (its first
    page never asked, so nothing was read ahead): what one `read_flow_runs` costs end to end.
    Goal: p95 <= 150 ms."""
    history, deployment_id = history_of.client, history_of.deployment_id
    goal(benchmark, "p95 <= 150 ms", "p95_s", 0.15)
    load_note(benchmark, history_of)
    by: dict[int, list[float]] = {}
    ask = asker(history, fresh(deployment_id, PAGE), by)
    benchmark.pedantic(ask, rounds=ROUNDS, warmup_rounds=2)
    breakdown(benchmark, history_of, PAGE, by)


READING_SECONDS = (0.0, 1.0)
"""Between the first page on screen and the ask for the next: at once (End, to the last
row) and after a second (a few PageDowns over a page)."""


@pytest.mark.parametrize("reading", READING_SECONDS, ids=["at-once", "after-1s"])
def test_history_next_page(
    benchmark: Any,
    history_of: History,
    reading: float,
) -> None:
    """As the console pages: the first page of a view (not timed), then, `reading` seconds
    later, the page after it with the same pinned `until` and no count (timed), which the
    engine reads ahead when it answers the first. Goal: p95 <= 150 ms."""
    history, deployment_id = history_of.client, history_of.deployment_id
    goal(benchmark, "p95 <= 150 ms", "p95_s", 0.15)
    load_note(benchmark, history_of)
    firsts = fresh(deployment_id, 0)
    by: dict[int, list[float]] = {}
    rounds = itertools.count()

    def setup() -> tuple[tuple[RunQuery], dict[str, Any]]:
        first = next(firsts)
        page = history.ask(first, TIMEOUT)
        assert page is not None and page.ok, page
        time.sleep(reading)
        after = new_query(**{
            f: getattr(first, f) for f in ("deployment_id", "state_types", "since", "until",
                                           "text", "sort", "limit")
        }, offset=PAGE, counted=False)  # fmt: skip
        return (after,), {}

    def ask(query: RunQuery) -> None:
        started = time.perf_counter()
        page = history.ask(query, TIMEOUT)
        by.setdefault(next(rounds) % len(FILTER_KINDS), []).append(time.perf_counter() - started)
        assert page is not None and page.ok and page.runs, page

    benchmark.pedantic(ask, setup=setup, rounds=ROUNDS, warmup_rounds=2)
    benchmark.extra_info["reading_s"] = reading
    benchmark.extra_info["p50_ms_by_filter"] = {
        FILTER_KINDS[i]: round(percentile(times, 0.5) * 1000, 1) for i, times in sorted(by.items())
    }

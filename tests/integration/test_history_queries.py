"""Full history, paged (issue 11 item 1): queries on `{p}:queries` answered by the real
engine from the real Prefect API, over runs seeded straight into Prefect."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
import redis
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from engine.contract.history import (
    QUERY_PAGE_DEFAULT,
    QUERY_PAGE_MAX,
    HistoryClient,
    RunPage,
    new_query,
)
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from tests.integration.history_seed import SPACING, Seeded, prefect_db, seed

pytestmark = pytest.mark.integration

TOKEN = uuid.uuid4().hex[:6]
WITH_DEPLOYMENT, AD_HOC = 240, 120


@pytest.fixture(scope="module")
def seeded(stack: EmbeddedStack) -> Seeded:
    import asyncio

    from prefect.client.orchestration import PrefectClient

    async def go() -> Seeded:
        async with PrefectClient(api=stack.api_url) as client:
            return await seed(client, prefect_db(stack), TOKEN, WITH_DEPLOYMENT, AD_HOC)

    return asyncio.run(go())


@pytest.fixture
def history(stack_redis: redis.Redis, stack_keys: Keys) -> Iterator[HistoryClient]:
    yield HistoryClient(stack_redis, stack_keys)


def ask(history: HistoryClient, **fields: Any) -> RunPage:
    page = history.ask(new_query(**fields), timeout=30)
    assert page is not None, f"no page for {fields} within 30 s"
    assert page.ok, page.error
    return page


def cases(seeded: Seeded) -> list[tuple[dict[str, Any], FlowRunFilter]]:
    """Each filter kind as a query, and the same filter written for Prefect by hand."""
    dep = FlowRunFilterDeploymentId(any_=[UUID(seeded.deployment_id)])
    failed = FlowRunFilterState(
        type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
    )
    since = datetime.now(timezone.utc) - timedelta(days=1)
    recent = FlowRunFilterExpectedStartTime(after_=since)  # type: ignore[arg-type]
    named = FlowRunFilterName(like_=f"hist-{TOKEN}-00")
    failed_types = ["FAILED", "CRASHED"]
    return [
        ({"deployment_id": seeded.deployment_id}, FlowRunFilter(deployment_id=dep)),
        (
            {"deployment_id": seeded.deployment_id, "state_types": failed_types},
            FlowRunFilter(deployment_id=dep, state=failed),
        ),
        (
            {"deployment_id": seeded.deployment_id, "since": since.isoformat()},
            FlowRunFilter(deployment_id=dep, expected_start_time=recent),
        ),
        ({"text": f"hist-{TOKEN}-00"}, FlowRunFilter(name=named)),
        (
            {"text": f"hist-{TOKEN}", "state_types": failed_types, "since": since.isoformat()},
            FlowRunFilter(
                name=FlowRunFilterName(like_=f"hist-{TOKEN}"),
                state=failed,
                expected_start_time=recent,
            ),
        ),
    ]


async def test_each_filter_kind_totals_what_prefect_counts(
    seeded: Seeded, history: HistoryClient, prefect_client: Any
) -> None:
    totals = []
    for fields, expected in cases(seeded):
        page = ask(history, **fields)
        counted = await prefect_client.count_flow_runs(flow_run_filter=expected)
        assert page.total == counted, fields
        runs = await prefect_client.read_flow_runs(flow_run_filter=expected, limit=1)
        assert counted > 0 and runs, f"the seed gives {fields} some runs"
        assert len(page.runs) == min(counted, QUERY_PAGE_DEFAULT)
        totals.append(page.total)
    # The filters really filter: deployment 240, failed-or-crashed half of them, ...
    assert totals[0] == WITH_DEPLOYMENT
    assert totals[1] == WITH_DEPLOYMENT // 2
    assert 0 < totals[2] < totals[0]
    assert totals[3] == 100  # hist-<token>-0000 .. -0099


def test_pages_neither_overlap_nor_skip(seeded: Seeded, history: HistoryClient) -> None:
    until = datetime.now(timezone.utc).isoformat()
    seen: list[str] = []
    starts: list[str] = []
    offset = 0
    while True:
        page = ask(history, text=f"hist-{TOKEN}", until=until, offset=offset, limit=70)
        assert page.total == WITH_DEPLOYMENT + AD_HOC
        seen += [doc.id for doc in page.runs]
        starts += [doc.start_time or doc.expected_start_time or "" for doc in page.runs]
        offset += len(page.runs)
        if len(page.runs) < 70:
            break
    assert len(seen) == len(set(seen)) == WITH_DEPLOYMENT + AD_HOC
    assert set(seen) == set(seeded.ids)
    # Newest first, as the console's table sorts (start, else expected start).
    stamps = [datetime.fromisoformat(s) for s in starts]
    assert stamps == sorted(stamps, reverse=True)


def test_pages_are_bounded_and_documents_are_the_mirrors_kind(
    seeded: Seeded, history: HistoryClient
) -> None:
    page = ask(history, text=f"hist-{TOKEN}", limit=10_000)
    assert len(page.runs) == QUERY_PAGE_MAX
    # Run i of the seed is `hist-<token>-<i>`, of the deployment below WITH_DEPLOYMENT,
    # failed when i % 4 == 1 (tests/integration/history_seed.py).
    number = {doc.id: int(doc.name.rsplit("-", 1)[1]) for doc in page.runs}
    doc = next(d for d in page.runs if number[d.id] % 4 == 1 and number[d.id] < WITH_DEPLOYMENT)
    assert doc.id == seeded.ids[number[doc.id]]
    assert doc.state_type == "FAILED" and doc.deployment_id == seeded.deployment_id


def test_a_bad_query_is_answered_with_the_reason(history: HistoryClient) -> None:
    page = history.ask(new_query(deployment_id="not-a-uuid"), timeout=30)
    assert page is not None and not page.ok
    assert "deployment_id 'not-a-uuid' is not a UUID" in page.error


def test_the_same_query_soon_after_is_served_from_the_cache(
    seeded: Seeded, history: HistoryClient
) -> None:
    first = ask(history, deployment_id=seeded.deployment_id, state_types=["COMPLETED"])
    again = ask(history, deployment_id=seeded.deployment_id, state_types=["COMPLETED"])
    assert not first.cached and again.cached
    assert [d.id for d in again.runs] == [d.id for d in first.runs]
    assert again.total == first.total == WITH_DEPLOYMENT // 4


async def test_the_next_page_is_read_ahead_and_is_what_prefect_holds_there(
    stack: EmbeddedStack, seeded: Seeded, history: HistoryClient
) -> None:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.sorting import FlowRunSort

    until = datetime.now(timezone.utc).isoformat()
    view = {"text": f"hist-{TOKEN}", "until": until, "limit": 100}
    first = ask(history, **view)
    # As the console asks when the cursor reaches the last row: same view, no count.
    second = ask(history, **view, offset=100, counted=False)
    # Read ahead when the first page was answered, so this ask cost Prefect no call.
    assert second.cached and second.offset == 100 and second.total == -1
    async with PrefectClient(api=stack.api_url) as prefect:
        expected = await prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(like_=f"hist-{TOKEN}"),
                expected_start_time=FlowRunFilterExpectedStartTime(
                    before_=datetime.fromisoformat(until)  # type: ignore[arg-type]
                ),
            ),
            sort=FlowRunSort.START_TIME_DESC,
            limit=100,
            offset=100,
        )
    assert [d.id for d in second.runs] == [str(run.id) for run in expected]
    assert not {d.id for d in first.runs} & {d.id for d in second.runs}
    # A page nobody read ahead (the one before it was never asked) is asked of Prefect.
    last = ask(history, **view, offset=300, counted=False)
    assert not last.cached and len(last.runs) == WITH_DEPLOYMENT + AD_HOC - 300


def test_until_bounds_the_pages_and_the_total(seeded: Seeded, history: HistoryClient) -> None:
    """`until` pins a view: its pages and its total cover the runs expected up to then (runs
    scheduled ahead are a deployment's next run, not history), so the pages add up to it."""
    newest_left_out = 11  # runs 0..10 are expected after `until`
    until = (datetime.now(timezone.utc) - SPACING * (newest_left_out - 0.5)).isoformat()
    page = ask(history, text=f"hist-{TOKEN}", until=until, limit=200)
    assert page.total == WITH_DEPLOYMENT + AD_HOC - newest_left_out
    rest = ask(history, text=f"hist-{TOKEN}", until=until, limit=200, offset=200, counted=False)
    names = [doc.name for doc in page.runs + rest.runs]
    assert len(names) == len(set(names)) == page.total
    assert not set(names) & {f"hist-{TOKEN}-{i:04d}" for i in range(newest_left_out)}

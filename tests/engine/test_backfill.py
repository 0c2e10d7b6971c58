"""Backfill planning (fire times in a window, DST, caps, checks) and its concurrency limit."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.commands.backfill import run_limited
from engine.contract.fire_times import BACKFILL_MAX_RUNS, BackfillError, plan_backfill
from engine.lineage import record as lineage
from engine.pipeline.inference import TASK_ORDER, tasks_to_refresh

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_fire_times_in_a_window_are_in_the_deployment_zone_start_included_end_excluded() -> None:
    plan = plan_backfill(
        "0 2,14 * * *",
        "Asia/Shanghai",
        {"start": "2026-11-01T02:00", "end": "2026-11-02T14:00", "max_concurrent": 2},
        NOW,
    )
    assert [f.isoformat() for f in plan.fires] == [
        "2026-11-01T02:00:00+08:00",
        "2026-11-01T14:00:00+08:00",
        "2026-11-02T02:00:00+08:00",
    ]
    assert plan.max_concurrent == 2 and plan.zone == "Asia/Shanghai"
    # An offset wins over the zone: 2026-10-31T18:00Z is 02:00 in Shanghai.
    utc = plan_backfill(
        "0 2,14 * * *",
        "Asia/Shanghai",
        {"start": "2026-10-31T18:00Z", "end": "2026-11-01T12:00"},
        NOW,
    )
    assert utc.fires[0] == datetime(2026, 11, 1, 2, tzinfo=SHANGHAI)


def test_fall_back_fires_once_and_spring_forward_fires_at_the_first_valid_instant() -> None:
    autumn = plan_backfill(
        "30 1 * * *", "Europe/London", {"start": "2026-10-24", "end": "2026-10-27"}, NOW
    )
    assert [f.strftime("%m-%d %H:%M %Z") for f in autumn.fires] == [
        "10-24 01:30 BST",
        "10-25 01:30 BST",
        "10-26 01:30 GMT",
    ]
    spring = plan_backfill(
        "30 1 * * *", "Europe/London", {"start": "2026-03-28", "end": "2026-03-31"}, NOW
    )
    assert [f.isoformat() for f in spring.fires] == [
        "2026-03-28T01:30:00+00:00",
        "2026-03-29T02:00:00+01:00",
        "2026-03-30T01:30:00+01:00",
    ]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": "2026-11-01", "end": "2026-11-01"}, "must be after start"),
        ({"start": "yesterday", "end": "2026-11-01"}, "start 'yesterday' is not an ISO"),
        ({"end": "2026-11-01"}, "start is missing"),
        ({"start": "2026-11-01", "end": "2027-01-01"}, "is in the future"),
        ({"start": "2026-11-01", "end": "2026-11-02", "max_concurrent": 0}, "between 1 and"),
        ({"start": "2026-11-01", "end": "2026-11-02", "max_concurrent": "2"}, "whole number"),
        ({"start": "2026-11-01", "end": "2026-11-02", "bogus": 1}, "bogus"),
        ({"start": "2026-11-01T03:00", "end": "2026-11-01T13:00"}, "no fire time"),
        ({"start": "2025-01-01", "end": "2026-01-01"}, f"more than {BACKFILL_MAX_RUNS}"),
    ],
)
def test_bad_backfills_are_refused_naming_the_field(params: dict[str, object], words: str) -> None:
    with pytest.raises(BackfillError, match=words):
        plan_backfill("0 2,14 * * *", "Asia/Shanghai", params, NOW)


def test_a_deployment_without_schedule_cannot_be_backfilled() -> None:
    with pytest.raises(BackfillError, match="no schedule"):
        plan_backfill("", "UTC", {"start": "2026-11-01", "end": "2026-11-02"}, NOW)


async def test_run_limited_never_has_more_than_the_limit_unfinished() -> None:
    running: dict[str, int] = {}
    peak = 0
    created: list[int] = []

    async def create(item: int) -> str:
        nonlocal peak
        created.append(item)
        running[f"run-{item}"] = 2  # finished after being polled twice
        peak = max(peak, len(running))
        return f"run-{item}"

    async def unfinished(ids: list[str]) -> list[str]:
        for run_id in ids:
            running[run_id] -= 1
            if running[run_id] == 0:
                del running[run_id]
        return [i for i in ids if i in running]

    ids = await run_limited(list(range(7)), 3, create, unfinished, poll_seconds=0)
    assert ids == [f"run-{i}" for i in range(7)] and created == list(range(7))
    assert peak == 3
    await asyncio.sleep(0)


def test_backfill_tag_makes_a_backfill_trigger_with_its_fire_time() -> None:
    doc = lineage.classify_trigger(
        ["triggered-by:ana", "backfill:2026-11-01T02:00:00+08:00"], 1, False, None, ""
    )
    assert doc.kind == "backfill" and doc.origin == "backfill"
    assert doc.fire_time == "2026-11-01T02:00:00+08:00" and doc.operator == "ana"
    retry = lineage.classify_trigger(["backfill:2026-11-01T02:00:00+08:00"], 2, False, None, "")
    assert retry.kind == "retry" and retry.origin == "backfill"


def test_tasks_to_refresh_from_a_task_onward() -> None:
    assert tasks_to_refresh("", False) == frozenset()
    assert tasks_to_refresh("", True) == frozenset(TASK_ORDER)
    assert tasks_to_refresh("run_inference", False) == {"run_inference", "save_results"}
    with pytest.raises(ValueError, match="load_raw_data, run_inference, save_results"):
        tasks_to_refresh("train", False)

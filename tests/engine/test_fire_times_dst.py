"""Cron fire times across DST changes: one shared rule (`fires_after`) behind the engine's
`next_fire_times`, the backfill windows and the console's next runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from console.text.formatting import next_fire, next_fires
from engine.bridge.documents import next_fire_times
from engine.contract.fire_times import fires_after, fires_between
from engine.contract.fire_times import next_fires as contract_next_fires

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
FALL_BACK_EVE = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
"""The day before 2026-10-25, when 01:30 happens twice in London (BST, then GMT)."""
SPRING_EVE = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
"""The day before 2026-03-29, when London skips from 01:00 to 02:00."""


def test_a_repeated_wall_time_fires_once() -> None:
    fires = contract_next_fires("30 1 * * *", LONDON, FALL_BACK_EVE, 3)
    assert [f.astimezone(UTC) for f in fires] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, the first of the two
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # then GMT
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_a_skipped_wall_time_fires_at_the_first_valid_instant() -> None:
    fires = contract_next_fires("30 1 * * *", LONDON, SPRING_EVE, 2)
    assert [f.astimezone(UTC) for f in fires] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:00 BST, the first instant after 01:00
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 01:30 BST
    ]


def test_the_engine_document_fires_a_repeated_wall_time_once() -> None:
    # Before the shared rule, this list had 01:30 BST and 01:30 GMT both.
    assert next_fire_times("30 1 * * *", "Europe/London", 3, FALL_BACK_EVE) == [
        "2026-10-25T00:30:00+00:00",
        "2026-10-26T01:30:00+00:00",
        "2026-10-27T01:30:00+00:00",
    ]


def test_every_caller_agrees_with_the_shared_rule() -> None:
    shared = contract_next_fires("*/30 1 * * *", LONDON, FALL_BACK_EVE, 5)
    # The engine's deployment document.
    assert next_fire_times("*/30 1 * * *", "Europe/London", 5, FALL_BACK_EVE) == [
        f.astimezone(UTC).isoformat() for f in shared
    ]
    # The console's next runs.
    assert next_fires("*/30 1 * * *", "Europe/London", FALL_BACK_EVE, 5) == shared
    assert next_fire("*/30 1 * * *", "Europe/London", FALL_BACK_EVE) == shared[0]
    # A backfill window over the same night.
    end = shared[-1] + timedelta(seconds=1)
    assert fires_between("*/30 1 * * *", LONDON, FALL_BACK_EVE, end, 500) == shared
    it = fires_after("*/30 1 * * *", LONDON, FALL_BACK_EVE)
    assert [next(it) for _ in range(5)] == shared

"""A cron that never fires (`0 0 30 2 *`) that reached the engine or the console anyway
(an older engine's document, a hand-written key) gives no fire times, never an exception."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.bridge.documents import next_fire_times
from engine.contract.fire_times import BackfillError, fires_between, plan_backfill, zone_of

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)
NEVER = "0 0 30 2 *"


def test_next_fire_times_of_a_cron_that_never_fires_are_none() -> None:
    assert next_fire_times(NEVER, "UTC", now=NOW) == []
    assert len(next_fire_times("0 0 29 2 *", "UTC", now=NOW)) == 5  # every four years


def test_a_window_holds_no_fire_time_of_it() -> None:
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert fires_between(NEVER, timezone.utc, start, NOW, 500) == []


def test_a_backfill_of_it_is_refused_with_the_backfill_error() -> None:
    with pytest.raises(BackfillError, match="no fire time of '0 0 30 2 \\*'"):
        plan_backfill(NEVER, "UTC", {"start": "2025-01-01", "end": "2026-01-01"}, NOW)


def test_a_zone_name_too_long_for_the_file_system_is_a_backfill_error() -> None:
    with pytest.raises(BackfillError, match="unknown time zone"):
        zone_of("a" * 300)  # ZoneInfo raises OSError (file name too long)

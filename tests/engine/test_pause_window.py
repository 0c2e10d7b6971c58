"""Maintenance windows: the `pause until` parser and the auto-resume ZSET in a real Redis."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import redis

from engine.contract.keys import Keys
from engine.contract.pause_window import AutoResumeStore, WindowError, parse_resume_at, parse_until

NOW = datetime(2026, 11, 26, 4, 40, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("text", "delta"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), (" 1D ", timedelta(days=1))],
)
def test_relative_windows_count_from_now(text: str, delta: timedelta) -> None:
    assert parse_until(text, NOW) == NOW + delta


def test_empty_means_indefinitely() -> None:
    assert parse_until("  ", NOW) is None


def test_a_date_time_is_local_wall_time_and_iso_keeps_its_offset() -> None:
    local = parse_until("2026-11-27 06:00", NOW)
    assert local == datetime(2026, 11, 27, 6, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert local is not None and local.utcoffset() == timedelta(hours=1)
    iso = parse_until("2026-11-27T06:00:00+00:00", NOW)
    assert iso == datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("soon", "is not a time; use 30m, 2h, 1d"),
        ("0m", "longer than 0"),
        ("2026-11-25 06:00", "is not in the future"),
        ("3w", "is not a time"),
    ],
)
def test_bad_windows_say_why(text: str, says: str) -> None:
    with pytest.raises(WindowError, match=says):
        parse_until(text, NOW)


def test_resume_at_of_a_command_must_be_future_iso_with_offset() -> None:
    now = NOW.astimezone(timezone.utc)
    later = (now + timedelta(hours=1)).isoformat()
    assert parse_resume_at(later, now) == now + timedelta(hours=1)
    for value, says in (
        (3600, "must be an ISO time string"),
        ("tomorrow", "is not an ISO time"),
        ("2026-11-27T06:00:00", "needs an offset"),
        ((now - timedelta(seconds=1)).isoformat(), "already past"),
    ):
        with pytest.raises(WindowError, match=says):
            parse_resume_at(value, now)


def test_store_keeps_one_window_per_deployment_and_lists_the_due_ones(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = AutoResumeStore(redis_client, keys)
    now = datetime(2026, 11, 26, 4, 40, tzinfo=timezone.utc)
    store.set("prod", now + timedelta(hours=2))
    store.set("prod", now - timedelta(seconds=5))  # a second pause moves the window
    store.set("canary", now + timedelta(minutes=1))
    assert redis_client.type(keys.auto_resume) == b"zset"
    assert store.when("prod") == now - timedelta(seconds=5)
    assert store.due(now) == [("prod", now - timedelta(seconds=5))]
    assert [name for name, _ in store.due(now + timedelta(minutes=2))] == ["prod", "canary"]
    assert store.clear("prod") is True
    assert store.clear("prod") is False
    assert store.when("prod") is None

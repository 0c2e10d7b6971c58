"""Next fire times across DST changes (Europe/London), and the sparkline: pure functions."""

from __future__ import annotations

from datetime import datetime, timezone

from console.text.formatting import next_fires, sparkline

UTC = timezone.utc


def test_spring_forward_europe_london() -> None:
    # 2026-03-29 01:00 GMT the clocks jump to 02:00 BST: 01:30 local does not exist that day.
    now = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    fires = [f.astimezone(UTC) for f in next_fires("30 1 * * *", "Europe/London", now, 4)]
    assert fires[0] == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # GMT: 01:30 local = 01:30Z
    assert fires[2] == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # BST: 01:30 local = 00:30Z
    assert fires[3] == datetime(2026, 3, 31, 0, 30, tzinfo=UTC)
    # The skipped day fires once, never twice, and strictly between its neighbours.
    assert fires[0] < fires[1] < fires[2]
    assert fires[1] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # first valid instant, 02:00 BST


def test_fall_back_europe_london() -> None:
    # 2026-10-25 02:00 BST the clocks go back to 01:00 GMT: 01:30 local happens twice.
    now = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    fires = [f.astimezone(UTC) for f in next_fires("30 1 * * *", "Europe/London", now, 4)]
    assert fires == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),  # BST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, the first of the two
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # GMT
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_fire_times_are_in_the_cron_zone_and_bad_input_is_empty() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    fires = next_fires("0 2,14 * * *", "Asia/Shanghai", now, 10)
    assert len(fires) == 10
    assert str(fires[0].tzinfo) == "Asia/Shanghai"
    assert fires[0].astimezone(UTC) == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    assert next_fires("not a cron", "UTC", now, 3) == []
    assert next_fires("0 * * * *", "Mars/Olympus", now, 3) == []
    assert next_fires(None, "UTC", now, 3) == []


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([]) == ""
    assert sparkline([0.0, 0.0]) == "▁▁"
    assert sparkline([1.0, 7.0]) == "▂█"

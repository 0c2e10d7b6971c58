"""Pure display helpers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from console.text.formatting import (
    format_duration,
    format_next_run,
    format_until,
    lines_text,
    next_fire,
    pattern_text,
    run_seconds,
    state_label,
)
from engine.contract.documents import Deployment, TaskRun
from tests.console.conftest import NOW


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.25, "250ms"),
        (4.24, "4.2s"),
        (12.9, "12s"),
        (245, "4m 05s"),
        (3 * 3600 + 12 * 60 + 5, "3h 12m"),
        (2 * 86400 + 3 * 3600, "2d 03h"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_state_labels_carry_glyph_and_word() -> None:
    assert state_label("COMPLETED", "Cached").text == "✔ Cached"
    assert state_label("FAILED", None).text == "✖ Failed"
    assert state_label("SCHEDULED", "Late").tone == "warning"
    assert state_label(None).text == "? Unknown"


def test_next_fire_is_computed_in_the_deployment_zone() -> None:
    fire = next_fire("0 2,14 * * *", "Asia/Shanghai", NOW)
    assert fire == datetime(2026, 11, 26, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert format_until(fire, NOW) == "in 8h 00m"


def test_next_fire_across_a_dst_change() -> None:
    before = datetime(2026, 3, 8, 6, 0, tzinfo=timezone.utc)  # 01:00 EST, DST starts at 02:00
    fire = next_fire("30 2 * * *", "America/New_York", before)
    assert fire is not None and fire.utcoffset() == timedelta(hours=-4)


def test_next_run_explains_missing_schedules() -> None:
    assert format_next_run(Deployment(name="d", cron="", timezone="UTC"), NOW) == "— no schedule"
    assert format_next_run(
        Deployment(name="d", cron="0 1 * * *", timezone="Mars/Base"), NOW
    ).startswith("? unknown zone")
    assert format_next_run(Deployment(name="d", cron="99 * * * *"), NOW).startswith("? bad")
    assert format_next_run(Deployment(name="d", cron="0 1 * * *", paused=True), NOW) == "— paused"


def test_run_seconds_ticks_while_running_and_stops_at_end() -> None:
    start = (NOW - timedelta(minutes=2)).isoformat()
    assert (
        run_seconds(TaskRun(id="t", flow_run_id="r", start_time=start, state_type="RUNNING"), NOW)
        == 120
    )
    end = (NOW - timedelta(minutes=1)).isoformat()
    assert run_seconds(TaskRun(id="t", flow_run_id="r", start_time=start, end_time=end), NOW) == 60
    assert run_seconds(TaskRun(id="t", flow_run_id="r"), NOW) is None


def test_a_kept_next_fire_time_is_worked_out_again_once_it_passes() -> None:
    cron = "*/5 * * * *"
    start = datetime(2026, 11, 25, 10, 0, 30, tzinfo=timezone.utc)
    first = next_fire(cron, "UTC", start)
    assert first == datetime(2026, 11, 25, 10, 5, tzinfo=timezone.utc)
    assert next_fire(cron, "UTC", start + timedelta(minutes=2)) == first
    later = next_fire(cron, "UTC", first + timedelta(seconds=1))
    assert later == datetime(2026, 11, 25, 10, 10, tzinfo=timezone.utc)
    # A clock set back before the kept time works it out again, too.
    assert next_fire(cron, "UTC", start - timedelta(minutes=10)) == datetime(
        2026, 11, 25, 9, 55, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 lines"), (1, "1 line"), (2, "2 lines"), (1234, "1,234 lines")]
)
def test_line_counts_read_as_english(count: int, text: str) -> None:
    assert lines_text(count) == text


def test_a_long_pattern_is_cut_so_the_count_after_it_shows() -> None:
    assert pattern_text("tick 5") == "/tick 5/"
    assert pattern_text("x" * 20) == "/" + "x" * 20 + "/"
    assert pattern_text("^scored batch 1234 |Finished in state") == "/^scored batch 1234 …/"

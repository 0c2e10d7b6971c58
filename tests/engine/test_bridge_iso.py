"""The bridge writes every time as UTC ISO text, whatever zone Prefect's value carries
(its pendulum times are UTC and take a faster path: the same text)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.bridge.documents import iso

# Prefect 3's times are pendulum's (a dependency of Prefect, not of this project).
pendulum = pytest.importorskip("pendulum")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 1, 1, tzinfo=timezone.utc), "2026-01-01T00:00:00+00:00"),
        (datetime(2026, 1, 1, 0, 0, 0, 5), "2026-01-01T00:00:00.000005+00:00"),  # naive: UTC
        (datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai")), "2026-06-30T16:00:00+00:00"),
        (pendulum.datetime(2026, 7, 1, 12, tz="UTC"), "2026-07-01T12:00:00+00:00"),
        (pendulum.datetime(2026, 7, 1, 12, tz="Europe/Paris"), "2026-07-01T10:00:00+00:00"),
        (None, None),
    ],
)
def test_times_are_written_as_utc_iso(value: datetime | None, text: str | None) -> None:
    assert iso(value) == text

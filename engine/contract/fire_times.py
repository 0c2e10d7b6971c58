"""Cron fire times (DST handled here, once) and backfill windows: the fire times in a past
window, and the checks on a backfill's parameters.

Stdlib + croniter only: the console imports it for next runs and the backfill dry-run list,
and the engine uses the same code for a deployment's `next_fire_times` and to decide which
backfill runs to create, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

BACKFILL_MAX_RUNS = 500
"""A window with more fire times than this is refused: split it into smaller windows."""
BACKFILL_DEFAULT_CONCURRENCY = 1
BACKFILL_MAX_CONCURRENCY = 20
BACKFILL_PARAMS = frozenset({"start", "end", "max_concurrent"})
BACKFILL_TAG_PREFIX = "backfill:"
"""Tag prefix of a backfill's runs; the rest of the tag is the run's ISO fire time."""


class BackfillError(ValueError):
    """The backfill cannot be planned; the message names the field and what to do."""


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill will do: one run per fire time, at most `max_concurrent` at once.

    Attributes:
        fires: fire times in the deployment's zone, oldest first, start <= fire < end.
    """

    zone: str
    start: datetime
    end: datetime
    fires: tuple[datetime, ...]
    max_concurrent: int


def zone_of(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a 300-char name
        raise BackfillError(f"unknown time zone {name!r} in the deployment's schedule") from exc


def parse_when(field: str, value: Any, zone: tzinfo) -> datetime:
    """An ISO date or time; one without an offset is a wall time in `zone`."""
    if not isinstance(value, str) or not value.strip():
        raise BackfillError(f"{field} is missing: give an ISO time such as 2026-11-01T00:00")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BackfillError(
            f"{field} {value!r} is not an ISO date or time (e.g. 2026-11-01 or "
            "2026-11-01T06:00, or with an offset: 2026-11-01T06:00+08:00)"
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def fires_after(cron: str, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    """Fire times of `cron` in `zone` strictly after `after`, aware in `zone`, endless.

    croniter is fed an aware time of the zone, so wall-clock fire times stay right across
    DST changes: a wall time the spring-forward skips fires at the first valid instant, and
    one the fall-back repeats fires once (croniter yields it twice, BST then GMT; cron and
    Prefect's schedules fire it once: the first is kept).

    Raises:
        ValueError, KeyError: the cron line is not valid (croniter's errors).
    """
    it = croniter(cron, after.astimezone(zone))
    previous: datetime | None = None
    while True:
        try:
            fire = it.get_next(datetime)
        except CroniterBadDateError:  # no later date matches (30 February)
            return
        if not isinstance(fire, datetime):
            return
        if previous is not None and fire.replace(tzinfo=None) == previous.replace(tzinfo=None):
            continue
        previous = fire
        yield fire


def next_fires(cron: str, zone: tzinfo, now: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `now` (see `fires_after` for DST)."""
    found: list[datetime] = []
    for fire in fires_after(cron, zone, now):
        if len(found) >= count:
            break
        found.append(fire)
    return found


def fires_between(
    cron: str, zone: tzinfo, start: datetime, end: datetime, cap: int
) -> list[datetime]:
    """Fire times of `cron` in `zone` with start <= fire < end, at most `cap + 1` of them
    (one more than the cap, so a caller can tell the window is too big without walking it all).

    Same DST rules as next fire times (`fires_after`). A cron that never fires (`0 0 30 2 *`)
    has none.
    """
    fires: list[datetime] = []
    # Fire times are strictly after the start given; one second back includes `start`.
    for fire in fires_after(cron, zone, start - timedelta(seconds=1)):
        if fire >= end or len(fires) > cap:
            break
        fires.append(fire)
    return fires


def plan_backfill(
    cron: str | None, zone_name: str | None, params: dict[str, Any], now: datetime
) -> BackfillPlan:
    """Checks a backfill's `params` (start, end, max_concurrent) against the deployment's
    schedule and returns its plan.

    Raises:
        BackfillError: naming the bad field and what to do.
    """
    unknown = sorted(set(params) - BACKFILL_PARAMS)
    if unknown:
        raise BackfillError(
            f"backfill does not accept parameter(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(sorted(BACKFILL_PARAMS))}"
        )
    if not cron:
        raise BackfillError("the deployment has no schedule (cron): nothing to backfill")
    zone = zone_of(zone_name)
    if not croniter.is_valid(cron):
        raise BackfillError(f"the deployment's cron {cron!r} is not valid")
    start = parse_when("start", params.get("start"), zone)
    end = parse_when("end", params.get("end"), zone)
    if end <= start:
        raise BackfillError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    if end > now:
        raise BackfillError(
            f"end {end.isoformat()} is in the future: a backfill covers past fire times only "
            "(the schedule runs the future ones)"
        )
    limit = params.get("max_concurrent", BACKFILL_DEFAULT_CONCURRENCY)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise BackfillError(f"max_concurrent must be a whole number, not {limit!r}")
    if not 1 <= limit <= BACKFILL_MAX_CONCURRENCY:
        raise BackfillError(
            f"max_concurrent must be between 1 and {BACKFILL_MAX_CONCURRENCY}, not {limit}"
        )
    fires = fires_between(cron, zone, start, end, BACKFILL_MAX_RUNS)
    if len(fires) > BACKFILL_MAX_RUNS:
        raise BackfillError(
            f"the window {start.isoformat()} .. {end.isoformat()} has more than "
            f"{BACKFILL_MAX_RUNS} fire times of {cron!r}; split it into smaller windows"
        )
    if not fires:
        raise BackfillError(
            f"no fire time of {cron!r} ({zone_name or 'UTC'}) falls in "
            f"{start.isoformat()} .. {end.isoformat()}"
        )
    return BackfillPlan(str(zone_name or "UTC"), start, end, tuple(fires), limit)

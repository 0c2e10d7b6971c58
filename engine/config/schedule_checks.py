"""A deployment file's `schedule:` block: a cron line that fires, in a zone that exists.

Part of the checks behind `engine.config.loader` (engine/config/checks.py): every error
names the file's line and key.
"""

from __future__ import annotations

import difflib
import zoneinfo
from datetime import datetime, timezone
from functools import cache

from croniter import CroniterBadDateError, croniter
from prefect.client.schemas.schedules import CronSchedule
from pydantic import ValidationError

from engine.contract.checked_yaml import CheckedFile, Entry, type_name

_SCHEDULE_KEYS = ("cron", "timezone")


def check_schedule(check: CheckedFile, entry: Entry | None) -> tuple[str | None, str | None]:
    if entry is None:
        return None, None
    sub = check.sub_mapping(
        entry,
        'must be a mapping with `cron: "0 2 * * *"` and optionally `timezone: UTC`',
        _SCHEDULE_KEYS,
    )
    if sub is None:
        return None, None

    cron: str | None = None
    cron_entry = sub.get("cron")
    if cron_entry is None:
        if not check.already_explained("schedule.cron"):
            check.error(
                entry.key_line, "schedule.cron", 'required key is missing; add `cron: "0 2 * * *"`'
            )
    elif not isinstance(cron_entry.value, str):
        check.error(
            cron_entry.value_line,
            "schedule.cron",
            f'must be a quoted string such as "0 2 * * *", got {type_name(cron_entry.value)}',
        )
    elif len(cron_entry.value.split()) != 5 or not croniter.is_valid(cron_entry.value):
        check.error(
            cron_entry.value_line,
            "schedule.cron",
            f"{cron_entry.value!r} is not a valid cron expression (5 fields: minute hour "
            'day-of-month month day-of-week, e.g. "0 2,14 * * *" for 02:00 and 14:00)',
        )
    else:
        cron = cron_entry.value

    zone: str | None = "UTC"
    tz_entry = sub.get("timezone")
    if tz_entry is not None:
        zone = _check_timezone(check, tz_entry)
    if cron is not None and zone is not None and cron_entry is not None:
        problem = _schedule_problem(cron, zone)
        if problem is not None:
            check.error(cron_entry.value_line, "schedule.cron", problem)
            return None, zone
    return cron, zone


def _schedule_problem(cron: str, zone: str) -> str | None:
    """Why `aiwf-engine run` could not serve this valid-looking cron line, or None.

    `run` computes the next fire times (croniter) and registers the schedule with Prefect,
    which refuses what its own validation refuses; both are checked here, so `validate`
    passes exactly what `run` can serve."""
    if any(field.casefold() in ("r", "h") for field in cron.split()):
        return (
            f"{cron!r}: random (R) and hashed (H) fields are not supported by Prefect; "
            "give the minute and hour as numbers"
        )
    try:
        croniter(cron, datetime.now(timezone.utc).astimezone(zoneinfo.ZoneInfo(zone))).get_next(
            datetime
        )
    except CroniterBadDateError:
        return (
            f"{cron!r} never fires: no date matches its day-of-month and month (such as "
            "30 February, or 31 April); fix the day or the month"
        )
    except (ValueError, KeyError, OverflowError) as exc:
        return f"{cron!r} is not a cron line croniter can follow ({exc})"
    try:
        CronSchedule(cron=cron, timezone=zone)
    except ValidationError as exc:
        reasons = "; ".join(str(error.get("msg", "")) for error in exc.errors())
        return f"{cron!r} is refused by Prefect: {reasons}"
    return None


@cache
def _known_zones() -> frozenset[str]:
    # The set Prefect checks a schedule's zone against, so `validate` and `run` agree.
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(check: CheckedFile, entry: Entry) -> str | None:
    value = entry.value
    if not isinstance(value, str):
        check.error(
            entry.value_line,
            "schedule.timezone",
            f"must be an IANA time zone name such as Asia/Shanghai, got {type_name(value)}",
        )
        return None
    known = _known_zones()
    if value not in known:
        by_fold = {tz.casefold(): tz for tz in known}
        close = [by_fold[value.casefold()]] if value.casefold() in by_fold else []
        close = close or difflib.get_close_matches(value, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as Europe/London"
        check.error(entry.value_line, "schedule.timezone", f"unknown time zone {value!r}; {hint}")
        return None
    return value

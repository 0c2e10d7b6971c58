"""Pure display helpers: states as glyph + word, durations, times, next cron fire times.

Nothing here touches Textual or Redis, so it is tested without an app. Colours are not
chosen here either: `state_tone` names a theme variable (`success`, `error`, ...) and the
widgets look its value up in the running theme.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.contract import fire_times
from engine.contract.documents import (
    FINAL_STATE_TYPES,
    POOL_PREFIX,
    SERVED_BY_ENGINE,
    Deployment,
    FlowRun,
    TaskRun,
)
from engine.contract.times import parse_iso

_GLYPHS: dict[str, str] = {
    "SCHEDULED": "◷",
    "PENDING": "◌",
    "RUNNING": "▶",
    "COMPLETED": "✔",
    "FAILED": "✖",
    "CANCELLED": "⊘",
    "CANCELLING": "⊘",
    "CRASHED": "✗",
    "PAUSED": "‖",
}
"""One single-width glyph per Prefect state type, so state never relies on colour."""

_TONES: dict[str, str] = {
    "SCHEDULED": "muted",
    "PENDING": "muted",
    "RUNNING": "primary",
    "COMPLETED": "success",
    "FAILED": "error",
    "CANCELLED": "warning",
    "CANCELLING": "warning",
    "CRASHED": "error",
    "PAUSED": "warning",
}

LEVEL_TONES: dict[str, str] = {
    "DEBUG": "muted",
    "INFO": "primary",
    "WARNING": "warning",
    "ERROR": "error",
    "CRITICAL": "error",
}
"""Theme variable used for each log level name."""

UNKNOWN_GLYPH = "?"
DASH = "—"


@dataclass(frozen=True)
class StateLabel:
    """How a state is shown: glyph, word and the theme variable that tints it."""

    glyph: str
    word: str
    tone: str

    @property
    def text(self) -> str:
        return f"{self.glyph} {self.word}"


def lines_text(count: int) -> str:
    """`1 line`, `9 lines`, `1,234 lines`."""
    return f"{count:,} line" if count == 1 else f"{count:,} lines"


PATTERN_SHOWN = 20
"""Characters of a search or hide pattern a title shows: longer ones are cut with `…`, so
the match count after them stays on an 80-column screen."""


def pattern_text(pattern: str, limit: int = PATTERN_SHOWN) -> str:
    """`/tick 5/`, or `/a very long patter…/` past `limit` characters."""
    shown = pattern if len(pattern) <= limit else pattern[: limit - 1] + "…"
    return f"/{shown}/"


def state_label(state_type: str | None, state_name: str | None = None) -> StateLabel:
    """`COMPLETED`/`Cached` -> `✔ Cached`; the display name wins when the engine sent one."""
    kind = (state_type or "").upper()
    word = state_name or kind.title() or "Unknown"
    tone = _TONES.get(kind, "muted")
    if word == "Late":
        tone = "warning"
    return StateLabel(_GLYPHS.get(kind, UNKNOWN_GLYPH), word, tone)


def deployment_label(paused: bool) -> StateLabel:
    return StateLabel("‖", "Paused", "warning") if paused else StateLabel("●", "Active", "success")


def served_by_text(doc: Deployment) -> str:
    """`engine` (this engine serves it), `serve` (someone's `flow.serve()` process) or
    `pool:<name>` (a work pool's workers run it: also one this engine's config registered
    there, whose runs no engine executes); `... (not polled)` when Prefect says nothing has
    asked for its runs in the last minute (a run triggered now would wait)."""
    if doc.served_by.startswith(POOL_PREFIX):
        served = doc.served_by
    else:
        served = SERVED_BY_ENGINE if doc.managed else (doc.served_by or DASH)
    return f"{served} (not polled)" if doc.polled is False else served


def is_final(state_type: str | None) -> bool:
    return (state_type or "").upper() in FINAL_STATE_TYPES


def format_duration(seconds: float | None) -> str:
    """Short human duration: `850ms`, `4.2s`, `12s`, `4m 05s`, `3h 12m`, `2d 03h`."""
    if seconds is None:
        return DASH
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_until(moment: datetime, now: datetime) -> str:
    """`in 3h 12m` for a future moment, `now` for the present, `5m ago` for the past."""
    delta = (moment - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    text = _coarse(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def format_ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return DASH
    return format_until(moment, now)


def _coarse(seconds: float) -> str:
    """Like format_duration, but whole seconds only: fit for relative times."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    return format_duration(float(whole))


def format_time(moment: datetime | None, zone: tzinfo | None) -> str:
    """`11-25 14:02:11` in `zone` (the operator's zone: that of the app's clock)."""
    if moment is None:
        return DASH
    return moment.astimezone(zone).strftime("%m-%d %H:%M:%S")


def iso_time(value: str | None, zone: tzinfo | None) -> str:
    return format_time(parse_iso(value), zone)


def run_seconds(doc: FlowRun | TaskRun, now: datetime) -> float | None:
    """Wall time of a run or task: end - start, or now - start while it is running."""
    start = parse_iso(doc.start_time)
    if start is None:
        return None
    end = parse_iso(doc.end_time)
    if end is None:
        if is_final(doc.state_type):
            return doc.total_run_time
        end = now
    return (end - start).total_seconds()


@dataclass(frozen=True)
class RunDurations:
    """A flow run's latest attempt and its total running time across attempts."""

    latest: float | None
    """Wall time of the latest attempt (None: it has not run, or an older engine did not
    say when a retried attempt began)."""
    total: float | None
    """Running time summed over every attempt (Prefect's `total_run_time`, plus the
    running attempt so far); None if the run never ran."""

    @property
    def for_chart(self) -> float | None:
        """What a sparkline or sort uses: the latest attempt, else the total (never the wall
        time from the first start, which counts the wait before a retry)."""
        return self.latest if self.latest is not None else self.total


def run_durations(doc: FlowRun, now: datetime) -> RunDurations:
    """The latest attempt (from `attempt_start_time`) and the total across attempts.

    A first attempt starts at `start_time`, so documents from an engine without
    `attempt_start_time` still get an exact figure for runs that were not retried.
    """
    start = parse_iso(doc.start_time)
    if start is None:
        return RunDurations(None, None)
    attempts = doc.run_count
    attempt = parse_iso(doc.attempt_start_time) or (start if attempts <= 1 else None)
    state = doc.state_type.upper()
    earlier = doc.total_run_time
    if state in ("RUNNING", "CANCELLING") and attempt is not None:
        latest = max(0.0, (now - attempt).total_seconds())
        # Prefect adds an attempt to total_run_time when it leaves RUNNING: a Cancelling
        # run's total already holds most of it.
        total = earlier + latest if state == "RUNNING" else max(earlier, latest)
        return RunDurations(latest, total)
    finished = parse_iso(doc.end_time)
    if state in FINAL_STATE_TYPES and attempt is not None and finished is not None:
        latest = max(0.0, (finished - attempt).total_seconds())
        return RunDurations(latest, max(earlier, latest))
    if state in FINAL_STATE_TYPES and attempts <= 1 and earlier:
        return RunDurations(earlier, earlier)
    # Between attempts (awaiting a retry, scheduled again, paused), or a retried attempt
    # whose start no document says: the total is all that is known.
    return RunDurations(None, earlier or None)


def format_run_duration(durations: RunDurations) -> str:
    """`4m 05s`, or `1m 10s (Σ 4m 05s)` when the total across attempts differs, or
    `— (Σ 4m 05s)` while a retried run waits for its next attempt."""
    latest = format_duration(durations.latest)
    if durations.total is None:
        return latest
    total = format_duration(durations.total)
    return latest if total == latest else f"{latest} (Σ {total})"


def zone_named(name: str | None) -> tzinfo | None:
    """The zone called `name`; None when it is empty or unknown (the caller says so)."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def next_fire(cron: str | None, zone_name: str | None, now: datetime) -> datetime | None:
    """The next fire time of `cron` in its zone, as an aware time of that zone.

    None if there is no schedule, the expression is invalid or the zone is unknown.
    """
    key = (cron, zone_name)
    known = _NEXT_FIRES.get(key)
    if known is not None and known[0] <= now < known[1]:
        return known[1]  # no fire between when it was worked out and now: still the next
    fires = next_fires(cron, zone_name, now, 1)
    if not fires:
        return None
    if len(_NEXT_FIRES) >= 1024:
        _NEXT_FIRES.clear()
    _NEXT_FIRES[key] = (now, fires[0])
    return fires[0]


_NEXT_FIRES: dict[tuple[str | None, str | None], tuple[datetime, datetime]] = {}
"""(cron, zone) -> (worked out at, next fire then): the deployments table asks once a
second per deployment, and working a cron out cost a few ms each (most of an idle
console's CPU)."""


def format_next_run(doc: Deployment, now: datetime) -> str:
    """`14:00 in 3h 12m` (with the date if a day or more away) in the deployment's zone.

    When there is no next run, says why.
    """
    if doc.paused:
        return f"{DASH} paused"
    cron = doc.cron
    if not cron:
        return f"{DASH} no schedule"
    if zone_named(doc.timezone) is None:
        return f"? unknown zone {doc.timezone}"
    fire = next_fire(cron, doc.timezone, now)
    if fire is None:
        return f"? bad cron {cron}"
    # The date only when it is not within the next day, to keep the column narrow.
    shown = fire.strftime("%H:%M" if (fire - now).total_seconds() < 86400 else "%m-%d %H:%M")
    return f"{shown} {format_until(fire, now)}"


def format_schedule(doc: Deployment) -> str:
    if not doc.cron:
        return DASH
    return f"{doc.cron} {doc.timezone or 'UTC'}"


def format_params(params: Any) -> str:
    if not isinstance(params, dict) or not params:
        return DASH
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def beat_age(beat_at: datetime | None, now: datetime) -> str:
    if beat_at is None:
        return DASH
    return _coarse(max(0.0, (now - beat_at).total_seconds()))


_AUDIT_STATUS: dict[str, tuple[str, str]] = {
    "ok": ("✔", "success"),
    "error": ("✖", "error"),
    "cancelling": ("⊘", "warning"),
}


def audit_status_label(status: str | None) -> StateLabel:
    """`ok` -> `✔ ok`, `error` -> `✖ error`; anything else shows as itself with `?`."""
    word = status or "unknown"
    glyph, tone = _AUDIT_STATUS.get(word, (UNKNOWN_GLYPH, "muted"))
    return StateLabel(glyph, word, tone)


def next_fires(
    cron: str | None, zone_name: str | None, now: datetime, count: int
) -> list[datetime]:
    """The next `count` fire times of `cron`, aware in the cron's own zone, DST handled as
    the engine does (`engine.contract.fire_times.fires_after`).

    Empty when there is no schedule, the cron is invalid or the zone unknown.
    """
    if not cron or count <= 0:
        return []
    zone = zone_named(zone_name)
    if zone is None:
        return []
    try:
        return fire_times.next_fires(cron, zone, now, count)
    except (ValueError, KeyError):
        return []


SPARK_BARS = "▁▂▃▄▅▆▇█"
"""Eight heights for sparklines, lowest first."""


def sparkline(values: list[float]) -> str:
    """One bar per value, scaled between 0 and the largest value (all-zero: lowest bars)."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK_BARS[0] * len(values)
    last = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[round(max(0.0, v) / top * last)] for v in values)

"""A run's logical date (the fire time it computes) and the `{date:FMT}` parameter template.

One rule for every kind of run, shared by `validate` (engine/config/checks.py), the engine
(triggers and backfills) and the flow itself (engine/pipeline/run_date.py), which resolves
the templates: a deployment's parameters reach Prefect with `{date...}` unexpanded, so a run
Prefect's own scheduler created, and every retry of any run, resolve them the same way.
Stdlib only: the console may import it to preview a template.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, time, timezone
from typing import Any

LOGICAL_DATE_PARAM = "logical_date"
"""The flow parameter that carries a run's logical date (empty: its expected start time)."""
DEFAULT_FORMAT = "%Y-%m-%d"
"""What a bare `{date}` becomes."""
DATE_TEMPLATE_RE = re.compile(r"\{date(?::(?P<format>[^{}]*))?\}")
_DATE_OPENING_RE = re.compile(r"\{date(?![A-Za-z0-9_])")
_DIRECTIVE_RE = re.compile(r"%(.?)")
ALLOWED_DIRECTIVES = frozenset("aAbBdHIjmMpSyYzZuUVwWGf%")
"""strftime directives a template may use: the portable ones (C89 plus ISO week fields).
Others (`%Q`, `%-d`) differ between platforms or pass through unexpanded."""
PARTITION_FORMAT = "%Y-%m-%d"
"""The `date=` partition name a dated run writes (engine/pipeline/storage.py)."""


def template_errors(text: str) -> list[str]:
    """Why the `{date...}` templates in `text` cannot be resolved; [] if they can.

    Each message names the template and what to write instead.
    """
    errors: list[str] = []
    complete = {m.start() for m in DATE_TEMPLATE_RE.finditer(text)}
    for opening in _DATE_OPENING_RE.finditer(text):
        if opening.start() not in complete:
            rest = text[opening.start() :]
            errors.append(
                f"{rest[:24]!r} is not a date template: write {{date}} or {{date:FORMAT}} "
                "(e.g. {date:%Y-%m-%d}), closed by } with no braces inside"
            )
    for match in DATE_TEMPLATE_RE.finditer(text):
        fmt = match.group("format")
        if fmt is None:
            continue
        if not fmt:
            errors.append(f"{match.group(0)} has an empty format; write {{date:%Y-%m-%d}}")
            continue
        for directive in _DIRECTIVE_RE.findall(fmt):
            if directive not in ALLOWED_DIRECTIVES:
                shown = f"%{directive}" if directive else "a lone % at the end"
                allowed = " ".join(f"%{d}" for d in sorted(ALLOWED_DIRECTIVES))
                errors.append(
                    f"{match.group(0)}: {shown} is not a portable strftime directive; "
                    f"use one of {allowed} (%% for a literal %)"
                )
    return errors


def uses_logical_date(value: Any) -> bool:
    """Whether a parameter value (strings nested in lists and mappings too) has a template."""
    if isinstance(value, str):
        return DATE_TEMPLATE_RE.search(value) is not None
    if isinstance(value, list):
        return any(uses_logical_date(item) for item in value)
    if isinstance(value, dict):
        return any(uses_logical_date(item) for item in value.values())
    return False


def render(value: Any, logical: datetime) -> Any:
    """`value` with every `{date}` / `{date:FMT}` replaced by `logical` formatted so.

    Strings nested in lists and mappings too; other braces are left as they are. `logical`
    should be in the deployment's zone already (`in_zone`): `%H` and `%d` read its fields.
    """
    if isinstance(value, str):
        return DATE_TEMPLATE_RE.sub(
            lambda m: logical.strftime(m.group("format") or DEFAULT_FORMAT), value
        )
    if isinstance(value, list):
        return [render(item, logical) for item in value]
    if isinstance(value, dict):
        return {key: render(item, logical) for key, item in value.items()}
    return value


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name` (validated at `validate` time; UTC if empty)."""
    return zoneinfo.ZoneInfo(name or "UTC")


def in_zone(moment: datetime, zone: str) -> datetime:
    """`moment` (aware; naive is read as UTC) in `zone`, to the second."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # Through UTC: astimezone to the zone a wall time already has would keep a time that
    # does not exist (in a DST gap) as it is.
    return moment.astimezone(timezone.utc).astimezone(zone_of(zone)).replace(microsecond=0)


def parse_logical_date(text: str, zone: str) -> datetime:
    """A `--date` value as an aware datetime in `zone`.

    `YYYY-MM-DD` is that day's midnight in `zone`; an ISO datetime without an offset is a
    wall time in `zone` (a wall time that does not exist in a DST gap moves forward by the
    gap, as `zoneinfo` does); one with an offset is that instant, shown in `zone`.

    Raises:
        ValueError: not a date or ISO datetime (the message says what to write).
    """
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(0))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"logical date {text!r} is not a date: write YYYY-MM-DD (e.g. 2026-11-01) or an "
            "ISO datetime (2026-11-01T02:00, or with an offset: 2026-11-01T02:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_of(zone))
    return in_zone(moment, zone)

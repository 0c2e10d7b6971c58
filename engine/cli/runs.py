"""`aiwf-engine runs`: flow runs, newest first, filtered by deployment, state and age.

Read from the Redis mirror, as the console shows them. The mirror keeps the newest
`RUNS_KEPT` runs: when `--since` reaches further back than the oldest one it still holds
and fewer than `--limit` runs matched, the answer says so (`complete: false`), and
`--from-prefect` asks the Prefect API instead (slower: it imports Prefect), which has every
run Prefect kept.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from engine.cli.connection import connect, redis_failed
from engine.cli.output import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Output
from engine.contract.documents import Deployment, FlowRun, decode, decode_doc
from engine.contract.keys import RUNS_KEPT, Keys
from engine.contract.times import parse_iso

DEFAULT_LIMIT = 50
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SINCE_HELP = "30m, 24h, 7d, 2w, or an ISO date/time (local time without an offset)"


class SinceError(ValueError):
    pass


def parse_since(text: str, now: datetime) -> datetime:
    """`24h` -> 24 hours before `now`; an ISO date or time as written (local if naive)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match:
        return now - timedelta(seconds=int(match[1]) * UNITS[match[2]])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SinceError(f"--since {text!r}: expected {SINCE_HELP}") from None
    return moment if moment.tzinfo else moment.astimezone()


def state_key(text: str) -> str:
    """`Awaiting Retry`, `awaiting_retry` and `AwaitingRetry` all match the same state."""
    return re.sub(r"[\s_-]", "", text).lower()


@dataclass
class RunRow:
    id: str
    name: str
    deployment: str
    state_type: str
    state_name: str
    expected_start_time: str | None
    start_time: str | None
    end_time: str | None
    total_run_time: float
    run_count: int

    @classmethod
    def of(cls, run: FlowRun) -> RunRow:
        return cls(
            run.id, run.name, run.deployment_name, run.state_type, run.state_name,
            run.expected_start_time, run.start_time, run.end_time, run.total_run_time,
            run.run_count,
        )  # fmt: skip

    def matches(self, deployment: str | None, states: set[str]) -> bool:
        if deployment and self.deployment != deployment:
            return False
        return not states or bool({state_key(self.state_type), state_key(self.state_name)} & states)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deployment", "-d", metavar="NAME", help="only this deployment's runs")
    parser.add_argument(
        "--state",
        "-s",
        action="append",
        default=[],
        metavar="STATE",
        help="only runs in this state: a type (failed, running, completed, cancelled, crashed, "
        "scheduled, ...) or a name (Late, AwaitingRetry); repeatable or comma-separated",
    )
    parser.add_argument(
        "--since", metavar="WHEN", help=f"only runs expected to start after WHEN ({SINCE_HELP})"
    )
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
        help="at most N runs, newest first (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--from-prefect",
        action="store_true",
        help="ask the Prefect API instead of the Redis mirror (which keeps the newest "
        f"{RUNS_KEPT} runs): for runs older than the mirror holds",
    )
    parser.add_argument("--json", action="store_true", help="print the runs as one JSON object")


def known_deployments(client: redis.Redis, keys: Keys) -> dict[str, str]:
    """Deployment name -> its Prefect id, as the engine mirrors them."""
    raws: Any = client.hgetall(keys.deployments)
    found = {}
    for name, raw in raws.items():
        doc = decode(raw, Deployment, f"{keys.deployments}[{name.decode()}]")
        if doc is not None:
            found[doc.name] = doc.id
    return found


def read_mirror(
    client: redis.Redis, keys: Keys, since: datetime | None, want: Any, limit: int
) -> tuple[list[RunRow], float | None, int]:
    """Matching runs newest first, the oldest mirrored run's score, how many are mirrored."""
    low = since.timestamp() if since else "-inf"
    rows: list[RunRow] = []
    offset, page = 0, 200
    while len(rows) < limit:
        ids: Any = client.zrevrangebyscore(keys.flow_runs_index, "+inf", low, offset, page)
        if not ids:
            break
        raws: Any = client.hmget(keys.flow_runs, ids)
        for run_id, raw in zip(ids, raws, strict=True):
            run = decode(raw, FlowRun, f"{keys.flow_runs}[{run_id.decode()}]")
            if run is not None and want(row := RunRow.of(run)):
                rows.append(row)
        offset += page
    oldest: Any = client.zrange(keys.flow_runs_index, 0, 0, withscores=True)
    return rows[:limit], (oldest[0][1] if oldest else None), int(client.zcard(keys.flow_runs_index))


def read_prefect(
    api_url: str, since: datetime | None, deployment_id: str | None, want: Any, limit: int,
    names: dict[str, str],
) -> list[RunRow]:  # fmt: skip
    """The same filters against the Prefect API; Prefect is imported only here."""
    import asyncio
    import os
    from uuid import UUID

    # Before Prefect reads its settings: the API the engine mirrors, unless the environment
    # names one; and never a throwaway in-process server, whose empty answer would mislead.
    if api_url:
        os.environ.setdefault("PREFECT_API_URL", api_url)
    os.environ.setdefault("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    from engine.bridge.documents import flow_run_doc

    by_id = {v: k for k, v in names.items()}

    async def fetch() -> list[RunRow]:
        rows: list[RunRow] = []
        after = FlowRunFilterExpectedStartTime(after_=since) if since else None  # type: ignore[arg-type]
        run_filter = FlowRunFilter(expected_start_time=after)
        deployments = (
            DeploymentFilter(id=DeploymentFilterId(any_=[UUID(deployment_id)]))
            if deployment_id
            else None
        )
        async with get_client() as client:
            offset = 0
            while len(rows) < limit:
                page = await client.read_flow_runs(
                    flow_run_filter=run_filter, deployment_filter=deployments,
                    sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=200, offset=offset,
                )  # fmt: skip
                if not page:
                    break
                for run in page:
                    row = RunRow.of(flow_run_doc(run, by_id.get(str(run.deployment_id), "")))
                    if want(row):
                        rows.append(row)
                offset += len(page)
        return rows[:limit]

    return asyncio.run(fetch())


def duration(row: RunRow) -> str:
    seconds = row.total_run_time
    if not seconds:
        start, end = parse_iso(row.start_time), parse_iso(row.end_time)
        seconds = (end - start).total_seconds() if start and end else 0.0
    return f"{seconds:.1f}s" if seconds else "-"


def render(rows: list[RunRow]) -> str:
    if not rows:
        return "no runs match"
    lines = [f"{'EXPECTED START (UTC)':<20}  {'DEPLOYMENT':<22}  {'RUN':<24}  {'STATE':<14}  "
             f"{'TIME':>8}  ID"]  # fmt: skip
    for row in rows:
        moment = parse_iso(row.expected_start_time)
        when = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
        lines.append(
            f"{when:<20}  {row.deployment:<22}  {row.name:<24}  {row.state_name:<14}  "
            f"{duration(row):>8}  {row.id}"
        )
    return "\n".join(lines)


def cmd_runs(args: argparse.Namespace) -> int:
    out = Output(json=args.json)
    try:
        since = parse_since(args.since, datetime.now(timezone.utc)) if args.since else None
    except SinceError as exc:
        return out.fail(EXIT_USAGE, "usage", str(exc))
    if args.limit < 1:
        return out.fail(EXIT_USAGE, "usage", f"--limit {args.limit}: expected 1 or more")
    states = {state_key(s) for value in args.state for s in value.split(",") if s.strip()}
    conn = connect(args, timeout=10)  # a bad URL: BadRedisUrl, reported by main

    def want(row: RunRow) -> bool:
        return row.matches(args.deployment, states)

    try:
        names = known_deployments(conn.client, conn.keys)
        if args.deployment and args.deployment not in names:
            known = ", ".join(sorted(names)) or "none; is the engine running?"
            return out.fail(
                EXIT_ERROR, "unknown_deployment",
                f"unknown deployment {args.deployment!r} in {conn.keys.deployments} "
                f"(known: {known})",
            )  # fmt: skip
        if args.from_prefect:
            info = decode_doc(conn.client.get(conn.keys.engine_info)) or {}
            api_url = str(info.get("api_url", ""))
            conn.close()
            began = time.monotonic()
            rows = read_prefect(
                api_url, since, names.get(args.deployment or ""), want, args.limit, names
            )
            source = {"source": "prefect", "seconds": round(time.monotonic() - began, 2)}
            complete = True
        else:
            rows, oldest, held = read_mirror(conn.client, conn.keys, since, want, args.limit)
            # The mirror dropped older runs only once it is full; before that it has them
            # all. A full page, or a window inside what it holds, needed nothing older.
            complete = (
                held < RUNS_KEPT
                or len(rows) >= args.limit
                or (since is not None and oldest is not None and since.timestamp() >= oldest)
            )
            source = {"source": "redis", "mirrored_runs": held}
            if not complete:
                first = datetime.fromtimestamp(oldest or 0, timezone.utc).isoformat()
                out.warn(
                    f"note: the Redis mirror keeps the newest {RUNS_KEPT} runs and holds none "
                    f"expected before {first}; --from-prefect asks Prefect for older ones"
                )
    except redis.RedisError as exc:
        return redis_failed(out, conn.url, exc)
    except Exception as exc:  # Prefect's client raises httpx errors among others
        if not args.from_prefect:
            raise
        return out.fail(EXIT_ERROR, "prefect", f"cannot read runs from Prefect: {exc}")
    finally:
        conn.close()
    payload = {"status": "ok", "runs": [asdict(r) for r in rows], "complete": complete, **source}
    if out.json:
        return out.emit(EXIT_OK, payload)
    print(render(rows), flush=True)
    return EXIT_OK

"""`aiwf-engine status`: the engine, Redis, Prefect and every deployment (next run, last
state), read from what the console reads (the Redis mirror), plus a health check of the
Prefect API the engine mirrors."""

from __future__ import annotations

import argparse
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import redis

from engine.cli.connection import connect, redis_failed
from engine.cli.output import EXIT_DEGRADED, EXIT_OK, Output
from engine.contract.documents import Deployment, Heartbeat, decode, decode_doc
from engine.contract.keys import Keys
from engine.contract.times import parse_iso

PREFECT_HEALTH_TIMEOUT = 3.0


@dataclass
class DeploymentStatus:
    name: str
    paused: bool
    resume_at: str | None
    next_run: str | None
    last_run_name: str = ""
    last_run_id: str = ""
    last_state: str = ""
    last_state_type: str = ""
    last_time: str | None = None


@dataclass
class StatusReport:
    redis: dict[str, Any]
    engine: dict[str, Any]
    prefect: dict[str, Any]
    deployments: list[DeploymentStatus] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.engine["alive"]:
            found.append(
                f"no engine heartbeat at {self.engine['heartbeat_key']}: start "
                "`aiwf-engine run` (or check its log)"
            )
        if self.engine.get("config_errors"):
            found.append(
                f"{len(self.engine['config_errors'])} config error(s): run `aiwf-engine validate`"
            )
        if self.prefect.get("reachable") is False:
            found.append(
                f"Prefect API {self.prefect['api_url']} unreachable: {self.prefect['error']}"
            )
        return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the status as one JSON object")


def check_prefect(api_url: str) -> dict[str, Any]:
    """GET {api}/health: the API answers, or why not (Prefect's own health endpoint)."""
    if not api_url:
        return {"api_url": "", "reachable": None, "error": "no engine has said which Prefect"}
    try:
        with urllib.request.urlopen(
            api_url.rstrip("/") + "/health", timeout=PREFECT_HEALTH_TIMEOUT
        ) as answer:
            return {"api_url": api_url, "reachable": True, "http_status": answer.status}
    except urllib.error.HTTPError as exc:
        return {"api_url": api_url, "reachable": False, "error": f"HTTP {exc.code} {exc.reason}"}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"api_url": api_url, "reachable": False, "error": str(reason)}


def read_engine(client: redis.Redis, keys: Keys) -> dict[str, Any]:
    beat = decode(client.get(keys.heartbeat), Heartbeat, keys.heartbeat)
    info = decode_doc(client.get(keys.engine_info)) or {}
    engine: dict[str, Any] = {"alive": beat is not None, "heartbeat_key": keys.heartbeat}
    if beat is not None:
        engine |= {
            "name": beat.name,
            "pid": beat.pid,
            "host": beat.host,
            "started_at": beat.started_at,
            "beat_at": beat.beat_at,
            "bridge": beat.bridge,
            "deployments": beat.deployments,
            "config_dir": beat.config_dir,
            "config_errors": list(beat.config_errors),
            "standbys": list(beat.standbys),
            "prefect_api_url": beat.prefect_api_url,
        }
    else:
        engine["prefect_api_url"] = str(info.get("api_url", ""))
        engine["config_dir"] = str(info.get("config_dir", ""))
    return engine


def read_redis(client: redis.Redis, shown_url: str, keys: Keys) -> dict[str, Any]:
    client.ping()
    doc: dict[str, Any] = {"url": shown_url, "prefix": keys.prefix, "reachable": True}
    try:
        server: Any = client.info("server")
        memory: Any = client.info("memory")
        doc |= {"version": server.get("redis_version"), "used_memory": memory.get("used_memory")}
    except redis.exceptions.NoPermissionError:
        pass  # a read-only ACL user may not run INFO; the rest still reads
    return doc


def read_deployments(client: redis.Redis, keys: Keys) -> list[DeploymentStatus]:
    raws: Any = client.hgetall(keys.deployments)
    found = []
    for name, raw in sorted(raws.items()):
        doc = decode(raw, Deployment, f"{keys.deployments}[{name.decode()}]")
        if doc is None:
            continue
        row = DeploymentStatus(
            name=doc.name,
            paused=doc.paused,
            resume_at=doc.resume_at,
            next_run=None if doc.paused else next(iter(doc.next_fire_times), None),
        )
        if doc.last_run is not None:
            last = doc.last_run
            row.last_run_name, row.last_run_id = last.name, last.id
            row.last_state, row.last_state_type = last.state_name, last.state_type
            row.last_time = last.end_time or last.start_time or last.expected_start_time
        found.append(row)
    return found


def short_time(iso: str | None) -> str:
    moment = parse_iso(iso) if iso else None
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def ago(iso: str | None) -> str:
    moment = parse_iso(iso) if iso else None
    if moment is None:
        return "?"
    return f"{(datetime.now(timezone.utc) - moment).total_seconds():.0f}s ago"


def render(report: StatusReport) -> str:
    engine, prefect, red = report.engine, report.prefect, report.redis
    lines = [
        f"redis     {red['url']} (prefix {red['prefix']}): reachable"
        + (f", Redis {red['version']}" if red.get("version") else "")
    ]
    if engine["alive"]:
        standbys = ", ".join(engine["standbys"]) or "none"
        lines.append(
            f"engine    alive: {engine['name'] or engine['host']} (pid {engine['pid']} on "
            f"{engine['host']}), up since {short_time(engine['started_at'])}, beat "
            f"{ago(engine['beat_at'])}, bridge {engine['bridge'] or '?'}, "
            f"{engine['deployments']} deployment(s), standbys: {standbys}"
        )
        lines += [f"          config error: {error}" for error in engine["config_errors"]]
    else:
        lines.append(f"engine    NOT RUNNING: no heartbeat at {engine['heartbeat_key']}")
    if prefect["reachable"]:
        lines.append(f"prefect   {prefect['api_url']}: reachable")
    elif prefect["reachable"] is None:
        lines.append(f"prefect   unknown: {prefect['error']}")
    else:
        lines.append(f"prefect   {prefect['api_url']}: UNREACHABLE ({prefect['error']})")
    lines.append(f"deployments ({len(report.deployments)})")
    width = max([len(d.name) for d in report.deployments] + [10])
    lines.append(f"  {'NAME':<{width}}  {'SCHEDULE':<8}  {'NEXT RUN':<20}  LAST RUN")
    for row in report.deployments:
        schedule = "paused" if row.paused else "active"
        last = (
            f"{row.last_state} {short_time(row.last_time)} ({row.last_run_name})"
            if row.last_run_id
            else "-"
        )
        lines.append(
            f"  {row.name:<{width}}  {schedule:<8}  {short_time(row.next_run):<20}  {last}"
        )
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    out = Output(json=args.json)
    conn = connect(args, timeout=5)  # a bad URL: BadRedisUrl, reported by main
    try:
        red = read_redis(conn.client, conn.shown_url, conn.keys)
        engine = read_engine(conn.client, conn.keys)
        deployments = read_deployments(conn.client, conn.keys)
    except redis.RedisError as exc:
        return redis_failed(out, conn.url, exc)
    finally:
        conn.close()
    report = StatusReport(red, engine, check_prefect(engine["prefect_api_url"]), deployments)
    problems = report.problems
    code = EXIT_DEGRADED if problems else EXIT_OK
    if out.json:
        status = "degraded" if problems else "ok"
        return out.emit(code, asdict(report) | {"status": status, "problems": problems})
    print(render(report), flush=True)
    for problem in problems:
        out.warn(f"degraded: {problem}")
    return code

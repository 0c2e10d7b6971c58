"""`aiwf-engine backfill`: its arguments, and the dry run that lists fire times and sends
nothing. Sending goes through `engine.cli.main.cmd_send` like every other command."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

import redis

from engine.cli.connection import connect, redis_failed
from engine.cli.output import EXIT_ERROR, Output
from engine.contract.documents import Deployment, decode
from engine.contract.fire_times import (
    BACKFILL_DEFAULT_CONCURRENCY,
    BACKFILL_MAX_RUNS,
    BackfillError,
    BackfillPlan,
    plan_backfill,
)

EXIT_OK = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("deployment", help="deployment name, e.g. ai-inference-prod")
    when = "ISO date or time; without an offset, a wall time in the deployment's zone"
    parser.add_argument("--start", required=True, help=f"window start, included ({when})")
    parser.add_argument("--end", required=True, help=f"window end, excluded ({when})")
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=BACKFILL_DEFAULT_CONCURRENCY,
        metavar="N",
        help="at most N of the backfill's runs unfinished at once (default: %(default)s)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=f"print the fire times (in the deployment's zone) and send nothing; "
        f"more than {BACKFILL_MAX_RUNS} is refused",
    )


def params_of(args: argparse.Namespace) -> dict[str, Any]:
    return {"start": args.start, "end": args.end, "max_concurrent": args.max_concurrent}


def describe_plan(name: str, cron: str, plan: BackfillPlan) -> list[str]:
    """The dry-run lines: a summary, then one fire time per line in the deployment's zone."""
    lines = [
        f"{name}: {len(plan.fires)} run(s) for the fire times of {cron!r} ({plan.zone}) "
        f"from {plan.start.isoformat()} to {plan.end.isoformat()}, "
        f"at most {plan.max_concurrent} at once"
    ]
    lines += [f"  {fire:%a %Y-%m-%d %H:%M %Z (%z)}" for fire in plan.fires]
    return lines


def dry_run(args: argparse.Namespace) -> int:
    """Plans the backfill against the deployment as the engine mirrors it; sends nothing."""
    out = Output(json=args.json)
    conn = connect(args, timeout=10)  # a bad URL: BadRedisUrl, reported by main
    keys = conn.keys
    try:
        raw = conn.client.hget(keys.deployments, args.deployment)
        known = sorted(k.decode() for k in conn.client.hkeys(keys.deployments))  # type: ignore[union-attr]
    except redis.RedisError as exc:
        return redis_failed(out, conn.url, exc)
    finally:
        conn.close()
    doc = decode(raw, Deployment, f"{keys.deployments}[{args.deployment}]")
    if doc is None:
        return out.fail(
            EXIT_ERROR,
            "unknown_deployment",
            f"unknown deployment {args.deployment!r} in {keys.deployments} "
            f"(known: {', '.join(known) or 'none; is the engine running?'})",
        )
    cron = doc.cron
    try:
        plan = plan_backfill(cron, doc.timezone, params_of(args), datetime.now(timezone.utc))
    except BackfillError as exc:
        return out.fail(EXIT_ERROR, "backfill", f"backfill {args.deployment}: {exc}")
    payload = {
        "status": "dry_run",
        "deployment": args.deployment,
        "cron": cron,
        "timezone": plan.zone,
        "fire_times": [fire.isoformat() for fire in plan.fires],
        "max_concurrent": plan.max_concurrent,
    }
    text = "\n".join([*describe_plan(args.deployment, cron, plan), "dry run: nothing was sent"])
    return out.emit(EXIT_OK, payload, text)

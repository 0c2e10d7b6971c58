"""The processes of the console load test (and its 5-minute benchmark): a mirror writing
flow-run state changes at a steady rate, and a pool of plain console readers (the real
`RedisFeed`) measuring how far behind each one is.

    python -m tests.console.load_procs write URL PREFIX RATE SECONDS RUNS
    python -m tests.console.load_procs read URL PREFIX READERS SECONDS

Each change's `updated` is the wall time of its write, so a reader's lag is its receive
time minus `updated`. `read` prints one JSON line: every reader's worst lag and count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import redis
from textual.message import Message

from console.data.feed import RedisFeed
from console.data.messages import FlowRunsChanged, SnapshotLoaded
from engine.contract.documents import FlowRun
from engine.contract.keys import Keys
from engine.contract.times import parse_iso
from engine.store.mirror import RedisMirror

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
STATES = (("RUNNING", "Running"), ("COMPLETED", "Completed"), ("FAILED", "Failed"))


def run_doc(n: int, change: int) -> FlowRun:
    """Run `n` after change `change` (0: as seeded); `updated` is now."""
    state_type, state_name = STATES[change % len(STATES)]
    return FlowRun(
        id=f"load-{n:04d}",
        name=f"load-run-{n}",
        deployment_name="load",
        flow_name="load-flow",
        state_type=state_type,
        state_name=f"{state_name} #{change}",
        run_count=1,
        start_time=(START + timedelta(seconds=n)).isoformat(),
        updated=datetime.now(timezone.utc).isoformat(),
    )


def seed(mirror: RedisMirror, runs: int) -> None:
    for n in range(runs):
        mirror.upsert_flow_run(run_doc(n, 0))


def write(url: str, prefix: str, rate: float, seconds: float, runs: int) -> None:
    """`rate` changes a second for `seconds`, spread over the runs (a stride, so each run
    changes every `runs` changes), on schedule: a late write is not made up by bursts."""
    mirror = RedisMirror(redis.Redis.from_url(url), Keys(prefix))
    begin = time.monotonic()
    total = int(rate * seconds)
    for change in range(1, total + 1):
        due = begin + change / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        mirror.upsert_flow_run(run_doc((change * 7919) % runs, change))
    print(json.dumps({"written": total, "seconds": time.monotonic() - begin}), flush=True)


async def read(url: str, prefix: str, readers: int, seconds: float) -> None:
    worst = [0.0] * readers
    seen = [0] * readers
    loaded: set[int] = set()

    def receiver(index: int) -> Callable[[Message], None]:
        def post(message: Message) -> None:
            if isinstance(message, SnapshotLoaded):
                loaded.add(index)
            if not isinstance(message, FlowRunsChanged):
                return
            now = time.time()
            for doc in message.docs:
                written = parse_iso(doc.updated)
                if written is not None:
                    worst[index] = max(worst[index], now - written.timestamp())
                    seen[index] += 1

        return post

    feeds = [
        RedisFeed(url, Keys(prefix), receiver(i), heartbeat_interval=1.0, runs_kept=1000)
        for i in range(readers)
    ]
    tasks = [asyncio.create_task(feed.follow()) for feed in feeds]
    while len(loaded) < readers:  # every reader has its snapshot: measuring starts now
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": readers}), flush=True)
    await asyncio.sleep(seconds)
    print(json.dumps({"worst": worst, "seen": seen}), flush=True)
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)


def main(argv: list[str]) -> None:
    if argv[0] == "write":
        write(argv[1], argv[2], float(argv[3]), float(argv[4]), int(argv[5]))
    elif argv[0] == "read":
        asyncio.run(read(argv[1], argv[2], int(argv[3]), float(argv[4])))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}: write or read")


if __name__ == "__main__":
    main(sys.argv[1:])

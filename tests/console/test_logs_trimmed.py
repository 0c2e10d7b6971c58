"""The log screen says when the engine's memory budget dropped a run's older lines (they
are only in Prefect then), as soon as it happens (issue 9 item 7)."""

from __future__ import annotations

from datetime import timedelta

import redis
from textual.widgets import Label

from console.logs.screen import LogScreen
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, AppFactory, as_run, at, flow_run_doc, log_line, wait_for

NOTICE = "older lines only in Prefect"


def title(screen: LogScreen) -> str:
    return str(screen.query_one("#log-title", Label).render())


async def test_the_log_screen_says_older_lines_are_only_in_prefect(
    make_app: AppFactory, redis_client: redis.Redis, keys: Keys
) -> None:
    roomy = RedisMirror(redis_client, keys, budget=64 * 1024 * 1024)
    for run_id, minutes in (("run-old", 60), ("run-new", 5)):
        start = NOW - timedelta(minutes=minutes)
        roomy.upsert_flow_run(as_run(flow_run_doc(run_id, run_id, start=start)))
    old_lines = [log_line(at(1), f"old line {i} " + "o" * 200) for i in range(300)]
    roomy.append_logs("run-old", old_lines)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = LogScreen(app.ctx, "run-old", None)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.log_view.lines_written == 300, "the log read")
        assert NOTICE not in title(screen)

        # A small budget: the newest run's lines push the old run's out of Redis.
        # (logs may hold 180 KiB: both runs' ~225 KiB do not fit, the new run's do.)
        tight = RedisMirror(redis_client, keys, budget=225 * 1024)
        for _ in range(2):
            lines = [log_line(at(2), "new " + "z" * 200 + str(i)) for i in range(200)]
            tight.append_logs("run-new", lines)
        kept = int(redis_client.xlen(keys.logs("run-old")))
        assert 0 < kept < 300
        await wait_for(pilot, lambda: NOTICE in title(screen), "the notice")
        assert f"{300 - kept} older lines only in Prefect" in title(screen)

        await app.push_screen(newest := LogScreen(app.ctx, "run-new", None))
        await wait_for(pilot, lambda: newest.log_view.lines_written == 400, "the new log")
        assert NOTICE not in title(newest)

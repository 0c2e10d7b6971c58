"""Redis going away shows disconnected; coming back resumes the tail with no gap."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, flow_run_doc, wait_for


async def test_reconnects_and_resumes_from_the_last_update(
    make_app: AppFactory, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("rc")))
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        mirror = RedisMirror(client, keys)
        fill_standard(mirror)
        app = make_app(server.url)
        async with app.run_test(size=(120, 40)) as pilot:
            runs = app.screen.query_one(RunsTable)
            bar = app.screen.query_one(StatusBar)
            await wait_for(pilot, lambda: runs.row_count == 3, "runs")
            server.stop()
            await wait_for(pilot, lambda: "✖ disconnected" in bar.render().plain, "down")
            assert bar.has_class("-disconnected")
            server.start()
            # Written while the console is still backing off: it must arrive from the tail.
            client = redis.Redis.from_url(server.url)
            RedisMirror(client, keys).upsert_flow_run(
                flow_run_doc("run-after", "back-again", start=at(-0.1), updated=at(0))
            )
            await wait_for(pilot, lambda: "● connected" in bar.render().plain, "up", timeout=15)
            await wait_for(pilot, lambda: runs.row_count == 4, "the run written meanwhile")
    finally:
        server.stop()

"""Redis going away shows disconnected; coming back resumes the tail with no gap."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import redis
from textual.message import Message

from console.data.messages import ConnectionChanged
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


def wipe_and_start(server: EmbeddedRedis) -> None:
    """Starts the stopped server again on its socket with none of its data."""
    data = server.socket_path.parent
    shutil.rmtree(data / "appendonlydir", ignore_errors=True)
    (data / "dump.rdb").unlink(missing_ok=True)
    server.start()


@pytest.mark.parametrize("empty", [False, True], ids=["with-data", "empty"])
async def test_status_line_says_disconnected_within_2s_and_catches_up_after_a_restart(
    make_app: AppFactory, keys: Keys, tmp_path_factory: pytest.TempPathFactory, empty: bool
) -> None:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("rs")))
    server.start()
    seen: list[tuple[float, ConnectionChanged]] = []

    def note(message: Message) -> None:
        if isinstance(message, ConnectionChanged):
            seen.append((time.monotonic(), message))

    try:
        fill_standard(RedisMirror(redis.Redis.from_url(server.url), keys))
        # The console's own block time (2 s), not the fast one the other tests use.
        app = make_app(server.url, heartbeat_interval=2.0)
        async with app.run_test(size=(120, 40), message_hook=note) as pilot:
            runs = app.screen.query_one(RunsTable)
            bar = app.screen.query_one(StatusBar)
            await wait_for(pilot, lambda: runs.row_count == 3, "runs")
            stopping_at = time.monotonic()
            server.stop()
            gone_at = time.monotonic()  # the process has exited: Redis is away
            await wait_for(pilot, lambda: "✖ disconnected" in bar.render().plain, "down", 2.5)
            down = [t for t, message in seen if not message.connected and t > stopping_at]
            assert down, "no ConnectionChanged(connected=False) posted"
            assert down[0] - gone_at <= 2.0, f"disconnected shown {down[0] - gone_at:.1f}s late"
            if empty:
                wipe_and_start(server)
            else:
                server.start()
            RedisMirror(redis.Redis.from_url(server.url), keys).upsert_flow_run(
                flow_run_doc("run-after", "back-again", start=at(-0.1), updated=at(0))
            )
            await wait_for(pilot, lambda: "● connected" in bar.render().plain, "up", timeout=15)
            await wait_for(
                pilot, lambda: "run-after" in {key.value for key in runs.rows}, "the new run"
            )
    finally:
        server.stop()

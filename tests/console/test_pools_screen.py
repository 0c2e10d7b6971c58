"""The work pools screen: pools, queues, workers and limits from `{p}:pools`, live; `p`
pauses or resumes the selected pool or queue (after a yes), refused in read-only mode."""

from __future__ import annotations

from typing import Any

import redis
from textual.widgets import DataTable

from console.app import ConsoleApp
from console.screens.confirm import ConfirmScreen
from console.screens.pools import PoolsScreen
from engine.contract.documents import ConcurrencyLimit, Pools, Worker, WorkPool, WorkQueue
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, commands, fill_standard, wait_for
from tests.console.test_command_line import type_command


def pools_doc(*, pool_paused: bool = False, worker_status: str = "ONLINE") -> Pools:
    return Pools(
        pools=[
            WorkPool(
                name="hosts",
                type="process",
                paused=pool_paused,
                status="PAUSED" if pool_paused else "READY",
                concurrency_limit=4,
                running=1,
                late_runs=2,
                queues=[
                    WorkQueue(name="default", status="READY", late_runs=2),
                    WorkQueue(name="gpu", paused=True, concurrency_limit=1, status="PAUSED"),
                ],
                workers=[
                    Worker(
                        name="host-a:1",
                        status=worker_status,
                        last_heartbeat=at(-0.5).isoformat(),
                        host="host-a",
                    )
                ],
            )
        ],
        limits=[
            ConcurrencyLimit(name="db", kind="global", limit=3, occupied=2),
            ConcurrencyLimit(name="gpu", kind="tag", limit=1, occupied=0),
        ],
        read_at=at(0).isoformat(),
    )


def rows(app: ConsoleApp, table: str) -> list[list[str]]:
    found = app.screen.query_one(f"#pools-{table}", DataTable)
    return [[cell.plain for cell in found.get_row(key)] for key in found.rows]


async def open_pools(pilot: Any, app: ConsoleApp) -> None:
    await wait_for(pilot, lambda: bool(app.store.deployments), "the snapshot")
    await pilot.press("P")
    await wait_for(pilot, lambda: isinstance(app.screen, PoolsScreen), "the pools screen")


async def test_pools_screen_shows_pools_queues_workers_and_limits_live(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.write_pools(pools_doc())
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_pools(pilot, app)
        await wait_for(pilot, lambda: len(rows(app, "queues")) == 3, "pool and queue rows")
        assert rows(app, "queues") == [
            ["hosts", "✓ ready", "1/4", "2"],
            ["  └ default", "✓ ready", "-", "2"],
            ["  └ gpu", "‖ paused", "1", "0"],
        ]
        assert rows(app, "workers") == [["hosts", "host-a:1", "host-a", "● online", "30s ago"]]
        assert rows(app, "limits") == [["db", "global", "2/3"], ["gpu", "tag", "0/1"]]

        # The engine writes a new view: a worker went offline, the pool was paused.
        mirror.write_pools(pools_doc(pool_paused=True, worker_status="OFFLINE"))
        await wait_for(
            pilot, lambda: rows(app, "workers")[0][3] == "○ offline", "the worker offline"
        )
        assert rows(app, "queues")[0][1] == "‖ paused"


async def test_p_pauses_the_selected_queue_after_yes(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.write_pools(pools_doc())
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_pools(pilot, app)
        await wait_for(pilot, lambda: len(rows(app, "queues")) == 3, "pool and queue rows")
        await pilot.press("down", "p")  # the default queue
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(commands(redis_client, keys)), "the command")
        sent = commands(redis_client, keys)[-1]
        assert (sent["action"], sent["target"]) == ("pause_pool", "hosts/default")

        await pilot.press("down", "p")  # the paused gpu queue: resume
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "the command")
        sent = commands(redis_client, keys)[-1]
        assert (sent["action"], sent["target"]) == ("resume_pool", "hosts/gpu")


async def test_pause_pool_is_refused_in_read_only_mode(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.write_pools(pools_doc())
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_pools(pilot, app)
        await wait_for(pilot, lambda: len(rows(app, "queues")) == 3, "pool and queue rows")
        await pilot.press("p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert commands(redis_client, keys) == []


async def test_pools_screen_before_any_engine_wrote_pools_fits_40x10(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(40, 10)) as pilot:
        await open_pools(pilot, app)
        title = str(app.screen.query_one("#pools-title").render())
        assert "none read yet" in title


async def test_pools_command_words_open_the_screen(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.write_pools(pools_doc())
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: bool(app.store.deployments), "the snapshot")
        for word in ("pools", "wp", "workers"):
            await type_command(pilot, word)
            await wait_for(pilot, lambda: isinstance(app.screen, PoolsScreen), f":{word}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, PoolsScreen), "back")

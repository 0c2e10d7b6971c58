"""The log screen across a Redis restart: it says so, then resumes after its last line,
applying the search and hide patterns to what was written meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from console.logs.screen import LogScreen
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, log_line, wait_for
from tests.console.test_logs_keys import fetched, fill_log


async def test_the_log_resumes_after_a_reconnect_with_its_patterns(
    make_app: AppFactory, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("rc")))
    server.start()
    try:
        fill_log(RedisMirror(redis.Redis.from_url(server.url), keys))
        app = make_app(server.url)
        async with app.run_test(size=(100, 20)) as pilot:
            screen = LogScreen(app.ctx, "run-running", None)
            await app.push_screen(screen)
            view = screen.log_view
            await wait_for(pilot, lambda: screen.indexed, "the log read")
            await pilot.press("slash", *"meanwhile", "enter")
            await wait_for(pilot, lambda: screen.search is not None, "an empty search")
            await pilot.press("x", *"^noise", "enter")
            await wait_for(pilot, lambda: screen.hide is not None, "the hide pattern")
            server.stop()
            await wait_for(pilot, lambda: "✖ Redis:" in screen._title(), "the problem shown")
            server.start()
            RedisMirror(redis.Redis.from_url(server.url), keys).append_logs(
                "run-running",
                [log_line(at(0), "noise"), log_line(at(0), "written meanwhile")],
            )
            await wait_for(pilot, lambda: view.lines_written == 68, "the new line", 15)
            assert list(screen.shown_matches) == [68]  # 67 shown before, 1 hidden, then it
            assert "✖" not in screen._title()
            await pilot.press("n")
            await fetched(pilot, screen)
            assert any(
                r.startswith("▶") and r.endswith("written meanwhile") for r in view.visible_text()
            )
    finally:
        server.stop()

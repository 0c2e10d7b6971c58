"""Console cold start: importing the app, and the first frame over a filled Redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.app_session import AppSession
from benchmarks.support import fill_console, goal, until
from console.app import ConsoleApp
from console.screens.main import MainScreen
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent


def test_import_console_app(benchmark: Any) -> None:
    """`python -c "import console.app"` in a fresh interpreter. Goal: median < 1 s.

    Over SSH this is what an operator waits before anything shows; it stays small because
    the console never imports prefect, pandas or pyarrow. Interpreter start is included.
    """
    goal(benchmark, "< 1 s", "median_s", 1.0)

    def start() -> None:
        subprocess.run([sys.executable, "-c", "import console.app"], cwd=ROOT, check=True)

    benchmark.pedantic(start, rounds=5, warmup_rounds=1)


def test_first_frame_shows_deployments(
    benchmark: Any, redis_server: EmbeddedRedis, mirror: RedisMirror, keys: Keys
) -> None:
    """From `ConsoleApp(...)` to its deployments table holding every deployment, over a
    Redis holding 20 deployments and 1,000 runs (what Redis keeps). Goal: median < 1.5 s.

    The import is not included (see `test_import_console_app`); the snapshot read, the
    first layout and the tables' rows are.
    """
    goal(benchmark, "< 1.5 s", "median_s", 1.5)
    names = fill_console(mirror)

    def make() -> ConsoleApp:
        return ConsoleApp(redis_server.url, keys, now=lambda: NOW)

    async def shown(session: AppSession) -> None:
        app = await session.open_async()

        def rows() -> bool:
            screen = app.screen
            return isinstance(screen, MainScreen) and screen.deployments.row_count == len(names)

        await until(rows, "every deployment in the table")

    def setup() -> tuple[tuple[AppSession], dict[str, Any]]:
        return (AppSession(make),), {}

    benchmark.pedantic(
        lambda session: session.run(shown(session)),
        setup=setup,
        teardown=lambda session: session.close(),
        rounds=5,
        warmup_rounds=1,
    )

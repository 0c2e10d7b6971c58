"""Console cold start (issue 12, item 1): the whole `aiwf-console` process in a pty until
its screen shows a deployment and a run, against one `prefect deployment ls`; its peak RSS;
the import apart."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from benchmarks.pty_console import open_console
from benchmarks.support import anchor, fill_console, goal, note, record
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis, EmbeddedStack, prefect_env
from engine.store.mirror import RedisMirror

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENTS, RUNS = 100, 10_000
FIRST_DEPLOYMENT, NEWEST_RUN = "pipeline-00", f"run-{RUNS - 1}"
ROUNDS = 5


@pytest.fixture(scope="module")
def filled(redis_server: EmbeddedRedis) -> Iterator[Keys]:
    """100 deployments and 10,000 runs written by the engine's mirror (it keeps RUNS_KEPT)."""
    keys = Keys(prefix="bench-cold")
    client = redis.Redis.from_url(redis_server.url)
    fill_console(RedisMirror(client, keys), DEPLOYMENTS, RUNS)
    yield keys
    client.close()


def cold_start(url: str, keys: Keys, state_dir: Path) -> tuple[float, float]:
    """exec -> the first frame with FIRST_DEPLOYMENT and NEWEST_RUN on it (s), peak RSS (MB)."""
    with open_console(url, keys.prefix, state_dir) as console:
        console.expect(FIRST_DEPLOYMENT, NEWEST_RUN)
        shown = console.wait(FIRST_DEPLOYMENT, NEWEST_RUN)
        return shown - console.started, console.peak_rss_mb()


def prefect_deployment_ls(stack: EmbeddedStack) -> float:
    """The anchor: one `prefect deployment ls` against the same stack's server, whole process."""
    env = prefect_env(stack.state_dir / "prefect") | {"PREFECT_API_URL": stack.api_url}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "prefect", "deployment", "ls"],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def import_console() -> float:
    """`python -c "import console.cli"` in a fresh interpreter (interpreter start included)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import console.cli"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def test_cold_start_to_a_frame_with_data(
    benchmark: Any,
    redis_server: EmbeddedRedis,
    filled: Keys,
    stack: EmbeddedStack,
    tmp_path: Path,
) -> None:
    """`aiwf-console` exec'd in a 160x48 pty until its output holds a deployment's and the
    newest run's names, over 100 deployments and 10,000 runs. Goal: <= 0.25x one
    `prefect deployment ls` against the same server, the two taking turns in this run.
    Import time is reported apart in the notes."""
    goal(benchmark, "<= 0.25x prefect deployment ls", "median_s", 0.25)
    anchors: list[float] = []
    imports: list[float] = []
    rss: list[float] = []

    def turn() -> tuple[tuple[()], dict[str, Any]]:
        anchors.append(prefect_deployment_ls(stack))
        imports.append(import_console())
        return (), {}

    def start() -> None:
        rss.append(cold_start(redis_server.url, filled, tmp_path)[1])

    benchmark.pedantic(start, setup=turn, rounds=ROUNDS)
    anchor(benchmark, "prefect deployment ls", statistics.median(anchors))
    frame = benchmark.stats.stats.median
    imported = statistics.median(imports)
    note(benchmark, f"import console.cli (fresh interpreter) median {imported * 1000:.0f} ms")
    rest = (frame - imported) * 1000
    note(benchmark, f"after the import, to the first frame with data ~{rest:.0f} ms")
    note(benchmark, f"peak RSS of the console process, max of {len(rss)}: {max(rss):.1f} MB")


def test_cold_start_peak_rss(
    benchmark: Any, redis_server: EmbeddedRedis, filled: Keys, tmp_path: Path
) -> None:
    """Peak RSS (VmHWM) of the console process when its first frame with data is out, over
    100 deployments and 10,000 runs. Goal: <= 80 MB."""
    goal(benchmark, "<= 80 MB", "value", 80)
    peaks: list[float] = []
    benchmark.pedantic(
        lambda: peaks.append(cold_start(redis_server.url, filled, tmp_path)[1]), rounds=2
    )
    record(benchmark, max(peaks), "MB")


def test_import_console_app(benchmark: Any) -> None:
    """`python -c "import console.app"` in a fresh interpreter. Goal: median < 1 s.

    Over SSH this is what an operator waits before anything shows; it stays small because
    the console never imports prefect, pandas or pyarrow. Interpreter start is included.
    """
    goal(benchmark, "< 1 s", "median_s", 1.0)

    def start() -> None:
        subprocess.run([sys.executable, "-c", "import console.app"], cwd=ROOT, check=True)

    benchmark.pedantic(start, rounds=5, warmup_rounds=1)

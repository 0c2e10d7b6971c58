"""Peak RSS of a fresh console process that opens the log screen of one run and reads its
whole index: `python -m benchmarks.log_screen_rss REDIS_URL PREFIX RUN_ID` prints VmHWM in
MB. Its own process, so nothing a benchmark did before in the same interpreter counts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from benchmarks.support import until
from console.app import ConsoleApp
from console.logs.screen import LogScreen
from engine.contract.keys import Keys
from tests.console.conftest import NOW


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


async def open_and_index(url: str, prefix: str, run_id: str) -> float:
    app = ConsoleApp(url, Keys(prefix=prefix), now=lambda: NOW)
    async with app.run_test(size=(160, 48)):
        screen = LogScreen(app.ctx, run_id, None)
        await app.push_screen(screen)
        await until(lambda: screen.indexed, "the whole index", 300)
        return peak_rss_mb()


if __name__ == "__main__":
    url, prefix, run = sys.argv[1:4]
    print(f"{asyncio.run(open_and_index(url, prefix, run)):.1f}")

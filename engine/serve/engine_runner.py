"""Prefect's runner, stopped only by the engine."""

from __future__ import annotations

from typing import Any

from prefect.runner import Runner


class EngineRunner(Runner):
    """A `Runner` that leaves SIGTERM to the engine.

    `Runner.start` installs its own SIGTERM handler, which stops the runner from a
    background task: the engine, seeing the same signal, then found the runner already
    stopping, skipped its own stop, and ended its loop while the runner was still cancelling
    its runs. The runs were left Running with no process. The engine's handler
    (engine/serve/start.py) stops the runner and then puts the runs it cancelled back
    (engine/serve/interrupted_runs.py).
    """

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: the engine's own handler sees the signal too (asyncio's wakeup fd)."""

"""The installed wheel alone starts the demo and one run reaches Completed in Prefect.

Run by scripts/wheel-check.sh with the fresh venv's Python, from a directory outside the
repository, so only the installed package can be imported. Starts the demo stack the way
`aiwf-console --demo` does (console.cli.start_demo: Redis, Prefect server, engine), opens
the console headless (its app.tcss and the bundled deployments must have shipped), triggers
ai-inference-prod with the installed `aiwf-engine trigger`, and waits for Prefect's final
state of that run and for the console to show it. Exit 0 only if all of that happened.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import httpx
from textual.widgets import DataTable, Label

import console
import engine
from console.app import ConsoleApp
from console.cli import progress_printer, start_demo
from engine.contract.keys import Keys
from engine.contract.paths import config_location
from engine.stack.demo_lease import DemoLease

DEPLOYMENT = "ai-inference-prod"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def fail(message: str) -> NoReturn:
    print(f"wheel-check: FAIL: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def check_installed() -> None:
    """The package must come from the venv, not from a checkout on sys.path."""
    for package in (engine, console):
        where = Path(package.__file__ or "").resolve()
        if not where.is_relative_to(Path(sys.prefix).resolve()):
            fail(f"{package.__name__} imported from {where}, not from the venv {sys.prefix}")
    print(f"wheel-check: config in use: {config_location().describe()}", flush=True)


def trigger() -> str:
    """`aiwf-engine trigger --json`; returns the flow run id the engine created."""
    command = [str(Path(sys.executable).with_name("aiwf-engine")), "trigger", DEPLOYMENT]
    done = subprocess.run(
        [*command, "--wait", "60", "--json"], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        fail(f"{' '.join(command)} exited {done.returncode}: {done.stdout}{done.stderr}")
    answer = json.loads(done.stdout)
    print(f"wheel-check: trigger answered: {answer['message']}", flush=True)
    run_id = str(answer.get("flow_run_id") or "")
    if not run_id:
        fail(f"the trigger's answer names no flow run: {done.stdout}")
    return run_id


def prefect_final_state(api_url: str, run_id: str, timeout: float) -> str:
    """Polls the Prefect API until the flow run is in a final state; returns its type."""
    deadline = time.monotonic() + timeout
    state = "?"
    with httpx.Client(base_url=api_url, timeout=10) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/flow_runs/{run_id}")
            response.raise_for_status()
            state = str((response.json().get("state") or {}).get("type") or "?")
            if state in FINAL:
                return state
            time.sleep(1)
    fail(f"flow run {run_id} still {state} in Prefect after {timeout:.0f}s")


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.25)
    fail(f"the console never showed {what} within {timeout:.0f}s")


async def console_round_trip(lease: DemoLease, prefix: str) -> None:
    app = ConsoleApp(lease.stack.redis_url, Keys(prefix))
    async with app.run_test(size=(160, 48)) as pilot:
        title = app.screen.query_one("#deployments-title", Label)
        await wait_for(lambda: "Deployments (2)" in str(title.render()), 60, "Deployments (2)")
        print(f"wheel-check: console shows {title.render()}", flush=True)
        run_id = await asyncio.to_thread(trigger)
        state = await asyncio.to_thread(prefect_final_state, lease.stack.api_url, run_id, 300)
        print(f"wheel-check: Prefect reports flow run {run_id}: {state}", flush=True)
        if state != "COMPLETED":
            fail(f"flow run {run_id} ended {state}; see {lease.stack.state_dir}/engine.log")
        runs = app.screen.query_one("#runs", DataTable)

        def shows_completed() -> bool:
            return run_id in runs.rows and "Completed" in " ".join(
                str(cell) for cell in runs.get_row(run_id)
            )

        await wait_for(shows_completed, 30, f"run {run_id} Completed in the runs table")
        print("wheel-check: the console's runs table shows it Completed", flush=True)
        await pilot.press("q")


def main() -> int:
    check_installed()
    progress = progress_printer()
    prefix = "aiwf"
    began = time.monotonic()
    lease = start_demo(config_location().path, prefix, progress)
    print(f"wheel-check: demo stack up in {time.monotonic() - began:.1f}s", flush=True)
    try:
        asyncio.run(console_round_trip(lease, prefix))
    finally:
        lease.release(progress)
    print("wheel-check: ok", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

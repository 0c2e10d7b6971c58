"""Console test helpers: document factories shaped as docs/redis-keys.md, an app factory,
and a condition waiter. Data goes into the real Redis of tests/conftest.py via RedisMirror.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import msgspec
import pytest
import redis
from textual.command import Command as PaletteHit
from textual.command import CommandList, CommandPalette
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input

from console.app import ConsoleApp
from console.data.messages import CommandNotSent, CommandRequested, CommandSent
from engine.contract.documents import FlowRun, Lineage, TaskRun
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)
"""The fixed clock of every console test."""

Doc = dict[str, Any]


def as_run(doc: Mapping[str, Any]) -> FlowRun:
    """A test's flow run dict as the console holds it (typed, as decoded from Redis)."""
    return msgspec.convert(doc, FlowRun)


def as_task(doc: Mapping[str, Any]) -> TaskRun:
    """A task run dict as the console holds it; ids default for tests that need none."""
    return msgspec.convert({"id": "t", "flow_run_id": "r", **doc}, TaskRun)


def as_lineage(doc: Mapping[str, Any]) -> Lineage:
    return msgspec.convert(doc, Lineage)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def at(minutes: float) -> datetime:
    """NOW shifted by `minutes` (negative: in the past)."""
    return NOW + timedelta(minutes=minutes)


def deployment_doc(
    name: str = "ai-inference-prod",
    *,
    flow: str = "ai-inference-pipeline",
    cron: str = "0 2,14 * * *",
    tz: str = "Asia/Shanghai",
    paused: bool = False,
    protected: bool = False,
    last_run: Doc | None = None,
    updated: datetime = NOW - timedelta(minutes=1),
) -> Doc:
    return {
        "id": f"dep-{name}",
        "name": name,
        "flow_name": flow,
        "version": "1.0.0",
        "description": "",
        "cron": cron,
        "timezone": tz,
        "paused": paused,
        "protected": protected,
        "parameters": {"source": "s3://in", "target": "s3://out"},
        "next_fire_times": [],
        "last_run": last_run,
        "config_path": f"/etc/aiwf/deployments/{name}.yaml",
        "updated": iso(updated),
    }


def flow_run_doc(
    run_id: str,
    name: str,
    *,
    deployment: str = "ai-inference-prod",
    state: str = "RUNNING",
    state_name: str | None = None,
    start: datetime | None = NOW - timedelta(minutes=5),
    end: datetime | None = None,
    run_count: int = 1,
    message: str = "",
    parameters: Doc | None = None,
    updated: datetime = NOW - timedelta(minutes=1),
    attempt_start: datetime | None = None,
    total: float | None = None,
) -> Doc:
    """`attempt_start`: when the latest attempt began (the engine's `attempt_start_time`;
    `start` for a first attempt). `total`: `total_run_time` (default end - start)."""
    if total is None:
        total = (end - start).total_seconds() if start and end else 0.0
    if attempt_start is None and run_count <= 1:
        attempt_start = start
    return {
        "id": run_id,
        "name": name,
        "deployment_id": f"dep-{deployment}",
        "deployment_name": deployment,
        "flow_name": "ai-inference-pipeline",
        "state_type": state,
        "state_name": state_name or state.title(),
        "state_message": message,
        "parameters": parameters if parameters is not None else {"batch": 64},
        "run_count": run_count,
        "expected_start_time": iso(start or NOW),
        "start_time": iso(start),
        "end_time": iso(end),
        "total_run_time": total,
        "attempt_start_time": iso(attempt_start),
        "tags": [],
        "created": iso((start or NOW) - timedelta(seconds=5)),
        "updated": iso(updated),
    }


def task_run_doc(
    task_id: str,
    flow_run_id: str,
    name: str,
    *,
    state: str = "COMPLETED",
    start: datetime | None = NOW - timedelta(minutes=4),
    end: datetime | None = NOW - timedelta(minutes=3),
    run_count: int = 1,
    updated: datetime = NOW - timedelta(minutes=1),
) -> Doc:
    total = (end - start).total_seconds() if start and end else 0.0
    return {
        "id": task_id,
        "flow_run_id": flow_run_id,
        "name": name,
        "task_key": name.rsplit("-", 1)[0],
        "state_type": state,
        "state_name": state.title(),
        "state_message": "",
        "run_count": run_count,
        "start_time": iso(start),
        "end_time": iso(end),
        "total_run_time": total,
        "updated": iso(updated),
    }


def log_line(
    moment: datetime, msg: str, *, level: str = "INFO", task_run_id: str = ""
) -> dict[str, str]:
    numbers = {"DEBUG": "10", "INFO": "20", "WARNING": "30", "ERROR": "40"}
    return {
        "ts": moment.isoformat(),
        "level": numbers.get(level, "20"),
        "level_name": level,
        "task_run_id": task_run_id,
        "logger": "prefect.task_runs" if task_run_id else "prefect.flow_runs",
        "msg": msg,
    }


def heartbeat_doc(beat_at: datetime = NOW - timedelta(seconds=3)) -> Doc:
    return {
        "pid": 4242,
        "host": "ops-1",
        "started_at": iso(NOW - timedelta(hours=1)),
        "beat_at": iso(beat_at),
        "prefect_api_url": "http://127.0.0.1:4200/api",
        "config_dir": "/etc/aiwf",
        "deployments": 2,
        "bridge": "websocket",
    }


def write_heartbeat(client: redis.Redis, keys: Keys, doc: Doc | None = None) -> None:
    """A heartbeat with a fixed `beat_at` (RedisMirror.beat stamps the real time)."""
    client.set(keys.heartbeat, json.dumps(doc or heartbeat_doc()), ex=60)


def fill_standard(mirror: RedisMirror) -> None:
    """Two deployments, three runs (running, failed, completed), tasks and logs of one run."""
    failed = flow_run_doc(
        "run-failed",
        "brave-otter",
        state="FAILED",
        start=at(-90),
        end=at(-80),
        run_count=2,
        attempt_start=at(-87),  # the retry: 7 of the 10 minutes (no wait between attempts)
        message="Task infer-0 failed: CUDA out of memory",
    )
    mirror.upsert_deployment(
        deployment_doc(
            last_run={
                "id": "run-failed",
                "name": "brave-otter",
                "state_type": "FAILED",
                "state_name": "Failed",
                "start_time": iso(at(-90)),
                "end_time": iso(at(-80)),
            }
        )
    )
    mirror.upsert_deployment(
        deployment_doc(
            "nightly-report", flow="report-pipeline", cron="30 6 * * *", tz="UTC", paused=True
        )
    )
    mirror.upsert_flow_run(flow_run_doc("run-running", "witty-fox", start=at(-5)))
    mirror.upsert_flow_run(failed)
    mirror.upsert_flow_run(
        flow_run_doc(
            "run-done",
            "calm-lynx",
            deployment="nightly-report",
            state="COMPLETED",
            start=at(-200),
            end=at(-195),
        )
    )
    mirror.upsert_task_run(
        task_run_doc("task-load", "run-running", "load_raw_data-0", start=at(-5), end=at(-4))
    )
    mirror.upsert_task_run(
        task_run_doc(
            "task-infer", "run-running", "infer-0", state="RUNNING", start=at(-4), end=None
        )
    )
    mirror.append_logs(
        "run-running",
        [
            log_line(at(-5), "flow started"),
            log_line(at(-5), "loading 1200 rows", task_run_id="task-load"),
            log_line(at(-4), "loaded", task_run_id="task-load"),
            log_line(at(-4), "batch 1 of 19", task_run_id="task-infer"),
            log_line(at(-3), "GPU memory high", level="WARNING", task_run_id="task-infer"),
        ],
    )


@pytest.fixture
def mirror(redis_client: redis.Redis, keys: Keys) -> RedisMirror:
    return RedisMirror(redis_client, keys)


AppFactory = Callable[..., ConsoleApp]


@pytest.fixture
def make_app(redis_url: str, keys: Keys) -> AppFactory:
    """Builds the app against the test Redis and prefix, with the fixed clock."""

    def make(url: str | None = None, **kwargs: Any) -> ConsoleApp:
        kwargs.setdefault("now", lambda: NOW)
        kwargs.setdefault("heartbeat_interval", 0.2)
        kwargs.setdefault("command_timeout", 5.0)
        return ConsoleApp(url or redis_url, keys, **kwargs)

    return make


async def wait_for(
    pilot: Pilot[Any],
    condition: Callable[[], bool],
    what: str = "condition",
    timeout: float = 20,
    interval: float = 0.02,
) -> None:
    """Lets the app run until `condition()` holds; fails with `what` after `timeout` s.

    The timeout is generous because it only costs time when a test fails: on a loaded
    2-core machine (CI beside other work) a page fetch can take seconds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(interval)


def tables_sized(screen: Screen[Any]) -> bool:
    """True once every DataTable on `screen` has laid out its rows and column widths.

    DataTable applies new rows and cell updates when the app is idle; on a busy machine a
    snapshot or a pilot check could otherwise catch a header at the old widths.
    """
    return all(
        not table._require_update_dimensions and not table._updated_cells
        for table in screen.query(DataTable)
    )


async def wait_tables_sized(pilot: Pilot[Any]) -> None:
    """Waits for `tables_sized` on every screen of the stack (a dialog shows the screen
    below it), then for the repaint that follows it."""
    await wait_for(
        pilot,
        lambda: all(tables_sized(screen) for screen in pilot.app.screen_stack),
        "the tables laid out",
    )
    # A focused input's cursor blinks every 0.5 s: on a loaded machine the picture was
    # taken in either phase (the backfill dialog's snapshots failed so). Steady, it shows.
    for screen in pilot.app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False
    await pilot.pause()


async def wait_palette_offers(pilot: Pilot[Any], text: str) -> None:
    """Waits until the command palette highlights a first hit holding `text`, so enter
    runs it: the palette searches in a worker, and a fixed pause was too short under load."""

    def offered() -> bool:
        palette = pilot.app.screen
        if not isinstance(palette, CommandPalette):
            return False
        hits = palette.query_one(CommandList)
        if hits.option_count == 0 or hits.highlighted != 0:
            return False
        first = hits.get_option_at_index(0)
        return isinstance(first, PaletteHit) and text in (first.hit.text or "")

    await wait_for(pilot, offered, f"the palette offering {text!r}")


class Posted:
    """Every message the app dispatched in a pilot test, once each (a bubbling message is
    dispatched by each node it passes): `app.run_test(message_hook=posted.append)`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._seen: set[int] = set()

    def append(self, message: Message) -> None:
        if id(message) not in self._seen:
            self._seen.add(id(message))
            self.messages.append(message)

    def clear(self) -> None:
        """Forgets what was posted so far: the next checks cover what follows."""
        self.messages.clear()
        self._seen.clear()

    @property
    def requested(self) -> list[CommandRequested]:
        """The commands screens asked the app to send, in order."""
        return [m for m in self.messages if isinstance(m, CommandRequested)]

    @property
    def sent(self) -> list[CommandSent]:
        return [m for m in self.messages if isinstance(m, CommandSent)]

    @property
    def not_sent(self) -> list[CommandNotSent]:
        return [m for m in self.messages if isinstance(m, CommandNotSent)]


async def wait_not_sent(
    pilot: Pilot[Any],
    posted: Posted,
    what: str,
    reason: str | None = None,
    requested_before: int = 0,
) -> CommandNotSent:
    """Waits for the console's own word that it did not send a command whose description
    holds `what` (and for `reason`, if given), then checks that no more than the
    `requested_before` commands the test meant to send were asked for until then: a wrong
    send fails here instead of slipping past a sleep."""

    def found() -> CommandNotSent | None:
        return next(
            (
                m
                for m in posted.not_sent
                if what in m.what and (reason is None or m.reason == reason)
            ),
            None,
        )

    await wait_for(pilot, lambda: found() is not None, f"{what!r} not sent ({reason or 'any'})")
    asked = [(m.action, m.target) for m in posted.requested]
    assert len(asked) == requested_before, asked
    refusal = found()
    assert refusal is not None
    return refusal


def commands(client: redis.Redis, keys: Keys) -> list[dict[str, str]]:
    """Every entry of the command stream, decoded."""
    # redis-py types replies for both its sync and async clients; this one returns bytes.
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(keys.commands))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries]


async def wait_protected(
    pilot: Pilot[Any], app: ConsoleApp, name: str = "ai-inference-prod"
) -> None:
    """Waits until the console's store holds deployment `name` as protected (written by the
    test with `deployment_doc(protected=True)`), so the typed-name gate applies."""
    await wait_for(
        pilot,
        lambda: (doc := app.store.deployments.get(name)) is not None and doc.protected,
        "protected",
    )

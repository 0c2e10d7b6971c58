"""Two worker hosts as network namespaces, each running a Prefect process worker that
reaches the Prefect server and Redis on this host's side of its veth pair. A host killed
mid-run is seen (its worker offline in Prefect, in `{p}:pools` and on the console's work pools
screen; its run Crashed) and the run is retried on the other host, where it completes.

The engine does the retry (engine/serve/lost_runs.py): Prefect keeps a run whose worker
host died Running for good; the engine marks it Crashed once Prefect reports the worker
that submitted it OFFLINE, and puts it back as AwaitingRetry for another worker."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from console.app import ConsoleApp
from console.screens.pools import PoolsScreen
from engine.contract.command_client import CommandClient
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.stack.launcher import EmbeddedStack
from engine.stack.services import (
    LocalPrefectServer,
    find_redis_server,
    stop_process,
    wait_until,
)
from engine.store.mirror import RedisMirror
from tests.integration.conftest import feed_fifo, send_and_wait, wait_for, wait_run_final
from tests.integration.test_work_pools import POOL, POOLED, pool_in, write_pooled_config
from tests.netns_hosts import NetnsHost, netns_problem
from tests.workers import ProcessWorker, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.hosts]

REDIS_PORT = 6391
PREFECT_TIMEOUTS = {
    # Workers beat every 2 s (tests/workers.py); offline after 2 missed beats, checked each
    # second, so a dead host is seen within seconds instead of minutes.
    "PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE": "2",
}


@dataclass
class Hosts:
    stack: EmbeddedStack
    state: Path
    redis_url: str
    hosts: list[NetnsHost]
    workers: list[ProcessWorker]


def start_redis(state: Path, address: str) -> tuple[subprocess.Popen[bytes], str]:
    data = state / "redis-tcp"
    data.mkdir()
    proc = subprocess.Popen(
        [
            find_redis_server(),
            "--bind",
            address,
            "--port",
            str(REDIS_PORT),
            "--protected-mode",
            "no",
            "--save",
            "",
            "--dir",
            str(data),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://{address}:{REDIS_PORT}/0"

    def up() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    wait_until(up, 20, "Redis on the veth address", None)
    return proc, url


@pytest.fixture(scope="module")
def many_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    problem = netns_problem()
    if problem:
        pytest.skip(f"multi-host test skipped: {problem}")
    state = tmp_path_factory.mktemp("hosts")
    tag = str(os.getpid() % 1000)
    hosts = [NetnsHost(0, tag), NetnsHost(1, tag)]
    workers: list[ProcessWorker] = []
    stop: list[object] = []
    try:
        for host in hosts:
            host.create()
        server_address = hosts[0].gateway  # both hosts reach it (tests/netns_hosts.py)
        redis_proc, redis_url = start_redis(state, server_address)
        stop.append(redis_proc)
        prefect = LocalPrefectServer(state, host=server_address, extra_env=PREFECT_TIMEOUTS)
        prefect.start(progress=print)
        stop.append(prefect)
        stack = EmbeddedStack(
            state,
            write_pooled_config(state),
            DEFAULT_PREFIX,
            external_redis_url=redis_url,
            external_api_url=prefect.api_url,
        )
        stack.start(progress=print)
        stop.append(stack)
        for n, host in enumerate(hosts):
            home = state / f"worker-{n}"
            env = worker_env(
                home, prefect.api_url, redis_url, DEFAULT_PREFIX, state, stack.config_dir
            )
            worker = ProcessWorker(
                POOL, f"host-{n}:1", env, state / f"worker-{n}.log", netns=host.name
            )
            worker.start()
            workers.append(worker)
        yield Hosts(stack, state, redis_url, hosts, workers)
    finally:
        for worker in workers:
            worker.stop()
            print(f"--- {worker.name} ---\n{worker.log()[-3000:]}")
        # The services before the hosts: they listen on the hosts' gateway address, and an
        # engine whose Redis and Prefect vanish with it is stuck in socket reads until the
        # launcher kills it 30 s later.
        for service in reversed(stop):
            if isinstance(service, subprocess.Popen):
                stop_process(service)
            else:
                service.stop()  # type: ignore[attr-defined]
        for host in hosts:
            host.destroy()
        leftover = [
            h.name
            for h in hosts
            if h.name
            in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        ]
        assert not leftover, f"namespaces left behind: {leftover}"


async def test_runs_land_on_both_hosts_and_a_killed_host_s_run_is_retried_on_the_other(
    many_hosts: Hosts,
) -> None:
    from prefect.client.orchestration import PrefectClient

    from engine.serve.lost_runs import submitting_worker

    client = redis.Redis.from_url(many_hosts.redis_url)
    keys = Keys(DEFAULT_PREFIX)
    mirror = RedisMirror(client, keys)
    wait_for(
        lambda: pool_in(
            client,
            lambda p: (
                sorted(w.name for w in p.workers if w.status == "ONLINE")
                == ["host-0:1", "host-1:1"]
            ),
        ),
        90,
        "both workers online in {p}:pools",
    )
    # The run's source is a FIFO: it blocks reading it until the test writes the batch, so
    # it is mid-run, for sure, when its host is killed.
    state = many_hosts.state
    fifo = state / "held.csv"
    os.mkfifo(fifo)
    target = state / "demo" / "output" / "many-hosts"
    result = send_and_wait(
        CommandClient(client, keys),
        "trigger",
        POOLED,
        {"source": str(fifo), "target": str(target)},
    )
    assert result.ok, result.message
    run_id = result.flow_run_id
    async with PrefectClient(api=many_hosts.stack.api_url) as prefect:

        async def running_on() -> str:
            run = await prefect.read_flow_run(run_id)  # type: ignore[arg-type]
            if run.state_type is None or run.state_type.value != "RUNNING":
                return ""
            return submitting_worker(run)

        first = ""
        for _ in range(300):
            first = await running_on()
            if first:
                break
            await asyncio.sleep(0.3)
        assert first in ("host-0:1", "host-1:1"), f"run not running on a worker: {first!r}"
        killed = int(first.split("-")[1].split(":")[0])
        other = f"host-{1 - killed}:1"
        # The worker's own output agrees that it is the one running it (both may have tried:
        # the one whose Pending the server refused logs "Aborted submission").
        started = f"Flow run '{result.flow_run_name}' submitted to infrastructure"
        wait_for(lambda: started in many_hosts.workers[killed].log(), 30, f"{first}: {started}")
        many_hosts.hosts[killed].kill()

        wait_for(
            lambda: pool_in(
                client,
                lambda p: any(w.name == first and w.status == "OFFLINE" for w in p.workers),
            ),
            60,
            f"{first} offline in {{p}}:pools",
        )

        async def retried_on_other() -> bool:
            run = await prefect.read_flow_run(run_id)  # type: ignore[arg-type]
            return submitting_worker(run) == other

        for _ in range(300):
            if await retried_on_other():
                break
            await asyncio.sleep(0.3)
        assert await retried_on_other(), f"run not resubmitted to {other}"
        states = await prefect.read_flow_run_states(run_id)  # type: ignore[arg-type]
        names = [s.name for s in states]
        assert "Crashed" in names, names
        crashed = next(s for s in states if s.name == "Crashed")
        assert f"worker {first} of pool {POOL} went offline" in (crashed.message or "")

    feeder = feed_fifo(fifo, (state / "demo" / "input" / "daily_batch.csv").read_bytes())
    done = wait_run_final(mirror, run_id, timeout=180)
    feeder.join(10)
    assert done["state_type"] == "COMPLETED", done["state_message"]
    async with PrefectClient(api=many_hosts.stack.api_url) as prefect:
        history = await prefect.read_flow_run_states(run_id)  # type: ignore[arg-type]
    kinds = [s.name for s in history]
    # Both attempts ran: Running on the killed host, Crashed, then running on the other.
    # Prefect names the second RUNNING state by what came before it ("Retrying" after
    # AwaitingRetry, "Rerunning" otherwise), so it is counted by type, not by name.
    running = [i for i, s in enumerate(history) if s.type.value == "RUNNING"]
    assert len(running) >= 2, kinds
    assert kinds.index("Crashed") < running[-1], kinds
    lineage = wait_for(lambda: mirror.read_lineage(run_id), 30, "lineage of the retry")
    assert lineage["flow_run_id"] == run_id
    # The audit trail says who ran it again: the engine, and why.
    audited: Any = client.xrange(keys.audit)
    retries = [
        f[b"message"].decode()
        for _, f in audited
        if f[b"flow_run_id"] == str(run_id).encode() and f[b"user"] == b"engine"
    ]
    assert retries == [f"auto-retry: worker {first} of pool {POOL} went offline (its host was "
                       "lost); retried on another worker"], retries  # fmt: skip

    # On screen: the console's work pools screen shows the dead host's worker offline.
    app = ConsoleApp(many_hosts.redis_url, keys, heartbeat_interval=0.5)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            if app.store.pools is not None:
                break
            await pilot.pause(0.1)
        await pilot.press("P")
        await pilot.pause(0.5)
        assert isinstance(app.screen, PoolsScreen)
        table = app.screen.query_one("#pools-workers")
        cells = {
            str(table.get_row(key)[1]): str(table.get_row(key)[3])  # type: ignore[attr-defined]
            for key in table.rows  # type: ignore[attr-defined]
        }
        assert cells[first] == "○ offline"
        assert cells[other] == "● online"
    client.close()
    shutil.rmtree(target, ignore_errors=True)

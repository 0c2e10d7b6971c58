"""`aiwf-engine run`: register deployments, execute their runs, bridge Prefect and Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
from prefect.client.orchestration import PrefectClient, get_client
from prefect.deployments.runner import EntrypointType
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron

from engine.bridge.history import QueryServer
from engine.bridge.pools import mirror_pools
from engine.bridge.prefect_to_redis import Bridge
from engine.commands.cancel_watch import PrefectRunnerView
from engine.commands.consumer import READ_BLOCK_MS
from engine.commands.executor import CommandExecutor
from engine.commands.permissions import load_operators
from engine.config.loader import ConfigError, DeploymentSpec, LoadResult
from engine.config.parameter_schema import flow_parameter_schema, mark_secret_properties
from engine.config.registry import RegisteredDeployment, Registry
from engine.contract.documents import Heartbeat
from engine.contract.keys import HEARTBEAT_INTERVAL_SECONDS, Keys
from engine.contract.redact import redact_url
from engine.contract.secrets import mark_secret_schema
from engine.contract.times import utc_now_iso
from engine.pipeline.flows import FLOWS
from engine.serve.auto_resume import AutoResumer
from engine.serve.deployment_docs import DeploymentDocs
from engine.serve.engine_retry import audited_in
from engine.serve.engine_runner import EngineRunner
from engine.serve.interrupted_runs import (
    HEARTBEAT_SECONDS,
    hand_back_stopped_runs,
    silent_seconds,
    watch_silent_runs,
)
from engine.serve.leader import ACQUIRE_POLL_SECONDS, LeaderLease, engine_name
from engine.serve.lost_runs import watch_lost_runs
from engine.serve.pools import register_on_pool
from engine.serve.prefect_health import PrefectHealth
from engine.serve.prefect_wait import prefect_answers
from engine.serve.refill import Refiller
from engine.store.audit_copy import READ_BLOCK_MS as AUDIT_READ_BLOCK_MS
from engine.store.audit_copy import AuditCopier
from engine.store.audit_log import AuditLog
from engine.store.off_loop import EngineStore
from engine.store.waiting import end_tasks, within

logger = logging.getLogger("aiwf.engine")

RUNNER_POLL_SECONDS = 2.0
"""How often the Runner asks Prefect for runs due now. Prefect's default (10 s, plus its
poll loop) made a keyboard trigger or retry wait 10-30 s before starting; a local API
answers this query in milliseconds. `PREFECT_RUNNER_POLL_FREQUENCY`, if set, wins."""

STOP_STEP_SECONDS = 5.0
"""How long each step of the engine's stop may wait for Redis or Prefect."""
REDIS_CONNECT_SECONDS = 3.0
REDIS_REPLY_SECONDS = 10.0
"""How long the engine waits for Redis to connect and to answer before calling it away."""


@dataclass(frozen=True)
class EngineSettings:
    config_dir: Path
    state_dir: Path
    redis_url: str
    prefix: str
    api_url: str
    prefect_embedded: bool = False
    """The API is a local server started for this engine (no PREFECT_API_URL configured)."""


class Engine:
    def __init__(self, settings: EngineSettings, loaded: LoadResult) -> None:
        self.settings = settings
        self.loaded = loaded
        self.keys = Keys(settings.prefix)
        self.redis = _client(settings.redis_url)
        # Blocking reads (XREADGROUP, the audit copy's XREAD) get connections of their own
        # so writes never queue behind them.
        self.command_redis = _client(settings.redis_url, READ_BLOCK_MS / 1000)
        audit_log = AuditLog.in_state_dir(settings.state_dir)
        self.store = EngineStore.over(self.redis, self.keys, audit_log)
        self.audit_copier = AuditCopier(
            _client(settings.redis_url, AUDIT_READ_BLOCK_MS / 1000), self.keys, audit_log
        )
        """Every Redis call from the loop goes through `store.call`: off the loop, in order."""
        self.mirror = self.store.mirror
        self.registry = Registry()
        self.name = engine_name()
        """host:pid:random: this engine's lease token and command consumer name."""
        self.lease = LeaderLease(settings.redis_url, self.keys.leader, self.name)
        self.leading = False
        self.runner = EngineRunner(
            name=f"aiwf-engine-{socket.gethostname()}",
            pause_on_shutdown=False,
            # Each run's process says it is alive: a run whose process is gone is found
            # and run again (engine/serve/interrupted_runs.py).
            heartbeat_seconds=HEARTBEAT_SECONDS,
            # None lets Prefect read the operator's PREFECT_RUNNER_POLL_FREQUENCY.
            query_seconds=(
                None if "PREFECT_RUNNER_POLL_FREQUENCY" in os.environ else RUNNER_POLL_SECONDS
            ),
        )
        self.operators = load_operators(settings.config_dir)
        self.deployment_docs = DeploymentDocs(self.store, self.registry, settings.config_dir)
        self.bridge, self.executor = self._leader_parts()
        self.auto_resumer = AutoResumer(self.store, self.registry, self.mark_deployment_dirty)
        self.refiller = Refiller(
            self.store,
            self.bridge,
            {"api_url": redact_url(settings.api_url), "config_dir": str(settings.config_dir)},
            self.deployment_docs.write_every,
        )
        self.started_at = utc_now_iso()
        self.prefect_health = PrefectHealth(redact_url(settings.api_url))
        """The heartbeat's `prefect_error`: the last health check of the Prefect API."""
        self._stopping = asyncio.Event()

    def _leader_parts(self) -> tuple[Bridge, CommandExecutor]:
        """A fresh bridge and command executor, for each time this engine leads."""
        executor = CommandExecutor(
            self.store,
            self.registry,
            on_run_changed=self._on_run_changed,
            on_deployment_changed=self.mark_deployment_dirty,
            runner=PrefectRunnerView(self.runner),
            reader=self.command_redis,
            operators=self.operators,
            consumer=self.name,
        )
        bridge = Bridge(
            self.store,
            self.registry,
            self.mark_deployment_dirty,
            on_estate_changed=self.deployment_docs.mark_estate_dirty,
        )
        return bridge, executor

    async def _on_run_changed(self, prefect: PrefectClient, run_id: str) -> None:
        await self.bridge.write_flow_run(prefect, run_id, with_tasks=True)

    def mark_deployment_dirty(self, name: str) -> None:
        self.deployment_docs.mark_dirty(name)

    async def register(self, prefect: PrefectClient) -> None:
        for spec in list(self.loaded.specs):
            try:
                await self._register_one(prefect, spec)
            except (ValueError, TypeError) as exc:
                # Prefect refused what the loader passed: this deployment is not served, the
                # others are (the loader checks what Prefect checks, so this is a backstop).
                error = ConfigError(spec.path, None, "", f"Prefect refused it, not served: {exc}")
                logger.error("config: %s", error)
                self.loaded.specs.remove(spec)
                self.loaded.errors.append(error)

    async def _register_one(self, prefect: PrefectClient, spec: DeploymentSpec) -> None:
        settings = self.settings
        parameters = spec.resolved_parameters(settings.state_dir, settings.config_dir)
        deployment = await FLOWS[spec.flow_name].ato_deployment(
            name=spec.name,
            schedule=Cron(spec.cron, timezone=spec.timezone),
            # Registering again resets `paused` in Prefect: carry an operator's pause over
            # an engine restart instead of silently resuming the schedule.
            paused=await self._currently_paused(prefect, spec.flow_name, spec.name),
            parameters=parameters,
            version=spec.version,
            description=spec.description or None,
            tags=list(spec.tags),
            # A module path, not a file path: the run subprocess finds the flow from any cwd.
            entrypoint_type=EntrypointType.MODULE_PATH,
            work_pool_name=spec.work_pool or None,
            work_queue_name=spec.work_queue or None,
        )
        mark_secret_properties(deployment, spec.secret_parameters)
        if spec.work_pool:  # workers on any host run it; this engine's runner does not
            deployment_id = await register_on_pool(prefect, deployment, spec)
        else:
            deployment_id = await self.runner.aadd_deployment(deployment)
        self.registry.add(
            RegisteredDeployment(
                spec,
                str(deployment_id),
                parameters,
                mark_secret_schema(
                    flow_parameter_schema(FLOWS[spec.flow_name]), spec.secret_parameters
                ),
            )
        )
        logger.info("registered deployment %s (%s)", spec.name, deployment_id)

    @staticmethod
    async def _currently_paused(prefect: PrefectClient, flow_name: str, name: str) -> bool:
        try:
            existing = await prefect.read_deployment_by_name(f"{flow_name}/{name}")
        except ObjectNotFound:
            return False
        return bool(existing.paused)

    def heartbeat_info(self) -> Heartbeat:
        return Heartbeat(
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=self.started_at,
            prefect_api_url=redact_url(self.settings.api_url),
            prefect_embedded=self.settings.prefect_embedded,
            config_dir=str(self.settings.config_dir),
            deployments=len(self.registry.by_name),
            config_errors=[str(e) for e in self.loaded.errors] + self.deployment_docs.estate.errors,
            # Only a leader bridges (one waiting for Prefect beats before it leads).
            bridge=self.bridge.mode if self.leading else "stopped",
            prefect_error=self.prefect_health.problem,
            name=self.name,
            standbys=self.mirror.standbys(),
        )

    async def _heartbeat_loop(self) -> None:
        """The leader writes the heartbeat; a standby notes itself in `{p}:engine:standbys`."""
        while True:
            try:
                if self.leading:
                    await self.store.call(lambda: self.mirror.beat(self.heartbeat_info()))
                else:
                    await self.store.call(self.mirror.note_standby, self.name)
            except redis.RedisError as exc:
                logger.warning("heartbeat to Redis failed: %s", exc)
            await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)

    async def _leadership_loop(self) -> None:
        """Waits as a standby until it takes the lease, then leads until it loses it."""
        while True:
            if not await asyncio.to_thread(self.lease.try_acquire):
                await asyncio.sleep(ACQUIRE_POLL_SECONDS)
                continue
            logger.info("engine %s took the leader lease; leading", self.name)
            jobs = asyncio.create_task(self._lead(), name="leader jobs")
            holding = asyncio.create_task(self.lease.hold(), name="leader lease")
            try:
                done, _ = await asyncio.wait([jobs, holding], return_when=asyncio.FIRST_COMPLETED)
                if jobs in done and jobs.exception() is not None:
                    raise jobs.exception()  # type: ignore[misc]
            finally:
                # At once: the next leader may start as soon as the lease expires.
                self.leading = False
                for task in (jobs, holding):
                    task.cancel()
                await asyncio.gather(jobs, holding, return_exceptions=True)
                await self.executor.stop()
            logger.warning("engine %s is no longer the leader; waiting as a standby", self.name)

    async def _lead(self) -> None:
        """Bridges, consumes commands, resumes schedules: only while holding the lease."""
        self.bridge, self.executor = self._leader_parts()
        # A term that starts on a Redis without the marker (new, or emptied while no engine
        # led: a lost lease is how a leader sees an emptied Redis) refills it first.
        self.refiller.bridge = self.bridge
        if await self.refiller.emptied():
            async with get_client() as prefect:
                await self.refiller.refill(prefect)
        await self.refiller.mark()  # this engine's API URL and config dir, for the console
        async with get_client() as prefect:
            await self.deployment_docs.write_all(prefect)
        # Only now the heartbeat says a leader is alive: whoever waits for it (the launcher,
        # the tests) finds the deployments written.
        self.leading = True
        await self.store.call(self.mirror.forget_standby, self.name)
        await self.store.call(lambda: self.mirror.beat(self.heartbeat_info()))
        loops = {
            "bridge": self.bridge.run(),
            "commands": self.executor.run(),
            "deployments": self.deployment_docs.run(),
            "auto_resume": self.auto_resumer.run(),
            "refill": self.refiller.run(),
            "queries": QueryServer(
                self.settings.redis_url, self.keys, self.registry, self.name
            ).run(),
            "pools": mirror_pools(self.store),
            "lost_runs": watch_lost_runs(self.registry, audited_in(self.store)),
            "silent_runs": watch_silent_runs(
                self.registry, silent_seconds(), audited_in(self.store)
            ),
        }
        tasks = [asyncio.create_task(coro, name=name) for name, coro in loops.items()]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def request_stop(self) -> None:
        logger.info("stop requested; shutting down")
        self._stopping.set()

    async def _beat_while_prefect_is_down(self, problem: str) -> None:
        """The heartbeat of an engine waiting for Prefect, unless another engine leads."""
        self.prefect_health.problem = problem
        try:
            if await asyncio.to_thread(self.lease.holder) in ("", self.name):
                await self.store.call(lambda: self.mirror.beat(self.heartbeat_info()))
        except redis.RedisError as exc:
            logger.warning("heartbeat to Redis failed: %s", exc)

    async def run(self) -> None:
        shown_url = redact_url(self.settings.api_url)
        if not await prefect_answers(shown_url, self._stopping, self._beat_while_prefect_is_down):
            await self._close_in_time(never_led=True)
            return
        async with get_client() as prefect:
            await self.register(prefect)
        tasks = [asyncio.create_task(coro, name=name) for name, coro in self._loops().items()]
        stop = asyncio.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            if self.runner.started:
                stop_began = datetime.now(timezone.utc)
                await self._in_time(self.runner.astop(), "Prefect's runner did not stop")
                await self._in_time(
                    self._hand_back_stopped_runs(stop_began),
                    "could not put the runs the stop cancelled back in Prefect",
                )
            # Bounded too: a loop that ignored its cancel must not hold the stop up.
            stuck = await end_tasks([*tasks, stop], STOP_STEP_SECONDS)
            if stuck:
                logger.warning(
                    "%s did not end within %.0f s; stopping without them",
                    ", ".join(stuck),
                    STOP_STEP_SECONDS,
                )
            await self._close_in_time()

    async def _hand_back_stopped_runs(self, stop_began: datetime) -> None:
        """The runs the runner cancelled as it stopped go back to Prefect as AwaitingRetry:
        a restart must not end a run no operator cancelled."""
        try:
            async with get_client() as prefect:
                await hand_back_stopped_runs(
                    prefect, self.registry, stop_began, self.name, audited_in(self.store)
                )
        except Exception as exc:  # Prefect away: the runs stay Cancelled, as Prefect left them
            logger.warning("could not put the runs the stop cancelled back in Prefect: %s", exc)

    async def _close_in_time(self, never_led: bool = False) -> None:
        """`_close`, given STOP_STEP_SECONDS: a Redis that does not answer (the network
        gone) must not hold the stop up; the heartbeat's and the lease's TTLs end them."""
        await self._in_time(self._close(never_led), "could not clear the heartbeat or lease")

    async def _in_time(self, step: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await within(step, STOP_STEP_SECONDS)
        except asyncio.TimeoutError:  # not yet the builtin TimeoutError on Python 3.10
            logger.warning("%s within %.0f s; stopping without it", what, STOP_STEP_SECONDS)

    async def _close(self, never_led: bool = False) -> None:
        """After every write the loops queued: the heartbeat goes last, and only the
        leader's (a standby stopping must not hide the live leader).

        Args:
            never_led: the engine never led (it stopped while waiting for Prefect): its
                waiting heartbeat goes if no engine leads.
        """
        try:
            holder = await asyncio.to_thread(self.lease.holder)
            if holder == self.name or (never_led and not holder):
                await self.store.call(self.mirror.clear_heartbeat)
            await self.store.call(self.mirror.forget_standby, self.name)
            # Released at once, so a standby takes over without waiting for it to expire.
            await asyncio.to_thread(self.lease.release)
        except redis.RedisError as exc:  # Redis away: the TTLs end heartbeat and lease
            logger.warning("could not clear the heartbeat or release the lease: %s", exc)
        self.lease.close()
        self.store.call.close()
        logger.info("engine stopped")

    def _loops(self) -> dict[str, Coroutine[Any, Any, None]]:
        return {
            "runner": self.runner.start(),
            "heartbeat": self._heartbeat_loop(),
            "prefect_health": self.prefect_health.run(),
            "leadership": self._leadership_loop(),
            "audit_copy": self.audit_copier.run(),
        }


def _client(url: str, longest_block_seconds: float = 0.0) -> redis.Redis:
    """A client with timeouts, so a Redis that hangs (not just one that closes its socket)
    is noticed and waited out like a restart instead of blocking a thread for good."""
    return redis.Redis.from_url(
        url,
        health_check_interval=30,
        socket_connect_timeout=REDIS_CONNECT_SECONDS,
        socket_timeout=REDIS_REPLY_SECONDS + longest_block_seconds,
    )

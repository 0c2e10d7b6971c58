"""Writes `{p}:deployments`: the engine's own deployments and the rest of the Prefect estate
(engine/bridge/estate.py), on change and every minute; removes the ones that are gone."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.responses import DeploymentResponse
from prefect.exceptions import ObjectNotFound

from engine.bridge.documents import deployment_doc, foreign_deployment_doc, is_polled
from engine.bridge.estate import EstateReader
from engine.config.registry import Registry
from engine.contract.documents import Deployment
from engine.contract.pause_window import AutoResumeStore
from engine.contract.secrets import mask_parameters
from engine.store.off_loop import EngineStore
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine")

DEPLOYMENT_REFRESH_SECONDS = 60.0
"""Deployments are re-read this often even without events, to roll next fire times on (and
to find the estate's new and deleted deployments if an event was missed)."""
FOREIGN_SETTLE_SECONDS = 1.0
"""How long events about deployments the engine does not serve are gathered before reading."""


@dataclass
class DeploymentDocs:
    store: EngineStore
    registry: Registry
    config_dir: Path
    estate: EstateReader = field(init=False)
    _dirty: set[str] = field(default_factory=set)
    _estate_dirty: bool = False
    _written: dict[str, Deployment] = field(default_factory=dict)
    """The foreign documents last written (without `updated`), to skip unchanged ones."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.estate = EstateReader(self.registry, self.config_dir)
        self.auto_resume = AutoResumeStore(self.store.client, self.store.keys)

    def mark_dirty(self, name: str) -> None:
        self._dirty.add(name)
        self._changed.set()

    def mark_estate_dirty(self) -> None:
        """A deployment the engine does not know was created, changed or deleted."""
        self._estate_dirty = True
        self._changed.set()

    async def write_all(self, prefect: PrefectClient) -> None:
        """Re-reads the estate, writes every listed deployment and removes the others."""
        self._written.clear()  # a new term: Redis may hold anything
        await self._refresh_estate(prefect)
        listed = self.registry.listed()
        for raw_name in await self.store.call(self.store.client.hkeys, self.store.keys.deployments):
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            if name not in listed:
                logger.info("deployment %s is no longer listed; removing it from Redis", name)
                await self.store.call(self.store.mirror.remove_deployment, name)
        for name in sorted(self.registry.by_name):
            await self.write(prefect, name)

    async def write_every(self, prefect: PrefectClient) -> None:
        """Writes every listed deployment, changed or not (Redis came back empty)."""
        self._written.clear()
        for name in sorted(self.registry.listed()):
            await self.write(prefect, name)

    async def _refresh_estate(self, prefect: PrefectClient) -> None:
        """Re-reads the estate: writes what changed, removes the deployments gone from it."""
        read, gone = await self.estate.refresh(prefect)
        for name in gone:
            logger.info("deployment %s left the estate; removing it from Redis", name)
            self._written.pop(name, None)
            await self.store.call(self.store.mirror.remove_deployment, name)
        for name, api in sorted(read.items()):
            try:
                await self.write(prefect, name, api)
            except Exception:
                logger.exception("could not refresh deployment %s", name)

    async def write(
        self, prefect: PrefectClient, name: str, api: DeploymentResponse | None = None
    ) -> None:
        """Writes deployment `name`'s document (`api`: what Prefect just said of it)."""
        resume_at = await self.store.call(self.auto_resume.when, name)
        resume_iso = resume_at.isoformat() if resume_at else None
        last_run = self.registry.last_runs.get(name)
        registered = self.registry.by_name.get(name)
        if registered is not None:
            api = await prefect.read_deployment(registered.id)
            doc = deployment_doc(
                registered.spec,
                registered.id,
                bool(api.paused),
                mask_parameters(registered.parameters, registered.spec.secret_parameters),
                last_run,
                parameter_schema=registered.parameter_schema,
                resume_at=resume_iso,
                polled=is_polled(api),
            )
        else:
            foreign = self.registry.foreign.get(name)
            if foreign is None:
                return  # left the estate since it was marked
            try:
                api = api or await prefect.read_deployment(foreign.id)
            except ObjectNotFound:
                self.registry.drop_foreign(name)
                self._written.pop(name, None)
                await self.store.call(self.store.mirror.remove_deployment, name)
                return
            doc = foreign_deployment_doc(foreign, api, last_run, resume_at=resume_iso)
            # A big estate is re-read every minute: write only what changed.
            if self._written.get(name) == replace(doc, updated=None):
                return
            self._written[name] = replace(doc, updated=None)
        await self.store.call(self.store.mirror.upsert_deployment, doc)

    async def run(self) -> None:
        async with get_client() as prefect:
            while True:
                timed_out = False
                try:
                    await within(self._changed.wait(), DEPLOYMENT_REFRESH_SECONDS)
                except asyncio.TimeoutError:
                    timed_out = True
                if not timed_out and not self._dirty & set(self.registry.by_name):
                    # Only others' deployments changed: a burst of their events (someone
                    # pausing and resuming in a loop) settles into one read each.
                    await asyncio.sleep(FOREIGN_SETTLE_SECONDS)
                self._changed.clear()
                names, self._dirty = self._dirty, set()
                estate, self._estate_dirty = self._estate_dirty, False
                if timed_out:
                    names, estate = self.registry.listed(), True
                if estate:
                    try:
                        await self._refresh_estate(prefect)
                        names -= set(self.registry.foreign)  # written just now
                    except Exception:
                        logger.exception("could not read the Prefect estate's deployments")
                for name in sorted(names):
                    try:
                        await self.write(prefect, name)
                    except Exception:
                        logger.exception("could not refresh deployment %s", name)

"""Reads the rest of the Prefect estate: every deployment the engine does not serve, filtered
by `config/estate.yaml` (engine/config/estate.py), into the registry's `foreign` list."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.responses import DeploymentResponse

from engine.bridge.documents import served_by
from engine.config.estate import EstateFilter, load_estate
from engine.config.registry import ForeignDeployment, Registry

logger = logging.getLogger("aiwf.engine.estate")

PAGE = 200
"""Deployments read per API call."""


class EstateReader:
    """Keeps `registry.foreign` and `registry.hidden_ids` in step with the Prefect server."""

    def __init__(self, registry: Registry, config_dir: Path) -> None:
        self.registry = registry
        self.config_dir = config_dir
        self.filter = load_estate(config_dir)
        self._flow_names: dict[UUID, str] = {}
        self._mtime: float | None = self._stamp()
        self._log_errors()

    def _log_errors(self) -> None:
        for error in self.filter.errors:
            logger.error("config: %s (no deployment outside this engine is listed)", error)

    def _stamp(self) -> float | None:
        try:
            return (self.config_dir / "estate.yaml").stat().st_mtime
        except OSError:
            return None

    def reload_if_changed(self) -> None:
        """Re-reads estate.yaml if it changed (edited, added or removed) since last time."""
        stamp = self._stamp()
        if stamp == self._mtime:
            return
        self._mtime = stamp
        self.filter = load_estate(self.config_dir)
        self._log_errors()
        logger.info("estate filter re-read from %s", self.config_dir / "estate.yaml")

    @property
    def errors(self) -> list[str]:
        return [str(error) for error in self.filter.errors]

    async def refresh(
        self, prefect: PrefectClient
    ) -> tuple[dict[str, DeploymentResponse], set[str]]:
        """Reads every deployment on the server; returns (what Prefect said of each listed
        one, by name; the names gone)."""
        self.reload_if_changed()
        served = {deployment.id for deployment in self.registry.by_name.values()}
        found: dict[str, ForeignDeployment] = {}
        read: dict[str, DeploymentResponse] = {}
        hidden: set[str] = set()
        offset = 0
        while True:
            page = await prefect.read_deployments(limit=PAGE, offset=offset)
            for api in page:
                if str(api.id) in served:
                    continue
                foreign = await self._foreign(prefect, api, self.filter)
                if foreign is None:
                    hidden.add(str(api.id))
                else:
                    found[foreign.name], read[foreign.name] = foreign, api
            if len(page) < PAGE:
                break
            offset += PAGE
        gone = set(self.registry.foreign) - set(found)
        self.registry.set_foreign(found, hidden)
        return read, gone

    async def _foreign(
        self, prefect: PrefectClient, api: DeploymentResponse, estate: EstateFilter
    ) -> ForeignDeployment | None:
        flow_name = await self._flow_name(prefect, api.flow_id)
        full_name = f"{flow_name}/{api.name}"
        if not estate.shows(full_name, api.tags or []):
            return None
        return ForeignDeployment(
            id=str(api.id),
            name=full_name,
            flow_name=flow_name,
            served_by=served_by(api),
            protected=estate.protects(full_name),
            parameter_schema=dict(api.parameter_openapi_schema or {}),
        )

    async def _flow_name(self, prefect: PrefectClient, flow_id: UUID) -> str:
        name = self._flow_names.get(flow_id)
        if name is None:
            name = (await prefect.read_flow(flow_id)).name
            self._flow_names[flow_id] = name
        return name

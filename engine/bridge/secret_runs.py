"""Which parameters of a run are secret, and their values: what the bridge writes as
fingerprints and scrubs from the run's logs and task messages (a flow may print a value).

A run of a deployment this engine serves takes the marks from its deployment file. A run of
one it does not serve (another engine's, on the same Prefect) takes them from the
deployment as Prefect has it: the engine that registered it marked its secret properties
`writeOnly` in `parameter_openapi_schema` (engine/contract/secrets.py).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun as PrefectFlowRun

from engine.bridge.documents import flow_run_doc
from engine.config.registry import Registry
from engine.contract.documents import FlowRun
from engine.contract.secrets import secret_names_in_schema, secret_values

logger = logging.getLogger("aiwf.engine.bridge")

RECENT_RUNS = 5_000
"""Runs whose secret values (often none) are remembered."""
SCHEMA_SECONDS = 60.0
"""How long a deployment's marks read from Prefect are trusted."""


class SecretRuns:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._values: OrderedDict[str, list[str]] = OrderedDict()
        self._marks: dict[str, tuple[float, frozenset[str]]] = {}

    async def names(self, client: PrefectClient, run: PrefectFlowRun, name: str) -> frozenset[str]:
        """The run's secret parameters: its deployment file's marks, or Prefect's."""
        if name in self.registry.by_name or run.deployment_id is None:
            return self.registry.secret_names(name)  # a deployment file's marks
        key = str(run.deployment_id)
        cached = self._marks.get(key)
        if cached is not None and time.monotonic() - cached[0] < SCHEMA_SECONDS:
            return cached[1]
        try:
            deployment = await client.read_deployment(run.deployment_id)
        except Exception as exc:  # deleted, or the API is away: nothing known to hide
            logger.debug("could not read deployment %s for its secret marks: %s", key, exc)
            return frozenset()
        marks = secret_names_in_schema(deployment.parameter_openapi_schema or {})
        self._marks[key] = (time.monotonic(), marks)
        return marks

    async def doc(self, client: PrefectClient, run: PrefectFlowRun, name: str) -> FlowRun:
        """The run's document, its secret parameters as fingerprints; notes their values."""
        secret = await self.names(client, run, name)
        self._note(str(run.id), secret_values(run.parameters or {}, secret))
        return flow_run_doc(run, name, self.registry.flow_of(name), secret)

    def _note(self, run_id: str, values: list[str]) -> None:
        self._values[run_id] = values
        self._values.move_to_end(run_id)
        if len(self._values) > RECENT_RUNS:
            self._values.popitem(last=False)

    def known(self, run_id: str) -> list[str] | None:
        """The run's secret values if it was read (empty: it has none), else None."""
        return self._values.get(run_id)

    async def hidden(self, run_id: str, client: PrefectClient | None) -> list[str]:
        """What to scrub from the run's text; a run not read yet is read first with
        `client` (its logs can come before its document). Without a client, or if it
        cannot be read, every served deployment's own secret values are scrubbed."""
        values = self.known(run_id)
        if values is not None:
            return values
        if client is None:
            return self.registry.configured_secret_values()
        try:
            run = await client.read_flow_run(UUID(run_id))
            await self.doc(client, run, self.registry.name_of(str(run.deployment_id or "")))
        except Exception as exc:
            logger.debug("could not read flow run %s for its secret values: %s", run_id, exc)
            return self.registry.configured_secret_values()
        return self.known(run_id) or []

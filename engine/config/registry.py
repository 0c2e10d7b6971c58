"""The deployments this engine serves (spec, Prefect id), the rest of the Prefect estate it
lists (`ForeignDeployment`), and each one's latest run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from engine.config.loader import DeploymentSpec
from engine.contract.documents import FlowRun, RunSummary
from engine.contract.ordering import run_moment
from engine.contract.secrets import secret_values

NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass
class RegisteredDeployment:
    spec: DeploymentSpec
    id: str
    parameters: dict[str, Any]
    """The resolved parameters registered with Prefect (placeholders expanded)."""
    parameter_schema: dict[str, Any] = field(default_factory=dict)
    """The flow's parameter schema (OpenAPI), published for the console's trigger form."""


@dataclass(frozen=True)
class ForeignDeployment:
    """A deployment on the Prefect server that this engine does not serve (a `flow.serve()`
    process or a work pool's workers run it); the engine acts on it through Prefect only."""

    id: str
    name: str
    """Prefect's full name, `flow_name/deployment_name`: its key in Redis and in commands."""
    flow_name: str
    served_by: str
    """`serve` or `pool:<work pool>` (engine/contract/documents.py `Deployment.served_by`)."""
    protected: bool = False
    parameter_schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class Registry:
    by_name: dict[str, RegisteredDeployment] = field(default_factory=dict)
    last_runs: dict[str, RunSummary] = field(default_factory=dict)
    foreign: dict[str, ForeignDeployment] = field(default_factory=dict)
    """The rest of the estate the estate filter shows, by full name (`set_foreign`)."""
    hidden_ids: set[str] = field(default_factory=set)
    """Ids of deployments the estate filter hides: their runs are not mirrored."""
    _foreign_names: dict[str, str] = field(default_factory=dict)
    """Foreign deployment names by id: every mirrored run looks its deployment up."""

    def set_foreign(self, found: dict[str, ForeignDeployment], hidden: set[str]) -> None:
        self.foreign, self.hidden_ids = found, hidden
        self._foreign_names = {foreign.id: name for name, foreign in found.items()}

    def drop_foreign(self, name: str) -> None:
        foreign = self.foreign.pop(name, None)
        if foreign is not None:
            self._foreign_names.pop(foreign.id, None)

    def add(self, deployment: RegisteredDeployment) -> None:
        self.by_name[deployment.spec.name] = deployment

    def flow_of(self, name: str) -> str:
        deployment = self.by_name.get(name)
        if deployment is not None:
            return deployment.spec.flow_name
        foreign = self.foreign.get(name)
        return foreign.flow_name if foreign else ""

    def secret_names(self, name: str) -> frozenset[str]:
        """The deployment's parameters marked secret (none for one not served here)."""
        deployment = self.by_name.get(name)
        return deployment.spec.secret_parameters if deployment else frozenset()

    def configured_secret_values(self) -> list[str]:
        """Every served deployment's own values of its secret parameters."""
        values = {
            value
            for deployment in self.by_name.values()
            for value in secret_values(deployment.parameters, deployment.spec.secret_parameters)
        }
        return sorted(values, key=len, reverse=True)

    def served_name_of(self, deployment_id: str) -> str:
        """The name of the deployment if this engine serves it, else ""."""
        for name, deployment in self.by_name.items():
            if deployment.id == deployment_id:
                return name
        return ""

    def name_of(self, deployment_id: str) -> str:
        """The name of any listed deployment, served here or not, else ""."""
        return self.served_name_of(deployment_id) or self._foreign_names.get(deployment_id, "")

    def listed(self) -> set[str]:
        """Every deployment name the engine writes to Redis."""
        return set(self.by_name) | set(self.foreign)

    def id_of(self, name: str) -> str:
        """The Prefect id of a listed deployment, or ""."""
        deployment = self.by_name.get(name)
        if deployment is not None:
            return deployment.id
        foreign = self.foreign.get(name)
        return foreign.id if foreign else ""

    def note_run(self, doc: FlowRun) -> bool:
        """Records `doc` as its deployment's last run if it is the latest. True if changed.

        Future scheduled runs do not count; a run waiting to be retried does."""
        name = doc.deployment_name
        if not name or (doc.state_type == "SCHEDULED" and doc.state_name != "AwaitingRetry"):
            return False
        current = self.last_runs.get(name)
        summary = doc.summary()
        if current == summary:
            return False
        newer_known = (
            current is not None
            and current.id != doc.id
            and (run_moment(current) or NEVER) > (run_moment(summary) or NEVER)
        )
        if newer_known:
            return False
        self.last_runs[name] = summary
        return True

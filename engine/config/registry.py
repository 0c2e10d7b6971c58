"""The deployments this engine serves: spec, Prefect id, and each one's latest run."""

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


@dataclass
class Registry:
    by_name: dict[str, RegisteredDeployment] = field(default_factory=dict)
    last_runs: dict[str, RunSummary] = field(default_factory=dict)

    def add(self, deployment: RegisteredDeployment) -> None:
        self.by_name[deployment.spec.name] = deployment

    def flow_of(self, name: str) -> str:
        deployment = self.by_name.get(name)
        return deployment.spec.flow_name if deployment else ""

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

    def name_of(self, deployment_id: str) -> str:
        for name, deployment in self.by_name.items():
            if deployment.id == deployment_id:
                return name
        return ""

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

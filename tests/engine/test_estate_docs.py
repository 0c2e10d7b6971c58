"""Documents of deployments the engine does not serve, and the registry's lookups of them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import DeploymentSchedule
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

from engine.bridge.documents import foreign_deployment_doc, served_by
from engine.commands.permissions import Refused, check_command, load_operators
from engine.config.registry import ForeignDeployment, Registry
from engine.contract.commands import Command
from engine.contract.identity import Identity

TEAM = "team-flow/daily"


def api(**fields: object) -> DeploymentResponse:
    return DeploymentResponse(id=uuid4(), name="hourly", flow_id=uuid4(), **fields)  # type: ignore[arg-type]


def schedule(value: CronSchedule | IntervalSchedule, active: bool = True) -> DeploymentSchedule:
    return DeploymentSchedule(id=uuid4(), schedule=value, active=active)


def test_served_by_names_the_work_pool_or_serve() -> None:
    assert served_by(api(work_pool_name="gpu")) == "pool:gpu"
    assert served_by(api()) == "serve"


def test_a_foreign_doc_takes_its_first_active_cron_and_says_it_records_no_lineage() -> None:
    deployment = api(
        schedules=[
            schedule(CronSchedule(cron="0 1 * * *", timezone="UTC"), active=False),
            schedule(IntervalSchedule(interval=timedelta(hours=1))),
            schedule(CronSchedule(cron="30 4 * * *", timezone="Europe/Paris")),
        ],
        parameters={"seconds": 1},
        work_pool_name="gpu",
    )
    foreign = ForeignDeployment(str(deployment.id), "etl/hourly", "etl", served_by(deployment))
    doc = foreign_deployment_doc(foreign, deployment, None)
    assert (doc.cron, doc.timezone) == ("30 4 * * *", "Europe/Paris")
    assert len(doc.next_fire_times) == 5
    assert (doc.served_by, doc.managed, doc.records_lineage) == ("pool:gpu", False, False)
    assert doc.parameters == {"seconds": 1} and doc.config_path == ""

    paused = foreign_deployment_doc(foreign, api(paused=True), None, resume_at="2030-01-01")
    assert (paused.cron, paused.next_fire_times, paused.resume_at) == ("", [], "2030-01-01")


def test_the_registry_finds_foreign_deployments_but_never_serves_them() -> None:
    registry = Registry()
    foreign = ForeignDeployment("id-1", "etl/hourly", "etl", "serve")
    registry.set_foreign({"etl/hourly": foreign}, {"id-hidden"})
    assert registry.name_of("id-1") == "etl/hourly"
    assert registry.served_name_of("id-1") == ""
    assert (registry.flow_of("etl/hourly"), registry.id_of("etl/hourly")) == ("etl", "id-1")
    assert registry.listed() == {"etl/hourly"}
    registry.drop_foreign("etl/hourly")
    assert registry.name_of("id-1") == "" and registry.listed() == set()
    assert registry.hidden_ids == {"id-hidden"}


async def test_operator_grants_apply_to_foreign_deployments_by_full_name(tmp_path: Path) -> None:
    (tmp_path / "operators.yaml").write_text(
        'operators:\n  ana:\n    - {deployments: "team-flow/*", role: operate}\n'
    )
    operators = load_operators(tmp_path)
    registry = Registry()
    registry.set_foreign({TEAM: ForeignDeployment("id-1", TEAM, "team-flow", "serve")}, set())
    ana = Identity("ana", "h")
    # A trigger or pause is judged on its target's name; Prefect is not asked.
    await check_command(operators, registry, None, Command("trigger", TEAM, identity=ana))  # type: ignore[arg-type]
    with pytest.raises(Refused, match="ana may not pause on deployment 'team-flow/daily'"):
        await check_command(operators, registry, None, Command("pause", TEAM, identity=ana))  # type: ignore[arg-type]

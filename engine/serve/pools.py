"""Deployments on a work pool: registered there for workers on any host, not served here."""

from __future__ import annotations

import logging
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.workers.process import ProcessWorker

from engine.config.spec import DeploymentSpec

logger = logging.getLogger("aiwf.engine.pools")

POOL_TYPE = "process"
"""The type of a pool the engine creates when a deployment names one that does not exist:
`prefect worker start --pool NAME --type process` on each host runs its flows as
subprocesses, importing them from the installed package (no code storage)."""


async def ensure_pool(prefect: PrefectClient, name: str) -> None:
    """Creates the process work pool `name` unless Prefect has it (of any type)."""
    try:
        await prefect.read_work_pool(name)
        return
    except ObjectNotFound:
        pass
    try:
        await prefect.create_work_pool(
            WorkPoolCreate(
                name=name,
                type=POOL_TYPE,
                base_job_template=ProcessWorker.get_default_base_job_template(),
            )
        )
        logger.info("created work pool %s (type %s)", name, POOL_TYPE)
    except ObjectAlreadyExists:  # another engine created it meanwhile
        pass


async def register_on_pool(
    prefect: PrefectClient, deployment: RunnerDeployment, spec: DeploymentSpec
) -> UUID:
    """Registers `deployment` on its spec's pool (and queue); its runs wait for a worker.

    The entrypoint is a module path of the installed package (`engine.pipeline....`), so a
    process worker on a host with the package installed imports the flow without pulling
    code; the host's environment gives the runs their Redis and result storage."""
    await ensure_pool(prefect, spec.work_pool)
    return await deployment.aapply(work_pool_name=spec.work_pool)

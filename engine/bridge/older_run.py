"""Answers a console's `RunQuery.run_of`: one flow run and its task runs as Prefect reports
them, for a run screen opened on a run older than the mirror keeps (a history page's run).
Built and scrubbed as the mirror builds them (secret parameters as fingerprints, secret
values out of state messages)."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import httpx
from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.exceptions import ObjectNotFound

from engine.bridge.documents import task_run_doc
from engine.bridge.secret_runs import SecretRuns
from engine.config.registry import Registry
from engine.contract.documents import Lineage
from engine.contract.history import RunPage
from engine.contract.secrets import scrub
from engine.contract.times import utc_now_iso

logger = logging.getLogger("aiwf.engine.queries")


async def older_run(
    prefect: PrefectClient, registry: Registry, secrets: SecretRuns, query_id: str, run_id: str
) -> RunPage:
    """`runs` = [the run], `task_runs` = its task runs; `ok: false` and why otherwise."""
    try:
        run_uuid = UUID(run_id)
    except ValueError:
        return RunPage(query_id=query_id, ok=False, error=f"bad query: {run_id!r} is no run id")
    try:
        run = await prefect.read_flow_run(run_uuid)
        tasks = await prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_uuid]))
        )
        name = registry.name_of(str(run.deployment_id)) if run.deployment_id else ""
        doc = await secrets.doc(prefect, run, name)
        hidden = await secrets.hidden(run_id, prefect)
    except ObjectNotFound:
        return RunPage(query_id=query_id, ok=False, error=f"Prefect has no flow run {run_id}")
    except (httpx.HTTPError, OSError) as exc:
        return RunPage(query_id=query_id, ok=False, error=f"Prefect API error: {exc}")
    lineage = await asyncio.to_thread(_lineage_of, run_id)
    task_docs = [task_run_doc(task) for task in tasks]
    if hidden:
        task_docs = [replace(t, state_message=scrub(t.state_message, hidden)) for t in task_docs]
    return RunPage(
        query_id=query_id,
        ok=True,
        total=1,
        runs=[doc],
        task_runs=task_docs,
        lineage=lineage,
        answered_at=utc_now_iso(),
    )


def _lineage_of(run_id: str) -> Lineage | None:
    """Its latest attempt from the lineage table the engine's flows write (pyarrow only
    now: an engine that is never asked for an older run never imports it)."""
    from engine.lineage.table import lineage_dir, read_latest_lineage

    try:
        return read_latest_lineage(run_id, lineage_dir())
    except (OSError, ValueError, KeyError, TypeError) as exc:  # unreadable: it still opens
        logger.warning("lineage of older run %s not read: %s", run_id, exc)
        return None

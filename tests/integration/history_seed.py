"""Flow runs put straight into Prefect (not through the engine) for the history tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect.exceptions import PrefectHTTPStatusError

KINDS = ("SCHEDULED", "FAILED", "COMPLETED", "CRASHED")
"""Run i gets KINDS[i % 4]; every run is first Scheduled at `now - i * SPACING`, so its
expected start (Prefect sets it from the first state) spreads over days."""
SPACING = timedelta(minutes=40)


@dataclass(frozen=True)
class Seeded:
    flow_id: str
    deployment_id: str
    token: str
    """In every seeded run's name: `hist-<token>-<i>`."""
    ids: list[str]
    """Of the deployment's runs, then of the ad-hoc ones (no deployment)."""


async def seed(prefect: Any, token: str, with_deployment: int, ad_hoc: int) -> Seeded:
    """A flow and a deployment nobody serves (its runs stay as seeded), `with_deployment`
    runs of it and `ad_hoc` runs without a deployment (the mirror keeps none of those)."""
    http = prefect._client
    flow = (await http.post("/flows/", json={"name": f"history-seed-{token}"})).json()
    deployment = (
        await http.post("/deployments/", json={"name": f"history-{token}", "flow_id": flow["id"]})
    ).json()
    now = datetime.now(timezone.utc)
    gate = asyncio.Semaphore(3)  # SQLite answers 503 to more writers at once on a busy host

    async def post(path: str, body: dict[str, Any]) -> Any:
        for attempt in range(10):
            try:
                return (await http.post(path, json=body)).json()
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != 503 or attempt == 9:
                    raise
            await asyncio.sleep(0.5 * (attempt + 1))

    async def one(i: int) -> str:
        async with gate:
            when = now - i * SPACING
            body: dict[str, Any] = {
                "flow_id": flow["id"],
                "name": f"hist-{token}-{i:04d}",
                "state": {
                    "type": "SCHEDULED",
                    "name": "Scheduled",
                    "state_details": {"scheduled_time": when.isoformat()},
                },
            }
            if i < with_deployment:
                body["deployment_id"] = deployment["id"]
            run = await post("/flow_runs/", body)
            kind = KINDS[i % len(KINDS)]
            if kind != "SCHEDULED":
                state = {"type": kind, "name": kind.title()}
                await post(f"/flow_runs/{run['id']}/set_state", {"state": state, "force": True})
            return str(run["id"])

    flow = await post("/flows/", {"name": f"history-seed-{token}"})
    deployment = await post("/deployments/", {"name": f"history-{token}", "flow_id": flow["id"]})
    ids = await asyncio.gather(*(one(i) for i in range(with_deployment + ad_hoc)))
    return Seeded(flow["id"], deployment["id"], token, list(ids))

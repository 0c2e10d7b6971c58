"""A team's flow served by its own `serve()` process: the engine neither has nor serves it.

Run as a script (`python team_flow.py`) from this folder, against the test stack's Prefect
server; it serves three deployments until it is stopped.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, serve

FLOW_NAME = "estate-team-flow"


@flow(name=FLOW_NAME)
def team_flow(seconds: float = 0.0, label: str = "team") -> str:
    time.sleep(seconds)
    return label


def main() -> None:
    # Outside an event loop `to_deployment` returns the deployment itself.
    deployments: list[Any] = [
        team_flow.to_deployment(name="team-daily", cron="0 3 * * *", tags=["team"]),
        team_flow.to_deployment(name="team-protected", tags=["team"]),
        team_flow.to_deployment(name="hidden-daily", tags=["team"]),
    ]
    serve(*deployments, print_starting_message=False)


if __name__ == "__main__":
    main()

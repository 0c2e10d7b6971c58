"""A team's flow served by its own `serve()` process: the engine neither has nor serves it.

Run as a script (`python team_flow.py`) from this folder, against the test stack's Prefect
server; it serves three deployments until it is stopped.
"""

from __future__ import annotations

import time

from prefect import flow, serve

FLOW_NAME = "estate-team-flow"


@flow(name=FLOW_NAME)
def team_flow(seconds: float = 0.0, label: str = "team") -> str:
    time.sleep(seconds)
    return label


if __name__ == "__main__":
    serve(
        team_flow.to_deployment(name="team-daily", cron="0 3 * * *", tags=["team"]),
        team_flow.to_deployment(name="team-protected", tags=["team"]),
        team_flow.to_deployment(name="hidden-daily", tags=["team"]),
        print_starting_message=False,
    )

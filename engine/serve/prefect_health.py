"""Whether the Prefect API answers: the engine checks it between heartbeats and puts the
answer in the heartbeat (`prefect_error`), so the console can say Prefect is unreachable."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.contract.redact import redact_text

CHECK_TIMEOUT_SECONDS = 10.0
"""An API that does not answer `/health` within this long counts as unreachable."""


async def prefect_problem(client: Any, api_url: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Why the Prefect API at `api_url` (the one `client` talks to) does not answer its
    health check, for an operator (password redacted); '' when it answers."""
    try:
        error = await asyncio.wait_for(client.api_healthcheck(), timeout)
    except TimeoutError:
        error = TimeoutError(f"no answer within {timeout:g} s")
    if error is None:
        return ""
    detail = str(error).strip() or type(error).__name__
    return redact_text(f"{api_url}/health failed: {detail}")

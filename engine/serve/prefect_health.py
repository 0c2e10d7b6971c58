"""Whether the Prefect API answers: the engine checks it between heartbeats and puts the
answer in the heartbeat (`prefect_error`), so the console can say Prefect is unreachable."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from prefect.client.orchestration import get_client

from engine.contract.keys import HEARTBEAT_INTERVAL_SECONDS
from engine.contract.redact import redact_text
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine")

CHECK_TIMEOUT_SECONDS = 10.0
"""An API that does not answer `/health` within this long counts as unreachable."""
CONNECT_CHECK_SECONDS = 2.0
"""How long the check of a silent API's port may take."""


async def prefect_problem(client: Any, api_url: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Why the Prefect API at `api_url` (the one `client` talks to) does not answer its
    health check, for an operator (password redacted); '' when it answers."""
    try:
        error = await within(client.api_healthcheck(), timeout)
    except asyncio.TimeoutError:
        # Prefect's client retries a refused connection with backoff, so a server that is
        # not running also ends here: say which it is.
        refused = await _connect_problem(api_url)
        error = TimeoutError(refused or f"no answer within {timeout:g} s")
    if error is None:
        return ""
    detail = str(error).strip() or type(error).__name__
    return redact_text(f"{api_url}/health failed: {detail}")


async def _connect_problem(api_url: str) -> str:
    """Why a TCP connection to the API's host and port fails ("connection refused: nothing
    listens there"), or '' if one opens (the server is there but does not answer)."""
    url = urlsplit(api_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        _reader, writer = await within(
            asyncio.open_connection(url.hostname, port), CONNECT_CHECK_SECONDS
        )
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on {url.hostname}:{port}"
    except (OSError, asyncio.TimeoutError) as exc:
        return f"cannot connect to {url.hostname}:{port}: {str(exc) or type(exc).__name__}"
    writer.close()
    return ""


class PrefectHealth:
    """Checks the API every heartbeat interval, forever; `problem` holds the last answer.

    Args:
        api_url: the API the engine uses (as shown: only for the message).
    """

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.problem = ""
        """Why the last check failed ('' if the API answered)."""

    async def run(self) -> None:
        while True:
            try:
                async with get_client() as prefect:
                    while True:
                        self._note(await prefect_problem(prefect, self.api_url))
                        await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)
            except Exception as exc:  # never the engine's end: it is only a check
                self._note(redact_text(f"{self.api_url}: {exc}"))
                await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)

    def _note(self, problem: str) -> None:
        if problem and problem != self.problem:
            logger.warning("Prefect API unreachable: %s", problem)
        elif self.problem and not problem:
            logger.info("Prefect API answers again")
        self.problem = problem

"""How long a command may wait for Prefect, and the reason given when Prefect does not answer."""

from __future__ import annotations

import os

import httpx

from engine.contract.redact import redact_url

PREFECT_COMMAND_SECONDS = float(os.environ.get("AIWF_PREFECT_COMMAND_SECONDS", "8"))
"""A command's whole time with the Prefect API. Prefect's client retries a lost connection
for ~75 s (PREFECT_CLIENT_MAX_RETRIES with backoff), which kept the sender waiting and told
it only `ConnectError`; past this budget the command fails and says Prefect is away.
`AIWF_PREFECT_COMMAND_SECONDS` changes it."""


def prefect_unreachable(api_url: str, exc: BaseException | None, seconds: float) -> str | None:
    """The operator's reason when Prefect did not answer, or None for other errors."""
    where = f"Prefect API at {redact_url(api_url).rstrip('/')}"
    if exc is None:
        return f"{where} did not answer within {seconds:.0f} s; is the Prefect server running?"
    if isinstance(exc, httpx.TransportError):
        return f"{where} unreachable ({type(exc).__name__}: {exc}); is the Prefect server running?"
    return None

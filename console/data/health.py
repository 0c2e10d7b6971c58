"""Why the console is empty or degraded, and what to do: Redis unreachable, no engine, the
engine's config errors, no deployments served, Prefect unreachable (from the store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from console.data.state import Store
from engine.contract.redact import redact_text, redact_url

Severity = Literal["error", "warning"]

CONFIG_ERRORS_SHOWN = 5
"""Config errors listed on the main screen; the rest are counted (all are in the engine log
and in `aiwf-engine validate`)."""


@dataclass(frozen=True)
class Problem:
    """One reason the screen is empty or out of date, with what the operator can do."""

    severity: Severity
    title: str
    """One line: what is wrong."""
    short: str
    """A few words for the status line."""
    details: tuple[str, ...] = ()
    """Lines that explain it (file and message, the error text)."""
    action: str = ""
    """What to do about it."""


def problems(store: Store) -> list[Problem]:
    """What is wrong now, worst first; empty when all is well (or not known yet)."""
    if store.connected is False:
        return [_redis_down(store)]
    if not store.connected or not store.heartbeat_read:
        return []  # still connecting: nothing is known to be wrong yet
    engine = store.engine
    if engine is None:
        return [_engine_down(store)]
    found: list[Problem] = []
    if engine.prefect_error:
        found.append(
            Problem(
                "error",
                f"Prefect unreachable at {redact_url(engine.prefect_api_url)}",
                "Prefect unreachable",
                (redact_text(engine.prefect_error),),
                "Runs, states and logs here stop changing until it answers, and commands "
                "that need Prefect fail. Check the Prefect server is running and that the "
                "engine's PREFECT_API_URL points at it; this clears by itself when it answers.",
            )
        )
    if engine.config_errors:
        found.append(_config_errors(engine.config_errors, engine.config_dir))
    elif engine.deployments == 0:
        where = f"{engine.config_dir}/deployments" if engine.config_dir else "deployments/"
        found.append(
            Problem(
                "warning",
                "The engine serves no deployments",
                "no deployments",
                (f"No deployment file in {where}.",),
                "Add a deployment YAML there (or point AIWF_CONFIG_DIR at a config dir that "
                "has some), check it with `aiwf-engine validate`, then restart the engine: it "
                "reads its config when it starts.",
            )
        )
    return found


def _redis_down(store: Store) -> Problem:
    reason = f": {store.connection_reason}" if store.connection_reason else ""
    return Problem(
        "error",
        f"Redis unreachable at {redact_url(store.redis_url)}",
        "Redis unreachable",
        (f"The console cannot read Redis{redact_text(reason)}.",),
        "It retries by itself and shows what changed meanwhile. Check that Redis runs and "
        "that --redis-url (or AIWF_REDIS_URL) names it.",
    )


def _engine_down(store: Store) -> Problem:
    details = [f"No heartbeat at {store.prefix}:engine:heartbeat: no engine is running."]
    if store.services_note:
        details.append(store.services_note)
    return Problem(
        "error",
        "Engine not running",
        "engine not running",
        tuple(details),
        "Start it with `aiwf-engine run` (or `systemctl start aiwf-engine`), with the same "
        "Redis URL and prefix as this console; `aiwf-console --demo` starts everything. "
        "Commands sent meanwhile wait on the stream until an engine runs (and expire after "
        "their deadline).",
    )


def _config_errors(errors: list[str], config_dir: str) -> Problem:
    count = len(errors)
    shown = [redact_text(line) for line in errors[:CONFIG_ERRORS_SHOWN]]
    if count > CONFIG_ERRORS_SHOWN:
        shown.append(f"... and {count - CONFIG_ERRORS_SHOWN} more (all in the engine log)")
    where = f" in {config_dir}" if config_dir else ""
    plural = "s" if count != 1 else ""
    return Problem(
        "warning",
        f"{count} config error{plural}{where}: those deployments are not served",
        f"{count} config error{plural}",
        tuple(shown),
        "Fix the file, check it with `aiwf-engine validate`, then restart the engine: it "
        "reads its config when it starts.",
    )


def summary(found: list[Problem]) -> str:
    """The status line's few words for `found` ('' when nothing is wrong)."""
    return "; ".join(problem.short for problem in found)

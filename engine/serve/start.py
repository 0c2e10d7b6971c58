"""`aiwf-engine run`'s start: load the config, check Redis, build the engine and run it
until a signal stops it; and the environment the flow-run subprocesses inherit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from engine.config.loader import load_deployments
from engine.contract.checked_yaml import ConfigFileInvalid
from engine.contract.redact import redact_url
from engine.contract.redis_url import setup_problem
from engine.serve.engine import Engine, EngineSettings

logger = logging.getLogger("aiwf.engine")


def run_environment(settings: EngineSettings) -> dict[str, str]:
    """Environment variables the engine gives the flow-run subprocesses."""
    return {
        "AIWF_CONFIG_DIR": str(settings.config_dir),
        "AIWF_STATE_DIR": str(settings.state_dir),
        "AIWF_REDIS_URL": settings.redis_url,
        "AIWF_REDIS_PREFIX": settings.prefix,
        # Task results (the cache a retry reuses) live in the state dir unless the operator
        # chose a place.
        "PREFECT_LOCAL_STORAGE_PATH": os.environ.get(
            "PREFECT_LOCAL_STORAGE_PATH", str(settings.state_dir / "results")
        ),
    }


async def run_engine(settings: EngineSettings) -> int:
    logger.info(
        "engine starting: Redis %s (prefix %s), Prefect API %s (%s)",
        redact_url(settings.redis_url),
        settings.prefix,
        redact_url(settings.api_url),
        "embedded local server" if settings.prefect_embedded else "from Prefect's settings",
    )
    loaded = load_deployments(settings.config_dir)
    for error in loaded.errors:
        logger.error("config: %s", error)
    if not loaded.specs:
        logger.warning("no valid deployment in %s; serving none", settings.config_dir)
    # Flow runs execute in subprocesses of the runner, which inherit this environment: they
    # find the model files, persist cacheable task results under the state dir (so a
    # retried run reuses them), and write their lineage into this Redis.
    os.environ.update(run_environment(settings))
    problem = setup_problem(settings.redis_url)
    if problem:  # a wrong CA, password or ACL: say so once, plainly, instead of a traceback
        logger.error("%s", problem)
        return 1
    try:
        engine = Engine(settings, loaded)
    except ConfigFileInvalid as exc:  # a broken operators file: never fall back to open mode
        for line in str(exc).splitlines():
            logger.error("config: %s", line)
        return 1
    loop = asyncio.get_running_loop()
    # SIGHUP too: an engine started from a terminal that closes stops cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, engine.request_stop)
    await engine.run()
    return 0

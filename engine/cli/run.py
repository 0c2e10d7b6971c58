"""`aiwf-engine run`: start the Redis and Prefect server it needs where no URL is set
(stopping them again however the engine ends), then serve (engine/serve/start.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from engine.cli.output import EXIT_ERROR, EXIT_OK
from engine.cli.prefect_choice import (
    EMBEDDED_ENV,
    apply_environment,
    configured_prefect,
    prefect_environment,
)
from engine.contract.paths import default_config_dir, state_dir
from engine.contract.redact import RedactingFormatter, redact_url
from engine.serve.shutdown import exit_unless_threads_finish, run_without_joining
from engine.stack.launcher import EmbeddedRedis, LaunchError, LocalPrefectServer, prefix_from_env
from engine.stack.state_lock import state_dir_lock
from engine.stack.stop_signals import StopSignal, cleanup_uninterrupted, stop_signals_handled


def cmd_run(args: argparse.Namespace) -> int:
    code = _serve(args)
    # A stop while Redis or Prefect does not answer: threads still in their socket reads
    # are not waited for (engine/serve/shutdown.py).
    exit_unless_threads_finish(code)
    return code


def _serve(args: argparse.Namespace) -> int:
    # Passwords in URLs never reach the log, even inside a library's traceback.
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # One line per HTTP request to the API drowns what the engine itself says.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    state = state_dir()
    config_dir = (args.config or default_config_dir()).resolve()
    started: list[EmbeddedRedis | LocalPrefectServer] = []
    redis_url = args.redis_url or os.environ.get("AIWF_REDIS_URL", "")
    # SIGTERM/SIGHUP before the engine's loop runs (while its Redis or Prefect server
    # starts) raise StopSignal, so `finally` stops what was started; the loop then takes
    # them over (run_engine), and the cleanup below runs with them ignored.
    try:
        with stop_signals_handled():
            choice = configured_prefect()
            api_url = choice.api_url
            if choice.configured:
                print(f"Prefect: using {redact_url(api_url)} from {choice.source}")
            if not redis_url or not api_url:
                with state_dir_lock(state, print):
                    redis_url, api_url = _start_own_services(state, redis_url, api_url, started)
            apply_environment(prefect_environment(choice, api_url))
            from engine.serve.engine import EngineSettings
            from engine.serve.start import run_engine

            settings = EngineSettings(
                config_dir=config_dir,
                state_dir=state,
                redis_url=redis_url,
                prefix=args.prefix or prefix_from_env(),
                api_url=api_url,
                # Its own server, or the demo launcher's (which passes the URL in the env).
                prefect_embedded=not choice.configured or os.environ.get(EMBEDDED_ENV) == "1",
            )
            return run_without_joining(run_engine(settings))
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
    except StopSignal as stop:
        print(f"{stop}: stopping what this engine started", file=sys.stderr)
        return stop.exit_code
    finally:
        with cleanup_uninterrupted():
            for service in reversed(started):
                service.stop()


def _start_own_services(
    state: Path,
    redis_url: str,
    api_url: str,
    started: list[EmbeddedRedis | LocalPrefectServer],
) -> tuple[str, str]:
    """Starts (or reuses) the embedded Redis and Prefect server where no URL is set; what
    it starts goes into `started` and dies with this process even if it is SIGKILLed."""
    if not redis_url:
        embedded = EmbeddedRedis(state, tied_to_parent=True)
        if embedded.start(print):
            started.append(embedded)
        redis_url = embedded.url
    if not api_url:
        server = LocalPrefectServer(state, tied_to_parent=True)
        if server.start(print):
            started.append(server)
        api_url = server.api_url
    return redis_url, api_url

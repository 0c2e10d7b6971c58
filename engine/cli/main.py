"""`aiwf-engine`: serve deployments, validate config, and send operator commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
import yaml

from engine.cli import backfill as backfill_cli
from engine.contract.command_client import CommandClient
from engine.contract.commands import DEFAULT_DEADLINE_SECONDS
from engine.contract.keys import Keys
from engine.contract.paths import default_config_dir, state_dir
from engine.contract.pause_window import UNTIL_HELP, WindowError, parse_until
from engine.contract.redact import RedactingFormatter
from engine.contract.redis_url import describe_redis_error
from engine.stack.launcher import (
    EmbeddedRedis,
    LaunchError,
    LocalPrefectServer,
    engine_alive,
    prefect_env,
    prefix_from_env,
    redis_url_from_env,
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3

ENV_HELP = """environment:
  AIWF_REDIS_URL      Redis to use (default: the private embedded Redis in the state dir)
  AIWF_REDIS_PREFIX   key prefix in Redis (default: aiwf)
  AIWF_STATE_DIR      state dir (default: $XDG_STATE_HOME/aiwf-console)
  AIWF_CONFIG_DIR     config dir (default: the bundled config/)
  PREFECT_API_URL     Prefect API (default for `run`: a local server in the state dir)
"""


def _add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        default=None,
        help="Redis URL (default: $AIWF_REDIS_URL, else the embedded Redis)",
    )
    parser.add_argument(
        "--prefix", default=None, help="Redis key prefix (default: $AIWF_REDIS_PREFIX, else aiwf)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiwf-engine",
        description="Serve AI pipeline deployments with Prefect, mirror their state into "
        "Redis, and send operator commands.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="register and serve every valid deployment until stopped",
        description="Registers every valid deployment file with the Prefect "
        "API, executes their runs, mirrors state and logs into Redis and "
        "executes operator commands. Stops cleanly on SIGINT/SIGTERM. "
        "Starts a private Redis and a local Prefect server if "
        "AIWF_REDIS_URL / PREFECT_API_URL are not set.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config dir holding deployments/ and models/ (default: %(default)s "
        "-> $AIWF_CONFIG_DIR or the bundled config/)",
    )
    _add_connection_args(run)

    validate = sub.add_parser("validate", help="check deployment files; exit 1 on any error")
    validate.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config dir to check (default: $AIWF_CONFIG_DIR or bundled)",
    )

    wait_help = "seconds to wait for the engine's answer (default: %(default)s; 0: don't wait)"
    trigger = sub.add_parser("trigger", help="start a run of a deployment now")
    trigger.add_argument("deployment", help="deployment name, e.g. ai-inference-prod")
    trigger.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="parameter override (VALUE parsed as YAML); repeatable",
    )
    trigger.add_argument(
        "--date",
        default=None,
        metavar="DATE",
        help="the logical date the run computes: YYYY-MM-DD (midnight in the deployment's "
        "zone) or an ISO datetime; fills the deployment's {date:FMT} templates "
        "(default: now)",
    )
    for name, target, text in (
        ("retry", "run_id", "run a finished flow run again (AwaitingRetry)"),
        ("cancel", "run_id", "cancel a scheduled or running flow run"),
        ("pause", "deployment", "pause a deployment's schedule"),
        ("resume", "deployment", "resume a deployment's schedule"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument(target, help="flow run id" if target == "run_id" else "deployment name")
    sub.choices["pause"].add_argument(
        "--until",
        default=None,
        metavar="WHEN",
        help=f"resume automatically then ({UNTIL_HELP}; local time, or ISO with an offset); "
        "the engine resumes it even with no console open (default: paused until resumed)",
    )
    sub.choices["retry"].add_argument(
        "--full",
        action="store_true",
        help="rerun every task, ignoring cached results (default: reuse finished tasks)",
    )
    sub.choices["retry"].add_argument(
        "--from-task",
        default="",
        metavar="NAME",
        help="rerun task NAME and every task after it even if cached; tasks before it reuse "
        "their cached results (e.g. run_inference)",
    )
    backfill_cli.add_arguments(
        sub.add_parser(
            "backfill",
            help="run a deployment once per cron fire time of a past window",
            description="Creates one run of the deployment for every fire time of its cron "
            "(in its zone) from --start (included) to --end (excluded), at most "
            "--max-concurrent unfinished at once. --dry-run lists the fire times first.",
        )
    )
    for name in ("trigger", "retry", "cancel", "pause", "resume", "backfill"):
        action = sub.choices[name]
        action.add_argument("--wait", type=float, default=30.0, help=wait_help)
        action.add_argument("--json", action="store_true", help="print the result as JSON")
        action.add_argument(
            "--deadline",
            type=float,
            default=DEFAULT_DEADLINE_SECONDS,
            metavar="SECONDS",
            help="the engine refuses the command if it has not started it within SECONDS of "
            "sending (an engine that was down does not act on it later; default: %(default)s)",
        )
        _add_connection_args(action)
    return parser


def parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {pair!r}: expected KEY=VALUE")
        try:
            params[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            raise ValueError(f"--param {key}: value is not valid YAML: {exc}") from exc
    return params


def cmd_validate(config_dir: Path) -> int:
    from engine.commands.permissions import load_operators
    from engine.config.loader import load_deployments
    from engine.contract.checked_yaml import ConfigFileInvalid

    result = load_deployments(config_dir)
    errors = [str(error) for error in result.errors]
    try:
        operators = load_operators(config_dir)
    except ConfigFileInvalid as exc:
        errors += [str(error) for error in exc.errors]
    else:
        if operators.path is not None:
            print(f"ok: {operators.path}: {len(operators.grants)} operator(s)")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    for spec in result.specs:
        print(
            f"ok: {spec.path}: {spec.name} ({spec.flow_name}, cron {spec.cron!r} {spec.timezone})"
        )
    if errors:
        print(f"{len(errors)} error(s) in {config_dir}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{len(result.specs)} deployment file(s) valid in {config_dir}")
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    target = getattr(args, "deployment", None) or getattr(args, "run_id", None) or ""
    try:
        params = parse_params(getattr(args, "param", []))
        if getattr(args, "full", False):
            params["refresh_cache"] = True
        if getattr(args, "from_task", ""):
            params["from_task"] = args.from_task
        if getattr(args, "date", None):
            params["logical_date"] = args.date
        if args.command == "backfill":
            params = backfill_cli.params_of(args)
        until = getattr(args, "until", None)
        if until:
            moment = parse_until(until, datetime.now().astimezone())
            if moment is not None:
                params["resume_at"] = moment.astimezone(timezone.utc).isoformat()
    except WindowError as exc:
        print(f"error: --until {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    url = args.redis_url or redis_url_from_env(state_dir())
    keys = Keys(args.prefix or prefix_from_env())
    client = redis.Redis.from_url(url, socket_timeout=args.wait + 5)
    try:
        alive = engine_alive(client, keys)
        commands = CommandClient(client, keys)
        command = commands.send(args.command, target, params, deadline_seconds=args.deadline)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except redis.RedisError as exc:
        print(f"error: {describe_redis_error(url, exc)}", file=sys.stderr)
        return EXIT_ERROR
    if not alive:
        print(
            f"engine is not running: {command.describe()} is queued as {command.id} and "
            "will run when the engine is back",
            file=sys.stderr,
        )
    if args.wait <= 0:
        print(command.id)
        return EXIT_OK
    # A cancel is done when Prefect reports the run Cancelled: wait past `cancelling`.
    result = commands.wait_final(command.id, args.wait)
    if result is None:
        print(
            f"no answer within {args.wait:.0f}s; command {command.id} stays queued", file=sys.stderr
        )
        return EXIT_NO_ANSWER
    if args.json:
        print(result.to_json())
    elif not result.final:
        print(
            f"cancelling: {result.message}; not confirmed within {args.wait:.0f}s. The engine "
            f"keeps watching: the final result of command {command.id} goes to the audit trail",
            file=sys.stderr,
        )
    else:
        print(
            ("ok: " if result.ok else "error: ") + result.message,
            file=sys.stdout if result.ok else sys.stderr,
        )
    if not result.final:
        return EXIT_NO_ANSWER
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_run(args: argparse.Namespace) -> int:
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
    api_url = os.environ.get("PREFECT_API_URL", "")
    try:
        if not redis_url:
            embedded = EmbeddedRedis(state)
            if embedded.start(print):
                started.append(embedded)
            redis_url = embedded.url
        if not api_url:
            server = LocalPrefectServer(state)
            if server.start(print):
                started.append(server)
            api_url = server.api_url
        # Prefect reads its settings when first imported: set them before importing it.
        os.environ.update(
            prefect_env(state / "prefect", inherit=False)
            | {
                "PREFECT_API_URL": api_url,
                # Never fall back to a throwaway in-process server: runs would vanish.
                "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "false",
            }
        )
        from engine.serve.engine import EngineSettings, run_engine

        settings = EngineSettings(
            config_dir=config_dir,
            state_dir=state,
            redis_url=redis_url,
            prefix=args.prefix or prefix_from_env(),
            api_url=api_url,
        )
        return asyncio.run(run_engine(settings))
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        for service in reversed(started):
            service.stop()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        code = cmd_validate((args.config or default_config_dir()).resolve())
    elif args.command == "run":
        code = cmd_run(args)
    elif args.command == "backfill" and args.dry_run:
        code = backfill_cli.dry_run(args)
    else:
        code = cmd_send(args)
    sys.exit(code)


if __name__ == "__main__":
    main()

# PYTHON_ARGCOMPLETE_OK  (argcomplete: this entry point answers completion requests)
"""`aiwf-engine`: serve deployments, validate config, send operator commands, and report
status and runs (see `engine/cli/output.py` for the exit codes and --json)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis

from engine.cli import backfill as backfill_cli
from engine.cli import completion
from engine.cli import init as init_cli
from engine.cli import run as run_cli
from engine.cli import runs as runs_cli
from engine.cli import status as status_cli
from engine.cli.connection import (
    BadRedisUrl,
    add_connection_args,
    bad_url,
    connect,
    redis_failed,
)
from engine.cli.output import (
    EXIT_ERROR,
    EXIT_HELP,
    EXIT_INTERRUPTED,
    EXIT_NO_ANSWER,
    EXIT_OK,
    EXIT_USAGE,
    Output,
    Parser,
)
from engine.cli.params import parse_params
from engine.cli.surface import add_script_surface
from engine.cli.validate import cmd_validate
from engine.cli.watch import watch_run
from engine.contract.command_client import CommandClient
from engine.contract.commands import DEFAULT_DEADLINE_SECONDS
from engine.contract.keys import Keys
from engine.contract.paths import default_config_dir
from engine.contract.pause_window import UNTIL_HELP, WindowError, parse_until
from engine.contract.version import version_line
from engine.stack.launcher import engine_alive

__all__ = [
    "EXIT_ERROR", "EXIT_NO_ANSWER", "EXIT_OK", "EXIT_USAGE", "build_parser", "cmd_validate", "main",
    "parse_params",
]  # fmt: skip

ENV_HELP = """environment:
  AIWF_REDIS_URL      Redis to use (default: the private embedded Redis in the state dir)
  AIWF_REDIS_PREFIX   key prefix in Redis (default: aiwf)
  AIWF_STATE_DIR      state dir (default: $XDG_STATE_HOME/aiwf-console)
  AIWF_CONFIG_DIR     config dir (default: the user config dir if it exists, else bundled)
  PREFECT_API_URL     Prefect API; `run` reads it (and every Prefect setting) where Prefect
                      does: environment, .env, the active profile (`prefect config set`),
                      and starts a local server in the state dir only if none sets it
"""
MAIN_EPILOG = (
    ENV_HELP + "\n" + EXIT_HELP + "\n" + completion.COMPLETION_HELP.format(prog="aiwf-engine")
)


_add_connection_args = add_connection_args


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="aiwf-engine",
        description="Serve AI pipeline deployments with Prefect, mirror their state into "
        "Redis, and send operator commands.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=version_line("aiwf-engine", "prefect", "redis")
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="register and serve every valid deployment until stopped",
        description="Registers every valid deployment file with the Prefect "
        "API, executes their runs, mirrors state and logs into Redis and "
        "executes operator commands. Stops cleanly on SIGINT/SIGTERM/SIGHUP, "
        "also while starting. Starts a private Redis if AIWF_REDIS_URL is not set, and a "
        "local Prefect server if Prefect's settings (environment, .env, profile) name no "
        "PREFECT_API_URL; both stop with it.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config dir holding deployments/ and models/ (default: %(default)s "
        "-> $AIWF_CONFIG_DIR, else the user config dir if it exists, else the bundled config)",
    )
    _add_connection_args(run)

    init_cli.add_arguments(
        sub.add_parser(
            "init",
            help="write an editable copy of the bundled config (default: the user config dir)",
            description="Copies the bundled deployments, models and console.yaml into DIR. "
            "Config lookup: $AIWF_CONFIG_DIR, else the user config dir if it exists, else "
            "the bundled config.",
        )
    )
    validate = sub.add_parser("validate", help="check deployment files; exit 1 on any error")
    validate.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config dir to check (default: $AIWF_CONFIG_DIR, else the user config dir if "
        "it exists, else the bundled config)",
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
        help="parameter override (VALUE parsed as YAML; dates stay strings); repeatable",
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
    add_script_surface(sub)
    return parser


def command_params(args: argparse.Namespace) -> dict[str, Any]:
    """The command's params from its options.

    Raises:
        ValueError: a bad -p KEY=VALUE or --until (the message names the option).
    """
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
        try:
            moment = parse_until(until, datetime.now().astimezone())
        except WindowError as exc:
            raise ValueError(f"--until {exc}") from exc
        if moment is not None:
            params["resume_at"] = moment.astimezone(timezone.utc).isoformat()
    return params


def cmd_send(args: argparse.Namespace) -> int:
    out = Output(json=args.json)
    target = getattr(args, "deployment", None) or getattr(args, "run_id", None) or ""
    watch = getattr(args, "watch", False)
    if watch and args.wait <= 0:
        return out.fail(EXIT_USAGE, "usage", "--watch needs the engine's answer: --wait > 0")
    try:
        params = command_params(args)
    except ValueError as exc:
        return out.fail(EXIT_USAGE, "usage", str(exc))
    conn = connect(args, timeout=args.wait + 5)
    try:
        return send_and_report(args, out, conn.client, conn.keys, target, params)
    except redis.RedisError as exc:
        return redis_failed(out, conn.url, exc)
    finally:
        conn.close()


def send_and_report(
    args: argparse.Namespace,
    out: Output,
    client: redis.Redis,
    keys: Keys,
    target: str,
    params: dict[str, Any],
) -> int:
    alive = engine_alive(client, keys)
    commands = CommandClient(client, keys)
    try:
        command = commands.send(args.command, target, params, deadline_seconds=args.deadline)
    except ValueError as exc:
        return out.fail(EXIT_USAGE, "usage", str(exc))
    if not alive:
        out.warn(
            f"engine is not running: {command.describe()} is queued as {command.id} and "
            "will run when the engine is back"
        )
    if args.wait <= 0:
        return out.emit(EXIT_OK, {"status": "sent", "command_id": command.id}, command.id)
    # A cancel is done when Prefect reports the run Cancelled: wait past `cancelling`.
    result = commands.wait_final(command.id, args.wait)
    if result is None:
        return out.fail(
            EXIT_NO_ANSWER,
            "no_answer",
            f"no answer within {args.wait:.0f}s; command {command.id} stays queued",
            command_id=command.id,
        )
    if not result.final:
        return out.struct(
            EXIT_NO_ANSWER,
            result,
            f"cancelling: {result.message}; not confirmed within {args.wait:.0f}s. The engine "
            f"keeps watching: the final result of command {command.id} goes to the audit trail",
        )
    if getattr(args, "watch", False) and result.ok and result.flow_run_id:
        out.info(f"ok: {result.message}")
        return watch_run(client, keys, result.flow_run_id, out, {"command_id": command.id})
    code = EXIT_OK if result.ok else EXIT_ERROR
    return out.struct(code, result, ("ok: " if result.ok else "error: ") + result.message)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    completion.enable(parser)
    Parser.json_errors = "--json" in (sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        code = dispatch(args)
    except BadRedisUrl as exc:
        code = bad_url(Output(json=getattr(args, "json", False)), exc)
    except KeyboardInterrupt:
        # A command already sent stays sent: say where its answer will be, not a traceback.
        code = Output(json=getattr(args, "json", False)).fail(
            EXIT_INTERRUPTED, "interrupted", "interrupted; a command already sent still runs "
            "(its result is in the audit trail: `a` in the console)",
        )  # fmt: skip
    except BrokenPipeError:
        # `aiwf-engine runs | head`: the reader left; no traceback (Python's documented way).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "init":
        code = init_cli.cmd_init(args)
    elif args.command == "validate":
        code = cmd_validate((args.config or default_config_dir()).resolve(), args.json)
    elif args.command == "run":
        code = run_cli.cmd_run(args)
    elif args.command == "status":
        code = status_cli.cmd_status(args)
    elif args.command == "runs":
        code = runs_cli.cmd_runs(args)
    elif args.command == "backfill" and args.dry_run:
        code = backfill_cli.dry_run(args)
    else:
        code = cmd_send(args)
    return code


if __name__ == "__main__":
    main()

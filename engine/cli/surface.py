"""What `aiwf-engine` offers scripts on top of the commands: `status` and `runs`, `trigger
--watch`, `validate --json`, exit codes in every `--help`, and completion of deployment
names. Added in one call at the end of `build_parser`, so the commands' own definitions stay
as they are."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli import completion
from engine.cli import runs as runs_cli
from engine.cli import status as status_cli
from engine.cli.connection import add_connection_args
from engine.cli.output import EXIT_HELP

COMMANDS = ("trigger", "retry", "cancel", "pause", "resume", "backfill")
"""The subcommands that send a command to the engine."""


def add_script_surface(sub: argparse._SubParsersAction[Any]) -> None:
    for name, module, text in (
        ("status", status_cli, "engine, Redis, Prefect and each deployment's next and last run"),
        ("runs", runs_cli, "list flow runs, newest first (--deployment, --state, --since)"),
    ):
        parser = sub.add_parser(name, help=text, description=text)
        module.add_arguments(parser)
        add_connection_args(parser)
    sub.choices["trigger"].add_argument(
        "--watch",
        action="store_true",
        help="follow the run to its final state, printing its log lines; exit 0 Completed, "
        "1 Failed or Crashed, 4 Cancelled (with --json the lines go to stderr)",
    )
    sub.choices["validate"].add_argument(
        "--json", action="store_true", help="print the result as JSON"
    )
    for name in (*COMMANDS, "status", "runs"):
        parser = sub.choices[name]
        parser.epilog = EXIT_HELP
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        for action in parser._actions:
            if action.dest == "deployment" and not action.option_strings:
                completion.complete_deployments(action)

"""How every `aiwf-engine` outcome is printed: text for people, or with `--json` exactly one
JSON object on stdout (errors too), and the exit codes both share."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, NoReturn

import msgspec

from engine.contract.redact import redact_text

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_ANSWER = 3
EXIT_CANCELLED = 4
EXIT_DEGRADED = 5
EXIT_INTERRUPTED = 130

EXIT_HELP = """exit codes:
  0  done: the engine answered ok; `status`: engine, Redis and Prefect all up;
     `trigger --watch`: the run Completed
  1  error: the engine refused the command, Redis is unreachable or refused the login,
     an unknown deployment; `trigger --watch`: the run Failed or Crashed
  2  bad arguments: an unknown option, a bad -p KEY=VALUE, --until or --since
  3  no final answer within --wait seconds (the command stays queued), or a cancel
     still cancelling
  4  `trigger --watch`: the run was Cancelled
  5  `status`: degraded (no engine heartbeat, Prefect unreachable, or config errors)
  130 interrupted (Ctrl-C); a watched run goes on
with --json, every outcome (errors included) is one JSON object on stdout with
"status", "exit_code" and, for errors, "error" (a kind) and "message"; text goes to stderr
"""


@dataclass
class Output:
    """Prints one command's outcome as text or, with `json`, as one JSON object.

    Warnings gathered on the way (`warn`) go to stderr at once as text, and into the JSON
    object's `warnings` list with --json, so a script sees them without parsing stderr.
    """

    json: bool = False
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        if not self.json:
            print(text, file=sys.stderr, flush=True)

    def info(self, text: str) -> None:
        """Progress for people (log lines of a watched run): stdout as text, stderr with
        --json so stdout stays one JSON object."""
        print(text, file=sys.stderr if self.json else sys.stdout, flush=True)

    def emit(self, code: int, payload: dict[str, Any], text: str = "") -> int:
        """Prints the outcome (`payload` as JSON, or `text`) and returns the exit code."""
        if self.json:
            doc = {**payload, "exit_code": code}
            if self.warnings:
                doc["warnings"] = list(self.warnings)
            print(json.dumps(doc, sort_keys=True, default=str), flush=True)
        elif text:
            print(text, file=sys.stdout if code == EXIT_OK else sys.stderr, flush=True)
        return code

    def fail(self, code: int, kind: str, message: str, **fields: Any) -> int:
        """An error outcome: `error: message` on stderr, or {"status": "error", "error":
        kind, "message": ...}. The message is redacted (no password of a URL in it)."""
        message = redact_text(message)
        payload = {"status": "error", "error": kind, "message": message, **fields}
        return self.emit(code, payload, f"error: {message}")

    def struct(self, code: int, document: msgspec.Struct, text: str) -> int:
        """An outcome that is a contract document (an engine's CommandResult)."""
        return self.emit(code, msgspec.to_builtins(document), text)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one JSON object when --json is on the line.

    argparse decides errors before the arguments are known, so `main` sets `json_errors`
    from the raw argv; subparsers are made of this class too.
    """

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            Output(json=True).fail(EXIT_USAGE, "usage", f"{self.prog}: {message}")
            sys.exit(EXIT_USAGE)
        super().error(message)

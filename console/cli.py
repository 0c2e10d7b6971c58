# PYTHON_ARGCOMPLETE_OK  (argcomplete: this entry point answers completion requests)
"""`aiwf-console`: attach to a running installation, or `--demo` to start one first."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from console.settings.console_yaml import settings_or_exit
from engine.contract.keys import Keys
from engine.contract.paths import default_config_dir, state_dir
from engine.contract.redact import redact_text
from engine.contract.version import version_line
from engine.stack.demo_lease import DemoLease
from engine.stack.launcher import (
    LaunchError,
    prefix_from_env,
    redis_url_from_env,
    stack_from_env,
)
from engine.stack.stop_signals import StopSignal, cleanup_uninterrupted, stop_signals_handled
from themes import DEFAULT_THEME, THEMES
from themes.user import load_user_themes, report_by_file

if TYPE_CHECKING:
    from textual.app import App

EXIT_CONFIG = 2
"""Exit status for bad arguments or a bad settings file."""

EPILOG = """\
environment:
  AIWF_REDIS_URL     Redis to attach to when --redis-url is not given
                     (default: the embedded Redis socket in the state dir)
  AIWF_REDIS_PREFIX  key prefix when --prefix is not given (default: aiwf)
  AIWF_STATE_DIR     state dir: embedded Redis socket, Prefect home, logs
                     (default: $XDG_STATE_HOME/aiwf-console or ~/.local/state/aiwf-console)
  AIWF_CONFIG_DIR    config dir: console.yaml (console settings), themes/*.yaml (user
                     themes) and, with --demo, the engine's deployments
                     (default: the user config dir if it exists, written by
                     `aiwf-engine init`, else the bundled config)
  PREFECT_API_URL    with --demo: use this Prefect server instead of starting one (the
                     environment only: a Prefect profile's URL is not used by the demo)

signals: with --demo, SIGTERM and SIGHUP (terminal closed) quit as q does and stop the
  demo services unless another demo console uses them.

themes (built-in):
  {themes}
  or a user theme from $AIWF_CONFIG_DIR/themes/*.yaml (see docs/console.md)

keys: press ? in the console for every key of the current screen.

browser: aiwf-console serve --help (the same console in a web browser)

exit status: 0 on quit, 1 if the demo's services failed to start, 2 for bad arguments or
a bad settings, keymap or theme file, 130 if interrupted while starting.

shell completion (bash; zsh with bashcompinit):
  eval "$(register-python-argcomplete aiwf-console)"   # e.g. in ~/.bashrc
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiwf-console",
        description=(
            "Keyboard-driven operations console for AI batch pipelines. It reads the "
            "engine's Redis mirror of Prefect and sends operator commands to the engine."
        ),
        epilog=EPILOG.replace("{themes}", "\n  ".join(THEMES)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=version_line("aiwf-console", "textual")
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=(
            "start (or reuse) the embedded Redis, a local Prefect server and the engine with "
            "demo input first; on quit, stop them unless another --demo console still uses "
            "them (the last one to quit stops them)"
        ),
    )
    theme = parser.add_argument(
        "--theme",
        default=DEFAULT_THEME,
        metavar="NAME",
        help=f"colour theme: a built-in one (listed below) or a user theme "
        f"(default: {DEFAULT_THEME})",
    )
    theme.completer = lambda **_: list(THEMES)  # type: ignore[attr-defined]  # argcomplete
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="hide and refuse every action that changes something (trigger, retry, cancel, "
        "pause, resume); overrides read_only in console.yaml",
    )
    parser.add_argument(
        "--redis-url",
        metavar="URL",
        help="Redis to attach to, e.g. redis://host:6379/0 or unix:///path/redis.sock "
        "(default: $AIWF_REDIS_URL, else the embedded Redis in the state dir)",
    )
    parser.add_argument(
        "--prefix",
        metavar="P",
        help="Redis key prefix of the installation (default: $AIWF_REDIS_PREFIX, else aiwf)",
    )
    parser.add_argument(
        "--config",
        metavar="DIR",
        type=Path,
        help="config dir: console.yaml, themes/ and, with --demo, the engine's deployments "
        "(default: $AIWF_CONFIG_DIR, else the user config dir if it exists, else the bundled "
        "config)",
    )
    return parser


def progress_printer(start: float | None = None) -> Callable[[str], None]:
    """Prints each startup step to stderr with the seconds elapsed since `start`."""
    began = time.monotonic() if start is None else start

    def progress(line: str) -> None:
        # After SIGHUP the terminal is gone: writing to it fails, the cleanup must go on.
        with contextlib.suppress(OSError, ValueError):
            print(
                f"[{time.monotonic() - began:5.1f}s] {redact_text(line)}",
                file=sys.stderr,
                flush=True,
            )

    return progress


def start_demo(config_dir: Path, prefix: str, progress: Callable[[str], None]) -> DemoLease:
    """Starts (or reuses) the demo stack under a lease: the services stop when the last
    demo console using them quits. Raises LaunchError if a service fails."""
    stack = stack_from_env(state_dir(), config_dir)
    stack.prefix = prefix
    lease = DemoLease(stack)
    try:
        lease.start(progress)
    except (KeyboardInterrupt, StopSignal) as stop:
        # start() already stopped what it had started; say so instead of a traceback.
        progress(f"Interrupted ({stop or 'Ctrl-C'}): stopped what this command had started")
        raise
    return lease


def exit_app_on_stop_signal(app: App[Any]) -> Callable[[int, FrameType | None], None]:
    """A handler for SIGTERM/SIGHUP while the console runs: the app exits as on `q` (from
    the event loop, never from inside the handler), so the demo's quit path runs after."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()  # the handler runs in the loop's thread
        except RuntimeError:  # before the loop starts or after it ends
            raise StopSignal(signum) from None
        loop.call_soon_threadsafe(partial(app.exit, return_code=128 + signum))

    return handler


def attach_url(explicit: str | None) -> str:
    """`--redis-url`, else `AIWF_REDIS_URL`, else the embedded Redis socket in the state dir."""
    return explicit or redis_url_from_env(state_dir())


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["serve"]:
        from console.serve.command import main as serve  # aiohttp only for the browser

        return serve(arguments[1:])
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions: answer and exit
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(arguments)
    config_dir: Path = args.config or default_config_dir()
    settings = settings_or_exit(config_dir, parser, EXIT_CONFIG)
    user = load_user_themes(config_dir / "themes", taken=THEMES)
    for theme_error in user.errors:
        print(f"aiwf-console: theme skipped: {theme_error}", file=sys.stderr)
    names = [*THEMES, *(theme.name for theme in user.themes)]
    if args.theme not in names:
        skipped = " (or fix a skipped theme file above)" if user.errors else ""
        parser.exit(
            EXIT_CONFIG,
            f"aiwf-console: unknown theme {args.theme!r}; choose one of: "
            f"{', '.join(names)}{skipped}\n",
        )
    read_only = args.read_only or settings.read_only
    prefix = args.prefix or prefix_from_env()
    progress = progress_printer()
    lease: DemoLease | None = None
    if args.demo:
        if args.redis_url:
            os.environ["AIWF_REDIS_URL"] = args.redis_url
        try:
            with stop_signals_handled():  # a closed terminal mid-start stops what started
                lease = start_demo(config_dir, prefix, progress)
        except LaunchError as exc:
            print(f"aiwf-console: {redact_text(str(exc))}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        except StopSignal as stop:
            return stop.exit_code
        redis_url = lease.stack.redis_url
    else:
        redis_url = attach_url(args.redis_url)

    from console.app import ConsoleApp  # Textual loads only once the stack is up
    from console.long_lived import freeze_long_lived

    app = ConsoleApp(
        redis_url,
        Keys(prefix),
        theme_name=args.theme,
        read_only=read_only,
        user_themes=user.themes,
        keymap=settings.keymap,
        services_notice=lease.notice if lease is not None else None,
        theme_errors=report_by_file(user.errors),
    )
    try:
        # SIGTERM, or SIGHUP when the terminal closes or SSH drops: quit as on `q`, so the
        # demo's services are released below like on any other quit.
        with stop_signals_handled(exit_app_on_stop_signal(app)):
            freeze_long_lived()
            app.run()
    except StopSignal as stop:
        return stop.exit_code
    finally:
        if lease is not None:
            with cleanup_uninterrupted():
                lease.release(progress)
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())

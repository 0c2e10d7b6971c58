"""`aiwf-console serve`'s arguments and checks; console/serve/server.py serves the pages."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from console.settings.console_yaml import settings_or_exit
from engine.contract.identity import OPERATOR_ENV
from engine.contract.paths import default_config_dir, state_dir
from engine.contract.redact import redact_text
from engine.stack.launcher import prefix_from_env, redis_url_from_env
from themes import DEFAULT_THEME, THEMES
from themes.user import load_user_themes

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
EXIT_CONFIG = 2
"""Exit status for bad arguments or a bad settings file (as `aiwf-console`)."""
OPERATOR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""The engine's rule for operator names (they are Redis ACL user names)."""

EPILOG = """\
Each browser page runs its own console process, read-only unless --operate is given.
Commands from a page are sent, and audited by the engine, as
  <operator>@<this host> from browser <the page's address>
With an operators.yaml in force the engine takes the user from the Redis ACL user in the
URL instead (give serve its own Redis user: a read-only one for a read-only serve).
There is no login: anyone who can open the page acts as the operator. Keep the default
127.0.0.1 and reach it through SSH (ssh -L 8080:127.0.0.1:8080 host) or a proxy that
authenticates. See docs/operations.md, "Browser access".

environment: AIWF_REDIS_URL, AIWF_REDIS_PREFIX, AIWF_STATE_DIR, AIWF_CONFIG_DIR as for
aiwf-console (aiwf-console --help).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiwf-console serve",
        description="Serve the operations console to web browsers (textual-serve).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}; another one is reachable by "
        "others and needs --public-url when it is a wildcard such as 0.0.0.0)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers open, e.g. https://ops.example.com behind a TLS proxy "
        "(default: http://HOST:PORT)",
    )
    parser.add_argument(
        "--operate",
        action="store_true",
        help="let browser sessions send commands (trigger, retry, cancel, pause, resume); "
        "without it they are read-only. read_only in console.yaml still wins",
    )
    parser.add_argument(
        "--operator",
        metavar="NAME",
        help="the name browser sessions send commands under (default: the OS user running serve)",
    )
    parser.add_argument(
        "--theme",
        default=DEFAULT_THEME,
        metavar="NAME",
        help=f"colour theme, as for aiwf-console (default: {DEFAULT_THEME})",
    )
    parser.add_argument(
        "--redis-url",
        metavar="URL",
        help="Redis to attach to (default: $AIWF_REDIS_URL, else the embedded Redis in the "
        "state dir, a running --demo's)",
    )
    parser.add_argument(
        "--prefix", metavar="P", help="Redis key prefix (default: $AIWF_REDIS_PREFIX, else aiwf)"
    )
    parser.add_argument(
        "--config",
        metavar="DIR",
        type=Path,
        help="config dir: console.yaml, themes/ (default: $AIWF_CONFIG_DIR, else the bundled "
        "config/)",
    )
    return parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("", "0.0.0.0", "::")


def allowed_hosts(host: str, port: int, public_url: str) -> frozenset[str]:
    """The `Host` values (and `Origin` hosts) the server answers: its public URL's, and on
    loopback every loopback spelling. Any other is refused, so a web page elsewhere cannot
    drive the console through the operator's browser (DNS rebinding, cross-site sockets)."""
    names = {urlsplit(public_url).netloc.lower()}
    if is_loopback(host):
        names |= {f"{name}:{port}" for name in ("localhost", "127.0.0.1", "[::1]")}
    return frozenset(names)


def session_command(config_dir: Path, prefix: str, theme: str, read_only: bool) -> str:
    """The console command each page runs. The Redis URL goes through the environment,
    never the command line (which any local user can read in `ps`)."""
    argv = [sys.executable, "-m", "console.cli", "--config", str(config_dir)]
    argv += ["--prefix", prefix, "--theme", theme]
    if read_only:
        argv.append("--read-only")
    # textual-serve runs it through a shell: `exec` makes the console that shell's process,
    # so the server waits for (and if need be kills) the console itself.
    return "exec " + shlex.join(argv)


def check_theme(config_dir: Path, theme: str) -> str | None:
    """Why `theme` cannot be used, or None."""
    user = load_user_themes(config_dir / "themes", taken=THEMES)
    names = [*THEMES, *(t.name for t in user.themes)]
    if theme in names:
        return None
    return f"unknown theme {theme!r}; choose one of: {', '.join(names)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config_dir: Path = args.config or default_config_dir()
    settings = settings_or_exit(config_dir, parser, EXIT_CONFIG)
    theme_error = check_theme(config_dir, args.theme)
    if theme_error:
        parser.exit(EXIT_CONFIG, f"aiwf-console serve: {theme_error}\n")
    operator = args.operator or getpass.getuser()
    if not OPERATOR_NAME.match(operator):
        parser.exit(
            EXIT_CONFIG,
            f"aiwf-console serve: --operator {operator!r}: use letters, digits, '_', '.' "
            "or '-' (at most 64), as in a Redis ACL user name\n",
        )
    if not 0 < args.port < 65536:
        parser.exit(EXIT_CONFIG, f"aiwf-console serve: --port {args.port}: use 1 to 65535\n")
    if is_wildcard(args.host) and not args.public_url:
        parser.exit(
            EXIT_CONFIG,
            f"aiwf-console serve: --host {args.host!r} listens on every address: give "
            "--public-url, the URL browsers open (the page connects back to it)\n",
        )
    public_url = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    read_only = not args.operate or settings.read_only
    if args.operate and settings.read_only:
        print(
            f"aiwf-console serve: read_only in {settings.source} wins over --operate: "
            "browser sessions are read-only",
            file=sys.stderr,
        )
    if not is_loopback(args.host):
        print(
            f"aiwf-console serve: WARNING: listening on {args.host}, not 127.0.0.1: anyone "
            f"who reaches port {args.port} sees the console"
            + (f" and acts as {operator}" if not read_only else "")
            + "; there is no login. Put an authenticating TLS proxy in front "
            "(docs/operations.md, 'Browser access')",
            file=sys.stderr,
        )
    # The sessions inherit this environment: the Redis URL (kept off command lines) and
    # the name their commands go under.
    os.environ["AIWF_REDIS_URL"] = args.redis_url or redis_url_from_env(state_dir())
    os.environ[OPERATOR_ENV] = operator
    command = session_command(config_dir, args.prefix or prefix_from_env(), args.theme, read_only)
    mode = "read-only" if read_only else f"operating as {operator}"
    print(
        f"aiwf-console serve: {public_url} ({mode}; Redis "
        f"{redact_text(os.environ['AIWF_REDIS_URL'])})",
        file=sys.stderr,
        flush=True,
    )
    from console.serve.server import ConsoleServer  # aiohttp loads only once args are good

    server = ConsoleServer(
        command,
        host=args.host,
        port=args.port,
        public_url=public_url,
        allowed=allowed_hosts(args.host, args.port, public_url),
        mode=mode,
    )
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the address is not this host's
        print(
            f"aiwf-console serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    return 0

"""`aiwf-console serve`'s arguments, refusals and warnings, its page command, and the
identity its browser sessions send under (the browser itself: tests/integration/
test_serve_browser.py)."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.serve.command import allowed_hosts, session_command
from engine.contract.identity import CLIENT_ENV, OPERATOR_ENV, Identity

ROOT = Path(__file__).resolve().parents[2]


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIWF_STATE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "serve", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_help_names_serve_and_serve_help_answers(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    main_help = subprocess.run(
        [sys.executable, "-m", "console.cli", "--help"], capture_output=True, text=True, env=env
    )
    assert main_help.returncode == 0 and "aiwf-console serve --help" in main_help.stdout
    answered = serve(tmp_path, "--help")
    assert answered.returncode == 0
    for option in ("--host", "--port", "--operate", "--operator", "--public-url"):
        assert option in answered.stdout
    assert "no login" in answered.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--operator", "ana smith"), "--operator 'ana smith'"),
        (("--host", "0.0.0.0"), "give --public-url"),
        (("--port", "70000"), "--port 70000"),
        (("--theme", "no-such-theme"), "unknown theme 'no-such-theme'"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    refused = serve(tmp_path, *args)
    assert refused.returncode == 2 and says in refused.stderr, refused.stderr


def test_a_taken_port_is_one_line_naming_it_and_the_password_never_shows(
    tmp_path: Path, taken_port: int
) -> None:
    url = "redis://ana:s3cret-pw@127.0.0.1:1/0"
    failed = serve(tmp_path, "--port", str(taken_port), "--redis-url", url)
    assert failed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken_port}" in failed.stderr
    assert "Traceback" not in failed.stderr and "s3cret-pw" not in failed.stderr


def test_a_non_loopback_address_is_warned_about(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is nobody's: the warning comes, then the bind fails.
    warned = serve(tmp_path, "--host", "192.0.2.1", "--operate", "--operator", "web")
    assert "WARNING: listening on 192.0.2.1" in warned.stderr
    assert "acts as web" in warned.stderr and "no login" in warned.stderr


def test_pages_run_the_console_read_only_unless_operate_without_the_url_on_the_command_line(
    tmp_path: Path,
) -> None:
    read_only = shlex.split(session_command(tmp_path, "aiwf", "aiwf-dark", read_only=True))
    assert read_only[:4] == ["exec", sys.executable, "-m", "console.cli"]
    assert read_only[-1] == "--read-only"
    assert not any("redis" in part for part in read_only)
    operating = shlex.split(session_command(tmp_path, "aiwf", "aiwf-dark", read_only=False))
    assert "--read-only" not in operating


def test_only_the_public_url_and_loopback_names_are_served() -> None:
    local = allowed_hosts("127.0.0.1", 8080, "http://127.0.0.1:8080")
    assert local == {"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}
    proxied = allowed_hosts("10.0.0.5", 8080, "https://ops.example.com")
    assert proxied == {"ops.example.com"}


def test_identity_takes_the_operator_and_client_serve_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(OPERATOR_ENV, "web")
    monkeypatch.setenv(CLIENT_ENV, "browser 10.0.0.7")
    monkeypatch.setenv("SSH_CLIENT", "10.9.9.9 5555 22")
    me = Identity.current()
    assert (me.user, me.ssh_client) == ("web", "browser 10.0.0.7")
    assert me.describe() == f"web@{socket.gethostname()} from browser 10.0.0.7"
    monkeypatch.delenv(OPERATOR_ENV)
    monkeypatch.delenv(CLIENT_ENV)
    plain = Identity.current()
    assert plain.user != "web" and plain.ssh_client == "10.9.9.9"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("read_only: maybe\n", "console.yaml:1"),
        ("keymap:\n  main.no_such_binding: x\n", "main.no_such_binding"),
    ],
)
def test_a_bad_console_yaml_stops_serve_before_it_listens(
    tmp_path: Path, text: str, says: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "console.yaml").write_text(text)
    refused = serve(tmp_path, "--config", str(config))
    assert refused.returncode == 2 and says in refused.stderr, refused.stderr
    assert "aiwf-console serve: fix the" in refused.stderr


def test_read_only_in_console_yaml_wins_over_operate(tmp_path: Path, taken_port: int) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "console.yaml").write_text("read_only: true\n")
    args = ("--config", str(config), "--operate", "--port", str(taken_port))
    started = serve(tmp_path, *args)  # the taken port ends it once the mode is decided
    assert "wins over --operate: browser sessions are read-only" in started.stderr
    assert f"http://127.0.0.1:{taken_port} (read-only;" in started.stderr

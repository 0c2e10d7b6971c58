"""`aiwf-console serve` in a real headless Chromium against the real stack: the page loads,
the deployments table renders, `t` sends a trigger that the engine runs and audits under the
serve's identity; without --operate the same key sends nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.identity import Identity, triggered_by_tag
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.browser import headless_chromium
from tests.integration.conftest import wait_for, wait_run_final
from tests.integration.test_engine_e2e import audit_entries

pytestmark = pytest.mark.integration

CANARY, PROD = DEPLOYMENTS = ("ai-inference-canary", "ai-inference-prod")
OPERATOR = "web-tester"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children_of(pid: int) -> set[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Serving:
    """A running `aiwf-console serve`: its URL and process."""

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process


@contextmanager
def serving(stack: EmbeddedStack, config: Path, state: Path, *options: str) -> Iterator[Serving]:
    """`aiwf-console serve` on a free loopback port; stops it on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "console.cli", "serve", "--port", str(port)]
    argv += ["--redis-url", stack.redis_url, "--config", str(config), *options]
    env = {**os.environ, "AIWF_STATE_DIR": str(state)}
    env.pop("AIWF_OPERATOR", None)
    log = (state / "serve.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def listening() -> bool:
        assert process.poll() is None, (state / "serve.log").read_text()
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, 30, "aiwf-console serve to listen")
        yield Serving(f"http://127.0.0.1:{port}/", process)
    finally:
        if process.poll() is None:
            process.terminate()
        try:  # SIGTERM stops the server and the consoles it started, promptly
            assert process.wait(20) == 0, (state / "serve.log").read_text()
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


def browser_commands_after(client: redis.Redis, keys: Keys, last_id: bytes) -> list[dict[str, str]]:
    """Commands sent from a browser page since `last_id` (the engine's own, such as an
    auto-resume from an earlier test, are not this test's)."""
    entries: Any = client.xrange(keys.commands, min=b"(" + last_id)
    decoded = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
    return [command for command in decoded if command["ssh_client"].startswith("browser ")]


def last_command_id(client: redis.Redis, keys: Keys) -> bytes:
    newest: Any = client.xrevrange(keys.commands, count=1)
    return bytes(newest[0][0]) if newest else b"0-0"


def deployments_shown(text: str) -> bool:
    return "Deployments" in text and all(name in text for name in DEPLOYMENTS)


async def test_browser_shows_the_console_and_t_triggers_a_run_audited_as_the_serve_operator(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    tmp_path: Path,
) -> None:
    _, config = stack_dirs
    last = last_command_id(stack_redis, stack_keys)
    with serving(stack, config, tmp_path, "--operate", "--operator", OPERATOR) as served:
        async with headless_chromium(tmp_path / "chromium") as page:
            await page.open(served.url)
            await page.wait_for_text(deployments_shown, "the deployments table in the page")
            # The table lists canary first (its runs fail on purpose): down to prod, then t.
            await page.press("ArrowDown")
            await page.press("t")
            (sent,) = wait_for(
                lambda: browser_commands_after(stack_redis, stack_keys, last),
                30,
                "the trigger command",
            )
            assert (sent["action"], sent["target"]) == ("trigger", PROD)
            browser = Identity(OPERATOR, socket.gethostname(), "browser 127.0.0.1")
            assert (sent["user"], sent["host"], sent["ssh_client"]) == (
                browser.user,
                browser.host,
                browser.ssh_client,
            )
            result = commands.wait_final(sent["id"], 60)
            assert result is not None and result.ok, result
            # The page shows the run the key started, as the terminal console would.
            await page.wait_for_text(
                lambda text: bool(result.flow_run_name) and result.flow_run_name in text,
                f"run {result.flow_run_name} in the page",
            )
    (entry,) = audit_entries(stack_redis, stack_keys, sent["id"])
    assert (entry["user"], entry["ssh_client"], entry["status"]) == (
        OPERATOR,
        "browser 127.0.0.1",
        "ok",
    )
    done = wait_run_final(mirror, result.flow_run_id)
    assert done["state_type"] == "COMPLETED"
    assert triggered_by_tag(browser) in done["tags"]


async def test_browser_session_is_read_only_without_operate(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    tmp_path: Path,
) -> None:
    _, config = stack_dirs
    last = last_command_id(stack_redis, stack_keys)
    with serving(stack, config, tmp_path) as served:
        async with headless_chromium(tmp_path / "chromium") as page:
            await page.open(served.url)
            shown = await page.wait_for_text(deployments_shown, "the deployments table")
            assert "read-only" in shown and "Trigger" not in shown  # status line; footer
            await page.press("ArrowDown")
            await page.press("t")
            # Keys are handled in order: once `?` opened the help, `t` was handled before it.
            await page.press("?")
            await page.wait_for_text(lambda text: "Keys: " in text, "the help screen")
            # SIGTERM (systemctl stop) with the page still open: serve waits for the page's
            # console to quit, then exits; nothing is left behind.
            sessions = children_of(served.process.pid)
            commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in sessions]
            assert len(commands) == 1 and b"console.cli" in commands[0], commands
            served.process.terminate()
            assert served.process.wait(20) == 0
            assert not [pid for pid in sessions if alive(pid)]
    assert browser_commands_after(stack_redis, stack_keys, last) == []


def test_serve_refuses_other_sites_and_hosts(
    stack: EmbeddedStack, stack_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    import urllib.error
    import urllib.request

    _, config = stack_dirs
    with serving(stack, config, tmp_path) as served:
        url = served.url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"textual-terminal" in response.read()
        for header, value in (("Host", "evil.example:80"), ("Origin", "http://evil.example")):
            request = urllib.request.Request(f"{url}ws", headers={header: value})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 403, header

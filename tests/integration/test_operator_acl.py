"""Identity proven by Redis ACLs, permissions enforced by the engine, over TLS (issue 9
items 5 and 9).

A real redis-server with TLS only and ACL users (tests/secure_redis.py), the real engine
connected to it as its `engine` ACL user over `rediss://`, and the local Prefect server of
the session stack. `operators.yaml` lets `ana` operate the nightly deployment and only view
the other one; `viewer` is a read-only console's user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

from engine.contract.command_client import CommandClient
from engine.contract.commands import Command, CommandResult
from engine.contract.history import HistoryClient, new_query
from engine.contract.identity import Identity
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack, EngineProcess
from tests.integration.conftest import audit_end, wait_for
from tests.secure_redis import (
    ENGINE_PASSWORD,
    OPERATOR_PASSWORD,
    VIEWER_PASSWORD,
    SecureRedis,
    make_ca,
)

pytestmark = pytest.mark.integration

FLOW = "ai-inference-pipeline"
SUFFIX = uuid.uuid4().hex[:6]
NIGHTLY, OTHER = f"acl-nightly-{SUFFIX}", f"acl-other-{SUFFIX}"
# 29 February: valid, and it does not fire while the tests run.
DEPLOYMENT = """\
name: {name}
version: "1"
schedule:
  cron: "0 0 29 2 *"
flow_name: ai-inference-pipeline
parameters:
  source: "{{state_dir}}/in.csv"
  target: "{{state_dir}}/out"
"""
OPERATORS = """\
operators:
  ana:
    - {deployments: "acl-nightly-*", role: operate}
    - {deployments: "*", role: view}
"""
SECRETS = (ENGINE_PASSWORD, OPERATOR_PASSWORD, VIEWER_PASSWORD)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRedis]:
    server = SecureRedis(tmp_path_factory.mktemp("tls"), f"acl-{SUFFIX}", ["ana"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keys(secure: SecureRedis) -> Keys:
    return Keys(secure.prefix)


@pytest.fixture(scope="module")
def engine(
    stack: EmbeddedStack, secure: SecureRedis, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineProcess]:
    base = tmp_path_factory.mktemp("acl-engine")
    config = base / "config"
    (config / "deployments").mkdir(parents=True)
    for name in (NIGHTLY, OTHER):
        (config / "deployments" / f"{name}.yaml").write_text(DEPLOYMENT.format(name=name))
    (config / "operators.yaml").write_text(OPERATORS)
    (base / "state").mkdir()
    process = EngineProcess(
        state_dir=base / "state",
        redis_url=secure.engine_url,
        api_url=stack.api_url,
        config_dir=config,
        prefix=keys.prefix,
    )
    process.start(timeout=120)  # raises if it exits before its first heartbeat over TLS
    admin = redis.Redis.from_url(secure.engine_url)
    wait_for(lambda: admin.hexists(keys.deployments, NIGHTLY), 60, "the engine's mirror")
    admin.close()
    yield process
    process.stop()


@pytest.fixture
def admin(secure: SecureRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(secure.engine_url)
    yield client
    client.close()


def result_of(client: redis.Redis, keys: Keys, command_id: str) -> CommandResult:
    result = CommandClient(client, keys).wait(command_id, 60)
    assert result is not None, f"no result for command {command_id}"
    return result


def audit_entry(client: redis.Redis, keys: Keys, command_id: str) -> dict[str, str]:
    entries: Any = client.xrange(keys.audit)
    for _id, raw in entries:
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        if fields["command_id"] == command_id:
            return fields
    raise AssertionError(f"no audit entry for command {command_id}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


async def test_a_command_claiming_another_user_is_run_and_audited_as_the_stream_user(
    engine: EngineProcess, secure: SecureRedis, keys: Keys, admin: redis.Redis, prefect_client: Any
) -> None:
    ana = redis.Redis.from_url(secure.operator_url("ana"))
    forged = Command("trigger", NIGHTLY, identity=Identity("bob", "bobs-laptop"))
    ana.xadd(keys.operator_commands("ana"), forged.to_fields())  # type: ignore[arg-type]
    ana.close()

    result = result_of(admin, keys, forged.id)
    assert result.ok, result
    assert audit_entry(admin, keys, forged.id)["user"] == "ana"
    run = await prefect_client.read_flow_run(UUID(result.flow_run_id))
    assert "triggered-by:ana@bobs-laptop" in run.tags
    assert not any(tag.startswith("triggered-by:bob") for tag in run.tags)


async def test_an_operator_without_the_right_is_refused_and_the_refusal_audited(
    engine: EngineProcess, secure: SecureRedis, keys: Keys, admin: redis.Redis, prefect_client: Any
) -> None:
    ana = CommandClient(redis.Redis.from_url(secure.operator_url("ana")), keys)
    pause = ana.send("pause", NIGHTLY)  # pause needs admin; ana operates
    trigger = ana.send("trigger", OTHER)  # ana only views the other deployment

    paused = ana.wait(pause.id, 60)
    assert paused is not None and paused.status == "error"
    assert paused.message.startswith(f"refused: ana may not pause on deployment {NIGHTLY!r}")
    assert "needs admin and ana has only operate" in paused.message
    triggered = ana.wait(trigger.id, 60)
    assert triggered is not None and triggered.status == "error"
    assert "needs operate and ana has only view" in triggered.message
    for command in (pause, trigger):
        entry = audit_entry(admin, keys, command.id)
        assert (entry["user"], entry["status"]) == ("ana", "error")
    # Nothing happened in Prefect.
    deployment = await prefect_client.read_deployment_by_name(f"{FLOW}/{NIGHTLY}")
    assert deployment.paused is False
    other = await prefect_client.read_deployment_by_name(f"{FLOW}/{OTHER}")
    runs = await prefect_client.read_flow_runs()
    assert not [r for r in runs if r.deployment_id == other.id]


def test_a_read_only_users_command_is_refused_by_redis(
    engine: EngineProcess, secure: SecureRedis, keys: Keys, admin: redis.Redis
) -> None:
    viewer = redis.Redis.from_url(secure.viewer_url)
    streams = [keys.commands, keys.operator_commands("ana"), keys.operator_commands("viewer")]
    before = [admin.xlen(stream) for stream in streams]
    with pytest.raises(redis.exceptions.NoPermissionError):
        CommandClient(viewer, keys).send("trigger", NIGHTLY)
    for stream in streams:
        with pytest.raises(redis.exceptions.NoPermissionError):
            viewer.xadd(stream, Command("trigger", NIGHTLY).to_fields())  # type: ignore[arg-type]
    assert [admin.xlen(stream) for stream in streams] == before
    assert viewer.hexists(keys.deployments, NIGHTLY)  # it still reads what a console shows
    viewer.close()

    sent = cli("trigger", NIGHTLY, "--redis-url", secure.viewer_url, "--prefix", keys.prefix)
    assert sent.returncode == 1, sent
    assert "refused the command for this ACL user" in sent.stderr
    assert f"rediss://viewer:***@127.0.0.1:{secure.port}/0" in sent.stderr
    assert VIEWER_PASSWORD not in sent.stderr + sent.stdout


async def test_a_read_only_user_asks_history_queries_and_gets_prefects_totals(
    engine: EngineProcess, secure: SecureRedis, keys: Keys, admin: redis.Redis, prefect_client: Any
) -> None:
    """Queries change nothing, so a read-only console (which may not send commands) asks
    them; the page comes back on a key it reads with XREAD BLOCK."""
    doc = json.loads(admin.hget(keys.deployments, NIGHTLY))  # type: ignore[arg-type]
    viewer = redis.Redis.from_url(secure.viewer_url)
    page = HistoryClient(viewer, keys).ask(new_query(deployment_id=doc["id"]), timeout=30)
    viewer.close()
    assert page is not None and page.ok, page
    expected = FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[UUID(doc["id"])]))
    assert page.total == await prefect_client.count_flow_runs(flow_run_filter=expected)
    assert {run.id for run in page.runs} == {
        str(run.id) for run in await prefect_client.read_flow_runs(flow_run_filter=expected)
    }


def test_the_shared_stream_is_refused_while_an_operators_file_exists(
    engine: EngineProcess, keys: Keys, admin: redis.Redis
) -> None:
    command = Command("trigger", NIGHTLY, identity=Identity("ana", "somewhere"))
    admin.xadd(keys.commands, command.to_fields())  # type: ignore[arg-type]
    result = result_of(admin, keys, command.id)
    assert result.status == "error"
    assert f"commands on the shared stream {keys.commands} are not accepted" in result.message
    assert audit_entry(admin, keys, command.id)["status"] == "error"
    assert not result.flow_run_id


def test_the_cli_sends_over_tls_as_an_acl_user(
    engine: EngineProcess, secure: SecureRedis, keys: Keys, admin: redis.Redis
) -> None:
    sent = cli(
        "trigger", NIGHTLY, "--redis-url", secure.operator_url("ana"), "--prefix", keys.prefix,
        "--wait", "60", "--json",
    )  # fmt: skip
    assert sent.returncode == 0, sent
    result = CommandResult.from_json(sent.stdout.strip().splitlines()[-1])
    assert result.ok and result.flow_run_id
    assert audit_entry(admin, keys, result.command_id)["user"] == "ana"


def test_a_wrong_ca_fails_with_an_error_naming_the_url_without_its_password(
    secure: SecureRedis, keys: Keys, tmp_path: Path
) -> None:
    wrong = secure.url("ana", OPERATOR_PASSWORD, ca=make_ca(tmp_path, "wrong"))
    sent = cli("trigger", NIGHTLY, "--redis-url", wrong, "--prefix", keys.prefix)
    assert sent.returncode == 1, sent
    assert f"TLS to Redis at rediss://ana:***@127.0.0.1:{secure.port}/0" in sent.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in sent.stderr
    assert "check ssl_ca_certs" in sent.stderr
    assert not any(secret in sent.stderr + sent.stdout for secret in SECRETS)


async def test_a_console_over_tls_shows_the_engines_state_and_sends_as_its_acl_user(
    engine: EngineProcess, secure: SecureRedis, keys: Keys, admin: redis.Redis
) -> None:
    from console.app import ConsoleApp
    from console.widgets.deployments_table import DeploymentsTable
    from console.widgets.runs_table import RunsTable
    from console.widgets.status_bar import StatusBar
    from tests.console.conftest import wait_for as wait_in_app
    from tests.integration.keyboard_trigger import trigger_with_t

    app = ConsoleApp(secure.operator_url("ana"), keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_in_app(pilot, lambda: NIGHTLY in deployments.row_keys(), "deployments", 30)
        status = app.screen.query_one(StatusBar)
        await wait_in_app(pilot, lambda: app.store.engine is not None, "the heartbeat", 30)
        line = status.render().plain
        assert "● connected" in line and "♥ engine alive" in line
        assert OPERATOR_PASSWORD not in line

        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(NIGHTLY))
        runs = app.screen.query_one(RunsTable)
        after = audit_end(admin, keys)
        # ana's stream, ana's right: the run appears
        await trigger_with_t(pilot, admin, keys, NIGHTLY, runs)
    entries: Any = admin.xrange(keys.audit, min=f"({after}")
    assert [f[b"user"] for _, f in entries if f[b"action"] == b"trigger"] == [b"ana"]


async def test_a_read_only_console_s_command_is_refused_naming_its_user(
    engine: EngineProcess, secure: SecureRedis, keys: Keys
) -> None:
    """Redis refuses the viewer's XADD; the console says which user may not act and why,
    not Redis's own "no permissions to access one of the keys used as arguments"."""
    from textual.message import Message

    from console.app import ConsoleApp
    from console.data.messages import CommandFailed
    from console.widgets.deployments_table import DeploymentsTable
    from tests.console.conftest import wait_for as wait_in_app

    posted: list[Message] = []
    app = ConsoleApp(secure.viewer_url, keys, command_timeout=60)
    async with app.run_test(size=(160, 48), message_hook=posted.append) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_in_app(pilot, lambda: NIGHTLY in deployments.row_keys(), "deployments", 30)
        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(NIGHTLY))
        await pilot.press("t")

        def failed() -> list[CommandFailed]:
            return [m for m in posted if isinstance(m, CommandFailed)]

        await wait_in_app(pilot, lambda: bool(failed()), "the refusal", 30)
    reason = failed()[0].reason
    assert "Redis user 'viewer' may not send commands" in reason, reason
    assert VIEWER_PASSWORD not in reason


async def test_a_console_with_a_wrong_ca_says_disconnected_without_the_password(
    secure: SecureRedis, keys: Keys, tmp_path: Path
) -> None:
    from console.app import ConsoleApp
    from console.widgets.status_bar import StatusBar
    from tests.console.conftest import wait_for as wait_in_app

    wrong = secure.url("viewer", VIEWER_PASSWORD, ca=make_ca(tmp_path, "wrong"))
    app = ConsoleApp(wrong, keys)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_in_app(pilot, lambda: app.store.connected is False, "disconnected", 20)
        line = app.screen.query_one(StatusBar).render().plain
    assert "✖ disconnected" in line
    assert f"rediss://viewer:***@127.0.0.1:{secure.port}/0" in line
    assert "CERTIFICATE_VERIFY_FAILED" in app.store.connection_reason
    assert VIEWER_PASSWORD not in line


def test_an_engine_with_a_wrong_ca_stops_with_an_error_naming_the_url(
    secure: SecureRedis, keys: Keys, tmp_path: Path
) -> None:
    from engine.stack.launcher import LaunchError
    from tests.secure_redis import ENGINE_USER

    (tmp_path / "config" / "deployments").mkdir(parents=True)
    (tmp_path / "state").mkdir()
    process = EngineProcess(
        state_dir=tmp_path / "state",
        redis_url=secure.url(ENGINE_USER, ENGINE_PASSWORD, ca=make_ca(tmp_path, "wrong")),
        api_url="http://127.0.0.1:9/api",  # never reached: Redis is checked first
        config_dir=tmp_path / "config",
        prefix=keys.prefix,
    )
    with pytest.raises(LaunchError, match="engine exited with code 1"):
        process.start(timeout=60)
    log = process.log_path.read_text()
    assert f"TLS to Redis at rediss://engine:***@127.0.0.1:{secure.port}/0" in log
    assert "CERTIFICATE_VERIFY_FAILED" in log and "Traceback" not in log
    assert ENGINE_PASSWORD not in log


def test_a_wrong_password_is_a_refused_login_naming_the_url_not_the_password(
    secure: SecureRedis, keys: Keys
) -> None:
    wrong = secure.url("ana", "not-the-password")
    sent = cli("trigger", NIGHTLY, "--redis-url", wrong, "--prefix", keys.prefix)
    assert sent.returncode == 1, sent
    assert f"Redis at rediss://ana:***@127.0.0.1:{secure.port}/0" in sent.stderr
    assert "refused the login" in sent.stderr
    assert "not-the-password" not in sent.stderr + sent.stdout

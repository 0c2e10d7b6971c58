"""Every action the console sends carries the same operator identity, built in one place
(`Identity.current`), and Prefect's tags, state messages and the audit describe it alike."""

from __future__ import annotations

import msgspec
import pytest
import redis

from console.text.audit_text import sent_by
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.commands import Command
from engine.contract.documents import AuditRecord
from engine.contract.identity import Identity, triggered_by_tag
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, commands, fill_standard, wait_for
from tests.console.test_commands import notes

IDENTITY_FIELDS = ("user", "host", "ssh_client")


def test_one_builder_one_description(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CLIENT", "10.9.8.7 51234 22")
    me = Identity.current()
    assert me.ssh_client == "10.9.8.7"
    assert me.describe() == f"{me.user}@{me.host} from 10.9.8.7"
    command = Command(action="retry", target="run-1")
    assert command.identity == me  # the default of every command is the one builder
    back = Command.from_fields(command.to_fields()).identity
    assert back == me
    assert sent_by(msgspec.convert(command.to_fields(), AuditRecord)) == me.describe()
    assert triggered_by_tag(me) == f"triggered-by:{me.describe()}"
    monkeypatch.delenv("SSH_CLIENT")
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    assert Identity.current().describe() == f"{me.user}@{me.host}"
    assert Identity.engine().describe().startswith("engine@")


async def test_trigger_retry_cancel_pause_and_bulk_send_the_same_identity(
    make_app: AppFactory,
    mirror: RedisMirror,
    redis_client: redis.Redis,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSH_CLIENT", "10.9.8.7 51234 22")
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.focus()
        await pilot.press("down", "r")  # retry the failed run
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "retry")
        await pilot.press("up", "c", "y")  # cancel the running run, confirmed
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "cancel")
        await pilot.press("asterisk", "r", "y")  # bulk retry of the finished runs
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) >= 4, "bulk retry")
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("p", "enter")  # pause until resumed
        await wait_for(
            pilot,
            lambda: any(c["action"] == "pause" for c in commands(redis_client, keys)),
            f"pause ({notes(app)})",
        )
        # Last: after t, c waits for the new run (no engine answers here), see
        # test_cursor_follows.py.
        before = len(commands(redis_client, keys))
        await pilot.press("t")  # trigger the selected deployment
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == before + 1, "trigger")
    sent = commands(redis_client, keys)
    assert {c["action"] for c in sent} == {"trigger", "retry", "cancel", "pause"}
    identities = {tuple(c[f] for f in IDENTITY_FIELDS) for c in sent}
    me = Identity.current()
    assert identities == {(me.user, me.host, "10.9.8.7")}

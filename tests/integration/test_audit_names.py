"""On the real stack: audit entries name the run a command acted on, and every action of
one operator is described alike (the trigger's tag, the retry's message, the audit)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.identity import Identity, triggered_by_tag
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.test_engine_e2e import audit_entries

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def test_trigger_retry_and_cancel_audit_entries_carry_the_run_name(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    tmp_path: Path,
) -> None:
    me = Identity.current()
    params = {"target": str(tmp_path / "out")}
    triggered = send_and_wait(commands, "trigger", PROD, params)
    assert triggered.ok, triggered.message
    run_id = triggered.flow_run_id
    done = wait_run_final(mirror, run_id)
    name = done["name"]
    assert name and triggered.flow_run_name == name
    (entry,) = audit_entries(stack_redis, stack_keys, triggered.command_id)
    assert (entry["flow_run_id"], entry["flow_run_name"]) == (run_id, name)
    # Prefect's record of who triggered it uses the audit's words.
    assert triggered_by_tag(me) in done["tags"]

    # Refused (the run is finished), and still named.
    refused = send_and_wait(commands, "cancel", run_id)
    assert not refused.ok and "already finished" in refused.message
    (entry,) = audit_entries(stack_redis, stack_keys, refused.command_id)
    assert entry["status"] == "error" and entry["flow_run_name"] == name

    retried = send_and_wait(commands, "retry", run_id)
    assert retried.ok, retried.message
    (entry,) = audit_entries(stack_redis, stack_keys, retried.command_id)
    assert (entry["action"], entry["target"], entry["flow_run_name"]) == ("retry", run_id, name)
    assert (entry["user"], entry["host"], entry["ssh_client"]) == (
        me.user,
        me.host,
        me.ssh_client,
    )
    lineage = wait_for(
        lambda: (d := mirror.read_lineage(run_id)) and d["trigger"]["attempt"] == 2 and d,
        90,
        "lineage of the retry",
    )
    # The trigger's tag and the retry's state message name the same operator.
    assert lineage["trigger"]["operator"] == me.describe()
    assert lineage["trigger"]["retry_requested_by"] == me.describe()

    # A cancel that goes through is named too.
    second = send_and_wait(commands, "trigger", PROD, params)
    assert second.ok, second.message
    cancelled = send_and_wait(commands, "cancel", second.flow_run_id)
    assert cancelled.ok, cancelled.message
    # One entry if the run had not started (cancelled at once), else `cancelling` and the
    # final one: each names the run.
    entries = audit_entries(stack_redis, stack_keys, cancelled.command_id)
    assert entries and entries[-1]["status"] == "ok"
    assert {e["flow_run_name"] for e in entries} == {second.flow_run_name} != {""}
    assert wait_run_final(mirror, second.flow_run_id)["state_type"] in FINAL_STATE_TYPES

"""A command over the size caps (docs/redis-keys.md) is refused by the console before it is
sent: the sender reports it as failed, with the reason, and nothing reaches the stream."""

from __future__ import annotations

import redis

from console.data.command_sender import CommandSender
from console.data.messages import CommandFailed
from engine.contract.commands import MAX_FIELD_BYTES
from engine.contract.keys import Keys


def test_the_console_reports_a_command_over_the_caps_as_failed_unsent(
    redis_client: redis.Redis, redis_url: str, keys: Keys
) -> None:
    posted: list[object] = []
    sender = CommandSender(redis_url, keys, posted.append, answer_timeout=1)
    sender.send("trigger", "ai-inference-prod", {"source": "x" * MAX_FIELD_BYTES}, lambda: False)
    sender.close()
    [failed] = posted
    assert isinstance(failed, CommandFailed)
    assert failed.reason.startswith("not sent: field 'params' holds")
    assert redis_client.xlen(keys.commands) == 0

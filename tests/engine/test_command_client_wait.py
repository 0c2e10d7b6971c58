"""CommandClient.wait against a real Redis, with redis-py's default client (its 5 s socket
timeout): an answer slower than that is still waited for."""

from __future__ import annotations

import threading
import time

import redis

from engine.contract.command_client import CommandClient
from engine.contract.commands import CommandResult
from engine.contract.keys import Keys


def test_a_result_slower_than_the_client_s_socket_timeout_is_waited_for(
    redis_url: str, keys: Keys
) -> None:
    client = redis.Redis.from_url(redis_url)  # socket_timeout 5 s: redis-py 8's default
    commands = CommandClient(client, keys)
    command = commands.send("pause", "ai-inference-prod")
    answer = CommandResult(command.id, "ok", "paused ai-inference-prod")

    def answer_late() -> None:
        time.sleep(6.5)  # longer than one socket read may block
        client.rpush(keys.result(command.id), answer.to_json())

    engine = threading.Thread(target=answer_late)
    engine.start()
    try:
        got = commands.wait(command.id, 15)
    finally:
        engine.join()
        client.close()
    assert got is not None and (got.status, got.message) == ("ok", "paused ai-inference-prod")


def test_no_result_is_none_after_the_timeout(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    began = time.monotonic()
    assert CommandClient(client, keys).wait("no-such-command", 1.5) is None
    assert time.monotonic() - began >= 1.5  # waited the whole time, in slices
    client.close()

"""The reconnect loops' guard: a cancel turned into TimeoutError (an OSError) still ends the
loop instead of being retried forever (a hung app exit / test teardown)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from console.data.cancelled import reraise_if_cancelled


async def _reconnect_loop(attempts: list[int]) -> None:
    while True:
        try:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                # What asyncio.timeout does on 3.11 when a cancel meets a socket timeout.
                raise TimeoutError("read timed out") from None
        except OSError:
            attempts.append(1)
            reraise_if_cancelled()
            await asyncio.sleep(0)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling is 3.11+")
async def test_a_cancel_seen_as_timeout_ends_the_guarded_loop() -> None:
    attempts: list[int] = []
    task = asyncio.create_task(_reconnect_loop(attempts))
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)  # wait_for would cancel it again
    assert task in done and task.cancelled(), "the loop swallowed the cancel"
    assert attempts == [1]

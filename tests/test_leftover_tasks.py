"""The teardown guard names a leftover task that swallows its cancel, instead of hanging."""

from __future__ import annotations

import asyncio

import pytest

from tests import leftover_tasks


def test_a_task_that_swallows_its_cancel_is_named_with_where_it_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(leftover_tasks, "GRACE_SECONDS", 0.2)

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.Event().wait()  # swallowed: waits on, where the test names it

    async def obedient() -> None:
        await asyncio.sleep(60)

    loop = asyncio.new_event_loop()
    tasks = [loop.create_task(stubborn(), name="stubborn"), loop.create_task(obedient())]
    loop.run_until_complete(asyncio.sleep(0))
    with pytest.raises(leftover_tasks.LeftoverTasksHung) as hung:
        asyncio.runners._cancel_all_tasks(loop)  # type: ignore[attr-defined]  # as Runner.close
    loop.close()
    report = str(hung.value)
    assert "1 task(s)" in report and "name='stubborn'" in report
    assert "in stubborn" in report and "in wait" in report  # down to Event.wait
    assert "obedient" not in report and all(task.done() for task in tasks)

"""The retry dialog's third choice: retry from a chosen task (keys 1..9)."""

from __future__ import annotations

import pytest
import redis

from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.retry_confirm import RetryConfirmScreen, task_order
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    as_lineage,
    as_task,
    at,
    deployment_doc,
    fill_standard,
    iso,
    wait_for,
    wait_protected,
)
from tests.console.test_commands import notes
from tests.console.test_lineage import (
    FAILED_TASKS,
    lineage_doc,
    open_failed_run,
    retry_dialog,
    retry_params,
)


def test_task_order_follows_the_lineage_then_the_task_runs() -> None:
    doc = lineage_doc("r", "n", recorded=at(-1), tasks=FAILED_TASKS)
    runs = [
        {"name": "save_results-c85", "start_time": iso(at(-1))},
        {"name": "run_inference-0", "start_time": iso(at(-2))},
        {"name": "load_raw_data-0", "start_time": iso(at(-3))},
    ]
    assert task_order(as_lineage(doc), [as_task(r) for r in runs]) == [
        "load_raw_data",
        "run_inference",
        "save_results",
    ]
    assert task_order(None, [as_task(r) for r in runs[:2]]) == ["run_inference", "save_results"]
    assert task_order(None, []) == []


async def test_retry_from_a_task_sends_from_task(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.write_lineage(
        lineage_doc("run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS)
    )
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        screen = await open_failed_run(pilot, app)
        await wait_for(pilot, lambda: "run-failed" in app.store.lineage, "lineage")
        dialog = await retry_dialog(pilot, app)
        assert dialog.tasks == ["load_raw_data", "run_inference", "save_results"]
        label = str(dialog.query_one("#retry-from").render())
        # Each starting point says what it reuses: only load_raw_data ever finished.
        assert "1 load_raw_data: reuses none" in label
        assert "2 run_inference: reuses load_raw_data" in label
        assert "3 save_results: reuses load_raw_data" in label
        await pilot.press("5")  # no such task: says so and stays open
        await wait_for(pilot, lambda: any("No task 5: choose 1 to 3" in n for n in notes(app)))
        assert app.screen is dialog
        assert posted.requested == [] and retry_params(redis_client, keys) == []
        await pilot.press("2")
        await wait_for(pilot, lambda: len(retry_params(redis_client, keys)) == 1, "retry")
        assert retry_params(redis_client, keys) == [{"from_task": "run_inference"}]
        assert app.screen is screen


async def test_retry_from_a_task_on_a_protected_deployment_needs_the_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))
    mirror.write_lineage(
        lineage_doc("run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS)
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_protected(pilot, app)
        await open_failed_run(pilot, app)
        await wait_for(pilot, lambda: "run-failed" in app.store.lineage, "lineage")
        await retry_dialog(pilot, app)
        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, ProtectedConfirmScreen), "name")
        labels = " ".join(str(lbl.render()) for lbl in app.screen.query("Label"))
        assert "from load_raw_data" in labels
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(retry_params(redis_client, keys)) == 1, "sent")
        assert retry_params(redis_client, keys) == [{"from_task": "load_raw_data"}]
        assert not isinstance(app.screen, RetryConfirmScreen)


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_retry_dialog_with_task_choice_on_small_terminals(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.write_lineage(
        lineage_doc("run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS)
    )
    app = make_app()
    async with app.run_test(size=size) as pilot:
        run = await open_failed_run(pilot, app)
        await wait_for(pilot, lambda: "run-failed" in app.store.lineage, "lineage")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RetryConfirmScreen), "dialog")
        await pilot.press("escape")
        assert app.screen is run

"""The once-a-second clock tick: it refreshes the screen on top, and never one being torn
down (a tick landing while the app exited queried the main screen's widgets after they were
gone: `NoMatches: DeploymentsTable`, in some runs of any test that took over a second)."""

from __future__ import annotations

from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, fill_standard, wait_for
from tests.console.test_runs_marks import _title


async def test_the_tick_refreshes_the_top_screen(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app(tick_interval=3600)  # ticked by hand below
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "(3 held)" in _title(app), "runs")
        app.store.flow_runs.pop("run-done")  # the store changed without a message
        app._tick()
        assert "Runs: all deployments (2 held)" in _title(app)


async def test_a_tick_after_the_screens_are_gone_does_nothing(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app(tick_interval=0.01)  # many ticks, some while the app exits
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "(3 held)" in _title(app), "runs")
        await pilot.pause(0.2)
    assert app.return_code in (0, None)  # no exception in a tick ended the app
    assert app.screen_stack == []
    app._tick()  # raised ScreenStackError (or NoMatches) before

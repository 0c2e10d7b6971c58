"""With --demo, a console whose demo services were stopped or exited says so on its
status line (the sentence comes from engine/stack/demo_lease.py; tested there)."""

from __future__ import annotations

from console.widgets.status_bar import StatusBar
from tests.console.conftest import AppFactory, wait_for


async def test_the_status_line_explains_services_that_went_away(make_app: AppFactory) -> None:
    notice = [""]
    app = make_app(services_notice=lambda: notice[0])
    async with app.run_test(size=(160, 24)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "connected" in str(bar.render()), "the status line")
        assert "demo services" not in str(bar.render())
        notice[0] = "demo services stopped by the demo console pid 4242 at 10:00:00"
        await wait_for(
            pilot,
            lambda: "✖ demo services stopped by the demo console pid 4242" in str(bar.render()),
            "the notice",
            timeout=10,
        )
        # The connection and engine state come first, so a long notice never hides them.
        assert str(bar.render()).startswith("● connected")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.size.width == 80, "80 columns")
        await pilot.pause()
        assert str(bar.render()).startswith("● connected  │  ✖ engine down")
        notice[0] = ""
        await wait_for(pilot, lambda: "demo services" not in str(bar.render()), "cleared", 10)

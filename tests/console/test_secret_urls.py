"""The status line shows which Redis the console reads, never its password (issue 9 item 6):
connected through a password-protected ACL user, and refused with a wrong password."""

from __future__ import annotations

import redis

from console.widgets.status_bar import StatusBar
from tests.console.conftest import AppFactory, wait_for
from tests.secret_urls import PASSWORD, password_url


async def test_the_status_line_hides_the_password_of_a_working_connection(
    make_app: AppFactory, redis_client: redis.Redis, redis_url: str
) -> None:
    url = password_url(redis_client, redis_url)
    app = make_app(url)
    async with app.run_test(size=(200, 40)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "● connected" in bar.render().plain, "connected")
        shown = bar.render().plain
        assert redis_url.removeprefix("unix://") in shown and ":***@" in shown
        assert PASSWORD not in shown
        assert PASSWORD not in app.export_screenshot()  # nowhere on the screen


async def test_the_status_line_hides_a_refused_password(
    make_app: AppFactory, redis_client: redis.Redis, redis_url: str
) -> None:
    url = password_url(redis_client, redis_url, password=PASSWORD + "-wrong")
    app = make_app(url)
    async with app.run_test(size=(200, 40)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "✖ disconnected" in bar.render().plain, "refused")
        shown = bar.render().plain
        assert ":***@" in shown and PASSWORD not in shown
        assert PASSWORD not in app.export_screenshot()

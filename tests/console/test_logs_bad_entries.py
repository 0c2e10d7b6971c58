"""A log entry that is not UTF-8 text is decoded as the contract's LogLine like every other
document: rejected with its key and id named, counted, and shown as a marked stand-in line,
while the lines around it, the tail after it and a search over the log keep working."""

from __future__ import annotations

import redis

from console.logs.screen import LogScreen
from engine.contract.documents import REJECTED
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, as_run, at, flow_run_doc, log_line, wait_for


async def test_a_bad_log_entry_stands_in_counted_and_the_rest_reads_on(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    mirror.upsert_flow_run(as_run(flow_run_doc("run-1", "witty-fox")))
    key = keys.logs("run-1")
    mirror.append_logs("run-1", [log_line(at(-3), "first good line")])
    bad = log_line(at(-2), "x") | {"msg": b"broken \xff\xfe bytes"}
    bad_id = redis_client.xadd(key, bad).decode()  # type: ignore[arg-type, union-attr]
    mirror.append_logs("run-1", [log_line(at(-1), "second good line")])
    before = REJECTED.count
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = LogScreen(app.ctx, "run-1", None)
        await app.push_screen(screen)
        view = screen.log_view
        await wait_for(pilot, lambda: "second good line" in "\n".join(view.visible_text()), "read")
        text = "\n".join(view.visible_text())
        assert "first good line" in text
        assert f"(bad log entry skipped: {key} {bad_id}; not UTF-8 text)" in text
        assert f"{key} {bad_id}" in REJECTED.by_key
        assert REJECTED.count > before
        # The tail goes on past a bad entry (it is not read again and again).
        redis_client.xadd(key, bad)  # type: ignore[arg-type]
        mirror.append_logs("run-1", [log_line(at(0), "after the second bad one")])
        await wait_for(
            pilot, lambda: "after the second bad one" in "\n".join(view.visible_text()), "tail"
        )
        assert view.lines_written == 5
        # A search reads the text pages (the bad bytes as U+FFFD there): it finds the rest.
        await pilot.press("slash", *"second good", "enter")
        await wait_for(pilot, lambda: list(screen.matches) == [2], "the match")

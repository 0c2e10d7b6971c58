"""The log screen reads a stream's newest page first and shows it at once; the older lines
come in a second index, put in front when all are read (issue 12 item 3: the newest lines
of a 1,000,000-line log on screen in 0.5 s)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.data.store import RedisReader
from console.logs import source as log_source
from console.logs.index import LogIndex
from console.logs.screen import LogScreen
from console.logs.source import LogSource
from engine.contract.documents import LogLine
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, flow_run_doc, wait_for
from tests.console.test_logs_big import LAST, fill_stream

RETRY = "Task run failed with exception: ValueError('x') - Retry {n}/9 will start immediately"

line_strategy = st.tuples(
    st.sampled_from(["", "A", "B", "C"]),
    st.sampled_from(["10", "20", "40"]),
    st.one_of(
        st.text(alphabet="abc \n", max_size=12),
        st.integers(min_value=1, max_value=4).map(lambda n: RETRY.format(n=n)),
    ),
)


def _line(task: str, level: str, msg: str) -> LogLine:
    return msgspec.convert(
        {"ts": "2026-12-01T10:00:00+00:00", "level": level, "task_run_id": task, "msg": msg},
        LogLine,
    )


def _index(lines: list[tuple[str, str, str]], first: int = 0) -> LogIndex:
    index = LogIndex()
    for number, fields in enumerate(lines, start=first):
        index.add_line(f"1000-{number}", _line(*fields))
    return index


FIELDS = ("ms", "seq", "level", "task", "attempt", "ts", "length", "hidden")


@settings(max_examples=200, deadline=None)
@given(st.lists(line_strategy, max_size=30), st.data())
def test_newest_lines_then_the_older_in_front_index_as_one_pass(
    lines: list[tuple[str, str, str]], data: st.DataObject
) -> None:
    split = data.draw(st.integers(min_value=0, max_value=len(lines)))
    whole = _index(lines)
    newest = _index(lines[split:], first=split)
    assert newest.prepend(_index(lines[:split])) == split
    for name in FIELDS:
        assert list(getattr(newest, name)) == list(getattr(whole, name)), name
    assert newest.multiline == whole.multiline
    assert newest.task_ids == whole.task_ids
    for task in ("A", "B", "C"):
        assert newest.attempts_of(task) == whole.attempts_of(task)
    # Lines indexed after the prepend (the live tail) go on counting attempts from there.
    after = (len(lines), RETRY.format(n=7))
    for index in (whole, newest):
        index.add_line(f"1000-{after[0]}", _line("A", "20", after[1]))
        index.add_line(f"1000-{after[0] + 1}", _line("A", "20", "next"))
    assert list(newest.attempt) == list(whole.attempt)
    assert newest.longest == whole.longest


@pytest.mark.parametrize("use_lua", [True, False], ids=["lua", "xrange"])
async def test_the_newest_page_and_the_pages_before_it_read_the_whole_stream(
    redis_url: str,
    mirror: RedisMirror,
    keys: Keys,
    use_lua: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_source, "PAGE", 4)
    lines = [("", "20", f"line {n}") if n % 3 else ("A", "40", f"a {n}") for n in range(10)]
    lines[4] = ("A", "20", RETRY.format(n=1))
    mirror.append_logs("run", [_line(*fields) for fields in lines])
    reader = RedisReader(redis_url, keys)
    try:
        source = LogSource(reader, "run", use_lua=use_lua)
        newest = LogIndex()
        assert await source.read_tail_page(newest) == 4
        assert [newest.entry_id(p) for p in range(4)] == (await _ids(reader, keys))[-4:]
        older = LogIndex()
        pages = []
        while got := await source.read_index_page(older, older.last_id, newest.entry_id(0)):
            pages.append(got)
        assert pages == [4, 2]
        newest.prepend(older)
        whole = LogIndex()
        while await source.read_index_page(whole, whole.last_id):
            pass
        for name in FIELDS:
            assert list(getattr(newest, name)) == list(getattr(whole, name)), name
        assert list(whole.attempt) == [1, 1, 1, 1, 1, 1, 2, 1, 1, 2]
    finally:
        await reader.close()


async def _ids(reader: RedisReader, keys: Keys) -> list[str]:
    entries: Any = await reader.client.xrange(keys.logs("run"))
    return [entry_id for entry_id, _ in entries]


class Gate:
    """Holds the older pages' reads until opened, so the test sees the screen between."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0
        read = LogSource.read_index_page

        async def gated(source: LogSource, index: LogIndex, *args: Any) -> int:
            self.waiting += 1
            await self.opened.wait()
            return await read(source, index, *args)

        monkeypatch.setattr(LogSource, "read_index_page", gated)


async def open_held(pilot: Pilot[Any], run_id: str, gate: Gate) -> LogScreen:
    """The run's log screen, once its newest page is read and the older lines are held."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    screen = LogScreen(app.ctx, run_id, None)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: gate.waiting == 1, "the read of the older lines")
    return screen


LINES = 25_000
"""Two and a half pages: the newest page, then three reads of the older lines."""


@pytest.fixture
def long_run(redis_url: str, redis_client: redis.Redis, keys: Keys) -> Iterator[str]:
    RedisMirror(redis_client, keys).upsert_flow_run(flow_run_doc("run-long", "long-log"))
    fill_stream(redis_url, keys.logs("run-long"), LINES)
    yield "run-long"
    redis_client.delete(keys.logs("run-long"))


async def test_the_newest_lines_show_first_and_new_ones_come_while_the_older_are_read(
    make_app: AppFactory,
    long_run: str,
    mirror: RedisMirror,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = Gate(monkeypatch)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_held(pilot, long_run, gate)
        view = screen.log_view
        # The newest page shows, at its end, while no older line is read yet.
        assert view.lines_written == log_source.PAGE and not screen.indexed
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith(LAST))
        assert "reading 0%" in screen._title()
        # Searching waits for the whole log (the title says how far it got).
        await pilot.press("slash", *"batch", "enter")
        assert screen.search is None
        gate.opened.set()
        # A line appended while the older ones are read shows before they are all read.
        mirror.append_logs("run-long", [_line("", "20", "live one")])
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith("live one"), "live")
        await wait_for(pilot, lambda: screen.indexed, "the older lines")
        assert view.lines_written == LINES + 1
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith("live one"), "the end")
        assert view.auto_scroll, "still following"
        assert "reading" not in screen._title()
        await pilot.press("g")
        await wait_for(pilot, lambda: view.visible_text()[0].endswith("batch 0 scored 64 rows"))


async def test_a_paused_view_keeps_its_top_line_when_the_older_lines_come(
    make_app: AppFactory, long_run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_held(pilot, long_run, gate)
        view = screen.log_view
        await pilot.press("g")  # the top of the newest page: following stops
        first_of_page = f"batch {LINES - log_source.PAGE} scored 64 rows"
        await wait_for(pilot, lambda: view.visible_text()[0].endswith(first_of_page))
        gate.opened.set()
        await wait_for(pilot, lambda: screen.indexed, "the older lines")
        assert view.lines_written == LINES
        await wait_for(pilot, lambda: "…" not in view.visible_text(), "the lines fetched")
        assert view.visible_text()[0].endswith(first_of_page), "the screen did not jump"
        assert not view.auto_scroll

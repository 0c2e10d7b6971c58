"""The log index, views, layout and the Lua page scan (against the real Redis)."""

from __future__ import annotations

from array import array
from pathlib import Path

import msgspec
import pytest
import redis
import redis.asyncio as aioredis
from rich.style import Style

from console.data.store import RedisReader
from console.logs import scan as log_scan
from console.logs import source as log_source
from console.logs.index import (
    LogFilter,
    LogIndex,
    line_lengths,
    row_of,
    step_match,
    visible_matches,
)
from console.logs.lines import Layout, Styles, entry_rows, plain_line, tag_of
from console.logs.scan import compile_pattern, default_save_path, save_view, scan_text
from console.logs.source import LogSource
from engine.contract.documents import LogLine
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import at, log_line

RETRY = "Task run failed with exception: ValueError('boom') - Retry {n}/3 will start immediately"


def lines_with_retries() -> list[dict[str, str]]:
    """Flow line, task A attempt 1, its retry line, attempt 2, a line of task B between."""
    return [
        log_line(at(-10), "flow started"),
        log_line(at(-9), "a first try", task_run_id="A"),
        log_line(at(-9), RETRY.format(n=1), task_run_id="A"),
        log_line(at(-8), "b working", task_run_id="B", level="DEBUG"),
        log_line(at(-8), "a second try", task_run_id="A", level="ERROR"),
        log_line(at(-7), RETRY.format(n=2), task_run_id="A"),
        log_line(
            at(-1), "a third try: ünïcödé\nTraceback (most recent call last):", task_run_id="A"
        ),
    ]


def indexed(lines: list[dict[str, str]]) -> LogIndex:
    index = LogIndex()
    for i, fields in enumerate(lines):
        index.add_line(f"1000-{i}", msgspec.convert(fields, LogLine))
    return index


def test_a_tasks_retry_line_starts_its_next_attempt() -> None:
    index = indexed(lines_with_retries())
    assert list(index.attempt) == [1, 1, 1, 1, 2, 2, 3]
    assert index.attempts_of("A") == 3 and index.attempts_of("B") == 1
    assert index.attempts_of("unknown") == 1
    assert list(index.view(LogFilter(task="A", attempt=2))) == [4, 5]
    assert list(index.view(LogFilter(task="A", attempt=3))) == [6]
    assert list(index.view(LogFilter(task="B"))) == [3]
    assert list(index.view(LogFilter(task="nobody"))) == []


def test_views_filter_by_level_time_and_hidden_lines() -> None:
    index = indexed(lines_with_retries())
    assert list(index.view(LogFilter())) == list(range(7))
    assert list(index.view(LogFilter(min_level=40))) == [4]
    assert list(index.view(LogFilter(since=at(-8).timestamp()))) == [3, 4, 5, 6]
    index.hidden[0] = 1
    assert list(index.view(LogFilter())) == list(range(1, 7))
    assert list(index.view(LogFilter(), start=5)) == [5, 6]
    assert index.newest_ts() == at(-1).timestamp()


def test_positions_of_ids_lengths_and_matches() -> None:
    index = indexed(lines_with_retries())
    assert index.position_of("1000-4") == 4 and index.position_of("1000-9") is None
    assert index.last_id == "1000-6" and index.entry_id(2) == "1000-2"
    assert index.lengths(6) == line_lengths(lines_with_retries()[6]["msg"])
    assert index.lengths(6) == (20, 34)
    view = array("q", [1, 3, 4, 6])
    assert row_of(view, 4) == 2 and row_of(view, 5) is None
    assert list(visible_matches(view, array("q", [0, 3, 5, 6]))) == [3, 6]


def test_regex_ignores_case_unless_it_has_a_capital() -> None:
    lower, _ = compile_pattern("cuda")
    upper, _ = compile_pattern("CUDA")
    assert lower is not None and lower.search("CUDA out of memory")
    assert upper is not None and not upper.search("cuda")
    bad, error = compile_pattern("(unclosed")
    assert bad is None and "missing )" in error


STYLES = Styles(
    time=Style(), level=lambda level: Style(), tag=Style(), match=Style(), current=Style()
)


@pytest.mark.parametrize("width", [30, 47, 80])
def test_wrapped_rows_match_the_row_count_from_lengths_alone(width: int) -> None:
    fields = msgspec.convert(
        lines_with_retries()[6] | {"msg": "x" * 95 + "\n" + "ünï" * 20 + "\n"}, LogLine
    )
    layout = Layout(width=width, wrap=True, gutter=True)
    tag = tag_of("infer-0", 3)
    rows = entry_rows(fields, tag, layout, None, STYLES)
    assert len(rows) == layout.rows(tag, line_lengths(fields.msg))
    assert all(row.cell_len <= max(width, layout.prefix_width(tag) + 10) for row in rows)
    assert "".join(row.plain[layout.prefix_width(tag) :] for row in rows) == fields.msg.replace(
        "\n", ""
    )


def test_unwrapped_lines_keep_one_row_and_saved_lines_keep_newlines() -> None:
    fields = msgspec.convert(lines_with_retries()[6], LogLine)
    rows = entry_rows(fields, "infer-0 #3", Layout(width=40), None, STYLES)
    assert len(rows) == 1 and "ünïcödé⏎Traceback" in rows[0].plain
    assert rows[0].plain.startswith("11-25 09:59:00 INFO     [infer-0 #3] a third")
    no_time = entry_rows(fields, "a", Layout(width=40, timestamps=False), None, STYLES)
    assert no_time[0].plain.startswith("INFO     [a] a third")
    assert plain_line(fields, "a", None, False).endswith(
        "ünïcödé\nTraceback (most recent call last):"
    )


@pytest.mark.parametrize("use_lua", [True, False], ids=["lua", "xrange"])
async def test_the_lua_page_scan_indexes_like_the_python_rule(
    redis_url: str, mirror: RedisMirror, keys: Keys, use_lua: bool
) -> None:
    mirror.append_logs("run", lines_with_retries())
    reader = RedisReader(redis_url, keys)
    try:
        source = LogSource(reader, "run", use_lua=use_lua)
        index = LogIndex()
        assert await source.read_index_page(index, None) == 7
        assert await source.read_index_page(index, index.last_id) == 0
        expected = indexed(lines_with_retries())
        for name in ("level", "task", "attempt", "ts", "length"):
            assert list(getattr(index, name)) == list(getattr(expected, name)), name
        assert index.multiline == expected.multiline == {6: (20, 34)}
        assert index.task_ids == ["", "A", "B"]
        pattern, _ = compile_pattern("(first|second|third) try")
        assert pattern is not None
        seen: list[int] = []
        assert list(await scan_text(source, index, pattern, seen.append)) == [1, 4, 6]
        assert seen == [7]
        fetched = await source.read_lines(index, [0, 4, 5])
        assert fetched[4].msg == "a second try" and set(fetched) == {0, 4, 5}
    finally:
        await reader.close()


async def test_lines_trimmed_after_indexing_are_skipped(
    redis_url: str, mirror: RedisMirror, keys: Keys, redis_client: object
) -> None:
    mirror.append_logs("run", lines_with_retries())
    reader = RedisReader(redis_url, keys)
    try:
        source = LogSource(reader, "run")
        index = LogIndex()
        await source.read_index_page(index, None)
        await reader.client.xtrim(keys.logs("run"), maxlen=3, approximate=False)
        assert set(await source.read_lines(index, [0, 1, 2, 5, 6])) == {5, 6}
        pattern, _ = compile_pattern("(first|second|third) try")
        assert pattern is not None
        assert list(await scan_text(source, index, pattern, lambda done: None)) == [4, 6]
    finally:
        await reader.close()


async def test_without_script_rights_pages_are_read_with_xrange(
    redis_url: str, mirror: RedisMirror, keys: Keys, redis_client: redis.Redis
) -> None:
    """An ACL user that may not run scripts (a locked-down console account)."""
    mirror.append_logs("run", lines_with_retries())
    user = f"{keys.prefix}-ro"
    redis_client.execute_command("ACL", "SETUSER", user, "on", ">pw", "~*", "+@all", "-@scripting")
    reader = RedisReader(redis_url, keys)
    reader._client = aioredis.Redis.from_url(
        redis_url, username=user, password="pw", decode_responses=True
    )
    try:
        source = LogSource(reader, "run")
        index = LogIndex()
        assert await source.read_index_page(index, None) == 7
        assert not source.use_lua
        assert list(index.attempt) == [1, 1, 1, 1, 2, 2, 3]
        page = await source.read_text_page(index.entry_id(4))
        assert page.messages == [RETRY.format(n=2), lines_with_retries()[6]["msg"]]
    finally:
        await reader.close()
        redis_client.execute_command("ACL", "DELUSER", user)


def test_n_and_N_step_from_the_current_match_or_the_top_and_wrap_around() -> None:
    shown = array("q", [3, 7, 9])
    assert step_match(shown, None, 5, True) == 7 and step_match(shown, None, 5, False) == 3
    assert step_match(shown, None, 7, True) == 7 and step_match(shown, None, 10, True) == 3
    assert step_match(shown, 7, 0, True) == 9 and step_match(shown, 7, 0, False) == 3
    assert step_match(shown, 9, 0, True) == 3 and step_match(shown, 3, 0, False) == 9
    assert step_match(shown, 8, 0, True) == 9 and step_match(shown, 8, 0, False) == 7  # hidden


def test_saved_logs_go_under_the_state_dir_with_a_safe_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIWF_STATE_DIR", str(tmp_path))
    path = default_save_path("witty fox/1", "infer-0 #2", at(0))
    assert path == tmp_path / "saved-logs" / "witty_fox_1-infer-0_2-20261125-100000.log"


@pytest.mark.parametrize("by_id", [True, False], ids=["by-id", "by-pages"])
async def test_saving_by_id_or_by_pages_writes_the_same(
    redis_url: str,
    mirror: RedisMirror,
    keys: Keys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    by_id: bool,
) -> None:
    mirror.append_logs("run", lines_with_retries())
    reader = RedisReader(redis_url, keys)
    try:
        source = LogSource(reader, "run")
        index = LogIndex()
        await source.read_index_page(index, None)
        await reader.client.xtrim(keys.logs("run"), maxlen=5, approximate=False)  # 0 and 1
        if not by_id:
            monkeypatch.setattr(log_scan, "SAVE_BY_ID", 0)
            monkeypatch.setattr(log_source, "PAGE", 2)  # several pages, too
        path = tmp_path / "deep" / "out.log"
        seen: list[int] = []
        written = await save_view(
            source, index, [1, 3, 4, 6], path, lambda p: f"t{p}", None, False, seen.append
        )
    finally:
        await reader.close()
    assert written == 4 and seen[-1] == 4
    assert path.read_text(encoding="utf-8").splitlines() == [
        log_scan.TRIMMED,
        "DEBUG    [t3] b working",
        "ERROR    [t4] a second try",
        "INFO     [t6] a third try: ünïcödé",
        "Traceback (most recent call last):",
    ]


async def test_a_scan_also_covers_lines_indexed_while_it_runs(
    redis_url: str, mirror: RedisMirror, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror.append_logs("run", lines_with_retries())
    monkeypatch.setattr(log_source, "PAGE", 3)
    reader = RedisReader(redis_url, keys)
    try:
        source = LogSource(reader, "run")
        index = LogIndex()
        while await source.read_index_page(index, index.last_id):
            pass

        def tail_arrives(done: int) -> None:
            # What the follow worker does between two pages of the scan.
            if len(index) == 7:
                fields = log_line(at(0), "a fourth try", task_run_id="A")
                entry_id = mirror.client.xadd(keys.logs("run"), fields)  # type: ignore[arg-type]
                line = msgspec.convert(fields, LogLine)
                index.add_line(entry_id.decode(), line)  # type: ignore[union-attr]

        pattern, _ = compile_pattern("(first|second|third|fourth) try")
        assert pattern is not None
        assert list(await scan_text(source, index, pattern, tail_arrives)) == [1, 4, 6, 7]
    finally:
        await reader.close()

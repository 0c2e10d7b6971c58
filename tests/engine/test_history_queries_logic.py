"""Pure rules of history queries: normalization (what the cache keys on), the page cache,
the Prefect filter a query becomes, and how the console's view takes pages in."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from console.data.history import HistoryView
from engine.bridge.history import BadQuery, PageCache, prefect_filter
from engine.contract.documents import FlowRun
from engine.contract.history import QUERY_PAGE_MAX, RunPage, RunQuery, new_query


def test_normalized_bounds_the_page_and_ignores_id_deadline_and_state_order() -> None:
    a = new_query(state_types=["failed", "CRASHED"], limit=10_000, offset=-5, sort="bogus")
    b = new_query(state_types=["CRASHED", "FAILED"], limit=QUERY_PAGE_MAX)
    assert a.id != b.id
    assert a.cache_key() == b.cache_key()
    normal = a.normalized()
    assert (normal.limit, normal.offset, normal.sort) == (QUERY_PAGE_MAX, 0, "START_TIME_DESC")
    assert new_query(offset=100).cache_key() != new_query(offset=0).cache_key()


def test_the_cache_answers_the_same_query_only_while_fresh() -> None:
    cache = PageCache(seconds=0.2)
    asked = new_query(text="x")
    page = RunPage(query_id=asked.id, ok=True, total=3)
    cache.put(asked, page)
    again = new_query(text="x")
    hit = cache.get(again)
    assert hit is not None and hit.cached and hit.query_id == again.id and hit.total == 3
    assert cache.get(new_query(text="y")) is None
    time.sleep(0.25)
    assert cache.get(again) is None
    cache.put(asked, RunPage(query_id=asked.id, ok=False, error="down"))
    assert cache.get(asked) is None  # failures are not remembered


def test_a_page_put_for_longer_outlives_the_cache_s_own_time() -> None:
    cache = PageCache(seconds=0.1)
    short, ahead = new_query(text="short"), new_query(text="ahead", offset=100)
    cache.put(short, RunPage(query_id=short.id, ok=True))
    cache.put(ahead, RunPage(query_id=ahead.id, ok=True, offset=100), seconds=30)
    time.sleep(0.15)
    assert not cache.holds(short)
    assert cache.holds(ahead)
    hit = cache.get(new_query(text="ahead", offset=100))
    assert hit is not None and hit.cached and hit.offset == 100


def test_the_prefect_filter_has_every_filter_of_the_query() -> None:
    query = RunQuery(
        deployment_id="0f9a0c3e-6a38-4f7e-9c1a-2b3c4d5e6f70",
        state_types=["FAILED"],
        since="2026-11-25T09:00:00+00:00",
        text="nightly",
    )
    found = prefect_filter(query)
    assert found.deployment_id is not None and found.deployment_id.any_ is not None
    assert str(found.deployment_id.any_[0]) == query.deployment_id
    assert found.state is not None and found.state.type is not None
    assert [t.value for t in found.state.type.any_ or []] == ["FAILED"]
    assert found.expected_start_time is not None and found.expected_start_time.after_
    assert found.expected_start_time.before_ is None
    assert found.name is not None and found.name.like_ == "nightly"
    assert prefect_filter(RunQuery()).model_dump(exclude_none=True) == {"operator": "and_"}


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"deployment_id": "nope"}, "not a UUID"),
        ({"state_types": ["DONE"]}, "state_types"),
        ({"since": "yesterday"}, "ISO times"),
    ],
)
def test_a_query_prefect_would_refuse_is_a_bad_query(fields: dict[str, object], says: str) -> None:
    with pytest.raises(BadQuery, match=says):
        prefect_filter(RunQuery(**fields))  # type: ignore[arg-type]


def _run(n: int) -> FlowRun:
    return FlowRun(id=f"run-{n}", name=f"r{n}")


def test_the_view_keeps_pages_in_order_and_knows_when_all_are_loaded() -> None:
    view = HistoryView(("k",), RunQuery())
    assert view.status == "loading" and not view.wants_more()
    view.apply(RunPage(query_id="q", ok=True, total=3, runs=[_run(1), _run(2)]), "")
    assert (view.status, view.total, view.next_offset) == ("ok", 3, 2)
    assert view.wants_more()
    view.loading = True
    view.apply(None, "the engine did not answer within 6 s")
    assert view.status == "failed" and view.error.startswith("the engine did not")
    assert list(view.runs) == ["run-1", "run-2"]  # what was loaded stays
    # A next page comes without a count (`counted: false`): the first page's total stays.
    view.apply(RunPage(query_id="q", ok=True, total=-1, runs=[_run(2), _run(3)]), "")
    assert view.total == 3
    assert list(view.runs) == ["run-1", "run-2", "run-3"] and view.exhausted
    assert not view.wants_more()


def test_the_total_is_counted_again_over_runs_newer_than_the_pages() -> None:
    base = RunQuery(state_types=["FAILED"], until="2026-12-02T09:00:00+00:00", limit=100)
    view = HistoryView(("k",), base, counted_at=100.0)
    assert not view.count_due(200.0)  # loading: nothing to refresh yet
    view.apply(RunPage(query_id="q", ok=True, total=2, runs=[_run(1), _run(2)]), "")
    assert view.exhausted and not view.count_due(105.0) and view.count_due(110.0)
    count = view.count_query(datetime(2026, 12, 2, 9, 5, tzinfo=timezone.utc))
    assert (count.until, count.limit, count.offset) == ("2026-12-02T09:05:00+00:00", 1, 0)
    assert count.since is None  # any time: no range to slide
    assert count.state_types == ["FAILED"]
    view.apply_count(None)
    assert view.total == 2
    view.apply_count(RunPage(query_id="c", ok=True, total=3, runs=[_run(9)]))
    assert view.total == 3 and not view.exhausted and view.wants_more()


def test_a_time_range_slides_with_the_count() -> None:
    """`last 7d` counted 5 minutes after the view was set is the 7 days before then."""
    base = RunQuery(since="2026-11-25T09:00:00+00:00", until="2026-12-02T09:00:00+00:00", limit=100)
    view = HistoryView(("k",), base)
    count = view.count_query(datetime(2026, 12, 2, 9, 5, tzinfo=timezone.utc))
    assert (count.since, count.until) == ("2026-11-25T09:05:00+00:00", "2026-12-02T09:05:00+00:00")
    assert view.base.since == "2026-11-25T09:00:00+00:00"  # the pages' slices stay pinned


def test_a_total_below_the_rows_shown_is_counted_again_within_a_second() -> None:
    """A run just triggered shows before the last count had it (`1 in Prefect; 2 shown`)."""
    base = RunQuery(until="2026-12-02T09:00:00+00:00", limit=100)
    view = HistoryView(("k",), base, counted_at=100.0)
    view.apply(RunPage(query_id="q", ok=True, total=1, runs=[_run(1)]), "")
    assert not view.count_due(101.0, shown=1)  # agrees with the screen: every 10 s
    assert not view.count_due(100.5, shown=2)
    assert view.count_due(101.0, shown=2)
    view.note_count_asked(101.0, shown=2)
    view.apply_count(RunPage(query_id="c", ok=True, total=1, runs=[]))  # still 1: one not due
    assert not view.count_due(102.0, shown=2)  # asked at 2 shown already: every 10 s again
    assert view.count_due(102.0, shown=3)  # another run since
    assert view.count_due(111.0, shown=2)

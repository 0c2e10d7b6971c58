"""A filter that drops many rows at once (the table is rebuilt rather than emptied row by
row, console/widgets/keyed_table.py): the rows left are the right ones, in order, and the
cursor stays on its run; clearing the filter brings every row back in order."""

from __future__ import annotations

from console.widgets.runs_table import RunsTable
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, flow_run_doc, wait_for

FAILED = [f"fail-{n:02d}" for n in range(20)]
DONE = [f"done-{n:02d}" for n in range(10)]


async def test_a_filter_dropping_most_rows_keeps_order_and_cursor(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    # One run a minute, newest first: done-00 at -1 min, fail-00 at -2, done-01 at -3 ...
    names = [n for pair in zip(DONE, FAILED[:10], strict=True) for n in pair] + FAILED[10:]
    for minute, name in enumerate(names, 1):
        state = "FAILED" if name.startswith("fail") else "COMPLETED"
        mirror.upsert_flow_run(
            flow_run_doc(name, name, state=state, start=at(-minute), updated=at(-minute))
        )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == len(names), "every run")
        assert runs.row_keys() == names
        runs.focus()
        runs.move_cursor(row=names.index("done-03"))

        runs.set_filter("done")  # 20 rows go at once
        await pilot.pause()
        assert runs.row_keys() == DONE
        assert runs.selected_key() == "done-03"

        runs.set_filter("")
        await pilot.pause()
        assert runs.row_keys() == names
        assert runs.selected_key() == "done-03"

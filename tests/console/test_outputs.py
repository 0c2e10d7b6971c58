"""The outputs screen (`o` on the run screen) and the comparison behind it."""

from __future__ import annotations

from typing import Any

import pytest

from console.screens.outputs import OutputsScreen
from console.screens.run import RunScreen
from console.text.output_compare import (
    OutputsComparison,
    compare_outputs,
    pick_previous,
    rows_down,
    schema_changes,
)
from console.widgets.runs_table import RunsTable
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    as_lineage,
    at,
    fill_standard,
    flow_run_doc,
    wait_for,
)
from tests.console.test_help import help_rows
from tests.console.test_lineage import lineage_doc, open_failed_run

Doc = dict[str, Any]
SCHEMA = {"id": "int64", "timestamp": "timestamp[ns]", "prediction": "double"}


def compare(current: Doc, previous: Doc | None) -> OutputsComparison:
    return compare_outputs(
        as_lineage(current), as_lineage(previous) if previous is not None else None
    )


def with_outputs(doc: Doc, rows: dict[str, int], schema: dict[str, str] | None) -> Doc:
    outputs = [
        {"path": f"/data/out/date={d}", "rows": n, "bytes": 1000 + n}
        | ({"schema": schema} if schema is not None else {})
        for d, n in rows.items()
    ]
    return doc | {"outputs": outputs}


def test_schema_changes_and_row_drops() -> None:
    new = {"id": "int64", "timestamp": "timestamp[us]", "region": "string"}
    assert [c.describe() for c in schema_changes(SCHEMA, new)] == [
        "+ region (string)",
        "- prediction (double)",
        "~ timestamp timestamp[ns] → timestamp[us]",
    ]
    assert schema_changes(None, new) == [] and schema_changes(SCHEMA, SCHEMA) == []
    assert rows_down(400, 1000) == 60
    assert rows_down(500, 1000) is None  # exactly half is not "more than 50%"
    assert rows_down(1200, 1000) is None and rows_down(5, 0) is None and rows_down(None, 5) is None


def test_previous_is_the_newest_earlier_completed_run_of_the_deployment() -> None:
    current = lineage_doc("now", "n", recorded=at(-10))
    older = lineage_doc("old", "o", recorded=at(-100))
    newer_failed = lineage_doc("bad", "b", recorded=at(-20), status="failed")
    other = lineage_doc("oth", "x", recorded=at(-15)) | {"deployment_name": "nightly"}
    later = lineage_doc("later", "l", recorded=at(-5))
    middle = lineage_doc("mid", "m", recorded=at(-50))
    candidates = [older, newer_failed, other, later, middle, current]
    picked = pick_previous(as_lineage(current), [as_lineage(d) for d in candidates])
    assert picked is not None and picked.flow_run_id == "mid"
    assert pick_previous(as_lineage(current), [as_lineage(later)]) is None


def test_compare_flags_by_partition_and_in_total() -> None:
    before = with_outputs(
        lineage_doc("a", "a", recorded=at(-60)), {"2026-11-01": 1000, "2026-11-02": 1000}, SCHEMA
    )
    after = with_outputs(
        lineage_doc("b", "b", recorded=at(-1)),
        {"2026-11-01": 300, "2026-11-02": 900, "2026-11-03": 50},
        SCHEMA | {"region": "string"},
    )
    result = compare(after, before)
    first, second, third = result.partitions
    assert first.flags == ("schema changed", "rows down 70%") and first.previous_rows == 1000
    assert second.flags == ("schema changed",) and second.previous_rows == 900 + 100
    assert third.previous_rows is None and third.flags == ("schema changed",)
    assert result.total_rows == 1250 and result.previous_total_rows == 2000
    assert result.flags == ("schema changed",)  # 37.5% down: not flagged
    unchanged = compare(with_outputs(after, {"2026-11-01": 1000}, SCHEMA), before)
    assert unchanged.flags == () and unchanged.partitions[0].flags == ()
    alone = compare(after, None)
    assert alone.previous is None and all(p.flags == () for p in alone.partitions)
    legacy = compare(after, with_outputs(before, {"2026-11-01": 1000}, None))
    assert legacy.schema_changes == ()  # no schema recorded then: nothing to compare


def test_a_failed_attempt_without_outputs_is_not_a_drop_in_rows() -> None:
    before = with_outputs(lineage_doc("a", "a", recorded=at(-60)), {"2026-11-01": 1000}, SCHEMA)
    failed = lineage_doc("b", "b", recorded=at(-1), status="failed") | {"outputs": []}
    assert compare(failed, before).flags == ("attempt failed, nothing written",)
    completed_empty = lineage_doc("c", "c", recorded=at(-1)) | {"outputs": []}
    assert compare(completed_empty, before).flags == ("rows down 100%",)


async def test_o_opens_the_outputs_with_flags_and_schema(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.upsert_flow_run(
        flow_run_doc("run-old", "old-owl", state="COMPLETED", start=at(-300), end=at(-295))
    )
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-old", "old-owl", recorded=at(-295)),
            {"2026-11-01": 1000, "2026-11-02": 1000},
            SCHEMA,
        )
    )
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-failed", "brave-otter", recorded=at(-80)),
            {"2026-11-01": 400, "2026-11-02": 1000},
            SCHEMA | {"region": "string"},
        )
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 4, "runs")
        runs.focus()
        runs.move_cursor(row=runs.row_keys().index("run-failed"))
        await pilot.press("enter")
        run_screen = app.screen
        assert isinstance(run_screen, RunScreen)
        await pilot.press("o")
        screen = app.screen
        assert isinstance(screen, OutputsScreen)
        await wait_for(pilot, lambda: screen.comparison is not None, "comparison")
        rows = [[str(c) for c in screen.table.get_row_at(i)] for i in range(2)]
        assert rows[0] == [
            "date=2026-11-01",
            "400",
            "1.4 KB",
            "1000",
            "⚠ schema changed, rows down 60%",
        ]
        assert rows[1][-1] == "⚠ schema changed"
        summary = str(screen.query_one("#outputs-summary").render())
        assert "Previous: run old-owl" in summary and "2000 rows" in summary
        assert "⚠ schema changed: + region (string)" in summary
        schema = str(screen.query_one("#outputs-schema").render())
        assert "+ region" in schema and "  prediction" in schema
        # A newer attempt of the run arrives: the screen follows it.
        mirror.write_lineage(
            with_outputs(
                lineage_doc("run-failed", "brave-otter", recorded=at(-70)),
                {"2026-11-01": 1000},
                SCHEMA,
            )
        )
        await wait_for(pilot, lambda: screen.table.row_count == 1, "the new attempt")
        await wait_for(
            pilot,
            lambda: str(screen.table.get_row_at(0)[-1]) == "✔ no change flagged",
            "no flags",
        )
        await pilot.press("escape")
        assert app.screen is run_screen
        await pilot.press("question_mark")
        assert help_rows(app)["o"] == "Outputs"


async def test_outputs_without_lineage_or_previous_run_say_so(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_failed_run(pilot, app)
        await pilot.press("o")
        screen = app.screen
        assert isinstance(screen, OutputsScreen)
        summary = screen.query_one("#outputs-summary")
        await wait_for(pilot, lambda: "No lineage" in str(summary.render()), "no lineage")
        assert "lineage:run-failed" in str(summary.render())
        mirror.write_lineage(lineage_doc("run-failed", "brave-otter", recorded=at(-80)))
        await wait_for(pilot, lambda: screen.comparison is not None, "comparison")
        assert "No earlier completed run" in str(summary.render())
        assert isinstance(app.screen.app.screen_stack[-2], RunScreen)


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_outputs_screen_on_small_terminals(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    doc = lineage_doc("run-failed", "brave-otter", recorded=at(-80))
    mirror.write_lineage(with_outputs(doc, {"2026-11-01": 10}, SCHEMA))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        run = await open_failed_run(pilot, app)
        await wait_for(pilot, lambda: "run-failed" in app.store.lineage, "lineage")
        await pilot.press("o")
        screen = app.screen
        assert isinstance(screen, OutputsScreen)
        await wait_for(pilot, lambda: screen.comparison is not None, "outputs")
        await pilot.press("down", "up", "escape")
        assert app.screen is run

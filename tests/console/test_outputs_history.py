"""The outputs screen finds the previous completed run in Redis's writers index, even when
the console's list of runs no longer holds it."""

from __future__ import annotations

from console.data.store import RedisReader
from console.screens.outputs import OutputsScreen
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, wait_for
from tests.console.test_lineage import lineage_doc, open_failed_run
from tests.console.test_outputs import SCHEMA, with_outputs


def write_history(mirror: RedisMirror) -> None:
    """Lineage only (no flow run docs, as after the console's window or a trim moved on):
    an old run, the previous one (which wrote another day), a failed one, and one after."""
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-oldest", "old-elk", recorded=at(-900)), {"2026-10-29": 900}, SCHEMA
        )
    )
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-gone", "gone-gnu", recorded=at(-600)),
            {"2026-10-30": 1000, "2026-11-01": 1000},
            SCHEMA,
        )
    )
    # A later attempt of an older run failed: its lineage says failed, it is skipped.
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-redo", "redo-rat", recorded=at(-700)), {"2026-10-30": 5}, SCHEMA
        )
    )
    mirror.write_lineage(
        lineage_doc("run-redo", "redo-rat", recorded=at(-500), status="failed") | {"outputs": []}
    )
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-after", "late-lynx", recorded=at(-10)), {"2026-11-01": 7}, SCHEMA
        )
    )


async def test_read_writers_before_spans_every_partition(
    redis_url: str, keys: Keys, mirror: RedisMirror
) -> None:
    write_history(mirror)
    reader = RedisReader(redis_url, keys)
    try:
        before = at(-80).timestamp()
        found = await reader.read_writers_before("ai-inference-prod", before, 10)
        assert [run_id for run_id, _ in found] == ["run-gone", "run-redo", "run-oldest"]
        assert found[0][1] == at(-600).timestamp()
        assert [r for r, _ in await reader.read_writers_before("ai-inference-prod", None, 2)] == [
            "run-after",
            "run-gone",
        ]
        assert await reader.read_writers_before("nightly", before, 10) == []
    finally:
        await reader.close()


async def test_previous_run_comes_from_redis_history(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    write_history(mirror)
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-failed", "brave-otter", recorded=at(-80)),
            {"2026-11-01": 400, "2026-11-02": 1000},
            SCHEMA,
        )
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_failed_run(pilot, app)
        assert "run-gone" not in app.store.flow_runs
        await pilot.press("o")
        screen = app.screen
        assert isinstance(screen, OutputsScreen)
        await wait_for(pilot, lambda: screen.comparison is not None, "comparison")
        assert screen.comparison is not None and screen.comparison.previous is not None
        assert screen.comparison.previous.flow_run_id == "run-gone"
        summary = str(screen.query_one("#outputs-summary").render())
        assert "Previous: run gone-gnu" in summary and "2000 rows" in summary
        first = [str(c) for c in screen.table.get_row_at(0)]
        assert first[0] == "date=2026-11-01" and first[3:] == ["1000", "⚠ rows down 60%"]
        assert str(screen.table.get_row_at(1)[3]) == "new partition"

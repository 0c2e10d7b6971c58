"""console/widgets/row_table.py: a changed cell is drawn, and only its row is repainted.

`DataTable.update_cell` marks the whole table for repaint, which wrote every visible row to
the terminal again per changed run (about 19 KiB at 160x48, at 200 changes/s a redraw
of the whole table each batch). The byte rate under load is measured in the benchmark
suite (benchmarks/bench_screen.py); here, that what is drawn is right."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult

from console.widgets.row_table import RowTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RowTable()

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.add_column("name", key="name")
        table.add_column("state", key="state")
        for n in range(30):
            table.add_row(Text(f"run-{n:02d}"), Text("Running"), key=f"run-{n:02d}")


def screen_text(app: App[None]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_a_changed_cell_is_drawn_and_only_its_row_is_repainted() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        await pilot.pause()
        assert "run-03 Running" in " ".join(screen_text(app).split())
        table.update_cells("run-03", {"state": Text("Failed")})
        # Only row 3's line (under the header) is marked dirty; `update_cell` clears the
        # regions, which marks the whole table.
        assert [(r.y, r.height) for r in table._repaint_regions] == [(4, 1)]
        await pilot.pause()
        shown = " ".join(screen_text(app).split())
        assert "run-03 Failed" in shown
        assert "run-02 Running" in shown and "run-04 Running" in shown
        assert table.get_cell("run-03", "state").plain == "Failed"


async def test_show_rows_repaints_changed_rows_and_adds_and_removes() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        await pilot.pause()
        rows = {f"run-{n:02d}": [Text(f"run-{n:02d}"), Text("Running")] for n in range(1, 30)}
        rows["run-05"] = [Text("run-05"), Text("Failed")]
        rows["run-30"] = [Text("run-30"), Text("Pending")]
        table.show_rows(rows)
        await pilot.pause()
        assert str(table.get_row_at(0)[0]) == "run-01"  # run-00 removed
        assert table.get_cell("run-05", "state").plain == "Failed"
        assert "run-30" in {str(key.value) for key in table.rows}
        assert "run-05 Failed" in " ".join(screen_text(app).split())


class KeylessApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RowTable()

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.add_columns("partition", "flag")  # no column keys, as the outputs screen
        table.show_rows({"p1": [Text("p1"), Text("⚠ changed")]})


async def test_show_rows_changes_cells_of_columns_without_keys() -> None:
    app = KeylessApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        table.show_rows({"p1": [Text("p1"), Text("✔ no flag")]})
        await pilot.pause()
        assert [str(cell) for cell in table.get_row_at(0)] == ["p1", "✔ no flag"]


class WideningApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RowTable()

    def on_mount(self) -> None:
        self.query_one(RowTable).add_columns("Partition", "Change")


async def test_a_row_drawn_before_the_widths_grew_is_drawn_again_at_the_new_widths() -> None:
    """DataTable measures new rows when the app is idle, and its line cache is keyed by
    rows, cursor and a count its resize handler bumps, not widths: a row drawn before the
    idle and again before the resize arrived was the old line, cut at the header's widths
    (`date=2026` in the outputs screen's snapshot on a busy machine)."""
    app = WideningApp()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(RowTable)
        await pilot.pause()
        table.show_rows({"p1": [Text("date=2026-11-01"), Text("schema changed")]})
        table.render_line(1)  # drawn before the idle measures the row
        await table._on_idle(events.Idle())  # measured; drawn again before any resize
        assert table.render_line(1).text.split() == ["date=2026-11-01", "schema", "changed"]


async def test_a_row_drawn_before_its_wider_cell_is_measured_is_drawn_again() -> None:
    app = WideningApp()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(RowTable)
        table.show_rows({"p1": [Text("p1"), Text("ok")], "p2": [Text("p2"), Text("ok")]})
        await pilot.pause()
        table.update_cell(
            "p2", table.ordered_columns[0].key, Text("date=2026-11-01"), update_width=True
        )
        table.render_line(2)
        await table._on_idle(events.Idle())
        assert table.render_line(2).text.split() == ["date=2026-11-01", "ok"]

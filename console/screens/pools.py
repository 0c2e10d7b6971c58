"""Work pools: Prefect's pools and queues, their workers and the concurrency limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Label

from console.context import Context
from console.screens.base import LiveScreen
from console.screens.confirm import ConfirmScreen
from console.text.formatting import format_ago
from console.text.pools_text import QueueRow, limit_text, queue_rows, worker_rows
from console.widgets.row_table import RowTable
from console.widgets.status_bar import StatusBar


class PoolsScreen(LiveScreen):
    """Pools and queues (p pauses or resumes the selected one), workers, limits."""

    DEFAULT_CSS = """
    PoolsScreen RowTable { height: 1fr; }
    PoolsScreen #pools-queues { height: 2fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the previous screen", id="pools.back"),
        Binding(
            "p",
            "pause_toggle",
            "Pause/Resume",
            tooltip="Pause or resume the selected work pool or queue (asks first)",
            id="pools.pause_toggle",
        ),
    ]
    MUTATING_ACTIONS = frozenset({"pause_toggle"})

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.queues: dict[str, QueueRow] = {}
        """Shown pool and queue rows by table key (the pool action's target)."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="pools-title", classes="title")
        yield RowTable(id="pools-queues", cursor_type="row", zebra_stripes=True)
        yield RowTable(id="pools-workers", cursor_type="row", zebra_stripes=True)
        yield RowTable(id="pools-limits", cursor_type="row", zebra_stripes=True)
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    def _title(self) -> str:
        pools = self.ctx.store.pools
        if pools is None:
            return "Work pools: none read yet (the engine mirrors them every few seconds)"
        return f"Work pools ({len(pools.pools)}): p pauses or resumes the selected pool or queue"

    def table(self, name: str) -> RowTable:
        return self.query_one(f"#pools-{name}", RowTable)

    def on_mount(self) -> None:
        queues = self.table("queues")
        queues.border_title = "pools and queues"
        # State and Status change in place: wide enough for every value from the start.
        queues.add_column("Pool / queue")
        queues.add_column("State", width=len("! not ready"))
        queues.add_columns("Limit", "Late runs")
        workers = self.table("workers")
        workers.border_title = "workers"
        workers.add_columns("Pool", "Worker", "Host")
        workers.add_column("Status", width=len("○ offline"))
        workers.add_column("Last heartbeat")
        limits = self.table("limits")
        limits.border_title = "concurrency limits"
        limits.add_columns("Limit", "Kind", "Slots used")
        queues.focus()
        self.show_pools()

    def show_pools(self) -> None:
        pools = self.ctx.store.pools
        rows = queue_rows(pools)
        self.queues = {row.key: row for row in rows}
        self.table("queues").show_rows(
            {
                row.key: (
                    Text(
                        f"  └ {row.queue}" if row.queue else row.pool,
                        style="" if row.queue else "bold",
                    ),
                    Text(row.state),
                    Text(row.limit),
                    Text(str(row.late), style="bold" if row.late else ""),
                )
                for row in rows
            }
        )
        now = self.ctx.now()
        self.table("workers").show_rows(
            {
                row.key: (
                    Text(row.pool),
                    Text(row.name),
                    Text(row.host),
                    Text(row.state),
                    Text(format_ago(row.last_heartbeat, now)),
                )
                for row in worker_rows(pools)
            }
        )
        limits = pools.limits if pools else []
        self.table("limits").show_rows(
            {f"{lim.kind}/{lim.name}": tuple(Text(t) for t in limit_text(lim)) for lim in limits}
        )
        self.query_one("#pools-title", Label).update(self._title())

    def refresh_all(self) -> None:
        self.show_pools()  # heartbeats age every second
        self.show_status()

    def selected(self) -> QueueRow | None:
        table = self.table("queues")
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.queues.get(str(key.value))

    def action_pause_toggle(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("No work pool or queue selected.", severity="warning")
            return
        action = "resume_pool" if row.paused else "pause_pool"
        verb = "resume" if row.paused else "pause"
        what = f"{verb} {row.what}"
        effect = "its workers take runs again" if row.paused else "no new runs go to its workers"

        def ask(then: Callable[[bool | None], None]) -> None:
            question = f"{what[:1].upper()}{what[1:]}? ({effect})"
            self.app.push_screen(ConfirmScreen(question, yes=verb.capitalize()), then)

        self.send_checked(action, row.key, None, what, ask)

    def action_back(self) -> None:
        self.app.pop_screen()

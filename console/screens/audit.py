"""The audit trail: who did what, newest first, following the `{p}:audit` stream live."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Label

from console.context import Context
from console.data.cancelled import reraise_if_cancelled
from console.data.connection import Link, keep_following
from console.data.store import START_ID, AuditEntry, RedisReader
from console.screens.audit_entry import AuditEntryScreen, entry_lines
from console.screens.base import LiveScreen
from console.widgets.audit_table import AUDIT_SHOWN, AuditTable
from console.widgets.filter_bar import FilterBar
from console.widgets.status_bar import StatusBar

PAGE = 500
"""Entries per XREAD call."""


class AuditEntriesRead(Message):
    """New audit entries, oldest first, from the screen's one reader."""

    def __init__(self, entries: list[AuditEntry]) -> None:
        super().__init__()
        self.entries = entries


class AuditProblem(Message):
    """Redis could not be read (`reason`), or can again (empty)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AuditProblem)


class AuditScreen(LiveScreen):
    """Every executed command from the audit stream; enter shows one entry in full, `/`
    filters, escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "back", "Back", tooltip="Clear the filter, else go back", id="audit.back"
        ),
        Binding(
            "slash", "filter", "Filter", tooltip="Show entries containing text", id="audit.filter"
        ),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.last_id = START_ID
        """The newest entry read; the tail continues after it, also after a reconnect."""
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Label("Audit trail", id="audit-title", classes="title")
        yield AuditTable(self.ctx, id="audit")
        yield FilterBar(id="filter")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    @property
    def table(self) -> AuditTable:
        return self.query_one(AuditTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._follow_audit()

    # The one path in: the newest entries, then XREAD BLOCK after the last one.

    @work(exclusive=True, group="audit", exit_on_error=False)
    async def _follow_audit(self) -> None:
        reader = RedisReader(self.ctx.redis_url, self.ctx.keys)

        async def session(link: Link) -> None:
            if self.last_id == START_ID:
                entries = await reader.read_audit_newest(AUDIT_SHOWN)
                if entries:
                    self.last_id = entries[-1].entry_id
                    self.post_message(AuditEntriesRead(entries))
            else:
                await reader.connect()
            link.up()
            while True:
                reraise_if_cancelled()
                entries = await reader.tail_audit(self.last_id, PAGE)
                if entries:
                    self.last_id = entries[-1].entry_id
                    self.post_message(AuditEntriesRead(entries))

        def report(connected: bool, reason: str) -> None:
            if not connected:
                self.post_message(AuditProblem(f"Redis: {reason}; retrying"))
            elif self.problem:
                self.post_message(AuditProblem(""))

        await keep_following(session, reader.close, report)

    def on_audit_entries_read(self, message: AuditEntriesRead) -> None:
        self.table.add_entries(message.entries)
        self._update_title()

    def on_audit_problem(self, message: AuditProblem) -> None:
        self.problem = message.reason
        self._update_title()

    def refresh_all(self) -> None:
        super().refresh_all()
        self._update_title()

    def tick(self) -> None:
        self.show_status()  # entries do not change once written; only the clock moves

    def _update_title(self) -> None:
        table = self.table
        title = f"Audit trail ({table.row_count} of {len(table.entries)}, newest first)"
        if table.filter_text:
            title += f"  / {table.filter_text!r} (escape clears)"
        if self.problem:
            title += f"  ✖ {self.problem}"
        self.query_one("#audit-title", Label).update(title)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        entry = self.table.entries.get(str(event.row_key.value))
        if entry is None:
            return
        zone = self.ctx.now().tzinfo
        lines = entry_lines(entry.record, self.ctx.store.flow_runs, zone)
        self.app.push_screen(AuditEntryScreen(lines))

    def action_back(self) -> None:
        if not self.clear_text_filter():
            self.app.pop_screen()

"""The audit trail: one row per executed command, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text

from console.context import Context
from console.data.store import AuditEntry
from console.text.audit_text import sent_by, target_label
from console.text.formatting import audit_status_label, iso_time
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned

AUDIT_SHOWN = 1000
"""Rows kept in the table; the stream itself keeps more."""


class AuditTable(KeyedTable):
    """Audit entries given by `add_entries`, one row per command: a cancel's final entry
    (ok, or the run finished first) replaces its `cancelling` one in place. A retry or cancel
    names its run (the id is on the entry's detail view, enter)."""

    # Narrow terminals drop the highest numbers first; a long message is cut with `…`
    # rather than dropped, so some of it shows at 80 columns.
    COLUMNS: ClassVar[tuple[TableColumn, ...]] = (
        TableColumn("executed", "Executed", 4),
        TableColumn("status", "Status", 2),
        TableColumn("action", "Action", 1),
        TableColumn("target", "Target", 3),
        TableColumn("by", "By", 6),
        TableColumn("message", "Message", 5, min_width=16),
    )
    NEWEST_FIRST = True

    def __init__(self, ctx: Context, *, id: str | None = None) -> None:
        super().__init__(ctx, id=id)
        self.entries: dict[str, AuditEntry] = {}

    def add_entries(self, entries: list[AuditEntry]) -> None:
        for entry in entries:
            key = entry.record.command_id or entry.entry_id
            known = self.entries.get(key)
            if known is None or known.order < entry.order:
                self.entries[key] = entry
        if len(self.entries) > AUDIT_SHOWN:
            newest = sorted(self.entries.values(), key=lambda e: e.order)[-AUDIT_SHOWN:]
            self.entries = {entry.record.command_id or entry.entry_id: entry for entry in newest}
        self.refresh_rows()

    def wanted_rows(self) -> Iterable[Row]:
        return [self.row_for(entry) for entry in self.entries.values()]

    def row_for(self, entry: AuditEntry) -> Row:
        fields = entry.record
        zone = self.ctx.now().tzinfo
        label = audit_status_label(fields.status)
        executed = fields.executed_at or fields.sent_at
        cells = (
            Text(iso_time(executed, zone), end=""),
            toned(self.app, label.text, label.tone, bold=True),
            Text(fields.action, style="bold", end=""),
            Text(target_label(fields, self.ctx.store.flow_runs), end=""),
            Text(sent_by(fields), end=""),
            Text(fields.message, end=""),
        )
        return Row(fields.command_id or entry.entry_id, cells, entry.order)

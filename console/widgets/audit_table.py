"""The audit trail: one row per executed command, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text

from console.context import Context
from console.formatting import audit_status_label, iso_time
from console.store import AuditEntry
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned

AUDIT_SHOWN = 1000
"""Rows kept in the table; the stream itself keeps more."""


class AuditTable(KeyedTable):
    """Audit entries given by `add_entries`, keyed by stream entry id."""

    # Narrow terminals drop the highest numbers first; a long message is cut with `…`
    # rather than dropped, so some of it shows at 80 columns.
    COLUMNS: ClassVar[tuple[TableColumn, ...]] = (
        TableColumn("executed", "Executed", 4),
        TableColumn("status", "Status", 2),
        TableColumn("action", "Action", 1),
        TableColumn("target", "Target", 3),
        TableColumn("user", "User", 6),
        TableColumn("from", "From", 7),
        TableColumn("message", "Message", 5, min_width=16),
    )
    NEWEST_FIRST = True

    def __init__(self, ctx: Context, *, id: str | None = None) -> None:
        super().__init__(ctx, id=id)
        self.entries: dict[str, AuditEntry] = {}

    def add_entries(self, entries: list[AuditEntry]) -> None:
        for entry in entries:
            self.entries[entry.entry_id] = entry
        if len(self.entries) > AUDIT_SHOWN:
            newest = sorted(self.entries.values(), key=lambda e: e.order)[-AUDIT_SHOWN:]
            self.entries = {entry.entry_id: entry for entry in newest}
        self.refresh_rows()

    def wanted_rows(self) -> Iterable[Row]:
        return [self.row_for(entry) for entry in self.entries.values()]

    def row_for(self, entry: AuditEntry) -> Row:
        fields = entry.fields
        zone = self.ctx.now().tzinfo
        label = audit_status_label(fields.get("status"))
        executed = fields.get("executed_at") or fields.get("sent_at")
        cells = (
            Text(iso_time(executed, zone), end=""),
            toned(self.app, label.text, label.tone, bold=True),
            Text(fields.get("action", ""), style="bold", end=""),
            Text(fields.get("target", ""), end=""),
            Text(fields.get("user", ""), end=""),
            Text(fields.get("ssh_client", "") or fields.get("host", ""), end=""),
            Text(fields.get("message", ""), end=""),
        )
        return Row(entry.entry_id, cells, entry.order)

"""Compares a run's output partitions with the previous completed run of its deployment.

Pure logic over lineage documents (docs/redis-keys.md): the console cannot read parquet,
so rows, bytes and each partition's schema (column -> arrow type) come from the lineage
doc's `outputs`, as the flow recorded them.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.contract.documents import Lineage, LineageOutput
from engine.contract.partitions import partition_name
from engine.contract.times import parse_iso

ROWS_DOWN_FLAG = 0.5
"""Rows falling by more than this fraction against the previous run are flagged."""
SCHEMA_CHANGED = "schema changed"
NOTHING_WRITTEN = "attempt failed, nothing written"
"""The run-level flag of a failed attempt: its missing outputs are not a drop in rows."""


@dataclass(frozen=True)
class SchemaChange:
    """One column that differs: `+` added, `-` removed, `~` type changed."""

    mark: str
    column: str
    old: str | None
    new: str | None

    def describe(self) -> str:
        if self.mark == "+":
            return f"+ {self.column} ({self.new})"
        if self.mark == "-":
            return f"- {self.column} ({self.old})"
        return f"~ {self.column} {self.old} → {self.new}"


@dataclass(frozen=True)
class PartitionDiff:
    """One output partition of the run, next to the same partition of the previous run."""

    partition: str
    rows: int | None
    bytes: int | None
    schema: dict[str, str] | None
    previous_rows: int | None
    """None if the previous run did not write this partition (or there is none)."""
    schema_changes: tuple[SchemaChange, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class OutputsComparison:
    """Every partition of the run, the totals, and what changed against `previous`."""

    partitions: tuple[PartitionDiff, ...]
    total_rows: int
    previous: Lineage | None
    previous_total_rows: int | None
    schema_changes: tuple[SchemaChange, ...]
    flags: tuple[str, ...]


def _schema(output: LineageOutput | None) -> dict[str, str] | None:
    # None: recorded before schemas were, or by another flow.
    return output.schema if output is not None else None


def run_schema(doc: Lineage | None) -> dict[str, str] | None:
    """The schema of the run's first output that has one."""
    for output in doc.outputs if doc is not None else []:
        schema = _schema(output)
        if schema is not None:
            return schema
    return None


def schema_changes(old: dict[str, str] | None, new: dict[str, str] | None) -> list[SchemaChange]:
    """Columns added, removed or retyped from `old` to `new`; none if either is unknown."""
    if old is None or new is None:
        return []
    changes = [SchemaChange("+", c, None, t) for c, t in new.items() if c not in old]
    changes += [SchemaChange("-", c, t, None) for c, t in old.items() if c not in new]
    changes += [SchemaChange("~", c, old[c], t) for c, t in new.items() if c in old and old[c] != t]
    return changes


def rows_down(rows: int | None, previous: int | None) -> int | None:
    """The drop in percent if `rows` fell by more than ROWS_DOWN_FLAG, else None."""
    if rows is None or previous is None or previous <= 0:
        return None
    drop = (previous - rows) / previous
    return round(drop * 100) if drop > ROWS_DOWN_FLAG else None


def _flags(rows: int | None, previous: int | None, changes: list[SchemaChange]) -> list[str]:
    flags = [SCHEMA_CHANGED] if changes else []
    down = rows_down(rows, previous)
    if down is not None:
        flags.append(f"rows down {down}%")
    return flags


def pick_previous(current: Lineage, candidates: list[Lineage]) -> Lineage | None:
    """The newest completed lineage of the same deployment recorded before `current`."""
    deployment = current.deployment_name
    recorded = parse_iso(current.recorded_at)
    earlier = [
        (moment, doc)
        for doc in candidates
        if doc.flow_run_id != current.flow_run_id
        and doc.deployment_name == deployment
        and doc.status == "completed"
        and (moment := parse_iso(doc.recorded_at)) is not None
        and (recorded is None or moment < recorded)
    ]
    return max(earlier, key=lambda pair: pair[0])[1] if earlier else None


def compare_outputs(current: Lineage, previous: Lineage | None) -> OutputsComparison:
    before = {partition_name(o.path): o for o in previous.outputs} if previous else {}
    previous_schema = run_schema(previous)
    diffs: list[PartitionDiff] = []
    for output in current.outputs:
        name = partition_name(output.path)
        rows, schema = output.rows, _schema(output)
        old = before.get(name)
        old_rows = old.rows if old else None
        # A partition the previous run did not write is compared on schema only.
        changes = schema_changes(_schema(old) if old else previous_schema, schema)
        diffs.append(
            PartitionDiff(
                name,
                rows,
                output.bytes,
                schema,
                old_rows,
                tuple(changes),
                tuple(_flags(rows, old_rows, changes)),
            )
        )
    total = sum(d.rows or 0 for d in diffs)
    previous_total = sum(o.rows or 0 for o in before.values()) if previous is not None else None
    changes = schema_changes(previous_schema, run_schema(current))
    if current.status == "failed" and not diffs:
        flags: tuple[str, ...] = (NOTHING_WRITTEN,)
    else:
        flags = tuple(_flags(total, previous_total, changes))
    return OutputsComparison(tuple(diffs), total, previous, previous_total, tuple(changes), flags)

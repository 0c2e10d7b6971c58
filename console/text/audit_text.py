"""What an audit entry says, in words: who sent it, which run it was about.

Pure (no Textual, no Redis): the audit table and the entry's detail view share it.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.contract.commands import RUN_ACTIONS
from engine.contract.documents import AuditRecord, FlowRun
from engine.contract.identity import Identity


def sent_by(entry: AuditRecord) -> str:
    """`ana@ops-1 from 10.0.0.7`: the same words Prefect's tags and messages use."""
    return Identity(entry.user or "?", entry.host or "?", entry.ssh_client).describe()


def run_id_of(entry: AuditRecord) -> str:
    """The run an entry is about: the one it created or acted on, else a run target."""
    if entry.flow_run_id:
        return entry.flow_run_id
    return entry.target if entry.action in RUN_ACTIONS else ""


def run_name_of(entry: AuditRecord, runs: Mapping[str, FlowRun]) -> str:
    """The run's name as the engine recorded it, else as the mirror knows it, else ''.

    Entries written before the engine recorded names have none; the mirror still knows
    the runs it keeps.
    """
    if entry.flow_run_name:
        return entry.flow_run_name
    doc = runs.get(run_id_of(entry))
    return doc.name if doc else ""


def target_label(entry: AuditRecord, runs: Mapping[str, FlowRun]) -> str:
    """The target as the operator knows it: a run by its name, a deployment by its name."""
    if entry.action in RUN_ACTIONS:
        return run_name_of(entry, runs) or entry.target
    return entry.target

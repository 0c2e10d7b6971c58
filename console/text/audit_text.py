"""What an audit entry says, in words: who sent it, which run it was about.

Pure (no Textual, no Redis): the audit table and the entry's detail view share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.contract.commands import RUN_ACTIONS
from engine.contract.identity import Identity


def sent_by(fields: Mapping[str, str]) -> str:
    """`ana@ops-1 from 10.0.0.7`: the same words Prefect's tags and messages use."""
    return Identity.from_fields(fields).describe()


def run_id_of(fields: Mapping[str, str]) -> str:
    """The run an entry is about: the one it created or acted on, else a run target."""
    if fields.get("flow_run_id"):
        return fields["flow_run_id"]
    return fields.get("target", "") if fields.get("action") in RUN_ACTIONS else ""


def run_name_of(fields: Mapping[str, str], runs: Mapping[str, dict[str, Any]]) -> str:
    """The run's name as the engine recorded it, else as the mirror knows it, else ''.

    Entries written before the engine recorded names have none; the mirror still knows
    the runs it keeps.
    """
    if fields.get("flow_run_name"):
        return fields["flow_run_name"]
    doc = runs.get(run_id_of(fields))
    name = doc.get("name") if doc else None
    return str(name) if name else ""


def target_label(fields: Mapping[str, str], runs: Mapping[str, dict[str, Any]]) -> str:
    """The target as the operator knows it: a run by its name, a deployment by its name."""
    target = fields.get("target", "")
    if fields.get("action") in RUN_ACTIONS:
        return run_name_of(fields, runs) or target
    return target

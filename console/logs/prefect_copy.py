"""A run's whole log from Prefect, for the log screen's `p`: the engine copies it into a
stream of its own (`keys.log_copy`), which the screen follows as the lines arrive; the
mirror's stream may have lost the run's older lines to the memory budget."""

from __future__ import annotations

from textual.worker import get_current_worker

from console.context import Context
from console.data.history import HistoryAsker
from console.text.formatting import lines_text


def copy_from_prefect(ctx: Context, copy_id: str, flow_run_id: str) -> str:
    """Asks the engine for the copy and waits until it is made (blocking: a thread worker,
    which stops waiting once cancelled); what to say of it in the title."""
    worker = get_current_worker()
    asker = HistoryAsker(ctx.redis_url, ctx.keys)
    try:
        page, reason = asker.copy_log(copy_id, flow_run_id, lambda: worker.is_cancelled)
    finally:
        asker.close()
    if page is None or not page.ok:
        return f"✖ not copied: {page.error if page is not None else reason}"
    if not page.complete:
        return f"{lines_text(page.total)} copied from Prefect, {page.error}"
    return f"all {lines_text(page.total)} from Prefect"

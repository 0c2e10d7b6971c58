"""Puts a finished run's lineage back into Redis from the engine's parquet table.

Lineage is written once, by the flow run, to the table and to Redis. When Redis loses it
(a Redis restarted without its data, a run dropped and then mirrored again because it is
still among Prefect's recent runs), the bridge mirrors the run again from Prefect, but
Prefect has no lineage: without this the run screen would show none, forever, though the
table kept it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from engine.contract.documents import Lineage
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.bridge")


async def refill_lineage(store: EngineStore, flow_run_ids: Sequence[str]) -> int:
    """Writes every attempt the table has of each of these runs Redis has no lineage of,
    oldest first (the latest is the run's lineage, each earlier one stays its attempt's, as
    when the attempts wrote them); how many attempts were written. A file that cannot be
    read is logged and skipped: the runs are mirrored all the same."""
    if not flow_run_ids:
        return 0
    missing = await store.call(store.mirror.runs_without_lineage, flow_run_ids)
    if not missing:
        return 0
    docs = await asyncio.to_thread(_read_from_table, missing)
    for doc in docs:
        await store.call(store.mirror.write_lineage, doc)
    if docs:
        runs = len({doc.flow_run_id for doc in docs})
        logger.info("lineage of %d run(s) put back into Redis from the table", runs)
    return len(docs)


def _read_from_table(flow_run_ids: list[str]) -> list[Lineage]:
    # pyarrow only now: an engine whose Redis never loses lineage never imports it.
    from engine.lineage.table import lineage_dir, lineage_files, read_lineage_file

    docs = []
    for run_id, paths in lineage_files(lineage_dir(), flow_run_ids).items():
        for path in paths:
            try:
                doc = read_lineage_file(path)
            except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: others go on
                logger.warning("lineage of run %s not read from %s: %s", run_id, path, exc)
                continue
            if doc is not None:
                docs.append(doc)
    return docs

"""Answers a console's `RunQuery.log_copy_of`: copies the run's whole log from Prefect into
its log copy (engine/store/log_copy.py), oldest line first, a page at a time, with secret
values scrubbed as the mirror scrubs them; the console shows the lines as they arrive."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from uuid import UUID

import httpx
import redis
from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterTimestamp
from prefect.client.schemas.sorting import LogSort

from engine.bridge.documents import log_fields
from engine.bridge.secret_runs import SecretRuns
from engine.contract.history import LOG_COPY_MAX_BYTES, LOG_COPY_SECONDS, RunPage
from engine.contract.keys import Keys
from engine.contract.secrets import scrub
from engine.contract.times import utc_now_iso
from engine.store.log_copy import LogCopyWriter

logger = logging.getLogger("aiwf.engine.queries")

PAGE = 200
"""Lines per `read_logs` (Prefect's default API limit)."""


async def copy_log(
    prefect: PrefectClient,
    client: redis.Redis,
    keys: Keys,
    secrets: SecretRuns,
    query_id: str,
    flow_run_id: str,
) -> RunPage:
    """The copy made, answered as a page: `total` lines; `complete` False (and why) when it
    stopped at LOG_COPY_MAX_BYTES or LOG_COPY_SECONDS. Prefect failing midway leaves the
    lines copied so far and says so."""
    try:
        run_uuid = UUID(flow_run_id)
    except ValueError:
        return RunPage(query_id=query_id, ok=False, error=f"bad query: {flow_run_id!r} is no id")
    writer = LogCopyWriter(client, keys, query_id)
    await asyncio.to_thread(writer.start)
    hidden = await secrets.hidden(flow_run_id, prefect)
    since: datetime | None = None
    at_since: set[str] = set()
    """Ids of the lines copied stamped `since`: the next page starts at `since` itself (a
    burst can share a microsecond), and these are not copied twice."""
    step = timedelta(0)
    started = time.monotonic()
    stopped = ""
    try:
        while True:
            if writer.bytes >= LOG_COPY_MAX_BYTES:
                stopped = f"stopped at {LOG_COPY_MAX_BYTES // 2**20} MiB (the copy's limit)"
                break
            if time.monotonic() - started > LOG_COPY_SECONDS:
                stopped = f"stopped after {LOG_COPY_SECONDS:.0f} s (the copy's limit)"
                break
            log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_uuid]))
            if since is not None:  # keyset on the time: no offset re-scanning older lines
                after = since + step
                log_filter.timestamp = LogFilterTimestamp(after_=after)  # type: ignore[arg-type]
            page = await prefect.read_logs(
                log_filter=log_filter, limit=PAGE, sort=LogSort.TIMESTAMP_ASC
            )
            logs = [log for log in page if str(log.id) not in at_since]
            if not logs:
                if len(page) < PAGE or step:
                    break
                step = timedelta(microseconds=1)  # a full page in one microsecond: go past it
                continue
            step = timedelta(0)
            lines = [log_fields(log) for log in logs]
            if hidden:
                lines = [replace(line, msg=scrub(line.msg, hidden)) for line in lines]
            await asyncio.to_thread(writer.append, lines)
            if logs[-1].timestamp != since:
                since, at_since = logs[-1].timestamp, set()
            at_since |= {str(log.id) for log in logs if log.timestamp == since}
    except redis.RedisError:
        raise  # the answer cannot be written either: the query server logs it
    except (httpx.HTTPError, OSError) as exc:  # Prefect unreachable or refusing midway
        error = f"Prefect API error after {writer.lines:,} lines: {exc}"
        return RunPage(query_id=query_id, ok=False, error=error, total=writer.lines)
    except Exception as exc:  # answered all the same: the console would wait minutes
        logger.exception("log copy of %s failed", flow_run_id)
        error = f"the engine failed after {writer.lines:,} lines: {exc} (see its log)"
        return RunPage(query_id=query_id, ok=False, error=error, total=writer.lines)
    return RunPage(
        query_id=query_id,
        ok=True,
        total=writer.lines,
        complete=not stopped,
        error=stopped,
        answered_at=utc_now_iso(),
    )

"""Reads the console's data from Redis (asyncio): snapshot, updates tail, task runs, logs,
audit trail.

The console's only reader. Verb-named methods, simple arguments in, decoded documents out;
Redis errors propagate: the follow loops retry through `console.data.connection`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from console.data.connection import async_client
from engine.contract.documents import (
    AuditRecord,
    Deployment,
    FlowRun,
    Heartbeat,
    Lineage,
    LogLine,
    LogTrim,
    Pools,
    TaskRun,
    convert_fields,
    decode,
)
from engine.contract.keys import Keys
from engine.contract.partitions import parse_writer_member, writer_member
from engine.contract.redis_text import redis_text

Document = Deployment | FlowRun | TaskRun | Lineage
UPDATE_KINDS: dict[str, type[Document]] = {
    "deployment": Deployment,
    "flow_run": FlowRun,
    "task_run": TaskRun,
    "lineage": Lineage,
}
"""The `kind` of an updates entry -> the document its `doc` field holds."""
START_ID = "0-0"
"""Stream position before the first entry."""


@dataclass(frozen=True)
class Update:
    """One entry of `{p}:updates`."""

    entry_id: str
    kind: str
    id: str
    doc: Document | None
    """None for `deployment_removed`, an unknown kind, or a bad document (counted)."""


@dataclass(frozen=True)
class Write:
    """One write of an output partition: which run, which attempt, when."""

    flow_run_id: str
    attempt: int | None
    """None for writes indexed by an engine that did not record attempts."""
    written_at: float
    """Epoch seconds (the lineage doc's `recorded_at`)."""

    @property
    def key(self) -> str:
        """Its writers ZSET member: unique per write, a table row key."""
        return writer_member(self.flow_run_id, self.attempt)


@dataclass(frozen=True)
class LogEntry:
    """One entry of `{p}:logs:{flow_run_id}`: its stream id and its typed fields."""

    entry_id: str
    line: LogLine


def bad_log_line(key: str) -> LogLine:
    """What a rejected log entry (counted in REJECTED) shows in its place: the entry keeps
    its position in the log, so the lines after it stay where the index put them."""
    return LogLine(level_name="?", msg=f"(bad log entry skipped: {key}; not UTF-8 text)")


def log_entry(key: str, raw_id: bytes | str, fields: Any) -> LogEntry:
    """A log entry decoded from its stream fields (bytes or str); a bad one is counted in
    REJECTED and stands in as `bad_log_line`."""
    entry_id = redis_text(raw_id)
    where = f"{key} {entry_id}"
    line = convert_fields(fields, LogLine, where)
    return LogEntry(entry_id, line if line is not None else bad_log_line(where))


@dataclass(frozen=True)
class AuditEntry:
    """One entry of `{p}:audit`: its stream id and its typed fields."""

    entry_id: str
    record: AuditRecord

    @property
    def order(self) -> tuple[int, int]:
        """Stream order: sorts entries oldest to newest."""
        return _id_tuple(self.entry_id)


class RedisReader:
    """An asyncio Redis connection with the console's read queries.

    Args:
        url: any redis-py URL (`redis://`, `rediss://`, `unix://`).
        keys: the key names under the prefix in use.
        block_ms: the longest an XREAD BLOCK waits; the socket timeout is set above it.
    """

    def __init__(self, url: str, keys: Keys, block_ms: int = 2000) -> None:
        self.url = url
        self.keys = keys
        self.block_ms = block_ms
        self._client: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            self._client = async_client(self.url, self.block_ms)
        return self._client

    async def _bytes(self, *args: Any) -> Any:
        """A command whose reply is not decoded (same connection): documents are decoded
        from their bytes by their struct, so a value that is not UTF-8 is one rejected
        document, not a failed read of the whole hash."""
        return await self.client.execute_command(*args, NEVER_DECODE=True)

    async def connect(self) -> None:
        """Opens the connection (PING), raising redis errors if Redis is unreachable."""
        await self.client.ping()

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def read_last_update_id(self) -> str:
        entries: Any = await self.client.xrevrange(self.keys.updates, "+", "-", count=1)
        return str(entries[0][0]) if entries else START_ID

    async def has_gap_after(self, last_id: str) -> bool:
        """True if the updates stream was trimmed past `last_id` (a re-snapshot is needed)."""
        if last_id == START_ID:
            return False
        entries: Any = await self.client.xrange(self.keys.updates, "-", "+", count=1)
        return bool(entries) and _id_tuple(str(entries[0][0])) > _id_tuple(last_id)

    async def read_deployments(self) -> list[Deployment]:
        key = self.keys.deployments
        raw: Any = await self._bytes("HGETALL", key)
        docs = (decode(value, Deployment, _field(key, name)) for name, value in raw.items())
        return [doc for doc in docs if doc is not None]

    async def read_flow_runs(self, limit: int) -> list[FlowRun]:
        """The newest `limit` flow runs of the index, newest first."""
        ids: Any = await self.client.zrevrange(self.keys.flow_runs_index, 0, limit - 1)
        if not ids:
            return []
        key = self.keys.flow_runs
        raw: Any = await self._bytes("HMGET", key, *ids)
        docs = (decode(value, FlowRun, _field(key, i)) for i, value in zip(ids, raw, strict=True))
        return [doc for doc in docs if doc is not None]

    async def read_task_runs(self, flow_run_id: str) -> list[TaskRun]:
        key = self.keys.task_runs(flow_run_id)
        raw: Any = await self._bytes("HGETALL", key)
        docs = (decode(value, TaskRun, _field(key, name)) for name, value in raw.items())
        return [doc for doc in docs if doc is not None]

    async def read_lineage(self, flow_run_id: str) -> Lineage | None:
        key = self.keys.lineage(flow_run_id)
        return decode(await self._bytes("GET", key), Lineage, key)

    async def read_partitions(self, deployment: str) -> list[str]:
        """Output partitions the deployment has written (the engine's index), sorted."""
        members: Any = await self.client.smembers(self.keys.partitions(deployment))
        return sorted(str(m) for m in members)

    async def read_writers(self, deployment: str, partition: str) -> list[Write]:
        """Every write of the partition, oldest first: a retried run that wrote it twice
        is there twice."""
        pairs: Any = await self.client.zrange(
            self.keys.writers(deployment, partition), 0, -1, withscores=True
        )
        writes = []
        for member, score in pairs:
            run_id, attempt = parse_writer_member(str(member))
            writes.append(Write(run_id, attempt, float(score)))
        return writes

    async def read_write_lineages(self, writes: list[Write]) -> dict[str, Lineage]:
        """Write key -> the lineage doc of the attempt that made it. An engine that kept no
        per-attempt lineage leaves the run's latest one, used only if it is that attempt."""
        if not writes:
            return {}
        pipe = self.client.pipeline(transaction=False)
        keys = [(self.keys.lineage_attempts(w.flow_run_id), str(w.attempt)) for w in writes]
        for key, number in keys:
            pipe.execute_command("HGET", key, number, NEVER_DECODE=True)
        own = [
            decode(raw, Lineage, _field(key, number))
            for raw, (key, number) in zip(await pipe.execute(), keys, strict=True)
        ]
        latest = await self.read_lineages(sorted({w.flow_run_id for w in writes}))
        found: dict[str, Lineage] = {}
        for write, doc in zip(writes, own, strict=True):
            fallback = latest.get(write.flow_run_id)
            attempt = fallback.trigger.attempt if fallback is not None else None
            if doc is None and fallback is not None and write.attempt in (None, attempt):
                doc = fallback
            if doc is not None:
                found[write.key] = doc
        return found

    async def read_writers_before(
        self, deployment: str, before: float | None, count: int
    ) -> list[tuple[str, float]]:
        """(flow run id, written-at epoch) of runs that wrote any partition of the
        deployment before `before` (any time if None), newest first, at most `count`.

        From the writers index, so runs the console no longer holds are found too.
        """
        partitions = await self.read_partitions(deployment)
        if not partitions:
            return []
        pipe = self.client.pipeline(transaction=False)
        for partition in partitions:
            pipe.zrevrangebyscore(
                self.keys.writers(deployment, partition),
                "+inf" if before is None else f"({before!r}",
                "-inf",
                start=0,
                num=count,
                withscores=True,
            )
        latest: dict[str, float] = {}
        for pairs in await pipe.execute():
            for member, score in pairs:
                run_id, _attempt = parse_writer_member(str(member))
                latest[run_id] = max(float(score), latest.get(run_id, 0.0))
        newest = sorted(latest.items(), key=lambda pair: pair[1], reverse=True)
        return newest[:count]

    async def read_lineages(self, flow_run_ids: list[str]) -> dict[str, Lineage]:
        """The lineage docs of those runs that still have one."""
        if not flow_run_ids:
            return {}
        keys = [self.keys.lineage(i) for i in flow_run_ids]
        raw: Any = await self._bytes("MGET", *keys)
        docs = {
            i: decode(v, Lineage, key) for i, v, key in zip(flow_run_ids, raw, keys, strict=True)
        }
        return {i: d for i, d in docs.items() if d is not None}

    async def read_updates(self, after_id: str, count: int = 500) -> list[Update]:
        """Entries after `after_id`, waiting up to `block_ms` for the first one."""
        answer: Any = await self._bytes(
            "XREAD", "COUNT", count, "BLOCK", self.block_ms, "STREAMS", self.keys.updates, after_id
        )
        updates: list[Update] = []
        for _stream, entries in answer or []:
            for raw_id, fields in entries:
                entry_id = redis_text(raw_id)
                kind = redis_text(fields.get(b"kind", b""))
                kind_type = UPDATE_KINDS.get(kind)
                raw_doc = fields.get(b"doc") if kind_type is not None else None
                where = f"{self.keys.updates} {entry_id}"
                doc = decode(raw_doc, kind_type, where) if kind_type is not None else None
                updates.append(Update(entry_id, kind, redis_text(fields.get(b"id", b"")), doc))
        return updates

    async def read_log_trim(self, flow_run_id: str) -> LogTrim | None:
        """Whether the engine dropped the run's oldest log lines (they are only in Prefect)."""
        key = self.keys.log_trimmed
        return decode(await self._bytes("HGET", key, flow_run_id), LogTrim, f"{key}[{flow_run_id}]")

    async def read_pools(self) -> Pools | None:
        """The engine's view of Prefect's work pools; None before an engine wrote one."""
        key = self.keys.pools
        return decode(await self._bytes("GET", key), Pools, key)

    async def read_heartbeat(self) -> Heartbeat | None:
        key = self.keys.heartbeat
        return decode(await self._bytes("GET", key), Heartbeat, key)

    async def read_logs(self, key: str, after_id: str, count: int) -> list[LogEntry]:
        """Up to `count` entries of log stream `key` (a run's `keys.logs`, or its
        `keys.log_copy`) after `after_id` (exclusive), oldest first."""
        start = "-" if after_id == START_ID else f"({after_id}"
        entries: Any = await self._bytes("XRANGE", key, start, "+", "COUNT", count)
        return [log_entry(key, entry_id, fields) for entry_id, fields in entries]

    async def tail_logs(self, key: str, after_id: str, count: int) -> list[LogEntry]:
        """Like read_logs, but waits up to `block_ms` for a new entry."""
        answer: Any = await self._bytes(
            "XREAD", "COUNT", count, "BLOCK", self.block_ms, "STREAMS", key, after_id
        )
        return [
            log_entry(key, entry_id, fields)
            for _stream, entries in answer or []
            for entry_id, fields in entries
        ]

    async def read_audit_newest(self, count: int) -> list[AuditEntry]:
        """The newest `count` audit entries, oldest first."""
        entries: Any = await self.client.xrevrange(self.keys.audit, "+", "-", count=count)
        return self._audit_entries(reversed(entries))

    async def tail_audit(self, after_id: str, count: int) -> list[AuditEntry]:
        """Audit entries after `after_id`, waiting up to `block_ms` for the first one."""
        answer: Any = await self.client.xread(
            {self.keys.audit: after_id}, count=count, block=self.block_ms
        )
        return self._audit_entries(pair for _stream, entries in answer or [] for pair in entries)

    def _audit_entries(self, pairs: Any) -> list[AuditEntry]:
        """Typed audit entries; a bad one is counted and skipped."""
        found = []
        for raw_id, fields in pairs:
            entry_id = redis_text(raw_id)
            where = f"{self.keys.audit} {entry_id}"
            record = convert_fields(fields, AuditRecord, where)
            if record is not None:
                found.append(AuditEntry(entry_id, record))
        return found


def _field(key: str, name: bytes | str) -> str:
    """Names one field of a hash for an operator: `aiwf:flow_runs[run-id]`."""
    return f"{key}[{redis_text(name)}]"


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)

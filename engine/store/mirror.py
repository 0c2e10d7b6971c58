"""Writes state documents into Redis: the only writer of the state keys in `keys.Keys`.

Stdlib + redis only. Each upsert writes the document and appends a change entry to the
updates stream in one MULTI/EXEC, so a reader that takes a snapshot and then tails the
stream from the ID it noted first never misses a change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import redis

from engine.contract.commands import Command, CommandResult
from engine.contract.documents import decode_doc, encode_doc
from engine.contract.keys import (
    AUDIT_MAXLEN,
    HEARTBEAT_TTL_SECONDS,
    LOG_STREAM_MAXLEN,
    RESULT_TTL_SECONDS,
    RUNS_KEPT,
    UPDATES_MAXLEN,
    Keys,
)
from engine.contract.partitions import partition_name, writer_member
from engine.contract.times import parse_iso, utc_now_iso

LogLine = Mapping[str, str]
"""A log entry's fields: ts, level, level_name, task_run_id, logger, msg."""


def _score(doc: Mapping[str, Any]) -> float:
    for name in ("start_time", "expected_start_time", "created"):
        moment = parse_iso(doc.get(name))
        if moment is not None:
            return moment.timestamp()
    return datetime.now().timestamp()


class RedisMirror:
    """Upserts deployments, flow runs and task runs, and appends log lines."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def _publish(self, pipe: Any, kind: str, doc_id: str, doc: Mapping[str, Any]) -> None:
        pipe.xadd(
            self.keys.updates,
            {"kind": kind, "id": doc_id, "doc": encode_doc(dict(doc))},
            maxlen=UPDATES_MAXLEN,
            approximate=True,
        )

    def upsert_deployment(self, doc: Mapping[str, Any]) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.deployments, doc["name"], encode_doc(dict(doc)))
        self._publish(pipe, "deployment", doc["name"], doc)
        pipe.execute()

    def remove_deployment(self, name: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.keys.deployments, name)
        pipe.xadd(
            self.keys.updates,
            {"kind": "deployment_removed", "id": name, "doc": "{}"},
            maxlen=UPDATES_MAXLEN,
            approximate=True,
        )
        pipe.execute()

    def read_deployment(self, name: str) -> dict[str, Any] | None:
        return decode_doc(self.client.hget(self.keys.deployments, name))

    def read_flow_run(self, flow_run_id: str) -> dict[str, Any] | None:
        return decode_doc(self.client.hget(self.keys.flow_runs, flow_run_id))

    def read_task_runs(self, flow_run_id: str) -> dict[str, dict[str, Any]]:
        raw = self.client.hgetall(self.keys.task_runs(flow_run_id))
        docs = {k.decode() if isinstance(k, bytes) else k: decode_doc(v) for k, v in raw.items()}
        return {k: v for k, v in docs.items() if v is not None}

    def upsert_flow_run(self, doc: Mapping[str, Any]) -> bool:
        """Writes a flow run unless Redis already holds a newer version. True if written."""
        current = self.read_flow_run(doc["id"])
        if current is not None and _is_newer(current, doc):
            return False
        doc = _with_attempt_start(doc, current)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.flow_runs, doc["id"], encode_doc(dict(doc)))
        pipe.zadd(self.keys.flow_runs_index, {doc["id"]: _score(doc)})
        self._publish(pipe, "flow_run", doc["id"], doc)
        pipe.execute()
        return True

    def upsert_task_run(self, doc: Mapping[str, Any]) -> bool:
        key = self.keys.task_runs(doc["flow_run_id"])
        current = decode_doc(self.client.hget(key, doc["id"]))
        if current is not None and _is_newer(current, doc):
            return False
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, doc["id"], encode_doc(dict(doc)))
        self._publish(pipe, "task_run", doc["id"], doc)
        pipe.execute()
        return True

    def write_lineage(self, doc: Mapping[str, Any]) -> None:
        """Stores a run's lineage (the latest attempt wins) and announces it.

        Also indexes who wrote what: each output partition's writers ZSET gets this write
        (the run and its attempt), scored by `recorded_at`, and the deployment's partitions
        SET gets the partition.
        """
        run_id = doc["flow_run_id"]
        attempt = (doc.get("trigger") or {}).get("attempt")
        member = writer_member(run_id, attempt)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.lineage(run_id), encode_doc(dict(doc)))
        if isinstance(attempt, int):
            # Every attempt's lineage, so an earlier attempt's write still shows its own.
            pipe.hset(self.keys.lineage_attempts(run_id), str(attempt), encode_doc(dict(doc)))
        deployment = doc.get("deployment_name")
        moment = parse_iso(doc.get("recorded_at"))
        written_at = moment.timestamp() if moment else datetime.now().timestamp()
        for output in doc.get("outputs") or []:
            partition = partition_name(output.get("path"))
            if deployment and partition:
                pipe.zadd(self.keys.writers(deployment, partition), {member: written_at})
                pipe.sadd(self.keys.partitions(deployment), partition)
        self._publish(pipe, "lineage", run_id, doc)
        pipe.execute()

    def read_lineage(self, flow_run_id: str) -> dict[str, Any] | None:
        return decode_doc(self.client.get(self.keys.lineage(flow_run_id)))

    def append_logs(self, flow_run_id: str, lines: Iterable[LogLine]) -> int:
        pipe = self.client.pipeline(transaction=False)
        count = 0
        for line in lines:
            pipe.xadd(
                self.keys.logs(flow_run_id),
                dict(line),  # type: ignore[arg-type]
                maxlen=LOG_STREAM_MAXLEN,
                approximate=True,
            )
            count += 1
        if count:
            pipe.execute()
        return count

    def trim_runs(self, keep: int = RUNS_KEPT) -> int:
        """Drops the oldest flow runs beyond `keep`, with their task runs, logs and lineage."""
        excess = self.client.zcard(self.keys.flow_runs_index) - keep
        if excess <= 0:
            return 0
        members = self.client.zrange(self.keys.flow_runs_index, 0, excess - 1)
        old = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        pipe = self.client.pipeline(transaction=True)
        for run_id in old:
            pipe.hdel(self.keys.flow_runs, run_id)
            pipe.delete(
                self.keys.task_runs(run_id),
                self.keys.logs(run_id),
                self.keys.lineage(run_id),
                self.keys.lineage_attempts(run_id),
            )
        pipe.zrem(self.keys.flow_runs_index, *old)
        pipe.execute()
        return len(old)

    def beat(self, info: Mapping[str, Any]) -> None:
        self.client.set(
            self.keys.heartbeat,
            json.dumps(dict(info) | {"beat_at": utc_now_iso()}),
            ex=HEARTBEAT_TTL_SECONDS,
        )

    def clear_heartbeat(self) -> None:
        self.client.delete(self.keys.heartbeat)

    def record_result(self, command: Command, result: CommandResult) -> None:
        """Stores the result for the sender and appends the audit entry, atomically."""
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(self.keys.result(command.id), result.to_json())
        pipe.expire(self.keys.result(command.id), RESULT_TTL_SECONDS)
        pipe.xadd(
            self.keys.audit,
            audit_fields(command, result),  # type: ignore[arg-type]
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )
        pipe.execute()


def audit_fields(command: Command, result: CommandResult) -> dict[str, str]:
    return {
        "command_id": command.id,
        "action": command.action,
        "target": command.target,
        "params": json.dumps(command.params, sort_keys=True),
        **command.identity.to_fields(),
        "sent_at": command.sent_at,
        "executed_at": result.finished_at,
        "status": result.status,
        "message": result.message,
        "flow_run_id": result.flow_run_id,
        "flow_run_name": result.flow_run_name,
    }


def _with_attempt_start(
    doc: Mapping[str, Any], current: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """Keeps the attempt start already stored for the same attempt (`run_count`).

    Only a RUNNING read shows when a retried attempt began; the final state that follows
    does not, and a resume after a pause shows a later RUNNING time for the same attempt.
    """
    if current is None or current.get("run_count") != doc.get("run_count"):
        return doc
    kept = current.get("attempt_start_time")
    if not kept or kept == doc.get("attempt_start_time"):
        return doc
    return {**doc, "attempt_start_time": kept}


def _is_newer(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> bool:
    """True if `current` was updated strictly after `incoming` (events can arrive late)."""
    a, b = parse_iso(current.get("updated")), parse_iso(incoming.get("updated"))
    return a is not None and b is not None and a > b

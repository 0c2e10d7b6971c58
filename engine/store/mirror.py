"""Writes state documents into Redis: the only writer of the state keys in `keys.Keys`.

Stdlib + redis + msgspec only. Each upsert writes the typed document (a struct of
engine/contract/documents.py; a plain mapping is checked into one first) and appends a
change entry to the updates stream in one MULTI/EXEC, so a reader that takes a snapshot and
then tails the stream from the ID it noted first never misses a change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import redis

from engine.contract.commands import Command, CommandResult, params_json
from engine.contract.documents import (
    REJECTED,
    BadDocument,
    Deployment,
    FlowRun,
    Heartbeat,
    Lineage,
    LogLine,
    Pools,
    TaskRun,
    decode,
    decode_doc,
    decode_strict,
    encode,
    encode_doc,
)
from engine.contract.keys import (
    AUDIT_FIELD_MAX_BYTES,
    AUDIT_MAXLEN,
    HEARTBEAT_TTL_SECONDS,
    LOG_STREAM_MAXLEN,
    RESULT_TTL_SECONDS,
    RUNS_KEPT,
    UPDATES_MAXLEN,
    Keys,
)
from engine.contract.ordering import is_newer, run_moment
from engine.contract.partitions import partition_name, writer_member
from engine.contract.times import parse_iso, utc_now_iso
from engine.store.audit_log import AuditRecord, result_still_kept
from engine.store.log_append import (
    APPEND_SCRIPT,
    Encoded,
    appended_ids,
    as_log_line,
    encode_lines,
    queue_append,
)
from engine.store.log_budget import (
    LOG_SHARE,
    LogBudget,
    budget_bytes,
    capped,
    entry_bytes,
    log_stream_fields,
)
from engine.store.log_chunks import LogChunker
from engine.store.scripts import scripts_allowed

D = TypeVar("D", Deployment, FlowRun, TaskRun)
R = TypeVar("R", FlowRun, TaskRun)

logger = logging.getLogger(__name__)


def typed(doc: D | Mapping[str, Any], kind: type[D]) -> D:
    """`doc` as its struct: a struct as it is, a mapping checked field by field.

    Raises:
        msgspec.ValidationError: a field of the wrong type, naming it.
    """
    return doc if isinstance(doc, kind) else msgspec.convert(doc, kind)


def _score(doc: FlowRun) -> float:
    moment = run_moment(doc)
    return (moment or datetime.now()).timestamp()


class RedisMirror:
    """Upserts deployments, flow runs and task runs, and appends log lines.

    Upserts take the typed documents (a mapping is converted); the `read_*` methods return
    plain dicts, for tools and tests that inspect what Redis holds.
    """

    def __init__(self, client: redis.Redis, keys: Keys, budget: int | None = None) -> None:
        """`budget`: bytes the mirror may hold in Redis (default `AIWF_REDIS_BUDGET_MB`);
        log streams get `LOG_SHARE` of it."""
        self.client = client
        self.keys = keys
        self.budget = budget_bytes() if budget is None else budget
        self.log_chunks = LogChunker(client, keys)
        self._append_script = client.register_script(APPEND_SCRIPT)
        self._scripted_appends: bool | None = None
        """Whether log lines go in by script (found out on the first append)."""
        self.logs_budget = LogBudget(client, keys, int(self.budget * LOG_SHARE), self.log_chunks)

    def _publish(self, pipe: Any, kind: str, doc_id: str, raw: bytes | str) -> None:
        pipe.xadd(
            self.keys.updates,
            {"kind": kind, "id": doc_id, "doc": raw},
            maxlen=UPDATES_MAXLEN,
            approximate=True,
        )

    def upsert_deployment(self, doc: Deployment | Mapping[str, Any]) -> None:
        deployment = typed(doc, Deployment)
        raw = encode(deployment)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.deployments, deployment.name, raw)
        self._publish(pipe, "deployment", deployment.name, raw)
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

    def flow_run(self, flow_run_id: str) -> FlowRun | None:
        """The stored flow run, typed; None if absent or bad (counted)."""
        key = self.keys.flow_runs
        raw: Any = self.client.hget(key, flow_run_id)
        return decode(raw, FlowRun, f"{key}[{flow_run_id}]")

    def upsert_flow_run(self, doc: FlowRun | Mapping[str, Any]) -> bool:
        """Writes a flow run unless Redis already holds a newer version. True if written."""
        run = typed(doc, FlowRun)
        current = _times_readable(self.flow_run(run.id), f"{self.keys.flow_runs}[{run.id}]")
        if current is not None and is_newer(current, run):
            return False
        run = _with_attempt_start(run, current)
        raw = encode(run)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.flow_runs, run.id, raw)
        pipe.zadd(self.keys.flow_runs_index, {run.id: _score(run)})
        self._publish(pipe, "flow_run", run.id, raw)
        pipe.execute()
        return True

    def upsert_task_run(self, doc: TaskRun | Mapping[str, Any]) -> bool:
        return self.upsert_task_runs([doc]) == 1

    def upsert_task_runs(self, docs: Iterable[TaskRun | Mapping[str, Any]]) -> int:
        """Writes each task run unless Redis (or an earlier one of `docs`) holds a newer
        state of it, as one call each would, in one read of all and one MULTI; how many
        were written."""
        tasks = [typed(doc, TaskRun) for doc in docs]
        if not tasks:
            return 0
        read = self.client.pipeline(transaction=False)
        for task in tasks:
            read.hget(self.keys.task_runs(task.flow_run_id), task.id)
        written: dict[tuple[str, str], TaskRun] = {}
        pipe = self.client.pipeline(transaction=True)
        for task, stored in zip(tasks, read.execute(), strict=True):
            key = self.keys.task_runs(task.flow_run_id)
            where = f"{key}[{task.id}]"
            current = written.get((key, task.id)) or _times_readable(
                decode(stored, TaskRun, where), where
            )
            if current is not None and (is_newer(current, task) or _loses_state(current, task)):
                continue
            written[(key, task.id)] = task
            raw = encode(task)
            pipe.hset(key, task.id, raw)
            self._publish(pipe, "task_run", task.id, raw)
        count = len(pipe) // 2  # an HSET and its update each; execute() empties the pipe
        if count:
            pipe.execute()
        return count

    def write_lineage(self, doc: Lineage | Mapping[str, Any]) -> None:
        """Stores a run's lineage (the latest attempt wins) and announces it.

        The flow run builds the contract's `Lineage`; a mapping (an older flow, a tool) is
        written as is once it reads back as `Lineage` (a wrong type raises `BadDocument`
        naming the field, and nothing is written). Also indexes who wrote what: each output
        partition's writers ZSET gets this write (the run and its attempt), scored by
        `recorded_at`, and the deployment's partitions SET gets the partition.
        """
        if isinstance(doc, Lineage):
            raw, lineage = msgspec.json.encode(doc).decode(), doc
        else:
            raw = encode_doc(doc)
            lineage = decode_strict(raw, Lineage, self.keys.lineage(str(doc.get("flow_run_id"))))
        run_id, attempt = lineage.flow_run_id, lineage.trigger.attempt
        member = writer_member(run_id, attempt)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.lineage(run_id), raw)
        if attempt is not None:
            # Every attempt's lineage, so an earlier attempt's write still shows its own.
            pipe.hset(self.keys.lineage_attempts(run_id), str(attempt), raw)
        deployment = lineage.deployment_name
        moment = parse_iso(lineage.recorded_at)
        written_at = moment.timestamp() if moment else datetime.now().timestamp()
        for output in lineage.outputs:
            partition = partition_name(output.path)
            if deployment and partition:
                pipe.zadd(self.keys.writers(deployment, partition), {member: written_at})
                pipe.sadd(self.keys.partitions(deployment), partition)
        self._publish(pipe, "lineage", run_id, raw)
        pipe.execute()

    def read_lineage(self, flow_run_id: str) -> dict[str, Any] | None:
        return decode_doc(self.client.get(self.keys.lineage(flow_run_id)))

    def runs_without_lineage(self, flow_run_ids: Iterable[str]) -> list[str]:
        """Those of these runs Redis holds no lineage document of."""
        ids = list(flow_run_ids)
        pipe = self.client.pipeline(transaction=False)
        for run_id in ids:
            pipe.exists(self.keys.lineage(run_id))
        return [run_id for run_id, held in zip(ids, pipe.execute(), strict=True) if not held]

    def append_logs(self, flow_run_id: str, lines: Iterable[LogLine | Mapping[str, str]]) -> int:
        return self.append_logs_of({flow_run_id: lines})

    def append_logs_of(
        self, lines_by_run: Mapping[str, Iterable[LogLine | Mapping[str, str]]]
    ) -> int:
        """Appends each run's lines (a message over `LOG_LINE_MAX_BYTES` truncated, with a
        marker) in one pipeline, counts their bytes in `{p}:log_bytes`, closes a text chunk
        every CHUNK_LINES lines of a run (`LogChunker`: what a search of the whole log
        reads), then keeps the log budget (oldest runs' lines go first). How many lines.

        Only the pipeline can fail the call: once the lines are in, the chunks and the
        budget wait for the next append if Redis fails them, so a caller that retries a
        failed call never appends the same lines twice.
        """
        pipe = self.client.pipeline(transaction=False)
        pending_at: dict[str, int] = {}
        scripted: dict[str, list[tuple[int, Encoded]]] = {}
        total = 0
        if self._scripted_appends is None:
            self._scripted_appends = scripts_allowed(self.client, APPEND_SCRIPT)
        for flow_run_id, lines in lines_by_run.items():
            count, size, pieces = self._queue_lines(pipe, self.keys.logs(flow_run_id), lines)
            if count:
                scripted[flow_run_id] = pieces
                self.log_chunks.count_appended(pipe, flow_run_id, count)
                pending_at[flow_run_id] = len(pipe) - 1
                self.log_chunks.ask_last_id(pipe, flow_run_id)
                pipe.hincrby(self.keys.log_bytes, flow_run_id, size)
                total += count
        if not total:
            return 0
        pipe.hvals(self.keys.log_bytes)
        answers = pipe.execute()
        chunk_bytes = 0
        for run_id, at in pending_at.items():
            appended = [(appended_ids(answers[n]), p.messages()) for n, p in scripted[run_id]]
            chunk_bytes += self.log_chunks.close_due(
                run_id, int(answers[at]), _text_or_none(answers[at + 1]), appended
            )
        try:
            self.logs_budget.enforce(sum(int(v) for v in answers[-1]) + chunk_bytes)
        except redis.RedisError as exc:
            logger.warning("log budget not kept this time (next append tries again): %s", exc)
        return total

    def _queue_lines(
        self, pipe: Any, key: str, lines: Iterable[LogLine | Mapping[str, str]]
    ) -> tuple[int, int, list[tuple[int, Encoded]]]:
        """Adds the appends of `lines` to stream `key` to `pipe`: a script call per few
        thousand lines (engine/store/log_append.py), or an XADD each where Redis refuses
        scripts or a line has fields of its own. How many lines, their counted bytes, and
        the script calls' places in the pipeline with their lines (none for XADDs)."""
        given = list(lines)
        typed_lines = [as_log_line(line) for line in given]
        if self._scripted_appends and all(line is not None for line in typed_lines):
            pieces = encode_lines(line for line in typed_lines if line is not None)
            placed = []
            for piece in pieces:
                placed.append((len(pipe), piece))
                queue_append(pipe, self._append_script, key, piece)
            return sum(p.lines for p in pieces), sum(p.size for p in pieces), placed
        size = 0
        for line in given:
            fields = log_stream_fields(line)
            pipe.xadd(key, fields, maxlen=LOG_STREAM_MAXLEN, approximate=True)
            size += entry_bytes(fields)
        return len(given), size, []

    def trim_runs(self, keep: int = RUNS_KEPT) -> int:
        """Drops the oldest flow runs beyond `keep`, with their task runs, logs and lineage."""
        excess = self.client.zcard(self.keys.flow_runs_index) - keep
        if excess <= 0:
            return 0
        members = self.client.zrange(self.keys.flow_runs_index, 0, excess - 1)
        old = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        return self.drop_runs(old)

    def drop_runs(self, old: list[str]) -> int:
        """Drops these flow runs with their task runs, logs and lineage (Prefect, and the
        engine's lineage table, still have them)."""
        if not old:
            return 0
        pipe = self.client.pipeline(transaction=True)
        for run_id in old:
            pipe.hdel(self.keys.flow_runs, run_id)
            pipe.delete(
                self.keys.task_runs(run_id),
                self.keys.logs(run_id),
                self.keys.log_chunks(run_id),
                self.keys.lineage(run_id),
                self.keys.lineage_attempts(run_id),
            )
        pipe.hdel(self.keys.log_bytes, *old)
        pipe.hdel(self.keys.log_trimmed, *old)
        for run_id in old:
            self.log_chunks.tails.forget(run_id)
        pipe.zrem(self.keys.flow_runs_index, *old)
        pipe.execute()
        return len(old)

    def beat(self, info: Heartbeat) -> None:
        """Writes the heartbeat, stamped now; it expires unless the next beat comes."""
        beat = msgspec.structs.replace(info, beat_at=utc_now_iso())
        self.client.set(self.keys.heartbeat, encode(beat), ex=HEARTBEAT_TTL_SECONDS)

    def write_pools(self, pools: Pools) -> None:
        """Replaces the work pool view (the console polls it with the heartbeat)."""
        self.client.set(self.keys.pools, encode(pools))

    def clear_heartbeat(self) -> None:
        self.client.delete(self.keys.heartbeat)

    def note_standby(self, name: str) -> None:
        self.client.zadd(self.keys.standbys, {name: time.time()})

    def forget_standby(self, name: str) -> None:
        self.client.zrem(self.keys.standbys, name)

    def standbys(self) -> list[str]:
        """Standby engines that beat within the heartbeat's lifetime (older ones dropped)."""
        stale = time.time() - HEARTBEAT_TTL_SECONDS
        self.client.zremrangebyscore(self.keys.standbys, "-inf", stale)
        names: list[bytes] = self.client.zrange(self.keys.standbys, 0, -1)  # type: ignore[assignment]
        return [name.decode() for name in names]

    def record_result(
        self, command: Command, result: CommandResult, ends_cancel_watch: bool = False
    ) -> None:
        """Stores the result for the sender and appends the audit entry, atomically.

        `ends_cancel_watch`: the result is the one a cancel's watch waited for; its entry
        in `{p}:cancel_watches` goes in the same transaction, so an engine stopped between
        the two can neither write the result twice nor leave a watch nobody ends.
        """
        pipe = self.client.pipeline(transaction=True)
        if ends_cancel_watch:
            pipe.hdel(self.keys.cancel_watches, command.id)
        pipe.rpush(self.keys.result(command.id), result.to_json())
        pipe.expire(self.keys.result(command.id), RESULT_TTL_SECONDS)
        pipe.xadd(
            self.keys.audit,
            audit_fields(command, result),  # type: ignore[arg-type]
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )
        pipe.execute()

    def restore_audit(self, records: Iterable[AuditRecord]) -> int:
        """Puts the audit stream and the results still within their TTL back into an
        emptied Redis, from the engine's audit file. Returns how many entries."""
        count = 0
        pipe = self.client.pipeline(transaction=True)
        for record in records:
            pipe.xadd(self.keys.audit, record.audit, maxlen=AUDIT_MAXLEN, approximate=True)  # type: ignore[arg-type]
            command_id = record.audit.get("command_id", "")
            # A copied record whose result had expired before it was copied has none.
            if command_id and record.result and result_still_kept(record):
                pipe.delete(self.keys.result(command_id))
                pipe.rpush(self.keys.result(command_id), record.result)
                pipe.expire(self.keys.result(command_id), RESULT_TTL_SECONDS)
            count += 1
        pipe.execute()
        return count


def audit_fields(command: Command, result: CommandResult) -> dict[str, str]:
    """The audit entry's fields, each capped at `AUDIT_FIELD_MAX_BYTES` (with a marker)."""
    fields = {
        "command_id": command.id,
        "action": command.action,
        "target": command.target,
        "params": params_json(command.params),
        **command.identity.to_fields(),
        "sent_at": command.sent_at,
        "executed_at": result.finished_at,
        "status": result.status,
        "message": result.message,
        "flow_run_id": result.flow_run_id,
        "flow_run_name": result.flow_run_name,
    }
    return {name: capped(value, AUDIT_FIELD_MAX_BYTES) for name, value in fields.items()}


def _text_or_none(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _times_readable(current: R | None, key: str) -> R | None:
    """The stored document, or None if its `updated` is not a time (garbage in the key):
    warned about with its key, counted, and replaced by the incoming version."""
    if current is None:
        return None
    try:
        parse_iso(current.updated)
    except ValueError as exc:
        error = BadDocument(key, f"updated: {exc}")
        REJECTED.note(error)
        logger.warning("%s; replaced", error)
        return None
    return current


def _with_attempt_start(run: FlowRun, current: FlowRun | None) -> FlowRun:
    """Keeps the attempt start already stored for the same attempt (`run_count`).

    Only a RUNNING read shows when a retried attempt began; the final state that follows
    does not, and a resume after a pause shows a later RUNNING time for the same attempt.
    """
    if current is None or current.run_count != run.run_count:
        return run
    kept = current.attempt_start_time
    if not kept or kept == run.attempt_start_time:
        return run
    return msgspec.structs.replace(run, attempt_start_time=kept)


def _loses_state(current: TaskRun, incoming: TaskRun) -> bool:
    """True if `incoming` has no state and `current` has one. A task run read from Prefect
    without a state is stamped with the row's `updated`, later than the state it lacks, so
    it would replace a finished task's state with none. Seen once in CI (2026-12-05: a
    Completed run whose load task read as state ''); this is the one path found that
    writes such a document, not reproduced."""
    return bool(current.state_type) and not incoming.state_type

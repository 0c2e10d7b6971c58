"""Every Redis key name under one prefix, and the limits (stream caps, TTLs) of those keys."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "aiwf"
"""Key prefix used when `AIWF_REDIS_PREFIX` is not set."""

ENGINE_GROUP = "engine"
"""Consumer group through which engines read the command stream."""

HEARTBEAT_TTL_SECONDS = 15
"""The heartbeat key expires this long after the engine's last beat."""

HEARTBEAT_INTERVAL_SECONDS = 5

UPDATES_MAXLEN = 20_000
LOG_STREAM_MAXLEN = 200_000
AUDIT_MAXLEN = 50_000
COMMANDS_MAXLEN = 10_000
RESULT_TTL_SECONDS = 7 * 24 * 3600
LOG_LINE_MAX_BYTES = 8_192
"""A longer log message is stored truncated, with `TRUNCATED_MARK` and its full size."""
AUDIT_FIELD_MAX_BYTES = 4_096
"""A longer audit field (params, message) is stored truncated, with `TRUNCATED_MARK`."""
TRUNCATED_MARK = " … [truncated: {size:,} bytes; the full text is in Prefect]"
RUNS_KEPT = 1_000
"""Flow runs mirrored into Redis; older ones (and their task runs and logs) are trimmed."""


@dataclass(frozen=True)
class Keys:
    """Every Redis key the product uses, under one prefix.

    Attributes are full key names; methods build per-object keys.
    """

    prefix: str = DEFAULT_PREFIX

    @property
    def deployments(self) -> str:
        """HASH: deployment name -> deployment JSON."""
        return f"{self.prefix}:deployments"

    @property
    def flow_runs(self) -> str:
        """HASH: flow run id -> flow run JSON."""
        return f"{self.prefix}:flow_runs"

    @property
    def flow_runs_index(self) -> str:
        """ZSET: flow run id scored by its (expected) start, epoch seconds."""
        return f"{self.prefix}:flow_runs:index"

    def task_runs(self, flow_run_id: str) -> str:
        """HASH: task run id -> task run JSON, one hash per flow run."""
        return f"{self.prefix}:task_runs:{flow_run_id}"

    def logs(self, flow_run_id: str) -> str:
        """STREAM of log lines of one flow run (flow and task logs)."""
        return f"{self.prefix}:logs:{flow_run_id}"

    @property
    def log_bytes(self) -> str:
        """HASH: flow run id -> bytes its log stream holds, as the mirror counts them."""
        return f"{self.prefix}:log_bytes"

    @property
    def log_trimmed(self) -> str:
        """HASH: flow run id -> `LogTrim` JSON, for runs whose oldest lines were dropped."""
        return f"{self.prefix}:log_trimmed"

    def log_chunks(self, flow_run_id: str) -> str:
        """HASH: compressed text chunks of one run's log stream, for searching it whole
        (engine/contract/log_chunks.py)."""
        return f"{self.prefix}:log_chunks:{flow_run_id}"

    def lineage(self, flow_run_id: str) -> str:
        """STRING: JSON lineage of the latest attempt of one flow run."""
        return f"{self.prefix}:lineage:{flow_run_id}"

    def lineage_attempts(self, flow_run_id: str) -> str:
        """HASH: attempt number -> JSON lineage of that attempt of one flow run."""
        return f"{self.prefix}:lineage_attempts:{flow_run_id}"

    def writers(self, deployment: str, partition: str) -> str:
        """ZSET: one member per write of an output partition (`writer_member`), scored by
        written-at epoch."""
        return f"{self.prefix}:writers:{deployment}:{partition}"

    def partitions(self, deployment: str) -> str:
        """SET: output partition names (`date=2026-11-01`) a deployment has written."""
        return f"{self.prefix}:partitions:{deployment}"

    @property
    def updates(self) -> str:
        """STREAM of every state change: fields kind, id, doc."""
        return f"{self.prefix}:updates"

    @property
    def commands(self) -> str:
        """STREAM of operator commands, read by the engine's consumer group."""
        return f"{self.prefix}:commands"

    def operator_commands(self, user: str) -> str:
        """STREAM of one operator's commands: only that operator's Redis ACL user may append
        to it, so the engine takes the sender from the stream (see docs/operations.md)."""
        return f"{self.prefix}:commands:{user}"

    def result(self, command_id: str) -> str:
        """LIST holding one command's result JSON (BLPOP-able, expires)."""
        return f"{self.prefix}:results:{command_id}"

    @property
    def queries(self) -> str:
        """STREAM of read-only flow-run queries (`RunQuery`), read by the engine's consumer
        group; the one key a read-only console's ACL user may write."""
        return f"{self.prefix}:queries"

    def query_result(self, query_id: str) -> str:
        """STREAM with one entry: the `RunPage` answering one query (XREAD-able, expires)."""
        return f"{self.prefix}:query_results:{query_id}"

    def log_copy(self, query_id: str) -> str:
        """STREAM: a run's whole log as Prefect holds it, copied on a console's request
        (the `RunQuery` with `log_copy_of` and this id), when the mirror dropped its older
        lines; expires. Each ask its own copy: a reader never sees one rewritten."""
        return f"{self.prefix}:log_copies:{query_id}"

    @property
    def log_copies(self) -> str:
        """ZSET: query id -> when its log copy was made; the oldest beyond LOG_COPIES_KEPT
        are deleted."""
        return f"{self.prefix}:log_copies"

    @property
    def audit(self) -> str:
        """STREAM: one entry per executed command (who, what, when, result)."""
        return f"{self.prefix}:audit"

    @property
    def heartbeat(self) -> str:
        """STRING with TTL: JSON about the live engine; missing means no engine."""
        return f"{self.prefix}:engine:heartbeat"

    @property
    def leader(self) -> str:
        """STRING with TTL: the leader lease; its value is the leading engine's name."""
        return f"{self.prefix}:engine:leader"

    @property
    def standbys(self) -> str:
        """ZSET: standby engine name -> its last beat, epoch seconds."""
        return f"{self.prefix}:engine:standbys"

    @property
    def engine_info(self) -> str:
        """STRING: JSON with the Prefect API URL and config dir of the last engine."""
        return f"{self.prefix}:engine:info"

    @property
    def auto_resume(self) -> str:
        """ZSET: paused deployment name -> when the engine resumes it, epoch seconds."""
        return f"{self.prefix}:auto_resume"

    @property
    def backfills(self) -> str:
        """HASH: command id -> fields of a backfill command whose runs are not all created."""
        return f"{self.prefix}:backfills"

    @property
    def cancel_watches(self) -> str:
        """HASH: command id -> fields of a cancel whose final result is not written yet."""
        return f"{self.prefix}:cancel_watches"

    @property
    def pools(self) -> str:
        """STRING: `Pools` JSON, Prefect's work pools, queues, workers and limits."""
        return f"{self.prefix}:pools"

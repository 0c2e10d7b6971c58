"""`aiwf-engine trigger --watch`: follow a run through the Redis mirror to its final state,
printing its log lines and state changes as they arrive; exit with the run's outcome.

States come from the mirror's `{p}:updates` stream (every state the engine mirrored, read in
one XREAD with the run's log stream), not from polling the run's document: a run that is
Running for less than a poll would otherwise show Submitting, then Completed. The final state
is printed after the run's last log lines, in the order they happened."""

from __future__ import annotations

import time
from typing import Any

import redis

from engine.cli.output import EXIT_CANCELLED, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, Output
from engine.contract.documents import (
    FINAL_STATE_TYPES,
    FlowRun,
    LogLine,
    TaskRun,
    convert_fields,
    decode,
)
from engine.contract.keys import Keys
from engine.contract.reconnect import reconnect_backoff

EXIT_OF_STATE = {
    "COMPLETED": EXIT_OK,
    "FAILED": EXIT_ERROR,
    "CRASHED": EXIT_ERROR,
    "CANCELLED": EXIT_CANCELLED,
}
"""A watched run's final state type -> the command's exit code."""

DRAIN_QUIET_SECONDS = 1.0
"""After the final state, lines still arriving are printed until the flow's own last line
(Prefect's "Finished in state ...") came and then none for this long: the mirror writes a
run's last log lines after (or with) its final state, seconds later on a loaded host."""
DRAIN_MAX_SECONDS = 30.0
"""The most to wait after a Completed or Failed state for the flow's last line, which such a
run always logs: 10 s was too short on a host at load 8 (the lines came later and the watch
ended without them)."""
DRAIN_MAX_UNLOGGED_SECONDS = 10.0
"""The same for a run that may never log its end (Cancelled, Crashed: its process was
stopped)."""
LOGS_ITS_END = frozenset({"COMPLETED", "FAILED"})
FLOW_END_PREFIX = "Finished in state"


class RunWatcher:
    """Reads one flow run's mirrored document and log stream, printing what is new."""

    def __init__(self, client: redis.Redis, keys: Keys, run_id: str, out: Output) -> None:
        self.client = client
        self.keys = keys
        self.run_id = run_id
        self.out = out
        self.last_log_id = "0-0"
        self.last_update_id = ""
        """Where the updates stream is read from; "" until `start` notes its end."""
        self.shown_state = ""
        self.task_names: dict[str, str] = {}
        self.lines = 0
        self.engine_warned = False
        self.saw_flow_end = False

    def read_run(self) -> FlowRun | None:
        raw = self.client.hget(self.keys.flow_runs, self.run_id)
        return decode(raw, FlowRun, f"{self.keys.flow_runs}[{self.run_id}]")

    def print_state(self, run: FlowRun) -> None:
        if run.state_name and run.state_name != self.shown_state:
            message = f": {run.state_message}" if run.state_message else ""
            self.out.info(f"--- {run.name or self.run_id}: {run.state_name}{message}")
            self.shown_state = run.state_name

    def task_name(self, task_run_id: str) -> str:
        if not task_run_id:
            return "flow"
        if task_run_id not in self.task_names:
            key = self.keys.task_runs(self.run_id)
            task = decode(self.client.hget(key, task_run_id), TaskRun, f"{key}[{task_run_id}]")
            if task is None:
                return "task"  # not mirrored yet: ask again for the next line
            self.task_names[task_run_id] = task.name
        return self.task_names[task_run_id]

    def start(self) -> FlowRun | None:
        """Notes the updates stream's end, then reads the run's document as it is now: a
        state written in between is in both, and printed once."""
        newest: Any = self.client.xrevrange(self.keys.updates, "+", "-", count=1)
        self.last_update_id = _text(newest[0][0]) if newest else "0-0"
        run = self.read_run()
        if run is not None and run.state_type not in FINAL_STATE_TYPES:
            self.print_state(run)
        return run

    def read_new(self, block_ms: int) -> tuple[int, FlowRun | None]:
        """Prints the log lines and the run's states mirrored since the last read, waiting
        up to `block_ms` for the first; returns how many lines it printed and the run's
        document if it reached a final state (not printed: `drain` prints it last)."""
        logs = self.keys.logs(self.run_id)
        streams = {logs: self.last_log_id, self.keys.updates: self.last_update_id or "$"}
        answer: Any = self.client.xread(streams, count=500, block=block_ms)  # type: ignore[arg-type]
        printed, final = 0, None
        for stream, entries in answer or []:
            if _text(stream) == logs:
                printed += self._print_lines(entries)
                continue
            for entry_id, fields in entries:
                self.last_update_id = _text(entry_id)
                if _text(fields.get(b"kind", b"")) != "flow_run":
                    continue
                if _text(fields.get(b"id", b"")) != self.run_id:
                    continue
                run = decode(fields.get(b"doc"), FlowRun, f"{self.keys.updates} {entry_id!r}")
                if run is None:
                    continue
                if run.state_type in FINAL_STATE_TYPES:
                    final = run
                else:
                    self.print_state(run)
        return printed, final

    def _print_lines(self, entries: Any) -> int:
        key = self.keys.logs(self.run_id)
        printed = 0
        for entry_id, fields in entries:
            self.last_log_id = _text(entry_id)
            line = convert_fields(fields, LogLine, key)
            if line is None:
                continue
            if not line.task_run_id and line.msg.startswith(FLOW_END_PREFIX):
                self.saw_flow_end = True
            level = line.level_name or line.level
            self.out.info(f"{line.ts} {level:<8} {self.task_name(line.task_run_id)}: {line.msg}")
            printed += 1
        self.lines += printed
        return printed

    def print_new_lines(self, block_ms: int) -> int:
        """Prints the log lines after the last one printed, waiting up to `block_ms` for
        the first; returns how many it printed."""
        key = self.keys.logs(self.run_id)
        answer: Any = self.client.xread({key: self.last_log_id}, count=500, block=block_ms)
        return sum(self._print_lines(entries) for _stream, entries in answer or [])

    def check_engine(self) -> None:
        if not self.engine_warned and not self.client.exists(self.keys.heartbeat):
            self.out.warn(
                f"warning: no engine heartbeat at {self.keys.heartbeat}: the run's state and "
                "logs are not mirrored until an engine runs again; still watching"
            )
            self.engine_warned = True

    def follow(self) -> FlowRun:
        """Blocks until the mirror reports the run in a final state; returns that run.

        A lost Redis (restart, network) does not end the watch: the run goes on without
        us, so this reconnects with the product's backoff and reads on from the last line.
        """
        backoff, failures = reconnect_backoff(), 0
        checked_engine = time.monotonic()
        while True:
            try:
                run = self.step()
                if failures:
                    self.out.info(f"--- Redis is back after {failures} attempt(s)")
                    failures = 0
                if run is not None:
                    break
                if time.monotonic() - checked_engine > 5:
                    self.check_engine()
                    checked_engine = time.monotonic()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                failures += 1
                if failures == 1:
                    self.out.warn(f"warning: lost Redis ({exc}); reconnecting, still watching")
                # Read the document again when back: the updates stream may have been
                # emptied (a Redis restarted without its data) and states were missed.
                self.last_update_id = ""
                time.sleep(backoff.compute(failures))
        self.drain(
            DRAIN_MAX_SECONDS if run.state_type in LOGS_ITS_END else DRAIN_MAX_UNLOGGED_SECONDS
        )
        self.print_state(run)
        return run

    def step(self) -> FlowRun | None:
        """Prints what is new; the run once it is final, else None."""
        if not self.last_update_id:
            run = self.start()
            if run is not None and run.state_type in FINAL_STATE_TYPES:
                return run
        _printed, final = self.read_new(block_ms=500)
        return final

    def drain(self, most_seconds: float) -> None:
        began = quiet_since = time.monotonic()
        while time.monotonic() - began < most_seconds:
            if self.print_new_lines(block_ms=250):
                quiet_since = time.monotonic()
            elif self.saw_flow_end and time.monotonic() - quiet_since >= DRAIN_QUIET_SECONDS:
                return


def watch_run(
    client: redis.Redis, keys: Keys, run_id: str, out: Output, sent: dict[str, Any]
) -> int:
    """Follows the run to its end and prints the outcome; the exit code is the run's.

    `sent` is the trigger's answer (command id, run name), kept in the JSON outcome.
    """
    watcher = RunWatcher(client, keys, run_id, out)
    try:
        run = watcher.follow()
    except KeyboardInterrupt:
        return out.fail(
            EXIT_INTERRUPTED,
            "interrupted",
            f"stopped watching; run {run_id} goes on (aiwf-engine cancel {run_id} stops it)",
            flow_run_id=run_id,
        )
    code = EXIT_OF_STATE.get(run.state_type, EXIT_ERROR)
    payload = {
        **sent,
        "status": "ok" if code == EXIT_OK else "error",
        "flow_run_id": run.id,
        "flow_run_name": run.name,
        "state_type": run.state_type,
        "state_name": run.state_name,
        "state_message": run.state_message,
        "log_lines": watcher.lines,
    }
    if code != EXIT_OK:
        payload["error"] = f"run_{run.state_type.lower()}"
    message = f": {run.state_message}" if run.state_message else ""
    return out.emit(code, payload, f"run {run.name or run.id} {run.state_name}{message}")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""Shared demo services: each `aiwf-console --demo` holds a lease, the last one out stops them.

Stdlib + redis (the console imports this for `--demo`; POSIX, like the embedded Redis socket).
Every change happens under the state dir's lock (engine/stack/state_lock.py), so two consoles
starting or quitting at once never both start Redis or both think they are last:

- `demo/leases/<pid>.json`: one per console using the services. A lease whose process is
  gone (or whose pid now belongs to another process) does not count, so a console that
  was killed never keeps the services up forever.
- `demo/services.json`: the services demo consoles started (kind, pid, process start time),
  recorded as soon as each is spawned. A console that finds services recorded but no live
  lease (their consoles were killed) reuses the ready ones and stops any left half-started.
  A console that quits while others still hold leases leaves its services running and
  recorded here; the last console stops every recorded service, also those another
  console started. Services nobody recorded (an `aiwf-engine run`, an external Redis) are
  never stopped.
- `demo/stopped.json`: who stopped the services last and when, so a console still running
  on them can say so on its status line instead of only showing "disconnected".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis

from engine.contract.documents import Heartbeat, decode
from engine.contract.keys import Keys
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedRedis, EmbeddedStack, EngineProcess, LocalPrefectServer
from engine.stack.services import Progress, quiet
from engine.stack.state_lock import state_dir_lock

STOP_ORDER = ("engine", "prefect", "redis")
"""The engine first, so it never sees its Redis or API vanish (as `EmbeddedStack.stop`)."""
LABELS = {"engine": "engine", "prefect": "Prefect server", "redis": "Redis"}
STOP_GRACE_SECONDS = {"engine": 30.0, "prefect": 20.0, "redis": 20.0}


def process_tag(pid: int) -> str:
    """The process's start time (from /proc), to tell a live pid from a reused one; ''
    where /proc is not there (then the pid alone is trusted)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime); the command name in field 2 may hold spaces, so split after it.
    return stat.rsplit(")", 1)[-1].split()[19]


def process_alive(pid: int, tag: str = "") -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if _is_zombie(pid):
        return False
    return not tag or process_tag(pid) in ("", tag)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def stop_pid(pid: int, tag: str, grace: float) -> None:
    """SIGTERM a process this console did not start, SIGKILL it after `grace` seconds."""
    if not process_alive(pid, tag):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process_alive(pid, tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process_alive(pid, tag):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Release:
    """What quitting did: `stopped` services (labels), or the consoles still using them."""

    stopped: list[str]
    others: list[int]

    def describe(self) -> str:
        if self.others:
            pids = ", ".join(str(pid) for pid in self.others)
            return (
                f"Demo services left running: {len(self.others)} other demo console(s) "
                f"use them (pid {pids}); the last one to quit stops them"
            )
        if self.stopped:
            return f"Stopped the demo services: {', '.join(self.stopped)}"
        return "No demo service to stop (none was started by a demo console)"


class DemoLease:
    """One demo console's claim on the embedded services of a state dir.

    `start` takes the lease and starts what is not running yet; `release` gives it back
    and stops the services if no other live console holds a lease; `notice` tells a
    running console that its services were stopped or exited.
    """

    def __init__(self, stack: EmbeddedStack, pid: int | None = None) -> None:
        self.stack = stack
        self.pid = pid or os.getpid()
        self.dir = stack.state_dir / "demo"
        self.lease_dir = self.dir / "leases"
        """One file per live demo console, named by its pid."""
        self.lease_path = self.lease_dir / f"{self.pid}.json"
        self.services_path = self.dir / "services.json"
        """What the demo consoles started (and so may stop)."""
        self.stopped_path = self.dir / "stopped.json"
        """What the last console stopped, for the others' `notice`."""
        self.since = ""
        """When this console took its lease (ISO, UTC); '' before `start`."""
        stack.on_spawn = self._record_spawned

    @contextlib.contextmanager
    def _locked(self, progress: Progress) -> Iterator[None]:
        with state_dir_lock(self.stack.state_dir, progress):
            self.lease_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            yield

    # Files (read and written under the lock; `notice` reads without it).

    def _read(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def _write(self, path: Path, data: Any) -> None:
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, sort_keys=True))
        partial.replace(path)  # atomic: a reader never sees half a file

    def _services(self) -> dict[str, dict[str, Any]]:
        data = self._read(self.services_path)
        return data if isinstance(data, dict) else {}

    def live_leases(self) -> list[int]:
        """Pids of the consoles holding a lease, this one included; dead leases are removed."""
        live = []
        for path in sorted(self.lease_dir.glob("*.json")):
            lease = self._read(path)
            pid = int(lease.get("pid", 0)) if isinstance(lease, dict) else 0
            if process_alive(pid, str(lease.get("tag", "")) if isinstance(lease, dict) else ""):
                live.append(pid)
            else:
                path.unlink(missing_ok=True)
        return live

    # The lease.

    def start(self, progress: Progress = quiet) -> None:
        """Takes the lease, then starts (or reuses) the stack. If starting fails, the
        lease is given back and what was started is stopped (by `EmbeddedStack.start`).
        The demo deployments read a generated input file; it is written first, once."""
        progress(f"Demo input: {ensure_demo_input(self.stack.state_dir)}")
        with self._locked(progress):
            self._take_over_orphans(progress)
            self.since = datetime.now(timezone.utc).isoformat()
            self._write(
                self.lease_path,
                {"pid": self.pid, "tag": process_tag(self.pid), "since": self.since},
            )
            try:
                self.stack.start(progress)
            except BaseException:
                self.lease_path.unlink(missing_ok=True)
                raise
            services = self._services()
            for kind, service in self._started():
                proc = service.proc
                if proc is not None:
                    services[kind] = {"pid": proc.pid, "tag": process_tag(proc.pid)}
            self._write(self.services_path, services)

    def _record_spawned(self, kind: str, pid: int) -> None:
        """Records a service the moment it is spawned (under the lock, from `start`), so a
        console killed while it starts leaves no process nobody knows about."""
        services = self._services()
        services[kind] = {"pid": pid, "tag": process_tag(pid)}
        self._write(self.services_path, services)

    def _take_over_orphans(self, progress: Progress) -> None:
        """Services recorded while no live console holds a lease: the consoles that used
        them were killed (SIGKILL, a crash) and could not stop them. Ready ones are reused
        (and stopped when this console quits, like its own); one left half-started (its
        console died before it was ready) is stopped, to be started afresh."""
        if [pid for pid in self.live_leases() if pid != self.pid]:
            return
        services, reused = self._services(), []
        for kind in STOP_ORDER:
            entry = services.get(kind)
            if not isinstance(entry, dict):
                continue
            pid, tag = int(entry.get("pid", 0)), str(entry.get("tag", ""))
            if not process_alive(pid, tag):
                del services[kind]
            elif self._ready(kind, pid):
                reused.append(LABELS[kind])
            else:
                progress(f"Stopping the {LABELS[kind]} (pid {pid}) a killed console left starting")
                stop_pid(pid, tag, STOP_GRACE_SECONDS[kind])
                del services[kind]
        self._write(self.services_path, services)
        if reused:
            progress(
                f"Reusing demo services no live console holds ({', '.join(reused)}): the "
                "console that started them did not quit cleanly (killed?); this one stops "
                "them when it quits"
            )

    def _ready(self, kind: str, pid: int) -> bool:
        """Whether the recorded service `pid` is the ready one the stack would reuse."""
        stack = self.stack
        if kind == "redis":
            return stack.redis.is_up()
        if kind == "prefect":
            return stack.prefect.recorded_pid() == pid and stack.prefect.recorded_is_up()
        key = Keys(stack.prefix).heartbeat
        client = redis.Redis.from_url(stack.redis_url, socket_timeout=2)
        try:
            beat = decode(client.get(key), Heartbeat, key)
        except redis.RedisError:
            return False
        finally:
            client.close()
        return beat is not None and beat.pid == pid

    def _started(self) -> list[tuple[str, EmbeddedRedis | LocalPrefectServer | EngineProcess]]:
        kinds: list[tuple[str, EmbeddedRedis | LocalPrefectServer | EngineProcess]] = []
        for service in self.stack.started:
            if isinstance(service, EngineProcess):
                kinds.append(("engine", service))
            elif isinstance(service, LocalPrefectServer):
                kinds.append(("prefect", service))
            else:
                kinds.append(("redis", service))
        return kinds

    def release(self, progress: Progress = quiet) -> Release:
        """Gives the lease back; the last live holder stops every recorded service."""
        with self._locked(progress):
            self.lease_path.unlink(missing_ok=True)
            others = [pid for pid in self.live_leases() if pid != self.pid]
            if others:
                # Started by this process, they outlive it (own sessions) and stay recorded
                # in services.json for whoever quits last.
                self.stack.forget_started()
                outcome = Release(stopped=[], others=others)
                progress(outcome.describe())
                return outcome
            services = self._services()
            own = dict(self._started())
            stopped = []
            for kind in STOP_ORDER:
                entry = services.get(kind)
                if kind in own:
                    progress(f"Stopping {LABELS[kind]}")
                    self.stack.stop_one(own[kind])
                    stopped.append(LABELS[kind])
                elif isinstance(entry, dict) and process_alive(
                    int(entry.get("pid", 0)), str(entry.get("tag", ""))
                ):
                    progress(
                        f"Stopping {LABELS[kind]} (pid {entry['pid']}, "
                        "started by another demo console)"
                    )
                    stop_pid(int(entry["pid"]), str(entry.get("tag", "")), STOP_GRACE_SECONDS[kind])
                    stopped.append(LABELS[kind])
                    if kind == "prefect":  # as LocalPrefectServer.stop: no stale port left
                        self.stack.prefect.info_path.unlink(missing_ok=True)
            self.services_path.unlink(missing_ok=True)
            if stopped:
                self._write(
                    self.stopped_path,
                    {
                        "by": self.pid,
                        "at": datetime.now(timezone.utc).isoformat(),
                        "services": stopped,
                    },
                )
            outcome = Release(stopped=stopped, others=[])
            progress(outcome.describe())
            return outcome

    def notice(self) -> str:
        """A sentence for the status line when the services this console uses are gone
        (stopped by another console, or exited); '' while they are up as far as known."""
        stopped = self._read(self.stopped_path)
        if isinstance(stopped, dict) and str(stopped.get("at", "")) > self.since:
            by = stopped.get("by")
            at = _local_time(str(stopped.get("at", "")))
            what = ", ".join(stopped.get("services") or []) or "the demo services"
            return (
                f"demo services stopped by the demo console pid {by} at {at} ({what}): "
                "quit and run aiwf-console --demo again"
            )
        for kind in STOP_ORDER:
            entry = self._services().get(kind)
            if isinstance(entry, dict) and not process_alive(
                int(entry.get("pid", 0)), str(entry.get("tag", ""))
            ):
                if kind == "redis" and self.stack.redis.is_up():
                    # Someone restarted it by hand: the console works, but it is not ours.
                    return (
                        f"demo Redis (pid {entry.get('pid')}) exited; the Redis answering at "
                        "its socket now was not started by this demo, so quitting leaves it"
                    )
                return (
                    f"demo {LABELS[kind]} (pid {entry.get('pid')}) has exited, log "
                    f"{self._log_of(kind)}: quit and run aiwf-console --demo again"
                )
        return ""

    def _log_of(self, kind: str) -> Path:
        if kind == "engine":
            return self.stack.state_dir / "engine.log"
        if kind == "prefect":
            return self.stack.prefect.log_path
        return self.stack.redis.log_path


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso or "?"

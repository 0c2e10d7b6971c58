"""One lock per state dir: whoever starts or stops its embedded services holds it.

Stdlib + filelock (the console imports this for `--demo`). Two `aiwf-console --demo` (or
`aiwf-engine run`) starting at once on one state dir would otherwise both find no Redis on
the socket and both start one, or both record services in `demo/services.json`. The lock
is an OS file lock (flock on POSIX): the kernel releases it when its holder dies, even by
SIGKILL, so a crashed start never blocks the next one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from engine.stack.services import Progress, quiet


def lock_path(state_dir: Path) -> Path:
    return state_dir / "lock"


@contextlib.contextmanager
def state_dir_lock(state_dir: Path, progress: Progress = quiet) -> Iterator[None]:
    """Holds the state dir's lock; says so once if another process holds it and waits."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = FileLock(lock_path(state_dir), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        progress(
            f"Waiting for another process starting or stopping the services of {state_dir} "
            f"(lock {lock_path(state_dir)})"
        )
        lock.acquire()
    try:
        yield
    finally:
        lock.release()

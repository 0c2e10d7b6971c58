"""SIGTERM and SIGHUP as a clean stop: they raise `StopSignal`, so `finally` blocks run.

Stdlib only (the console imports this for `--demo`). Python's default for both signals is
to die on the spot, skipping every `finally`: a console whose terminal closed (SIGHUP) or a
`aiwf-engine run` stopped by systemd (SIGTERM) left the Redis, Prefect server and engine it
had started running. With these handlers the same cleanup as a normal quit runs instead.
SIGKILL cannot be caught; what it leaves behind is described in docs/operations.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that mean "stop now, cleanly": a service manager's stop, a closed terminal."""

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class StopSignal(BaseException):
    """Raised by the handlers for a stop signal. A BaseException like KeyboardInterrupt, so
    `except Exception` in a start-up path does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention for "killed by signal N"."""
        return 128 + self.signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopSignal(signum)


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """A second stop signal while cleaning up: the cleanup finishes first (SIGKILL remains
    for the impatient)."""


@contextlib.contextmanager
def stop_signals_handled(
    handler: Callable[[int, FrameType | None], object] = _raise_stop,
) -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP call `handler` (default: raise `StopSignal`); the previous
    handlers come back on leaving. Main thread only (as `signal.signal`)."""
    previous: dict[signal.Signals, Handler] = {}
    for signum in STOP_SIGNALS:
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def cleanup_uninterrupted() -> contextlib.AbstractContextManager[None]:
    """Inside: SIGTERM and SIGHUP are ignored, so a cleanup under way is not cut short."""
    return stop_signals_handled(_ignore)


PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when its parent dies (Linux only)."""


def die_with_parent() -> Callable[[], None] | None:
    """A `Popen(preexec_fn=...)` after which the child gets SIGTERM when the process that
    started it dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG); None where prctl is missing.

    Only for services that must not outlive their starter (`aiwf-engine run`'s own Redis
    and Prefect server); the demo's services outlive a console on purpose while another
    demo console uses them (engine/stack/demo_lease.py). The kernel ties this to the thread
    that forked, so call `Popen` from the thread that lives as long as the process (main).
    libc is looked up here, before the fork: nothing but the prctl call runs in the child.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody would signal us
            os._exit(1)

    return in_child

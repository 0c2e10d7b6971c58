"""Keeps the garbage collector's full passes short while the console runs.

A full (generation 2) collection walks every tracked object. With the console's modules,
Textual's and redis-py's loaded, that walk took 150-220 ms in the log benchmark's process,
and it runs many times while a long log is indexed (each page makes short-lived
containers): a key pressed meanwhile waited for it. The objects alive when the app starts
(modules, classes, the app itself) live as long as the process, so they are frozen: moved
to a generation no collection walks (5-14 ms a pass then, docs/benchmarks.md).
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Freezes every object alive now; call it once, right before the app runs."""
    gc.freeze()

"""`aiwf-console` freezes the objects alive when its app starts (console/long_lived.py)."""

from __future__ import annotations

import gc

from console.long_lived import freeze_long_lived


class Alive:
    """An object the collector tracks (it has a __dict__)."""


def test_objects_alive_at_start_are_out_of_the_collectors_walk() -> None:
    gc.unfreeze()
    alive = Alive()  # made before the freeze
    try:
        freeze_long_lived()
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(alive) and not any(alive is o for o in gc.get_objects(2))
    finally:
        gc.unfreeze()

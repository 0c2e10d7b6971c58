"""The engine's writes to Redis: the mirror is the only writer of the state keys."""

"""The engine's writes to Redis: the mirror is the only writer of the state keys, and every
call from the engine's loop runs off it, in order (off_loop)."""

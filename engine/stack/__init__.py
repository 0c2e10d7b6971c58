"""The embedded default: a private Redis, a local Prefect server and the engine, started for
`--demo` and tests.
"""

"""The contract between engine and console: Redis key names, typed documents, commands and the
rules both sides apply. Light: stdlib, redis, PyYAML, msgspec and croniter only
(tests/test_boundaries.py), and nothing else of the engine (import-linter layers).
"""

"""A team's own flow, served by `flow.serve()` outside the engine (tests/integration/test_estate.py)."""

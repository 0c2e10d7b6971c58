"""A team's own flow, served by `flow.serve()` outside the engine (test_estate.py)."""

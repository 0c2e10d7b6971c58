"""The engine: serves the deployments in config/ with Prefect, mirrors Prefect into Redis and
executes operator commands. Its `contract` package is all the console may import of it."""

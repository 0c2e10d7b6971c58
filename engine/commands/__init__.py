"""Operator commands: checks and executes what arrives on the command stream against Prefect,
with audit, cancel watches and backfills.
"""

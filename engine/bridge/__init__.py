"""Prefect -> Redis: follows Prefect's events and logs and mirrors them as the contract's
documents.
"""

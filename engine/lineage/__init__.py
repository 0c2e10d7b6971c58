"""Run lineage: what data went in and out of each run, in Redis and as a parquet table."""

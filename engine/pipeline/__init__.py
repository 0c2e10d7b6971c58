"""The workloads: the flows deployment files may name, their tasks, storage, cache keys,
model and demo input."""

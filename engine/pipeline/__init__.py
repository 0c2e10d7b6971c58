"""The workloads: the flows deployment files may name, their tasks, model and demo input."""

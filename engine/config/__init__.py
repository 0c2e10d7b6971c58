"""Deployment files: loading and checking `config/deployments/*.yaml`."""

"""`aiwf-engine`: the command-line entry points."""

"""Browser access: `aiwf-console serve` runs the console for web browsers (textual-serve)."""

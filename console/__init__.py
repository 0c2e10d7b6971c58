"""The console: a Textual operations console that reads Redis only and sends commands
through it (`aiwf-console`)."""

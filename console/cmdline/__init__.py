"""The `:` command line: the command registry, its input line and its screen."""

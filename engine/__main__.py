"""`python -m engine`: the same as `aiwf-engine` (the embedded stack starts the engine so)."""

from engine.cli.main import main

if __name__ == "__main__":
    main()

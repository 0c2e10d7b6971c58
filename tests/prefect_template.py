"""Makes the empty Prefect database the suite's local servers start from.

`python -m tests.prefect_template PATH`: starts a local Prefect server in a temporary
state dir (it migrates a new SQLite database: about 14 s here), stops it, and copies the
database to PATH with SQLite's backup (one consistent file, its WAL folded in). With
`AIWF_PREFECT_DB_TEMPLATE=PATH`, every local server of the suite whose database does not
exist yet starts from a copy (about 4 s): scripts/test.sh makes it while ruff and mypy run.
A PATH that exists is kept (a rerun on the same machine, the same Prefect).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from engine.stack.services import PREFECT_DB_TEMPLATE_ENV, LocalPrefectServer


def make_template(path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aiwf-prefect-template-") as state:
        server = LocalPrefectServer(Path(state))
        server.start()
        server.stop()
        partial = path.with_suffix(".partial")
        source = sqlite3.connect(Path(state) / "prefect" / "prefect.db")
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        partial.replace(path)  # whole or not at all: a reader never copies half of it


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: python -m tests.prefect_template PATH (then {PREFECT_DB_TEMPLATE_ENV}=PATH)")
        return 2
    make_template(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

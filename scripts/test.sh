#!/usr/bin/env bash
# Installs the project with its test tools into .venv and runs the whole test suite:
# lint, types (console, engine, themes and tests: pyproject's [tool.mypy] packages), import
# contracts, then pytest (unit, pilot, snapshot, integration).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"
# A TLS-capable redis-server >= 7 for the ACL and TLS tests (apt-get, once, if missing).
bash scripts/secure-redis.sh

echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== import contracts"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/pytest --durations=25 "$@"

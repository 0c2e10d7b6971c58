#!/usr/bin/env bash
# Installs the project with the bench extra into .venv and runs the benchmark suite
# (benchmarks/, docs/benchmarks.md): real Redis, real Prefect server, real engine.
# Writes benchmarks/results/bench-<UTC time>.json and prints goal vs. measured.
# Extra arguments go to pytest, e.g. `bash scripts/bench.sh -k logs`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  # asyncio.Runner keeps the console app's loop open between timed rounds.
  echo "the benchmarks need Python >= 3.11 in .venv ($(.venv/bin/python --version)); recreate .venv with it" >&2
  exit 1
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test,bench]"

mkdir -p benchmarks/results
result="benchmarks/results/bench-$(date -u +%Y%m%dT%H%M%SZ).json"
# The default run deselects the bench marker (pyproject addopts); -m bench selects it here.
.venv/bin/pytest benchmarks -m bench -o python_files='bench_*.py' \
    --benchmark-only --benchmark-json "$result" --benchmark-sort name \
    --benchmark-columns min,median,max,rounds "$@"
echo
.venv/bin/python -m benchmarks.report "$result"

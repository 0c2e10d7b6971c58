#!/usr/bin/env bash
# Installs the project into .venv and opens the demo console: a private Redis, a local
# Prefect server and the engine start on this machine, and stop again when you quit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
.venv/bin/pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/aiwf-console --demo "$@"

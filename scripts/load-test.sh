#!/usr/bin/env bash
# The long load test (issue 9 item 8): the real ConsoleApp and 50 plain console readers on
# one Redis while 200 flow-run state changes a second flow for 5 minutes. The README's test
# command (scripts/test.sh) runs the same test for 30 s; .ci/run runs this one after it.
# Needs the .venv scripts/test.sh made. AIWF_LOAD_SECONDS changes the length.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${AIWF_LOAD_SECONDS:-300}"
echo "== pytest: the console load test for ${seconds} s, alone"
AIWF_LOAD_SECONDS="$seconds" .venv/bin/pytest -m alone -s -q -p no:cacheprovider \
  tests/console/test_load.py

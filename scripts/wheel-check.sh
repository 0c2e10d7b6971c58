#!/usr/bin/env bash
# pip install is the product (issue 10): builds the wheel from a clean copy of this tree,
# installs it into a fresh venv OUTSIDE the repository, and from a directory where the
# checkout cannot be imported checks that the wheel carries the bundled config and the
# console's files, that `aiwf-engine validate` and `init` work, and that a headless demo
# start triggers one run that Prefect reports Completed (scripts/wheel_demo_check.py).
# Any step failing fails the script. The dependencies come from the package index (pip's
# cache makes a second run fast). Usage: scripts/wheel-check.sh [PYTHON]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# Python >= 3.10 with pip: the argument, $PYTHON, the repo's .venv (scripts/test.sh made it;
# a venv made from it is based on the same interpreter but shares none of its packages),
# else python3.
python="${1:-${PYTHON:-}}"
if [ -z "$python" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi
work="$(mktemp -d /tmp/aiwf-wheel.XXXXXX)"  # short: the embedded Redis socket lives in it
keep="${AIWF_WHEEL_CHECK_KEEP:-}"
cleanup() { if [ -z "$keep" ]; then rm -rf "$work"; else echo "kept $work"; fi; }
trap cleanup EXIT
step() { echo "== wheel-check: $* ($(date -u +%T))"; }

# Nothing of the checkout or the caller's installation may leak into the checks.
unset PYTHONPATH AIWF_CONFIG_DIR AIWF_REDIS_URL AIWF_REDIS_PREFIX PREFECT_API_URL PREFECT_PROFILE
export AIWF_STATE_DIR="$work/state" XDG_CONFIG_HOME="$work/xdg-config" PREFECT_HOME="$work/prefect-home"

step "copying the tree (no build/, .venv/ or caches: stale build output must not ship)"
"$python" - "$repo" "$work/src" <<'PY'
import shutil, sys
skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                              ".*_cache", ".benchmarks", "tests", "benchmarks", "docs")
shutil.copytree(sys.argv[1], sys.argv[2], ignore=skip)
PY

step "building the wheel"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
wheel="$(ls "$work"/dist/aiwf_console-*.whl)"

step "checking the wheel holds every file of config/ and the console's styles"
"$python" "$repo/scripts/wheel_contents.py" "$wheel" "$repo"

step "installing it into a fresh venv"
"$python" -m venv "$work/venv"
began=$SECONDS
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel"
echo "install took $((SECONDS - began)) s"

mkdir -p "$work/run" && cd "$work/run"  # outside the repository: only the venv is importable
bin="$work/venv/bin"

step "aiwf-engine validate (bundled config)"
"$bin/aiwf-engine" validate | tee "$work/validate.out"
grep -q "valid in $work/venv/.*/engine/bundled_config$" "$work/validate.out" ||
  { echo "wheel-check: FAIL: validate did not read the installed bundled config" >&2; exit 1; }

step "aiwf-engine init, then validate reads the user config dir"
"$bin/aiwf-engine" init
"$bin/aiwf-engine" validate | tee "$work/validate-user.out"
grep -q "valid in $XDG_CONFIG_HOME/aiwf-console$" "$work/validate-user.out" ||
  { echo "wheel-check: FAIL: validate did not read the config init wrote" >&2; exit 1; }

step "headless demo start: one run to Completed"
cp "$repo/scripts/wheel_demo_check.py" "$work/run/"
"$bin/python" wheel_demo_check.py
step "passed"

#!/usr/bin/env bash
# Compares the benchmark suite on an older commit with this tree, in one run: the two
# trees take turns (ROUNDS times each, default 3) so a busy machine weighs on both alike.
#   bash scripts/bench-compare.sh REV [pytest arguments, e.g. -k startup]
# REV is checked out into a temporary git worktree; both trees run with this .venv (each
# tree's own code first on PYTHONPATH). Prints each benchmark's median for both and the
# ratio this/REV; the JSON files stay in benchmarks/results/compare-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: bash scripts/bench-compare.sh REV [pytest arguments]}"
shift
rounds="${ROUNDS:-3}"
source scripts/venv.sh
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test,bench]"

here="$PWD"
out="$here/benchmarks/results/compare-$(date -u +%Y%m%dT%H%M%SZ)"
old="$(mktemp -d)/old"
mkdir -p "$out"
git worktree add --quiet --detach "$old" "$rev"
trap 'git worktree remove --force "$old"' EXIT

run() {  # tree label round
  (cd "$1" && PYTHONPATH="$1" "$here/.venv/bin/pytest" benchmarks -m bench -q \
      -o python_files='bench_*.py' -p no:cacheprovider --benchmark-only \
      --benchmark-json "$out/$2-$3.json" "${@:4}" >"$out/$2-$3.log" 2>&1) \
    || { echo "benchmarks failed in $1 (see $out/$2-$3.log)" >&2; exit 1; }
}
for round in $(seq "$rounds"); do
  echo "round $round/$rounds: $rev, then this tree" >&2
  run "$old" old "$round" "$@"
  run "$here" new "$round" "$@"
done
.venv/bin/python - "$out" "$rev" <<'PY'
import json, statistics, sys
from pathlib import Path

out, rev = Path(sys.argv[1]), sys.argv[2]
medians: dict[str, dict[str, list[float]]] = {}
for path in sorted(out.glob("*.json")):
    label = path.name.split("-")[0]
    for bench in json.loads(path.read_text())["benchmarks"]:
        medians.setdefault(bench["name"], {}).setdefault(label, []).append(bench["stats"]["median"])
print(f"{'benchmark':<48} {rev[:12]:>12} {'this tree':>12} {'ratio':>7}")
for name, by in sorted(medians.items()):
    old = statistics.median(by.get("old", [float("nan")]))
    new = statistics.median(by.get("new", [float("nan")]))
    print(f"{name:<48} {old * 1000:>10.1f}ms {new * 1000:>10.1f}ms {new / old:>7.2f}")
PY

"""The benchmark suite (pytest-benchmark): what operators feel, measured on real services.

Not part of the test run: run `bash scripts/bench.sh` (docs/benchmarks.md).
"""

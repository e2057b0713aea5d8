#!/usr/bin/env bash
# npm run bench [-- --quick]: the study (benchmark/study.ts: Test 1 and 2, drain rate,
# event loop), then TX (benchmark/tx.ts), then build and send (benchmark/build.ts). Each writes its part of benchmark/results/ and
# rebuilds benchmark/RESULTS.md. The orchestrator runs on CPU 1; generators pin to CPU 0.
# Other arguments (--rounds N, --seconds S, --test 1,2,drain,loop) go to the study only.
set -euo pipefail
cd "$(dirname "$0")"
quick=()
for arg in "$@"; do
  [ "$arg" = --quick ] && quick=(--quick)
done
taskset -c 1 node --import tsx study.ts "$@"
taskset -c 1 node --import tsx tx.ts "${quick[@]}"
taskset -c 1 node --import tsx build.ts "${quick[@]}"

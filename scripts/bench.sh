#!/usr/bin/env bash
# Builds bench_futura and runs it, every contender beside its peers in one run; prints the
# issue's ratios and Python's gather figures beside futura's. With --plot, also writes the
# SVG plots of docs/ (with Debian's python3-matplotlib, installed if needed: /usr/bin/python3).
# Usage: scripts/bench.sh [--plot] [benchmark flags...]   (REPS=N: repetitions, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
plot=0
if [ "${1:-}" = --plot ]; then plot=1; shift; fi
extra=()
[ $plot = 0 ] || extra=(python3-matplotlib)
scripts/deps.sh "${extra[@]}"
cmake -S . -B build/normal -DFUTURA_BUILD_BENCH=ON -DFUTURA_BUILD_TESTS=ON \
  -DFUTURA_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/normal --target bench_futura -j "$(nproc)"
out=build/bench-results
mkdir -p "$out"
build/normal/bench/bench_futura --benchmark_format=json \
  --benchmark_repetitions="${REPS:-5}" --benchmark_report_aggregates_only=true "$@" \
  >"$out/futura.json"
python3 bench/ratios.py --json "$out/futura.json"
python3 bench/python_gather.py --futura-json "$out/futura.json" --python-out "$out/python.json"
if [ $plot = 1 ]; then
  /usr/bin/python3 bench/plot.py --futura-json "$out/futura.json" --python-json "$out/python.json" \
    --out docs --caption "futura $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%F)"
fi

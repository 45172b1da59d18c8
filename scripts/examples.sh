#!/usr/bin/env bash
# Builds every example and runs each one in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Its own build directory: the options it sets never reach the test builds' caches.
cmake -S . -B build/examples -DFUTURA_BUILD_EXAMPLES=ON -DFUTURA_BUILD_TESTS=OFF \
  -DFUTURA_BUILD_BENCH=OFF -DFUTURA_SANITIZE= >/dev/null
cmake --build build/examples -j "$(nproc)"
for exe in $(cat build/examples/example/examples.txt); do
  echo "=== $(basename "$exe") ==="
  "$exe"
done

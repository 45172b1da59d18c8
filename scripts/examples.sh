#!/usr/bin/env bash
# Builds every example and runs each one in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/normal -DFUTURA_BUILD_TESTS=OFF >/dev/null
cmake --build build/normal -j "$(nproc)"
for exe in $(cat build/normal/example/examples.txt); do
  echo "=== $(basename "$exe") ==="
  "$exe"
done

#!/usr/bin/env bash
# The whole suite, three ways: a normal build, ThreadSanitizer, AddressSanitizer+UBSan.
# Each build also compiles the examples and runs them against the Python seed programs.
# Usage: scripts/test.sh [normal|tsan|asan ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(normal tsan asan)
for cfg in "${configs[@]}"; do
  case "$cfg" in
    normal) sanitize="" ; bench=ON ;;
    tsan)   sanitize="thread" ; bench=OFF ;;
    asan)   sanitize="address,undefined" ; bench=OFF ;;
    *) echo "unknown configuration: $cfg" >&2; exit 2 ;;
  esac
  echo "=== $cfg build ==="
  cmake -S . -B "build/$cfg" -DFUTURA_SANITIZE="$sanitize" -DFUTURA_BUILD_BENCH="$bench" >/dev/null
  cmake --build "build/$cfg" -j "$jobs"
  echo "=== $cfg tests ==="
  # halt_on_error: a report fails the test; second_deadlock_stack: readable lock reports;
  # tsan.supp: libstdc++'s exception_ptr false positive, and nothing else.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir "build/$cfg" --output-on-failure -j "$jobs"
done

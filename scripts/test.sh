#!/usr/bin/env bash
# The whole suite, four ways: a normal build, ThreadSanitizer, AddressSanitizer+UBSan (all
# with g++), and a normal build with clang 16, so that code only one compiler accepts, or
# only one miscompiles, shows up. Each build also compiles the examples and runs them
# against the Python seed programs.
# Usage: scripts/test.sh [normal|tsan|asan|clang ...]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(normal tsan asan clang)
extra=()
for cfg in "${configs[@]}"; do [ "$cfg" != clang ] || extra=(clang-16); done
scripts/deps.sh "${extra[@]}"
jobs=$(nproc)
for cfg in "${configs[@]}"; do
  # clang 16: Debian's clang 14 cannot compile libstdc++ 12's <ranges>. The compiler is
  # named only for a new build directory: changing it later makes CMake delete the cache
  # and silently drop the other -D options (a sanitizer build would lose its sanitizer).
  compiler=()
  # futura::mpi is built and tested (under mpirun) where nothing is sanitized: deps.sh
  # installs MPI, so there it is required (FUTURA_BUILD_MPI=ON fails the configure without
  # it). Under the sanitizers it is not built: Open MPI's own allocations and threads would
  # be reported, and its tests are not registered there.
  case "$cfg" in
    normal) sanitize="" ; bench=ON ; mpi=ON ;;
    tsan)   sanitize="thread" ; bench=OFF ; mpi=OFF ;;
    asan)   sanitize="address,undefined" ; bench=OFF ; mpi=OFF ;;
    clang)  sanitize="" ; bench=OFF ; mpi=ON ; compiler=(-DCMAKE_CXX_COMPILER=clang++-16) ;;
    *) echo "unknown configuration: $cfg" >&2; exit 2 ;;
  esac
  [ ! -f "build/$cfg/CMakeCache.txt" ] || compiler=()
  echo "=== $cfg build ==="
  # Every option set here, so that nothing cached from an earlier configure changes the suite.
  cmake -S . -B "build/$cfg" "${compiler[@]}" -DFUTURA_SANITIZE="$sanitize" \
    -DFUTURA_BUILD_BENCH="$bench" -DFUTURA_BUILD_TESTS=ON -DFUTURA_BUILD_EXAMPLES=ON \
    -DFUTURA_BUILD_MPI="$mpi" >/dev/null
  if ! grep -qx "FUTURA_SANITIZE:STRING=$sanitize" "build/$cfg/CMakeCache.txt"; then
    echo "$cfg: build/$cfg is not configured with FUTURA_SANITIZE=$sanitize" >&2
    exit 1
  fi
  cmake --build "build/$cfg" -j "$jobs"
  echo "=== $cfg tests ==="
  # halt_on_error: a report fails the test; second_deadlock_stack: readable lock reports;
  # tsan.supp: libstdc++'s exception_ptr false positive, and nothing else.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir "build/$cfg" --output-on-failure -j "$jobs"
  # A green run that skipped test programs is not a pass: each test/*.cpp must have run.
  listed=$(ctest --test-dir "build/$cfg" -N)
  missing=""
  for src in test/*.cpp; do
    name=$(basename "$src" .cpp)
    grep -qE "Test +#[0-9]+: $name\$" <<<"$listed" || missing="$missing $name"
  done
  # With MPI, each test/mpi/*.cpp (as mpi_<name>...) and each MPI example too.
  if [ "$mpi" = ON ]; then
    for src in test/mpi/*.cpp example/mpi_*.cpp; do
      name=$(basename "$src" .cpp)
      case "$src" in test/*) name="mpi_$name" ;; *) name="example_$name" ;; esac
      grep -qE "Test +#[0-9]+: $name(_[a-z_]+)?\$" <<<"$listed" || missing="$missing $name"
    done
  fi
  if [ -n "$missing" ]; then
    echo "$cfg: test programs that did not run:$missing" >&2
    exit 1
  fi
done

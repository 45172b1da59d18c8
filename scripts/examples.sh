#!/usr/bin/env bash
# Builds every example and runs each one in turn (the MPI ones under mpirun -np 4).
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
# The MPI examples, each on 4 local processes (one root, three workers). Open MPI wants
# --oversubscribe beyond one process per core, and consent to run as root.
if [ -f build/examples/example/mpi_examples.txt ]; then
  mpi_env=()
  [ "$(id -u)" -ne 0 ] || mpi_env=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
  for exe in $(cat build/examples/example/mpi_examples.txt); do
    echo "=== mpirun -np 4 $(basename "$exe") ==="
    env "${mpi_env[@]}" mpirun --oversubscribe -np 4 "$exe"
  done
fi

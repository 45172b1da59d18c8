#!/usr/bin/env bash
# Installs what futura needs to build and test, if any of it is missing (Debian 12).
# Usage: scripts/deps.sh [extra packages...]   (test.sh asks for clang-16 this way)
set -euo pipefail
# libboost-mpi1.81-dev and openmpi-bin: futura::mpi (Boost.MPI over Open MPI); python3-mpi4py
# only for bench/mpi4py_bench.py, its Python counterpart.
packages=(g++ cmake make python3 libboost1.81-dev libboost-thread1.81-dev
          libboost-test1.81-dev libboost1.81-tools-dev libbenchmark-dev netcat-openbsd
          libboost-mpi1.81-dev openmpi-bin python3-mpi4py "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

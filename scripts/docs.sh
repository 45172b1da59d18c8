#!/usr/bin/env bash
# Builds the API reference with Doxygen (docs/Doxyfile) into build/docs/html. Any warning
# (an undocumented public name, a broken reference, markdown Doxygen cannot read) fails
# it: CI runs this. Installs doxygen if missing (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh doxygen
rm -rf build/docs
mkdir -p build/docs
log=build/docs/warnings.log
rc=0
doxygen docs/Doxyfile 2>"$log" || rc=$?
# WARN_AS_ERROR = FAIL_ON_WARNINGS makes doxygen exit non-zero on a warning; anything
# else it prints on stderr counts as a failure too.
if [ "$rc" -ne 0 ] || [ -s "$log" ]; then
  cat "$log" >&2
  echo "docs: doxygen failed (exit $rc, $(wc -l <"$log") lines of warnings, in $log)" >&2
  exit 1
fi
echo "docs: $PWD/build/docs/html/index.html"

#!/bin/bash
# scripts/test.sh - the project's test command: installs the dependencies (scripts/deps.sh),
# builds with warnings as errors, runs every test (unit and e2e) with ctest, and exits with
# ctest's status. Run as root on Debian 12 from anywhere in the repository.
set -euo pipefail
trap 'echo "test.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DMODFORGE_WERROR=ON
cmake --build build -j"$(nproc)"
rc=0
ctest --test-dir build --output-on-failure || rc=$?
exit "$rc"

#!/bin/bash
# scripts/test.sh - the project's test command: installs the dependencies (scripts/deps.sh),
# checks the C follows .clang-format, builds with warnings as errors, runs every test
# (unit and e2e) with ctest, then the unit and quick e2e tests again in a build with ASan
# and UBSan; exits non-zero if anything failed or a sanitizer reported. Run as root on
# Debian 12 from anywhere in the repository.
set -euo pipefail
trap 'echo "test.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
cd "$(dirname "$0")/.."

bash scripts/deps.sh
# The tree follows .clang-format (the kernel modules in examples/ follow the kernel's).
find common sandbox executor orchestrator tests/unit -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror
cmake -S . -B build -DMODFORGE_WERROR=ON
cmake --build build -j"$(nproc)"
rc=0
ctest --test-dir build --output-on-failure || rc=$?

# The unit tests and the quick e2e tests again, built with ASan and UBSan. A report fails
# the run even where the test passed (a leak in a command expected to fail, UBSan's
# non-fatal reports): every report is written to build-asan/sanitizer/ and counted.
cmake -S . -B build-asan -DMODFORGE_WERROR=ON -DMODFORGE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
reports=$PWD/build-asan/sanitizer
rm -rf "$reports"
mkdir -p "$reports"
chmod 1777 "$reports" # tests also run modforge as other users
ASAN_OPTIONS=log_path=$reports/asan:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$reports/ubsan:print_stacktrace=1 \
	ctest --test-dir build-asan -L 'unit|quick' --output-on-failure || rc=$?
if [ -n "$(ls -A "$reports")" ]; then
	for f in "$reports"/*; do
		echo "--- $f"
		head -n 60 "$f"
	done
	echo "test.sh: the sanitizers reported $(ls "$reports" | wc -l) problem(s) (above)" >&2
	rc=1
fi
exit "$rc"

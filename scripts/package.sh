#!/bin/bash
# scripts/package.sh [OUTDIR] - builds the Debian package modforge_<version>_<arch>.deb
# (cmake/package.cmake: cpack -G DEB) from this checkout, in a fresh Release build under
# a temporary directory, and puts it in OUTDIR (default: dist/). Prints its path.
# Needs the build dependencies (scripts/deps.sh); installs nothing.
#
#   bash scripts/package.sh && sudo apt-get install ./dist/modforge_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
B=$(mktemp -d "${TMPDIR:-/tmp}/modforge-package.XXXXXX")
trap 'rm -rf "$B"' EXIT
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	-DMODFORGE_INSTALL_PACMAN_HOOKS=OFF >"$B/configure.log" 2>&1 || { cat "$B/configure.log" >&2; exit 1; }
cmake --build "$B" -j"$(nproc)" --target modforge >"$B/build.log" 2>&1 || { tail -n 40 "$B/build.log" >&2; exit 1; }
(cd "$B" && cpack -G DEB) >"$B/cpack.log" 2>&1 || { cat "$B/cpack.log" >&2; exit 1; }
deb=$(find "$B" -maxdepth 1 -name 'modforge_*.deb' | head -n1)
[ -n "$deb" ] || { echo "package.sh: cpack made no .deb" >&2; cat "$B/cpack.log" >&2; exit 1; }
cp "$deb" "$OUT/"
echo "$OUT/$(basename "$deb")"

#!/bin/bash
# bench/sandbox-build.sh - a real build's wall time with and without the sandbox, side by
# side: v4l2loopback (Debian's v4l2loopback-dkms, fetched at run time) for one kernel,
# N rounds alternating confined / --no-sandbox, cache off. Prints the medians and ratio.
# Usage: bench/sandbox-build.sh [MODFORGE] [ROUNDS]
set -euo pipefail
MF=${1:-$(dirname "$0")/../build/modforge}
N=${2:-3}
K=$(ls -d /usr/src/linux-headers-6.1.0-*-amd64 | grep -vE -- "-(cloud|rt)-amd64$" | sort -V | tail -1)
K=${K#/usr/src/linux-headers-}
ROOT=$(mktemp -d /var/tmp/modforge-sbbench.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
chmod 755 "$ROOT"
mkdir -p "$ROOT"/{dkms,src,etc,deb,lib/modules/$K}
ln -s "/usr/src/linux-headers-$K" "$ROOT/lib/modules/$K/build"
(cd "$ROOT/deb" && apt-get download -q v4l2loopback-dkms >/dev/null 2>&1 && dpkg -x ./*.deb x)
R=(--dkmstree "$ROOT/dkms" --sourcetree "$ROOT/src" --installtree "$ROOT/lib/modules")
export MODFORGE_ETC_DKMS=$ROOT/etc
"$MF" add "$(ls -d "$ROOT"/deb/x/usr/src/*)" "${R[@]}" >/dev/null
one() { # one [--no-sandbox]: seconds of one build
	local t0 t1
	"$MF" unbuild v4l2loopback/0.12.7 -k "$K" "${R[@]}" >/dev/null 2>&1 || true
	t0=$(date +%s.%N)
	"$MF" build "$(basename "$(ls -d "$ROOT"/src/*)" | sed 's/-\([^-]*\)$/\/\1/')" -k "$K" --no-cache "${R[@]}" "$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
conf=() open=()
for i in $(seq 1 "$N"); do
	conf+=("$(one)")
	open+=("$(one --no-sandbox)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mc=$(median "${conf[@]}") mo=$(median "${open[@]}")
echo "kernel $K, $N rounds each: confined ${conf[*]} s; unconfined ${open[*]} s"
echo "median confined $mc s, unconfined $mo s, ratio $(echo "scale=3; $mc / $mo" | bc)"

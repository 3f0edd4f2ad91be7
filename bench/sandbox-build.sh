#!/bin/bash
# bench/sandbox-build.sh - a real build's wall time with and without the sandbox, side by
# side: v4l2loopback (Debian's v4l2loopback-dkms, fetched at run time) for one kernel,
# N rounds in ABBA order (confined, unconfined, unconfined, confined, ...) so drift hits
# both alike, cache off. Prints the medians and ratios of wall time and of CPU time (the
# task-clock of the whole process tree, from perf stat, less sensitive to other load).
# Usage: bench/sandbox-build.sh [MODFORGE] [ROUNDS]
set -euo pipefail
MF=${1:-$(dirname "$0")/../build/modforge}
N=${2:-3}
command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null
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
one() { # one [--no-sandbox]: "wall_s cpu_s" of one build
	local t0 t1 cpu
	"$MF" unbuild v4l2loopback/0.12.7 -k "$K" "${R[@]}" >/dev/null 2>&1 || true
	t0=$(date +%s.%N)
	cpu=$(perf stat -x, -e task-clock -- "$MF" build v4l2loopback/0.12.7 -k "$K" --no-cache \
		"${R[@]}" "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1 / 1000}')
	t1=$(date +%s.%N)
	echo "$(echo "$t1 - $t0" | bc) $cpu"
}
cw=() cc=() ow=() oc=()
conf() { local r; r=$(one); cw+=("${r% *}"); cc+=("${r#* }"); }
open() { local r; r=$(one --no-sandbox); ow+=("${r% *}"); oc+=("${r#* }"); }
for i in $(seq 1 "$N"); do
	if ((i % 2)); then conf; open; else open; conf; fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { echo "scale=3; $1 / $2" | bc; }
echo "kernel $K, $N rounds each (ABBA order)"
echo "wall s: confined ${cw[*]}; unconfined ${ow[*]}"
echo "cpu s:  confined ${cc[*]}; unconfined ${oc[*]}"
mcw=$(median "${cw[@]}") mow=$(median "${ow[@]}") mcc=$(median "${cc[@]}") moc=$(median "${oc[@]}")
echo "median wall: confined $mcw s, unconfined $mow s, ratio $(ratio "$mcw" "$mow")"
echo "median cpu:  confined $mcc s, unconfined $moc s, ratio $(ratio "$mcc" "$moc")"

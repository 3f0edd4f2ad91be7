#!/bin/bash
# bench/projection.sh - projects a real run onto 16 cores: autoinstall of the bench's nine
# Debian packages for three kernels in one plan, its plan (--dry-run --json) and its
# per-job times (--events), replayed by bench/project.py on 2 and 16 slots beside dkms's
# one-build-at-a-time sum. Usage: bench/projection.sh [MODFORGE]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MF=${1:-$HERE/../build/modforge}
PKGS=(v4l2loopback-dkms ddcci-dkms bbswitch-dkms evdi-dkms jool-dkms acpi-call-dkms
	iptables-netflow-dkms xtables-addons-dkms dahdi-dkms)
ABI=$(ls -d /usr/src/linux-headers-6.1.0-*-rt-amd64 | sed -E 's|.*/linux-headers-(6\.1\.0-[0-9]+)-rt-amd64|\1|' | sort -V | tail -1)
KERNELS=("$ABI-amd64" "$ABI-cloud-amd64" "$ABI-rt-amd64")
ROOT=$(mktemp -d /var/tmp/modforge-projection.XXXXXX)
OUT=$HERE/results/projection
trap 'mkdir -p "$OUT"; cp "$ROOT/plan.json" "$ROOT/events.jsonl" "$OUT/" 2>/dev/null; rm -rf "$ROOT"' EXIT
chmod 755 "$ROOT"
mkdir -p "$ROOT"/{dkms,src,etc,deb}
for k in "${KERNELS[@]}"; do
	[ -d "/usr/src/linux-headers-$k" ] || { echo "headers of $k missing (bench/run.sh installs them)" >&2; exit 1; }
	mkdir -p "$ROOT/lib/modules/$k"
	ln -s "/usr/src/linux-headers-$k" "$ROOT/lib/modules/$k/build"
	: >"$ROOT/lib/modules/$k/modules.dep"
done
R=(--dkmstree "$ROOT/dkms" --sourcetree "$ROOT/src" --installtree "$ROOT/lib/modules")
export MODFORGE_ETC_DKMS=$ROOT/etc
CACHE=/var/cache/modforge-tests
mkdir -p "$CACHE"
for p in "${PKGS[@]}"; do
	f=$(ls "$CACHE/${p}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$f" ] || { (cd "$CACHE" && apt-get download -q "$p" >/dev/null 2>&1); f=$(ls "$CACHE/${p}_"*.deb | head -n1); }
	dpkg -x "$f" "$ROOT/deb/$p"
	"$MF" add "$(dirname "$(ls "$ROOT/deb/$p"/usr/src/*/dkms.conf)")" -k "${KERNELS[0]}" "${R[@]}" >/dev/null
done
KARGS=()
for k in "${KERNELS[@]}"; do KARGS+=(-k "$k"); done
"$MF" autoinstall "${KARGS[@]}" "${R[@]}" --dry-run --json >"$ROOT/plan.json"
start=$(date +%s)
"$MF" autoinstall "${KARGS[@]}" "${R[@]}" --no-cache --events "$ROOT/events.jsonl" >"$ROOT/run.log" 2>&1 || true
echo "measured run: $(( $(date +%s) - start )) s wall on $(nproc) cores; kernels ${KERNELS[*]}"
python3 "$HERE/project.py" "$ROOT/plan.json" "$ROOT/events.jsonl" 2 16

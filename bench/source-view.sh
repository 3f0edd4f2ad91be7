#!/bin/bash
# bench/source-view.sh - what a private, writable view of a package's source costs per
# build job: a copy (what modforge does, twice per confined job: the build area and the
# source view) against an overlayfs mount made inside the build's user namespace.
# For each Debian *-dkms package of the e2e suite (fetched with apt-get download): its
# size, the median of 20 `cp -a` of its /usr/src/<m>-<v> (page cache warm), the median of
# 20 overlay mounts by an unprivileged user namespace, and whether that overlay lets the
# build user change a file of the source (they belong to real root, which is not mapped
# in the namespace, so only the overlay's top directory, taken from the upper dir, is
# the build user's). Both timings include starting one process (date/cp), about 2-3 ms.
# Usage (as root): bench/source-view.sh
set -euo pipefail
PKGS="v4l2loopback-dkms bbswitch-dkms jool-dkms acpi-call-dkms iptables-netflow-dkms ddcci-dkms evdi-dkms dahdi-dkms xtables-addons-dkms west-chamber-dkms"
W=$(mktemp -d /var/tmp/modforge-srcview.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.2f'; }
printf '%-22s %8s %8s %10s %10s %s\n' package files KiB "cp -a ms" "ovl ms" "overlay: build user may change a file"
for p in $PKGS; do
	mkdir -p "$W/deb/$p"
	(cd "$W/deb/$p" && apt-get download -q "$p" >/dev/null 2>&1 && dpkg -x ./*.deb x) || { echo "$p: cannot fetch"; continue; }
	src=$(ls -d "$W/deb/$p"/x/usr/src/*/ | head -n1)
	src=${src%/}
	files=$(find "$src" -type f | wc -l)
	kib=$(du -sk "$src" | cut -f1)
	cp -a "$src" "$W/warm" && rm -rf "$W/warm"
	cpms=$(for i in $(seq 20); do t0=$(date +%s.%N); cp -a "$src" "$W/copy"; t1=$(date +%s.%N); rm -rf "$W/copy"; ms "$t0" "$t1"; echo; done | median)
	mkdir -p "$W/ov/u" "$W/ov/w" && chown -R 65534:65534 "$W/ov"
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups unshare -U -r -m sh -c '
		for i in $(seq 20); do
			t0=$(date +%s%N); mount -t overlay overlay -o lowerdir="$1",upperdir="$2/u",workdir="$2/w" "$1" || exit 1
			t1=$(date +%s%N); echo "t $(( (t1 - t0) / 1000 ))"; umount "$1"
		done
		mount -t overlay overlay -o lowerdir="$1",upperdir="$2/u",workdir="$2/w" "$1"
		f=$(find "$1" -mindepth 1 -type f | head -n1)
		if (echo >>"$f") 2>/dev/null; then echo "write yes"; else echo "write no: ${f#$1/}: EACCES"; fi' sh "$src" "$W/ov" 2>&1) || out="t 0
write mount failed: $out"
	ovms=$(echo "$out" | awk '/^t / {print $2 / 1000}' | median)
	printf '%-22s %8s %8s %10s %10s %s\n' "$p" "$files" "$kib" "$cpms" "$ovms" "$(echo "$out" | sed -n 's/^write //p')"
	rm -rf "$W/ov"
done

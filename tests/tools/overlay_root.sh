#!/bin/bash
# tests/tools/overlay_root.sh BIND... -- COMMAND... - runs COMMAND, as root, on a throwaway
# copy of this machine's root: an overlay whose lower layer is / and whose upper layer is a
# tmpfs, entered with pivot_root in new mount and pid namespaces (a chroot would not do:
# the sandbox needs user namespaces, which the kernel refuses in a chroot). Nothing it does
# reaches the real system: packages it installs, files it writes or deletes under /etc,
# /usr, /var/lib/dkms or /lib/modules all go to the tmpfs and vanish with it.
# Each BIND is HOSTDIR:ROOTDIR, bind-mounted into the copy (results out, inputs in). /proc,
# /sys, /dev are the machine's; /run and /tmp are empty tmpfs. The environment is clean.
set -euo pipefail
binds=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	binds+=("$1")
	shift
done
[ "${1:-}" = -- ] || { echo "usage: overlay_root.sh HOSTDIR:ROOTDIR... -- COMMAND..." >&2; exit 2; }
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/modforge-overlay.XXXXXX")
trap 'rmdir "$work" 2>/dev/null || true' EXIT
unshare --mount --pid --fork --propagation private /bin/bash -euc '
	w=$1
	nb=$2
	shift 2
	binds=("${@:1:$nb}")
	shift "$nb"
	mount -t tmpfs -o mode=0755 tmpfs "$w"
	mkdir -p "$w/upper" "$w/work" "$w/root"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$w/upper,workdir=$w/work" "$w/root"
	r=$w/root
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$r/run"
	mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
	for b in "${binds[@]}"; do
		mkdir -p "$r/${b#*:}"
		mount --bind "${b%%:*}" "$r/${b#*:}"
	done
	cd "$r"
	mkdir -p .oldroot
	pivot_root . .oldroot
	umount -l /.oldroot
	rmdir /.oldroot
	cd /
	exec env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
' overlay_root "$work" "${#binds[@]}" "${binds[@]}" "$@"

#!/bin/bash
# scripts/pristine.sh - runs a command of the repository (default: the README's test command,
# `bash scripts/test.sh`) on a pristine Debian 12 root, as root, so that nothing installed
# by hand on this machine can hide a missing install step.
#
#   bash scripts/pristine.sh [COMMAND...]
#
# The root: `debootstrap --variant=minbase bookworm` with Debian 12's standard sources
# (bookworm, bookworm-updates, bookworm-security), a `git clone` of the commit checked
# out here (HEAD: uncommitted changes are not in it), and ../shared beside it if there is
# one. It is entered with `unshare --mount --pid --fork` and `pivot_root` (not chroot:
# inside a chroot the kernel refuses new user namespaces, which the sandbox needs), with a
# fresh /proc and /sys, the host's /dev, and a clean environment (CI passed through).
# The root is deleted afterwards; MODFORGE_PRISTINE_KEEP=1 keeps it for a look.
#
# A freshly bootstrapped root is kept as a tarball in $MODFORGE_PRISTINE_CACHE (default
# /var/cache/modforge-pristine; empty: none) for a day, to save the debootstrap (about
# 45 s); everything after it, the installs of scripts/deps.sh included, runs anew each
# time. Exits with the command's status.
set -euo pipefail
trap 'echo "pristine.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
cd "$(dirname "$0")/.."
REPO=$PWD
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
CACHE=${MODFORGE_PRISTINE_CACHE-/var/cache/modforge-pristine}
say() { echo "pristine.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	say "must run as root (debootstrap, mounts, pivot_root)"
	exit 1
fi
if [ $# -eq 0 ]; then set -- bash scripts/test.sh; fi
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	say "note: uncommitted changes here are not in the clone; it runs $(git rev-parse --short HEAD)"
fi

if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap on this machine"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi

WORK=$(mktemp -d /var/tmp/modforge-pristine.XXXXXX)
ROOT=$WORK/root
cleanup() {
	if [ "${MODFORGE_PRISTINE_KEEP:-}" = 1 ]; then
		say "kept $ROOT"
	else
		rm -rf --one-file-system "$WORK"
	fi
}
trap cleanup EXIT

t0=$(date +%s)
tarball=${CACHE:+$CACHE/bookworm-minbase.tar}
if [ -n "$tarball" ] && [ -n "$(find "$tarball" -mmin -1440 2>/dev/null)" ]; then
	say "unpacking the bootstrapped root kept in $tarball"
	mkdir "$ROOT"
	tar -C "$ROOT" -xpf "$tarball"
else
	say "debootstrap --variant=minbase bookworm ($MIRROR)"
	debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
		tail -n 30 "$WORK/debootstrap.log" >&2
		say "debootstrap failed"
		exit 1
	}
	if [ -n "$tarball" ]; then
		mkdir -p "$CACHE"
		tar -C "$ROOT" -cpf "$tarball.new" . && mv "$tarball.new" "$tarball"
	fi
fi
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$ROOT/work"
git clone -q "$REPO" "$ROOT/work/main"
git -C "$ROOT/work/main" checkout -q "$(git rev-parse HEAD)"
if [ -d "$REPO/../shared" ]; then
	cp -a "$REPO/../shared" "$ROOT/work/shared"
fi
say "root ready in $(($(date +%s) - t0)) s: $ROOT ($(git rev-parse --short HEAD)); running: $*"

# In a new mount and pid namespace: mount what a booted system has, pivot_root into the
# root, detach the old one, and run the command there with a clean environment.
set +e
unshare --mount --pid --fork --propagation private /bin/bash -euc '
	r=$1
	shift
	mount --bind "$r" "$r"
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$r/run"
	cd "$r"
	mkdir -p .oldroot
	pivot_root . .oldroot
	umount -l /.oldroot
	rmdir /.oldroot
	cd /work/main
	exec env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
' pristine "$ROOT" "$@"
rc=$?
set -e
say "exit $rc after $(($(date +%s) - t0)) s"
exit "$rc"

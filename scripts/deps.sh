#!/bin/bash
# scripts/deps.sh - installs everything modforge's build and tests need on Debian 12, as
# root: the build dependencies, the tools the e2e tests and the Debian *-dkms packages
# they build use, two kernel header trees (the -amd64 and -cloud-amd64 flavours of the
# newest 6.1.0-N the archive offers both of), the newest 6.12 -amd64 headers (with its
# image: xz-compressed modules), and Debian's own dkms (reference for the
# differential tests). Idempotent; only Debian's archive is used.
#
# No side effect on the real dkms state: Debian's dkms is installed after the headers
# (so its kernel hook does not run for them on a fresh machine), with
# --no-install-recommends, and the script fails if /var/lib/dkms or any
# /lib/modules/*/updates changed while it ran.
set -euo pipefail
trap 'echo "deps.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: must run as root (it installs Debian packages)" >&2
	exit 1
fi

log=$(mktemp /tmp/modforge-deps.XXXXXX)
trap 'rm -f "$log"' EXIT

apt_install() {
	apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "$@" >"$log" 2>&1 || {
		cat "$log" >&2
		echo "deps.sh: apt-get install $* failed" >&2
		exit 1
	}
}

# State that installing packages must not change (on a fresh machine neither directory
# exists yet: that is an empty state, not an error).
dkms_state() {
	if [ -d /var/lib/dkms ]; then
		find /var/lib/dkms -mindepth 1 -printf '%p %y %s\n' | sort
	fi
	if [ -d /lib/modules ]; then
		find /lib/modules -mindepth 2 -maxdepth 2 -name updates -exec find {} -printf '%p %y %s\n' \; | sort
	fi
}
before=$(dkms_state)

echo "deps.sh: apt-get update"
apt-get update -q >"$log" 2>&1 || {
	cat "$log" >&2
	exit 1
}

BUILD=(cmake gcc make pkg-config libseccomp-dev libcap-dev libkmod-dev libcjson-dev libssl-dev
	kmod openssl python3 python3-jsonschema clang-format)
# Used by the e2e tests (zsh and man-db: the completion and the man page) and by the Debian
# *-dkms packages they build.
TESTS=(libelf-dev bc flex bison libxtables-dev gawk patch xz-utils zstd dpkg-dev file
	util-linux procps strace tmux zsh man-db)

# The newest 6.1.0-N that has both flavours (the archive drops old N over time).
abi=$(apt-cache pkgnames linux-headers-6.1.0- |
	sed -nE 's/^linux-headers-(6\.1\.0-[0-9]+)-cloud-amd64$/\1/p' | sort -V |
	while read -r v; do
		apt-cache show "linux-headers-$v-amd64" >/dev/null 2>&1 && echo "$v"
	done | tail -n1)
if [ -z "$abi" ]; then
	echo "deps.sh: no linux-headers-6.1.0-N-{amd64,cloud-amd64} pair in apt-cache" >&2
	exit 1
fi
HEADERS=("linux-headers-$abi-amd64" "linux-headers-$abi-cloud-amd64")
# The newest 6.12 kernel (its modules are xz-compressed; the package pulls in the image):
# the compression test builds for it.
abi612=$(apt-cache pkgnames linux-headers-6.12. |
	sed -nE 's/^linux-headers-(6\.12\.[0-9]+\+deb12)-amd64$/\1/p' | sort -V | tail -n1)
if [ -z "$abi612" ]; then
	echo "deps.sh: no linux-headers-6.12.N+deb12-amd64 in apt-cache" >&2
	exit 1
fi
HEADERS+=("linux-headers-$abi612-amd64")

echo "deps.sh: installing build and test dependencies, ${HEADERS[*]}"
apt_install "${BUILD[@]}" "${TESTS[@]}" "${HEADERS[@]}"

echo "deps.sh: installing Debian's dkms (reference for the differential tests)"
apt_install dkms

after=$(dkms_state)
if [ "$before" != "$after" ]; then
	echo "deps.sh: installing packages changed the real dkms state:" >&2
	diff <(echo "$before") <(echo "$after") >&2 || true
	exit 1
fi

for h in "${HEADERS[@]}"; do
	d=/usr/src/$h
	[ -f "$d/Makefile" ] || { echo "deps.sh: $d/Makefile missing after install" >&2; exit 1; }
done
echo "deps.sh: ok (kernel headers: $abi-amd64 $abi-cloud-amd64 $abi612-amd64; $(dpkg-query -W -f '${Package} ${Version}' dkms))"

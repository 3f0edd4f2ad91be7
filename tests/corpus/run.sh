#!/bin/bash
# tests/corpus/run.sh [--quick] [PACKAGE...] - Debian 12's *-dkms packages (the list in
# tests/corpus/packages; --quick: the ones marked quick), each built and installed for a
# 6.1 and a 6.12 kernel by Debian's dkms (3.0.10) and by modforge, side by side, and
# compared: the build's exit code, the .ko files built, the install's exit code and the
# paths installed (compressed as the kernel's own modules are: the 6.12 kernel's are .xz),
# and the status lines. Where both fail, modforge's message must quote the compiler's
# first error. west-chamber-dkms runs twice: alone, and with xtables-addons-dkms's source
# in /usr/src (it builds only then).
#
# Packages come from Debian's archive at run time (apt-get download, cached in
# MODFORGE_TEST_CACHE, default /var/cache/modforge-tests), never committed. Each package
# and tool gets its own throwaway overlay of this machine's root
# (tests/tools/overlay_root.sh): the package's files and everything the tools write go to
# a tmpfs; packages that hard-code /usr/src and /var/lib/dkms (west-chamber) work there.
# modforge runs as `modforge` (installed with `cmake --install --prefix /usr`), Debian's
# dkms as itself (scripts/deps.sh installs it); both with --no-depmod (the stand-in
# compressed module that tells them the 6.12 kernel's compression is no module).
#
# Environment: MODFORGE_BUILD (a built build directory; default build/), OUT (where the
# per-package results go; default a new directory, printed), K61 / K612 (the kernels;
# default the newest 6.1.0-N-amd64 and 6.12.N+deb12-amd64 with headers in /usr/src).
# Prints a table (package, kernel, dkms, modforge, same?) and exits 0 when every row agrees.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${MODFORGE_BUILD:-$SRC/build}" && pwd)
CACHE=${MODFORGE_TEST_CACHE:-/var/cache/modforge-tests}
[ "$(id -u)" = 0 ] || { echo "corpus: needs root (mounts, package files)" >&2; exit 2; }
[ -x "$BUILD/modforge" ] || { echo "corpus: no modforge in $BUILD" >&2; exit 2; }
[ -x /usr/sbin/dkms ] || { echo "corpus: no Debian dkms (/usr/sbin/dkms); run scripts/deps.sh" >&2; exit 2; }

newest() { ls -d /usr/src/linux-headers-$1 2>/dev/null | sed 's|.*/linux-headers-||' | grep -vE -- '-(cloud|rt)-amd64$' | sort -V | tail -n1; }
K61=${K61:-$(newest '6.1.0-*-amd64')}
K612=${K612:-$(newest '6.12.*-amd64')}
[ -n "$K61" ] && [ -n "$K612" ] || { echo "corpus: need 6.1 and 6.12 -amd64 headers in /usr/src (scripts/deps.sh)" >&2; exit 2; }

quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
PKGS=("$@")
if [ ${#PKGS[@]} -eq 0 ]; then
	while read -r name mark; do
		case $name in '' | '#'*) continue ;; esac
		[ $quick = 1 ] && [ "${mark:-}" != quick ] && continue
		PKGS+=("$name")
	done <"$SRC/tests/corpus/packages"
fi
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/modforge-corpus.XXXXXX")}
mkdir -p "$OUT/debs"
echo "# corpus: ${#PKGS[@]} packages, kernels $K61 and $K612; results in $OUT"

# fetch NAME: the .deb of NAME in the cache (downloaded when missing); prints its path.
fetch() {
	local ver file
	ver=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[ -n "$ver" ] || { echo "corpus: apt knows no package $1" >&2; return 1; }
	mkdir -p "$CACHE"
	file=$(ls "$CACHE/${1}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
	if [ -z "$file" ]; then
		chown _apt "$CACHE" 2>/dev/null
		(cd "$CACHE" && apt-get download -q "$1" >"$OUT/debs/$1.log" 2>&1) || { cat "$OUT/debs/$1.log" >&2; return 1; }
		file=$(ls "$CACHE/${1}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
	fi
	[ -n "$file" ] && printf '%s\n' "$file"
}

inside=$(mktemp -d "${TMPDIR:-/tmp}/modforge-corpus-in.XXXXXX")
trap 'rm -rf "$inside"' EXIT
cat >"$inside/one.sh" <<'SH'
# In the overlay root: TOOL (dkms or modforge) adds, builds and installs the package whose
# .debs are in /debs for each kernel; results into /out/<case>.<tool>.<kernel>.*
set -u
tool=$1 case=$2 build=$3
shift 3
kernels=("$@")
export DEBIAN_FRONTEND=noninteractive
rm -rf /var/lib/dkms
mkdir -p /var/lib/dkms
if [ "$tool" = modforge ]; then
	rm -rf /usr/lib/dkms /etc/dkms /usr/sbin/dkms
	mkdir -p /etc/dkms/framework.conf.d
	cmake --install "$build" --prefix /usr >"/out/$case.$tool.install.log" 2>&1 || exit 97
	run=(/usr/sbin/modforge)
else
	run=(/usr/sbin/dkms)
fi
# The 6.12 kernel's own modules are .ko.xz: a stand-in tells both tools (dkms 3.0.10 reads
# modules.dep, modforge and dkms 3.4.3 look for the files).
for k in "${kernels[@]}"; do
	case $k in 6.12.*)
		mkdir -p "/lib/modules/$k/kernel/corpus"
		: >"/lib/modules/$k/kernel/corpus/stand-in.ko.xz"
		echo "kernel/corpus/stand-in.ko.xz:" >>"/lib/modules/$k/modules.dep" ;;
	esac
done
# Only the package's sources go in (its /lib/udev/... would replace merged-usr's /lib link)
for deb in /debs/*.deb; do
	rm -rf /tmp/deb && mkdir -p /tmp/deb && dpkg -x "$deb" /tmp/deb && cp -a /tmp/deb/usr/src/. /usr/src/
done
conf=$(ls /usr/src/*/dkms.conf 2>/dev/null | grep -v xtables-addons | head -n1)
[ -n "$conf" ] || conf=$(ls /usr/src/*/dkms.conf | head -n1)
src=${conf%/dkms.conf}
"${run[@]}" add "$src" >"/out/$case.$tool.add.out" 2>&1
echo $? >"/out/$case.$tool.add.rc"
mv=$("${run[@]}" status 2>/dev/null | sed -n 's/^\([^,:]*\): added$/\1/p' | head -n1)
[ -n "$mv" ] || mv=$("${run[@]}" status 2>/dev/null | sed -n 's/^\([^,]*\), .*/\1/p' | head -n1)
m=${mv%%/*} v=${mv#*/}
for k in "${kernels[@]}"; do
	o=/out/$case.$tool.$k
	touch "$o.start"
	"${run[@]}" build -m "$m" -v "$v" -k "$k" >"$o.build.out" 2>"$o.build.err"
	echo $? >"$o.build.rc"
	(ls "/var/lib/dkms/$m/$v/$k/x86_64/module" 2>/dev/null | grep -E '\.ko(\.(gz|xz|zst))?$' | sort) >"$o.ko"
	grep -m1 -E 'error:' "/var/lib/dkms/$m/$v/build/make.log" >"$o.firsterr" 2>/dev/null
	if [ "$(cat "$o.build.rc")" = 0 ]; then
		"${run[@]}" install -m "$m" -v "$v" -k "$k" --no-depmod >"$o.install.out" 2>&1
		echo $? >"$o.install.rc"
	else
		echo - >"$o.install.rc"
	fi
	(cd "/lib/modules/$k" && find . -name '*.ko*' -newer "$o.start" | sort) >"$o.inst"
	"${run[@]}" status -m "$m" -v "$v" -k "$k" >"$o.status" 2>/dev/null
done
SH

row() { printf '%-30s %-24s %-16s %-16s %s\n' "$@"; }
row package kernel dkms modforge "same?"
agree=0 rows=0
cases=()
for p in "${PKGS[@]}"; do
	cases+=("$p:$p")
	[ "$p" = west-chamber-dkms ] && cases+=("west-chamber-dkms+xtables:west-chamber-dkms xtables-addons-dkms")
done
for c in "${cases[@]}"; do
	name=${c%%:*}
	rm -rf "$OUT/debs/$name" && mkdir -p "$OUT/debs/$name"
	fetched=1
	for d in ${c#*:}; do
		f=$(fetch "$d") && cp "$f" "$OUT/debs/$name/" || fetched=0
	done
	if [ $fetched = 0 ]; then
		row "$name" - "not fetched" - NO
		rows=$((rows + 1))
		continue
	fi
	for tool in dkms modforge; do
		bash "$SRC/tests/tools/overlay_root.sh" "$OUT:/out" "$OUT/debs/$name:/debs" "$inside:/inside" \
			"$BUILD:$BUILD" -- bash /inside/one.sh "$tool" "$name" "$BUILD" "$K61" "$K612" \
			>"$OUT/$name.$tool.overlay.log" 2>&1
	done
	for k in "$K61" "$K612"; do
		rows=$((rows + 1))
		d=$OUT/$name.dkms.$k m=$OUT/$name.modforge.$k
		cell() { # cell PREFIX: "exit N, K ko[, install N]"
			local b i n
			b=$(cat "$1.build.rc" 2>/dev/null || echo '?')
			i=$(cat "$1.install.rc" 2>/dev/null || echo '?')
			n=$(wc -l <"$1.ko" 2>/dev/null || echo 0)
			if [ "$b" = 0 ]; then printf '%s ko, inst %s' "$n" "$i"; else printf 'exit %s' "$b"; fi
		}
		why=""
		for f in build.rc ko install.rc inst status; do
			cmp -s "$d.$f" "$m.$f" || why+="${why:+,}${f%.rc}"
		done
		b=$(cat "$m.build.rc" 2>/dev/null)
		if [ -z "$why" ] && [ "$b" != 0 ] && [ "$b" != 77 ] && [ -s "$m.firsterr" ] &&
			! grep -qF -- "$(sed 's/[[:space:]]*$//' "$m.firsterr" | cut -c1-60)" "$m.build.err"; then
			why="first error not quoted"
		fi
		if [ -z "$why" ]; then
			agree=$((agree + 1))
			row "$name" "$k" "$(cell "$d")" "$(cell "$m")" yes
		else
			row "$name" "$k" "$(cell "$d")" "$(cell "$m")" "NO ($why)"
		fi
	done
done
echo "# $agree of $rows agree"
[ "$agree" = "$rows" ]

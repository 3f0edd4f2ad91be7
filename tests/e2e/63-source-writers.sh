#!/bin/bash
# 63-source-writers: packages that write into their own source tree build, confined, in a
# private copy of it that each job sees at the source's real path; the real source tree
# never changes, and two kernels build at once without clobbering each other.
#  1. a fixture whose MAKE writes and builds in $source_tree/<m>-<v> (scratch roots);
#  2. Debian's west-chamber-dkms, whose dkms.conf hard-codes /usr/src/<m>-<v> and
#     /var/lib/dkms: it runs on the default roots inside a private mount namespace where
#     /usr/src, /var/lib/dkms and /lib/modules are overlays with scratch upper dirs, so the
#     real directories are never written (e2e_done checks that too).
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
if ! modforge_only "private source views (the sandbox)"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "runs as root (the second part makes a mount namespace)"

# tree_sum DIR: one line per file: path, type, and content hash for regular files.
tree_sum() {
	(cd "$1" && find . -printf '%p %y %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 md5sum)
}

# ---- 1. a fixture that builds in its source tree -------------------------------------
use_root "$(new_root srcw)"
PKG=$E2E_TMP/pkg/mf-srcw-1.0
mkdir -p "$PKG"
cp "$MODFORGE_SRC"/examples/mf-hello-1.0/{Makefile,mf_hello.c,mf_hello.h,mf_greet.c} "$PKG/"
cat >"$PKG/dkms.conf" <<'CONF'
PACKAGE_NAME="mf-srcw"
PACKAGE_VERSION="1.0"
PSRC="$source_tree/$PACKAGE_NAME-$PACKAGE_VERSION"
MAKE="echo $kernelver > $PSRC/built-for && sleep 1 && make -C $kernel_source_dir M=$PSRC modules && grep -qx $kernelver $PSRC/built-for && cp $PSRC/mf_hello.ko $PSRC/mf_greet.ko $dkms_tree/$PACKAGE_NAME/$PACKAGE_VERSION/build/"
CLEAN="true"
BUILT_MODULE_NAME[0]="mf_hello"
BUILT_MODULE_NAME[1]="mf_greet"
DEST_MODULE_LOCATION[0]="/updates"
DEST_MODULE_LOCATION[1]="/updates"
CONF
expect_rc 0 mf add "$PKG"
before=$(tree_sum "$SRC/mf-srcw-1.0")
expect_rc 0 mf build mf-srcw/1.0 -k "$K1" -k "$K2" -j 2
for k in "$K1" "$K2"; do
	expect_vermagic "$DKMS/mf-srcw/1.0/$k/$E2E_ARCH/module/mf_hello.ko" "$k"
done
expect_eq "the real source tree is unchanged by two builds writing into it" "$before" "$(tree_sum "$SRC/mf-srcw-1.0")"
expect_eq "no private source copy is left" "" "$(ls -a "$DKMS/mf-srcw/1.0" | grep -E '^\.(source|build)-' || true)"

# ---- 2. west-chamber-dkms, paths hard-coded ------------------------------------------
WC=$(fetch_deb west-chamber-dkms) || bail "cannot fetch west-chamber-dkms"
XA=$(fetch_deb xtables-addons-dkms) || bail "cannot fetch xtables-addons-dkms"
NS=$E2E_TMP/ns
mkdir -p "$NS/deb/usr/src"
cp -a "$WC" "$XA" "$NS/deb/usr/src/" || bail "cannot copy the sources"
WCSRC=$(basename "$WC")
WCVER=${WCSRC#west-chamber-}
cat >"$NS/inside.sh" <<'INSIDE'
set -u
NS=$1 MF=$2 K=$3 ARCH=$4 SRC=$5 VER=$6
for d in /usr/src /var/lib/dkms /lib/modules; do
	n=$NS/ov/$(echo "$d" | tr / _)
	mkdir -p "$n/u" "$n/w" "$d"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$n/u,workdir=$n/w" "$d" || exit 90
done
cp -a "$NS"/deb/usr/src/* /usr/src/
sum() { (cd "$1" && find . -printf '%p %y %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 md5sum); }
sum "/usr/src/$SRC" >"$NS/before"
"$MF" add -m west-chamber -v "$VER" >"$NS/add.log" 2>&1 || exit 91
"$MF" build -m west-chamber -v "$VER" -k "$K" >"$NS/build.log" 2>&1
echo "build rc $?" >>"$NS/build.log"
sum "/usr/src/$SRC" >"$NS/after"
cp -a "/var/lib/dkms/west-chamber/$VER/$K/$ARCH/module" "$NS/module" 2>/dev/null
ls -a "/var/lib/dkms/west-chamber/$VER" >"$NS/version-dir"
exit 0
INSIDE
run_cmd unshare -m --propagation private bash "$NS/inside.sh" "$NS" "$MODFORGE" "$K1" "$E2E_ARCH" "$WCSRC" "$WCVER"
expect_eq "the mount namespace with overlays is set up" 0 "$E2E_RC"
expect_line "build rc 0" "$NS/build.log" || cat "$NS/build.log" | sed 's/^/#   /'
for m in xt_CUI xt_ZHANG xt_gfw; do
	expect_vermagic "$NS/module/$m.ko" "$K1"
done
if [ -s "$NS/before" ] && cmp -s "$NS/before" "$NS/after"; then
	ok "west-chamber's source tree in /usr/src is unchanged (it wrote a symlink and objects into its view)"
else
	not_ok "west-chamber's source tree in /usr/src is unchanged" "$NS/after"
fi
expect_eq "no private copies left in /var/lib/dkms/west-chamber/$WCVER" "" "$(grep -E '^\.(source|build)-' "$NS/version-dir" || true)"
e2e_done

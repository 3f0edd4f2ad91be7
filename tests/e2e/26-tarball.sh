#!/bin/bash
# 26-tarball: mktarball and ldtarball (and every verb's usage), side by side with dkms 3.4.3 (built at test time
# from ../shared/upstream, run through refdkms on a twin scratch root): the same text and
# exit codes for full, --binaries-only, --source-only and --archive archives, for loading
# them (again, with --force, without a source on the system, a plain source tarball, no
# archive, a broken one). Archives go both ways between modforge, dkms 3.4.3 and Debian's
# dkms 3.0.10, and what is loaded installs the same module bytes. A hostile archive
# (links out, '..' names, absolute names, its own .modforge/ manifest) writes nothing
# outside the trees and its claims are not kept.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "mktarball/ldtarball against dkms 3.4.3"; then
	e2e_done
fi
require_refdkms
UP=${MODFORGE_UPSTREAM:-$MODFORGE_SRC/../shared/upstream/dkms-3.4.3}
[ -f "$UP/dkms.in" ] || bail "no dkms 3.4.3 at $UP (../shared/upstream): it is the reference here"
cp -a "$UP" "$E2E_TMP/dkms-3.4.3"
make -s -C "$E2E_TMP/dkms-3.4.3" dkms >/dev/null 2>&1 || bail "cannot make dkms 3.4.3's script"
chmod +x "$E2E_TMP/dkms-3.4.3/dkms"
D343=$E2E_TMP/dkms-3.4.3/dkms

use_root "$(new_root mf)"
use_ref_root "$(new_root ref)"
# (refdkms with REFDKMS_BIN runs 3.4.3 the way it runs Debian's 3.0.10)
o343() { REFDKMS_BIN=$D343 ref "$@"; }

# both NAME ARGS...: the command on both roots; the same exit status and the same text
# (each root's path written as ROOT; the archive paths are the roots' own).
both() {
	local name=$1
	shift
	run_cmd o343 "$@"
	local want=$E2E_RC
	sed "s|$REF_ROOT|ROOT|g" "$E2E_TMP/last.all" >"$E2E_TMP/ref.txt"
	local args=() a
	for a in "$@"; do args+=("${a//$REF_ROOT/$ROOT}"); done
	expect_rc "$want" mf "${args[@]}"
	sed "s|$ROOT|ROOT|g" "$E2E_TMP/last.all" >"$E2E_TMP/mf.txt"
	if cmp -s "$E2E_TMP/ref.txt" "$E2E_TMP/mf.txt"; then
		ok "$name: dkms 3.4.3's text"
	else
		not_ok "$name: dkms 3.4.3's text"
		diff -u "$E2E_TMP/ref.txt" "$E2E_TMP/mf.txt" | sed 's/^/#   /'
	fi
}

# ---- each verb without what it needs: dkms 3.4.3's usage and exit code ---------------------
for verb in add build install uninstall unbuild remove mktarball ldtarball match status \
	autoinstall kernel_postinst kernel_prerm kernel_preinst; do
	both "$verb without arguments" $verb
done
both "build of a module without version" build -m mf-nothing
both "install of a module without version" install mf-nothing

# ---- mktarball --------------------------------------------------------------------------
for r in "$ROOT" "$REF_ROOT"; do cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$r/src/"; done
run_cmd o343 add mf-hello/1.0
expect_rc 0 mf add mf-hello/1.0
both "mktarball before a build" mktarball mf-hello/1.0 -k "$K1"
run_cmd o343 build mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1"
both "mktarball" mktarball mf-hello/1.0 -k "$K1"
both "mktarball --binaries-only" mktarball mf-hello/1.0 -k "$K1" --binaries-only --archive "$REF_ROOT/bin.tar.gz"
both "mktarball --source-only" mktarball mf-hello/1.0 --source-only --archive "$REF_ROOT/src.tar.gz"
both "mktarball --archive" mktarball mf-hello/1.0 -k "$K1" --archive "$REF_ROOT/full.tar.gz"
both "mktarball of what is not added" mktarball no-such/1.0 -k "$K1"
both "mktarball without a version" mktarball mf-hello -k "$K1"
# (modforge keeps the kernel's .config in log/, as Debian's 3.0.10 does; 3.4.3 does not)
list() { tar tzf "$1" | grep -v '/log/\.config$' | sort; }
if [ "$(list "$ROOT/full.tar.gz")" = "$(list "$REF_ROOT/full.tar.gz")" ]; then
	ok "the archive holds what dkms 3.4.3's does"
else
	not_ok "the archive holds what dkms 3.4.3's does"
	diff -u <(list "$REF_ROOT/full.tar.gz") <(list "$ROOT/full.tar.gz") | sed 's/^/#   /'
fi
expect_file "$DKMS/mf-hello/1.0/tarball/mf-hello-1.0-kernel$K1-$A.dkms.tar.gz"
(cd "$MODFORGE_SRC/examples" && tar czf "$ROOT/plain.tar.gz" mf-hello-1.0)
cp "$ROOT/plain.tar.gz" "$REF_ROOT/plain.tar.gz"
mkdir -p "$E2E_TMP/empty/x" && tar czf "$ROOT/noconf.tar.gz" -C "$E2E_TMP/empty" . && cp "$ROOT/noconf.tar.gz" "$REF_ROOT/"
mkdir -p "$E2E_TMP/badmain/dkms_main_tree/k/a" && tar czf "$ROOT/badmain.tar.gz" -C "$E2E_TMP/badmain" . && cp "$ROOT/badmain.tar.gz" "$REF_ROOT/"

# ---- ldtarball --------------------------------------------------------------------------
fresh() { # fresh roots for loading
	use_root "$(new_root "mf$1")"
	use_ref_root "$(new_root "ref$1")"
}
OLD_ROOT=$ROOT OLD_REF=$REF_ROOT
fresh 1
cp "$OLD_ROOT"/*.tar.gz "$ROOT/"
cp "$OLD_REF"/*.tar.gz "$REF_ROOT/"
both "ldtarball" ldtarball "$REF_ROOT/full.tar.gz"
both "ldtarball again" ldtarball "$REF_ROOT/full.tar.gz"
both "ldtarball again --force" ldtarball --archive "$REF_ROOT/full.tar.gz" --force
both "status after ldtarball" status
# each on fresh roots (dkms 3.4.3 leaves a binaries-only load half added: its source/ is
# a directory that a later add creates its link in)
n=2
for kind in "--binaries-only's archive, no source:bin" "a source-only archive:src" \
	"a plain source tarball:plain" "an archive without a dkms.conf:noconf" \
	"a main tree without a dkms.conf:badmain"; do
	fresh $n
	n=$((n + 1))
	cp "$OLD_ROOT"/*.tar.gz "$ROOT/"
	cp "$OLD_REF"/*.tar.gz "$REF_ROOT/"
	both "ldtarball of ${kind%:*}" ldtarball --archive "$REF_ROOT/${kind##*:}.tar.gz"
	both "status after ldtarball of ${kind%:*}" status
done
both "ldtarball of nothing" ldtarball --archive "$REF_ROOT/no-such.tar.gz"
expect_eq "no unpacked archive is left" "" "$(ls -d "$DKMS/.modforge/unpack"* 2>/dev/null)"
# After a binaries-only load, the source's archive makes the module added (modforge: the
# stand-in source/ gives way to the link).
expect_rc 1 mf ldtarball "$ROOT/bin.tar.gz"
expect_rc 0 mf ldtarball "$ROOT/src.tar.gz" --force
expect_symlink "$DKMS/mf-hello/1.0/source" "$SRC/mf-hello-1.0"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: built"

# ---- both ways between modforge and dkms 3.0.10 / 3.4.3 -----------------------------------
# An archive loads where the other made it, and installs the same module bytes.
roundtrip() { # roundtrip MAKER LOADER: MAKER's archive loaded and installed by LOADER
	local maker=$1 loader=$2
	fresh "$maker-$loader"
	local mk_root ld_root
	if [ "$maker" = mf ]; then mk_root=$ROOT; else mk_root=$REF_ROOT; fi
	if [ "$loader" = mf ]; then ld_root=$ROOT; else ld_root=$REF_ROOT; fi
	cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$mk_root/src/"
	local make_it=(mf) load_it=(mf)
	[ "$maker" = d343 ] && make_it=(o343)
	[ "$maker" = d3010 ] && make_it=(ref)
	[ "$loader" = d343 ] && load_it=(o343)
	[ "$loader" = d3010 ] && load_it=(ref)
	run_cmd "${make_it[@]}" install mf-hello/1.0 -k "$K1"
	run_cmd "${make_it[@]}" mktarball mf-hello/1.0 -k "$K1" --archive "$E2E_TMP/rt-$maker.tar.gz"
	expect_eq "$maker's mktarball exits 0" 0 "$E2E_RC"
	rm -rf "${mk_root:?}"/src/* # the loader's root may be the same: it gets the source back
	run_cmd "${load_it[@]}" ldtarball "$E2E_TMP/rt-$maker.tar.gz"
	expect_eq "$loader loads $maker's archive" 0 "$E2E_RC"
	run_cmd "${load_it[@]}" install mf-hello/1.0 -k "$K1" --force
	expect_eq "$loader installs what it loaded" 0 "$E2E_RC"
	local made="$mk_root/lib/modules/$K1/updates/dkms/mf_hello.ko"
	local loaded="$ld_root/lib/modules/$K1/updates/dkms/mf_hello.ko"
	expect_file "$loaded"
	if [ "$mk_root" != "$ld_root" ] && ! cmp -s "$made" "$loaded"; then
		not_ok "$loader installs $maker's module bytes"
	else
		ok "$loader installs $maker's module bytes"
	fi
}
roundtrip mf d3010
roundtrip d3010 mf
roundtrip mf d343
roundtrip d343 mf

# ---- a hostile archive ---------------------------------------------------------------------
fresh hostile
H=$E2E_TMP/hostile
mkdir -p "$H/dkms_source_tree" "$H/dkms_main_tree/$K1/$A/module" "$H/dkms_main_tree/$K1/$A/.modforge" "$E2E_TMP/outside"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0/." "$H/dkms_source_tree/"
sed -i 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-evil"/' "$H/dkms_source_tree/dkms.conf"
cp "$OLD_ROOT/dkms/mf-hello/1.0/$K1/$A/module/mf_hello.ko" "$H/dkms_main_tree/$K1/$A/module/"
printf 'module mf_hello.ko /etc/evil\n' >"$H/dkms_main_tree/$K1/$A/.modforge/manifest"
ln -s "$E2E_TMP/outside" "$H/dkms_main_tree/$K1/$A/log"
ln -s /etc/shadow "$H/dkms_source_tree/stolen"
tar czf "$E2E_TMP/hostile.tar.gz" -C "$H" .
# names that climb out, and absolute ones, appended as such
( cd "$E2E_TMP" && mkdir -p climb && echo pwned >climb/escape &&
	tar czf "$E2E_TMP/climb.tar.gz" -C "$H" . -C "$E2E_TMP" --transform 's|^climb/|../../|' climb/escape \
		--transform 's|^/*|/|' climb/escape 2>/dev/null )
before=$(find / -xdev -newer "$E2E_TMP/hostile.tar.gz" -path /proc -prune -o -name escape -print 2>/dev/null | grep -v "$E2E_TMP" | sort)
expect_rc 0 mf ldtarball "$E2E_TMP/hostile.tar.gz"
expect_rc 8 mf ldtarball "$E2E_TMP/climb.tar.gz"
expect_eq "nothing written through the archive's link" "" "$(ls -A "$E2E_TMP/outside")"
expect_no_file "$DKMS/mf-evil/1.0/$K1/$A/.modforge/manifest"
expect_symlink "$SRC/mf-evil-1.0/stolen" /etc/shadow
after=$(find / -xdev -newer "$E2E_TMP/hostile.tar.gz" -path /proc -prune -o -name escape -print 2>/dev/null | grep -v "$E2E_TMP" | sort)
expect_eq "no '..' or absolute name of the archive written outside" "$before" "$after"

# The archive's top directories as links out (root would copy what they point to), a module
# that is a link to a secret (install would copy it), a source tree whose directory in
# /usr/src already holds a link out (the load would write through it), names the tree
# keeps for itself: none of it reaches outside.
mkdir -p "$E2E_TMP/secret-dir" "$E2E_TMP/h2/dkms_source_tree" "$E2E_TMP/h3/dkms_source_tree/x" \
	"$E2E_TMP/h4/dkms_main_tree/$K1/$A/module" "$E2E_TMP/h4/dkms_source_tree" "$E2E_TMP/h5/dkms_source_tree" "$E2E_TMP/target"
echo secret >"$E2E_TMP/secret-dir/secret"
mkdir -p "$E2E_TMP/secret-dir/kk/aa" && echo secret >"$E2E_TMP/secret-dir/kk/aa/secret"
mkpkg() { # mkpkg DIR NAME: mf-hello's source as package NAME in DIR
	cp -a "$MODFORGE_SRC/examples/mf-hello-1.0/." "$1/"
	sed -i "s/^PACKAGE_NAME=.*/PACKAGE_NAME=\"$2\"/" "$1/dkms.conf"
}
mkpkg "$E2E_TMP/h2/dkms_source_tree" mf-h2
ln -s "$E2E_TMP/secret-dir" "$E2E_TMP/h2/dkms_main_tree"
tar czf "$E2E_TMP/h2.tar.gz" -C "$E2E_TMP/h2" .
expect_rc 0 mf ldtarball "$E2E_TMP/h2.tar.gz" # (a plain source tarball then: its main tree is no directory)
expect_no_file "$DKMS/mf-h2/1.0/kk"
mkpkg "$E2E_TMP/h4/dkms_source_tree" mf-h4
ln -s "$E2E_TMP/secret-dir/secret" "$E2E_TMP/h4/dkms_main_tree/$K1/$A/module/mf_hello.ko"
tar czf "$E2E_TMP/h4.tar.gz" -C "$E2E_TMP/h4" .
expect_rc 0 mf ldtarball "$E2E_TMP/h4.tar.gz"
expect_no_file "$DKMS/mf-h4/1.0/$K1/$A/module/mf_hello.ko"
mkpkg "$E2E_TMP/h3/dkms_source_tree" mf-h3
echo pwned >"$E2E_TMP/h3/dkms_source_tree/x/pwn"
tar czf "$E2E_TMP/h3.tar.gz" -C "$E2E_TMP/h3" .
mkdir -p "$SRC/mf-h3-1.0"
ln -s "$E2E_TMP/target" "$SRC/mf-h3-1.0/x"
expect_rc 0 mf ldtarball "$E2E_TMP/h3.tar.gz"
expect_eq "nothing written through a link already in the source tree" "" "$(ls -A "$E2E_TMP/target")"
expect_file "$SRC/mf-h3-1.0/x/pwn"
mkpkg "$E2E_TMP/h5/dkms_source_tree" .modforge
sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="cache"/' "$E2E_TMP/h5/dkms_source_tree/dkms.conf"
mkdir -p "$E2E_TMP/h5/dkms_main_tree/$K1/$A"
tar czf "$E2E_TMP/h5.tar.gz" -C "$E2E_TMP/h5" .
expect_rc 8 mf ldtarball "$E2E_TMP/h5.tar.gz"
expect_text "'PACKAGE_NAME' directive '.modforge' is not usable as a directory name" "$E2E_ERR"
expect_no_file "$DKMS/.modforge/cache/$K1"
e2e_done

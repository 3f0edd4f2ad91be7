#!/bin/bash
# 62-scripts: POST_ADD, PRE_INSTALL, POST_INSTALL and POST_REMOVE run as dkms runs them,
# privileged, from the source directory; with --sandbox-scripts they run confined like a
# build step: as the build user, unable to write outside (here: into the dkms tree).
# The admin's overrides in /etc/dkms/<module>/ (dkms 3.4.3): an executable of a script's
# name runs instead, from there; patches/ is laid over the package's, never through a
# link the package put there; a build restored from the cache says what the build said.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
if ! modforge_only "--sandbox-scripts"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "runs as root (it checks the privileged default)"

# make_pkg NAME: mf-hello's sources with four scripts that report and leave a mark.
make_pkg() {
	local d=$E2E_TMP/pkg/$1-1.0
	mkdir -p "$d"
	cp "$MODFORGE_SRC"/examples/mf-hello-1.0/{Makefile,mf_hello.c,mf_hello.h,mf_greet.c} "$d/"
	cat >"$d/script.sh" <<SH
#!/bin/sh
echo "script \$1 uid \$(id -u)"
echo "\$(id -u)" >"$DKMS/mark-$1-\$1" 2>/dev/null || echo "script \$1 could not write"
SH
	chmod +x "$d/script.sh"
	cat >"$d/dkms.conf" <<CONF
PACKAGE_NAME="$1"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="mf_hello"
BUILT_MODULE_NAME[1]="mf_greet"
DEST_MODULE_LOCATION[0]="/updates"
DEST_MODULE_LOCATION[1]="/updates"
POST_ADD="script.sh post_add"
PRE_INSTALL="script.sh pre_install"
POST_INSTALL="script.sh post_install"
POST_REMOVE="script.sh post_remove"
CONF
	printf '%s\n' "$d"
}

use_root "$(new_root scripts)"
expect_rc 0 mf add "$(make_pkg priv)" -k "$K1"
expect_rc 0 mf install priv/1.0 -k "$K1"
expect_rc 0 mf uninstall priv/1.0 -k "$K1"
for s in post_add pre_install post_install post_remove; do
	expect_eq "default: $s ran privileged, as in dkms" 0 "$(cat "$DKMS/mark-priv-$s" 2>/dev/null)"
done

expect_rc 0 mf add "$(make_pkg boxed)" -k "$K1" --sandbox-scripts
expect_line "script post_add uid 65534" "$E2E_OUT"
expect_line "script post_add could not write" "$E2E_OUT"
expect_rc 0 mf install boxed/1.0 -k "$K1" --sandbox-scripts
expect_line "Running the pre_install script:" "$E2E_OUT"
expect_line "script pre_install uid 65534" "$E2E_OUT"
expect_line "script post_install uid 65534" "$E2E_OUT"
expect_rc 0 mf uninstall boxed/1.0 -k "$K1" --sandbox-scripts
expect_line "script post_remove uid 65534" "$E2E_OUT"
for s in post_add pre_install post_install post_remove; do
	expect_no_file "$DKMS/mark-boxed-$s"
done

# /etc/dkms/<module>/ overrides. The package's patch is broken and its files read-only;
# the admin's patch of the same name (which adds a line to mf_hello.c) is applied.
ETC=$MODFORGE_ETC_DKMS
OVER=$(make_pkg over)
mkdir -p "$OVER/patches" "$ETC/over/patches"
echo 'not a patch' >"$OVER/patches/fix.patch"
# admin_patch TEXT: a patch that puts the comment TEXT on top of mf_hello.c.
admin_patch() {
	mkdir -p "$E2E_TMP/p"
	cp "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.c" "$E2E_TMP/p/a"
	{ echo "/* $1 */"; cat "$E2E_TMP/p/a"; } >"$E2E_TMP/p/b"
	diff -u --label a/mf_hello.c --label b/mf_hello.c "$E2E_TMP/p/a" "$E2E_TMP/p/b"
}
admin_patch "patched by the admin's override" >"$ETC/over/patches/fix.patch"
chmod a-w "$OVER"/*.c
printf '%s\n' 'PATCH[0]="fix.patch"' 'PRE_BUILD="script.sh pre_build"' >>"$OVER/dkms.conf"
cat >"$ETC/over/script.sh" <<'SH'
#!/bin/sh
echo "override $1 in $(pwd)"
SH
chmod +x "$ETC/over/script.sh"
expect_rc 0 mf add "$OVER" -k "$K1"
expect_line "override post_add in $ETC/over" "$E2E_OUT"
expect_rc 0 mf install over/1.0 -k "$K1"
expect_line "Applying patch fix.patch... done." "$E2E_OUT"
expect_line "Running the pre_build script... done." "$E2E_OUT"
expect_line "override pre_install in $ETC/over" "$E2E_OUT"
expect_line "override post_install in $ETC/over" "$E2E_OUT"
LOG=$DKMS/over/1.0/$K1/$E2E_ARCH/log/make.log
expect_line "override pre_build in $ETC/over" "$LOG"
expect_line "patching file mf_hello.c" "$LOG"
expect_no_line "File mf_hello.c is read-only; trying to patch anyway" "$LOG"
cp "$E2E_OUT" "$E2E_TMP/first-install.out"
# Restored from the cache, the build says the same.
expect_rc 0 mf unbuild over/1.0 -k "$K1"
expect_line "override post_remove in $ETC/over" "$E2E_OUT"
expect_rc 0 mf install over/1.0 -k "$K1" --verbose
expect_line "Building module(s)... done (restored from the build cache)." "$E2E_OUT"
sed 's/ (restored from the build cache)//' "$E2E_OUT" >"$E2E_TMP/again.out"
if cmp -s "$E2E_TMP/first-install.out" "$E2E_TMP/again.out"; then
	ok "a restored build says what the build said"
else
	not_ok "a restored build says what the build said"
	diff -u "$E2E_TMP/first-install.out" "$E2E_TMP/again.out" | sed 's/^/#   /'
fi
# Another admin patch is another build (the overlay is in the cache key); the admin's
# links are followed, as dkms's cp and patch do.
admin_patch "patched again" >"$E2E_TMP/admin-again.patch"
ln -sf "$E2E_TMP/admin-again.patch" "$ETC/over/patches/fix.patch"
expect_rc 0 mf unbuild over/1.0 -k "$K1"
expect_rc 0 mf install over/1.0 -k "$K1" --verbose
expect_line "patch -p1 < ./patches/fix.patch" "$E2E_OUT" # (--verbose: applied, not restored)
expect_no_line "Building module(s)... done (restored from the build cache)." "$E2E_OUT"
expect_line "patching file mf_hello.c" "$LOG"

# A package whose patches/ is a link out of its tree: the overlay replaces the link in the
# build's copy, and nothing is written where it pointed.
LINKED=$(make_pkg linked)
mkdir -p "$E2E_TMP/outside" "$ETC/linked/patches"
ln -s "$E2E_TMP/outside" "$LINKED/patches"
cp "$ETC/over/patches/fix.patch" "$ETC/linked/patches/fix.patch"
echo 'PATCH[0]="fix.patch"' >>"$LINKED/dkms.conf"
expect_rc 0 mf add "$LINKED" -k "$K1"
expect_rc 0 mf build linked/1.0 -k "$K1"
expect_line "Applying patch fix.patch... done." "$E2E_OUT"
expect_eq "nothing written through the package's patches/ link" "" "$(ls -A "$E2E_TMP/outside")"
e2e_done

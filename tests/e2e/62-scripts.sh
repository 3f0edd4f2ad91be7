#!/bin/bash
# 62-scripts: POST_ADD, PRE_INSTALL, POST_INSTALL and POST_REMOVE run as dkms runs them,
# privileged, from the source directory; with --sandbox-scripts they run confined like a
# build step: as the build user, unable to write outside (here: into the dkms tree).
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
e2e_done

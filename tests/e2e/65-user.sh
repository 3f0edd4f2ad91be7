#!/bin/bash
# 65-user: an ordinary user runs add, build and status in a tree it owns (its builds
# confined as itself); install refuses with dkms's message and exit code; nothing it
# builds is owned by anyone else.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
if ! modforge_only "modforge's unprivileged mode"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "this test switches to an unprivileged uid, so it starts as root"
command -v setpriv >/dev/null || bail "setpriv (util-linux) is needed"
U=4321
use_root "$(new_root user)"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
cp "$MODFORGE" "$E2E_TMP/modforge"
chown -R "$U:$U" "$ROOT"
as_user() {
	setpriv --reuid "$U" --regid "$U" --clear-groups env MODFORGE_ETC_DKMS="$MODFORGE_ETC_DKMS" \
		"$E2E_TMP/modforge" "$@" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
}
expect_rc 0 as_user add mf-hello/1.0 -k "$K1"
expect_rc 0 as_user build mf-hello/1.0 -k "$K1"
expect_file "$DKMS/mf-hello/1.0/$K1/$E2E_ARCH/module/mf_hello.ko"
expect_vermagic "$DKMS/mf-hello/1.0/$K1/$E2E_ARCH/module/mf_hello.ko" "$K1"
expect_eq "everything the user built is the user's" "" "$(find "$ROOT/dkms" ! -uid "$U" -print)"
expect_rc 0 as_user status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $E2E_ARCH: built"
expect_rc 1 as_user install mf-hello/1.0 -k "$K1"
expect_line "Error! You must be root to use this command." "$E2E_ERR"
expect_no_file "$INST/$K1/updates"

# As root with MODFORGE_BUILD_UID: the steps run as that uid (the sandbox was given the
# default build user while the area was handed to this one, so builds could not write it).
use_root "$(new_root builduid)"
mkdir -p "$SRC/mf-uid-1.0"
cp "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.c" "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.h" "$SRC/mf-uid-1.0/"
echo 'obj-m := mf_hello.o' >"$SRC/mf-uid-1.0/Kbuild"
printf '#!/bin/sh\necho "make runs as uid $(id -u)"\n' >"$SRC/mf-uid-1.0/whoami.sh"
chmod 755 "$SRC/mf-uid-1.0/whoami.sh"
printf '%s\n' 'PACKAGE_NAME="mf-uid"' 'PACKAGE_VERSION="1.0"' 'BUILT_MODULE_NAME[0]="mf_hello"' \
	'DEST_MODULE_LOCATION[0]="/updates"' \
	'MAKE[0]="./whoami.sh && make -C ${kernel_source_dir} M=${dkms_tree}/mf-uid/1.0/build modules"' \
	>"$SRC/mf-uid-1.0/dkms.conf"
chmod 755 "$E2E_TMP" "$ROOT"
expect_rc 0 mf add mf-uid/1.0
expect_rc 0 env MODFORGE_BUILD_UID=$U "$MODFORGE" build mf-uid/1.0 -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_text "make runs as uid $U" "$DKMS/mf-uid/1.0/$K1/$E2E_ARCH/log/make.log"
expect_vermagic "$DKMS/mf-uid/1.0/$K1/$E2E_ARCH/module/mf_hello.ko" "$K1"
e2e_done

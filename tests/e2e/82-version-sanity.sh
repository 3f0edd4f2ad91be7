#!/bin/bash
# 82-version-sanity: dkms 3.4.3's version sanity check at install time (reference §5.6),
# read with libkmod: a same-named module already in the kernel's tree that is newer, or
# the same version and srcversion, stops the install of that module ("Installation
# aborted." when none is left, exit 6) unless --force or --force-version-override; an
# older one is archived and replaced, and restored on uninstall.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "dkms 3.4.3's version sanity check"; then
	e2e_done
fi

# make_pkg VERSION: mf-vers/VERSION, one module mf_vers with MODULE_VERSION(VERSION).
make_pkg() {
	local d=$SRC/mf-vers-$1
	mkdir -p "$d"
	cat >"$d/mf_vers.c" <<C
#include <linux/module.h>
static int __init mf_vers_init(void) { return 0; }
static void __exit mf_vers_exit(void) { }
module_init(mf_vers_init);
module_exit(mf_vers_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION("$1");
C
	echo 'obj-m := mf_vers.o' >"$d/Kbuild"
	cat >"$d/dkms.conf" <<CONF
PACKAGE_NAME="mf-vers"
PACKAGE_VERSION="$1"
BUILT_MODULE_NAME[0]="mf_vers"
DEST_MODULE_LOCATION[0]="/updates"
CONF
}

use_root "$(new_root vers)"
make_pkg 1.0
make_pkg 2.0
expect_rc 0 mf add mf-vers/1.0
expect_rc 0 mf add mf-vers/2.0
expect_rc 0 mf build mf-vers/1.0 -k "$K1"
expect_rc 0 mf build mf-vers/2.0 -k "$K1"
V1=$DKMS/mf-vers/1.0/$K1/$A/module/mf_vers.ko
V2=$DKMS/mf-vers/2.0/$K1/$A/module/mf_vers.ko
IN_KERNEL=$INST/$K1/kernel/drivers/misc/mf_vers.ko
mkdir -p "$(dirname "$IN_KERNEL")"

# The kernel has 2.0: installing 1.0 is refused, nothing changes.
cp "$V2" "$IN_KERNEL"
expect_rc 6 mf install mf-vers/1.0 -k "$K1"
expect_text "Error! Module version 1.0 for mf_vers.ko" "$E2E_ERR"
expect_text "is not newer than what is already found in kernel $K1 (2.0)." "$E2E_ERR"
expect_text "Installation aborted." "$E2E_ERR"
expect_no_file "$INST/$K1/updates/dkms/mf_vers.ko"
expect_no_file "$DKMS/mf-vers/kernel-$K1-$A"
expect_eq "the kernel's newer module is untouched" "" "$(cmp "$V2" "$IN_KERNEL" 2>&1)"
# --force-version-override installs it (archiving the kernel's), uninstall restores.
expect_rc 0 mf install mf-vers/1.0 -k "$K1" --force-version-override
expect_line "Found pre-existing $IN_KERNEL, archiving for uninstallation" "$E2E_OUT"
expect_file "$INST/$K1/updates/dkms/mf_vers.ko"
expect_rc 0 mf uninstall mf-vers/1.0 -k "$K1"
expect_eq "uninstall restored the kernel's module" "" "$(cmp "$V2" "$IN_KERNEL" 2>&1)"
# --force too.
expect_rc 0 mf install mf-vers/1.0 -k "$K1" --force
expect_file "$INST/$K1/updates/dkms/mf_vers.ko"
expect_rc 0 mf uninstall mf-vers/1.0 -k "$K1"
# A distribution's modules_to_force_install list does the same for the modules it names
# ("M": as --force; "M_version-override": as --force-version-override), as dkms.
if ! e2e_is_reference; then
	export MODFORGE_FORCED_MODULES_DIR=$E2E_TMP/force
	mkdir -p "$MODFORGE_FORCED_MODULES_DIR"
	echo "other-module mf-vers_version-override" >"$MODFORGE_FORCED_MODULES_DIR/list"
	expect_rc 0 mf install mf-vers/1.0 -k "$K1"
	expect_line "Forcing version override of mf-vers" "$E2E_OUT"
	expect_file "$INST/$K1/updates/dkms/mf_vers.ko"
	expect_rc 0 mf uninstall mf-vers/1.0 -k "$K1"
	printf 'mf-vers\n' >"$MODFORGE_FORCED_MODULES_DIR/list"
	expect_rc 0 mf install mf-vers/1.0 -k "$K1"
	expect_line "Forcing installation of mf-vers" "$E2E_OUT"
	expect_file "$INST/$K1/updates/dkms/mf_vers.ko"
	expect_rc 0 mf uninstall mf-vers/1.0 -k "$K1"
	rm -r "$MODFORGE_FORCED_MODULES_DIR"
	unset MODFORGE_FORCED_MODULES_DIR
fi

# The same version and srcversion: "already installed", aborted.
cp "$V1" "$IN_KERNEL"
expect_rc 6 mf install mf-vers/1.0 -k "$K1"
expect_line "Module $IN_KERNEL already installed at version 1.0, override by specifying --force" "$E2E_OUT"
expect_no_file "$DKMS/mf-vers/kernel-$K1-$A"

# The kernel has an older one: 2.0 replaces it (archived), uninstall brings it back.
expect_rc 0 mf install mf-vers/2.0 -k "$K1"
expect_no_file "$IN_KERNEL"
expect_eq "installed module is 2.0" 2.0 "$(modinfo -F version "$INST/$K1/updates/dkms/mf_vers.ko")"
expect_rc 0 mf uninstall mf-vers/2.0 -k "$K1"
expect_eq "the older original is back" "" "$(cmp "$V1" "$IN_KERNEL" 2>&1)"
e2e_done

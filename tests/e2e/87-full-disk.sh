#!/bin/bash
# 87-full-disk: an install that cannot be completed is undone, whatever stops it, and the
# tree is as it was before ("Nothing was installed: M/V on K (A) is as it was before.",
# exit 6, the error naming the path).
#  (a) the kernel's install tree <installtree>/<k> is a 300 KiB tmpfs and the package
#      mf-big (4 modules of 128 KiB each) does not fit: "No space left on device" part-way;
#      afterwards no module of the package, no temp file, no marker, status "built", the
#      space is free again. Once with nothing to archive, once with a same-named original
#      in the tmpfs, which the install archives first and the undo puts back.
#  (b) the tmpfs remounted read-only: a clean error, nothing changed (without and with an
#      original there).
#  (c) a kernel whose install tree directory does not exist: exit 6, "The directory ...
#      doesn't exist.", nothing created.
#  (d) an original on another filesystem than the dkms tree (here: a roomy tmpfs) is
#      archived and put back as on one filesystem (dkms moves it with mv).
#  (e) (a) with the dkms tree and the install tree on one filesystem (a tmpfs as the whole
#      scratch root, filled up after the build): the original is archived with a rename,
#      then the disk is full part-way; the undo puts it back and leaves nothing behind.
# Runs as root (mounts); takes about 10 s (two builds of mf-big, ~3 s each).
. "$(dirname "$0")/lib.sh"
e2e_init
[ "$(id -u)" = 0 ] || bail "87-full-disk runs as root (it mounts tmpfs)"
if ! modforge_only "undo of a failed install (modforge's journal)"; then
	e2e_done
fi
use_root "$(new_root full)"
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
M=mf-big
V=1.0
KDIR=$INST/$K1
MOUNTED=
ONE_MOUNTED=
# shellcheck disable=SC2064
trap 'for mp in "$MOUNTED" "$ONE_MOUNTED"; do [ -z "$mp" ] || umount "$mp" 2>/dev/null || umount -l "$mp"; done; e2e_cleanup' EXIT

# ---- the package: 4 modules with 128 KiB of data each -----------------------------------
PKG=$E2E_TMP/pkg/mf-big-1.0
mkdir -p "$PKG"
printf 'PACKAGE_NAME="mf-big"\nPACKAGE_VERSION="1.0"\n' >"$PKG/dkms.conf"
OBJS=
for i in 1 2 3 4; do
	n=mf_big_$i
	cat >"$PKG/$n.c" <<C
// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>

/* 120 KiB of data in the module file: a few such modules fill a small filesystem. */
static const unsigned char ${n}_blob[120 * 1024] __used = { [0 ... 120 * 1024 - 1] = 0x5a + $i };

static int __init ${n}_init(void)
{
	return 0;
}

static void __exit ${n}_exit(void)
{
}

module_init(${n}_init);
module_exit(${n}_exit);
MODULE_LICENSE("GPL");
C
	OBJS="$OBJS $n.o"
	printf 'BUILT_MODULE_NAME[%d]="%s"\nDEST_MODULE_LOCATION[%d]="/updates"\n' $((i - 1)) "$n" $((i - 1)) >>"$PKG/dkms.conf"
done
echo "obj-m :=$OBJS" >"$PKG/Kbuild"
expect_rc 0 mf add "$PKG" -k "$K1"
expect_rc 0 mf build "$M/$V" -k "$K1"
RESULT=$DKMS/$M/$V/$K1/$A/module
for i in 1 2 3 4; do
	[ -f "$RESULT/mf_big_$i.ko" ] || bail "the build made no mf_big_$i.ko"
done
SIZE=$(stat -c %s "$RESULT/mf_big_1.ko")
diag "each module is $SIZE bytes"
MARKER=$DKMS/$M/kernel-$K1-$A

# mount_kdir SIZE: <installtree>/<k1> becomes an empty tmpfs of SIZE, with what new_root
# puts there (build -> the headers, empty modules.{dep,order,builtin,builtin.modinfo}).
mount_kdir() {
	mount -t tmpfs -o "size=$1" modforge-e2e-full "$KDIR" || bail "cannot mount a tmpfs on $KDIR"
	MOUNTED=$KDIR
	ln -sfn "/usr/src/linux-headers-$K1" "$KDIR/build"
	local f
	for f in dep order builtin builtin.modinfo; do : >"$KDIR/modules.$f"; done
}
umount_kdir() {
	umount "$KDIR" && MOUNTED=
}
free_kib() { df -k --output=avail "$KDIR" | tail -n1 | tr -d ' '; }

# snapshot: what an install may change (the kernel's tree, the package in the dkms tree,
# outside modforge's own .modforge/): paths, types, sizes, contents.
snapshot() {
	{
		find "$KDIR" "$DKMS/$M" -printf '%p %y %s %l\n' 2>/dev/null
		find "$KDIR" "$DKMS/$M" -type f -exec md5sum {} + 2>/dev/null
	} | sort
}

# no_trace WHAT: after a failed install: nothing of the package in the kernel's tree, no
# temp file, no marker, no archive, status "built".
no_trace() {
	expect_eq "$1: no module of $M in the kernel's tree" "" \
		"$(find "$KDIR" -name 'mf_big_*' ! -path "$ORIG" 2>/dev/null | sed "s|$E2E_TMP/||")"
	expect_eq "$1: no temp file in the scratch root" "" \
		"$(find "$ROOT" -name '*.modforge-tmp.*' 2>/dev/null | sed "s|$E2E_TMP/||")"
	expect_no_file "$MARKER"
	expect_no_file "$DKMS/.modforge/journal"
	expect_no_file "$DKMS/$M/original_module" ||
		diag "BUG: the failed install left $(find "$DKMS/$M/original_module" | sed "s|$E2E_TMP/||" | tr '\n' ' ')(status then says \"(Original modules exist)\")"
	expect_rc 0 mf status
	expect_lines "$E2E_OUT" "$M/$V, $K1, $A: built"
}

# drop_leftovers: what a failed install left in the dkms tree although it said "as it was
# before" (an original_module/ with no marker; that is reported by no_trace) is removed, so
# that the next part starts from a clean tree and its failures are its own.
drop_leftovers() {
	if [ -d "$DKMS/$M/original_module" ] && [ ! -L "$MARKER" ]; then
		diag "removing $(e2e_short "$DKMS/$M/original_module") left by the failed install above"
		rm -rf "$DKMS/$M/original_module"
	fi
}

ORIG=/nonexistent
diag "--- (a) a full disk, nothing to archive"
mount_kdir 300k
FREE0=$(free_kib)
diag "free on the 300 KiB tmpfs: $FREE0 KiB"
snapshot >"$E2E_TMP/snap.before"
expect_rc 6 mf install "$M/$V" -k "$K1"
ERR=$E2E_ERR
cp "$ERR" "$E2E_TMP/a.err"
expect_text "No space left on device" "$E2E_TMP/a.err"
if grep -Eq "^Error! copying $KDIR/updates/dkms/mf_big_[1-4]\.ko failed: No space left on device\$" "$E2E_TMP/a.err"; then
	ok "the error names the module file it could not write"
else
	not_ok "the error names the module file it could not write" "$E2E_TMP/a.err"
fi
expect_line "Nothing was installed: $M/$V on $K1 ($A) is as it was before." "$E2E_TMP/a.err"
no_trace "(a)"
expect_eq "(a) all the space is free again" "$FREE0" "$(free_kib)"
snapshot >"$E2E_TMP/snap.after"
if cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
	ok "(a) the kernel's tree and the package's tree are as before"
else
	not_ok "(a) the kernel's tree and the package's tree are as before"
	diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed "s|$E2E_TMP/||g; s/^/#   /"
fi

diag "--- (a) a full disk, with an original to archive first"
# The original of mf_big_1 (the first module: archived before any copy), recognisable.
ORIG=$KDIR/kernel/drivers/mf/mf_big_1.ko
mkdir -p "$(dirname "$ORIG")"
cp "$RESULT/mf_big_1.ko" "$ORIG"
echo "modforge-e2e-original-mf_big_1-$$" >>"$ORIG"
cp "$ORIG" "$E2E_TMP/orig.ko"
FREE1=$(free_kib)
snapshot >"$E2E_TMP/snap.before"
expect_rc 6 mf install "$M/$V" -k "$K1"
cp "$E2E_ERR" "$E2E_TMP/a2.err"
cp "$E2E_OUT" "$E2E_TMP/a2.out"
expect_line "Found pre-existing $ORIG, archiving for uninstallation" "$E2E_TMP/a2.out"
if grep -q "Invalid cross-device link" "$E2E_TMP/a2.err"; then
	diag "BUG: archiving the original failed with EXDEV (the dkms tree is on another filesystem): see (d)"
fi
expect_text "No space left on device" "$E2E_TMP/a2.err"
expect_line "Nothing was installed: $M/$V on $K1 ($A) is as it was before." "$E2E_TMP/a2.err"
if cmp -s "$ORIG" "$E2E_TMP/orig.ko"; then
	ok "(a) the original is back at its place, byte for byte"
else
	not_ok "(a) the original is back at its place, byte for byte"
fi
no_trace "(a) with an original"
expect_eq "(a) with an original: the space is as before" "$FREE1" "$(free_kib)"
snapshot >"$E2E_TMP/snap.after"
if cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
	ok "(a) with an original: the kernel's tree and the package's tree are as before"
else
	not_ok "(a) with an original: the kernel's tree and the package's tree are as before"
	diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed "s|$E2E_TMP/||g; s/^/#   /"
fi

diag "--- (b) a read-only install tree"
drop_leftovers
# First without an original (moved aside by the test, put back below).
mv "$ORIG" "$E2E_TMP/orig.aside"
ORIG=/nonexistent
mount -o remount,ro "$KDIR" || bail "cannot remount $KDIR read-only"
snapshot >"$E2E_TMP/snap.before"
expect_rc 6 mf install "$M/$V" -k "$K1"
cp "$E2E_ERR" "$E2E_TMP/b.err"
if grep -Eq "^Error! .*$KDIR/.*: Read-only file system\$" "$E2E_TMP/b.err"; then
	ok "(b) the error names a path in the read-only tree and says why"
else
	not_ok "(b) the error names a path in the read-only tree and says why" "$E2E_TMP/b.err"
fi
expect_line "Nothing was installed: $M/$V on $K1 ($A) is as it was before." "$E2E_TMP/b.err"
no_trace "(b)"
snapshot >"$E2E_TMP/snap.after"
if cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
	ok "(b) nothing changed"
else
	not_ok "(b) nothing changed"
	diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed "s|$E2E_TMP/||g; s/^/#   /"
fi
# Then with the original there.
mount -o remount,rw "$KDIR" || bail "cannot remount $KDIR read-write"
ORIG=$KDIR/kernel/drivers/mf/mf_big_1.ko
mv "$E2E_TMP/orig.aside" "$ORIG"
mount -o remount,ro "$KDIR" || bail "cannot remount $KDIR read-only"
drop_leftovers
snapshot >"$E2E_TMP/snap.before"
expect_rc 6 mf install "$M/$V" -k "$K1"
cp "$E2E_ERR" "$E2E_TMP/b2.err"
if grep -Eq "^Error! .*$KDIR/.*: (Read-only file system|Invalid cross-device link)\$" "$E2E_TMP/b2.err"; then
	ok "(b) with an original: the error names a path in the read-only tree and says why"
else
	not_ok "(b) with an original: the error names a path in the read-only tree and says why" "$E2E_TMP/b2.err"
fi
expect_line "Nothing was installed: $M/$V on $K1 ($A) is as it was before." "$E2E_TMP/b2.err"
if cmp -s "$ORIG" "$E2E_TMP/orig.ko"; then
	ok "(b) the original is at its place, byte for byte"
else
	not_ok "(b) the original is at its place, byte for byte"
fi
no_trace "(b) with an original"
snapshot >"$E2E_TMP/snap.after"
if cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
	ok "(b) with an original: nothing changed"
else
	not_ok "(b) with an original: nothing changed"
	diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed "s|$E2E_TMP/||g; s/^/#   /"
fi
umount_kdir

diag "--- (c) no install tree for the kernel"
drop_leftovers
ORIG=/nonexistent
mv "$KDIR" "$E2E_TMP/kdir.aside"
expect_rc 6 mf install "$M/$V" -k "$K1"
expect_line "Error! The directory $KDIR doesn't exist." "$E2E_ERR"
expect_no_file "$KDIR"
expect_no_file "$MARKER"
expect_no_file "$DKMS/.modforge/journal"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "$M/$V, $K1, $A: built"
mv "$E2E_TMP/kdir.aside" "$KDIR"

diag "--- (d) an original on another filesystem than the dkms tree"
drop_leftovers
mount_kdir 20m
ORIG=$KDIR/kernel/drivers/mf/mf_big_1.ko
mkdir -p "$(dirname "$ORIG")"
cp "$E2E_TMP/orig.ko" "$ORIG"
expect_rc 0 mf install "$M/$V" -k "$K1"
if [ "$E2E_RC" != 0 ]; then
	grep -q "Invalid cross-device link" "$E2E_ERR" &&
		diag "BUG: the original in $(e2e_short "$KDIR") (a tmpfs) cannot be archived into $(e2e_short "$DKMS") (another filesystem): rename() gives EXDEV; dkms moves it with mv"
	diag "the rest of (d) is left out: the install failed"
	drop_leftovers
else
	expect_line "Found pre-existing $ORIG, archiving for uninstallation" "$E2E_OUT"
	expect_no_file "$ORIG"
	ARCH_DIR=$DKMS/$M/original_module/$K1/$A
	if cmp -s "$ARCH_DIR/mf_big_1.ko" "$E2E_TMP/orig.ko"; then ok "(d) the original is archived, byte for byte"; else not_ok "(d) the original is archived, byte for byte"; fi
	expect_eq "(d) the .origin file names where it was" "$ORIG" "$(cat "$ARCH_DIR/mf_big_1.ko.origin" 2>/dev/null)"
	for i in 1 2 3 4; do
		if cmp -s "$KDIR/updates/dkms/mf_big_$i.ko" "$RESULT/mf_big_$i.ko"; then ok "(d) mf_big_$i.ko installed"; else not_ok "(d) mf_big_$i.ko installed"; fi
	done
	expect_rc 0 mf status
	expect_lines "$E2E_OUT" "$M/$V, $K1, $A: installed (Original modules exist)"
	expect_rc 0 mf uninstall "$M/$V" -k "$K1"
	if cmp -s "$ORIG" "$E2E_TMP/orig.ko"; then ok "(d) uninstall put the original back, byte for byte"; else not_ok "(d) uninstall put the original back, byte for byte"; fi
	expect_eq "(d) no module of $M left in the kernel's tree" "" \
		"$(find "$KDIR" -name 'mf_big_*' ! -path "$ORIG" | sed "s|$E2E_TMP/||")"
	expect_no_file "$DKMS/$M/original_module"
	expect_rc 0 mf status
	expect_lines "$E2E_OUT" "$M/$V, $K1, $A: built"
fi
umount_kdir

diag "--- (e) one filesystem for the dkms tree and the install tree, full part-way"
# The whole scratch root on one 32 MiB tmpfs: the original is archived with a rename,
# then the disk (filled up to ~300 KiB free after the build) is full part-way.
ONE=$E2E_TMP/one
mkdir -p "$ONE"
mount -t tmpfs -o size=32m,mode=755 modforge-e2e-one "$ONE" || bail "cannot mount a tmpfs on $ONE"
ONE_MOUNTED=$ONE
mkdir -p "$ONE/dkms" "$ONE/src" "$ONE/lib/modules/$K1"
ln -sfn "/usr/src/linux-headers-$K1" "$ONE/lib/modules/$K1/build"
for f in dep order builtin builtin.modinfo; do : >"$ONE/lib/modules/$K1/modules.$f"; done
use_root "$ONE"
KDIR=$INST/$K1
MARKER=$DKMS/$M/kernel-$K1-$A
RESULT=$DKMS/$M/$V/$K1/$A/module
expect_rc 0 mf add "$PKG" -k "$K1"
expect_rc 0 mf build "$M/$V" -k "$K1"
ORIG=$KDIR/kernel/drivers/mf/mf_big_1.ko
mkdir -p "$(dirname "$ORIG")"
cp "$E2E_TMP/orig.ko" "$ORIG"
FILL=$(($(free_kib) - 300))
if [ "$FILL" -gt 0 ]; then
	dd if=/dev/zero of="$ONE/filler" bs=1k count="$FILL" status=none 2>/dev/null
fi
FREE2=$(free_kib)
diag "free on the one filesystem: $FREE2 KiB"
snapshot >"$E2E_TMP/snap.before"
expect_rc 6 mf install "$M/$V" -k "$K1"
cp "$E2E_ERR" "$E2E_TMP/e.err"
cp "$E2E_OUT" "$E2E_TMP/e.out"
expect_line "Found pre-existing $ORIG, archiving for uninstallation" "$E2E_TMP/e.out"
if grep -Eq "^Error! copying $KDIR/updates/dkms/mf_big_[1-4]\.ko failed: No space left on device\$" "$E2E_TMP/e.err"; then
	ok "(e) the error names the module file it could not write, and why"
else
	not_ok "(e) the error names the module file it could not write, and why" "$E2E_TMP/e.err"
fi
expect_line "Nothing was installed: $M/$V on $K1 ($A) is as it was before." "$E2E_TMP/e.err"
if cmp -s "$ORIG" "$E2E_TMP/orig.ko"; then
	ok "(e) the original is back at its place, byte for byte"
else
	not_ok "(e) the original is back at its place, byte for byte"
fi
no_trace "(e)"
expect_eq "(e) the space is as before" "$FREE2" "$(free_kib)"
snapshot >"$E2E_TMP/snap.after"
if cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
	ok "(e) the kernel's tree and the package's tree are as before"
else
	not_ok "(e) the kernel's tree and the package's tree are as before"
	diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed "s|$E2E_TMP/||g; s/^/#   /"
fi
umount "$ONE" && ONE_MOUNTED=
e2e_done

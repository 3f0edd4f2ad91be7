#!/bin/bash
# 12-originals: a same-named module already in the kernel's tree is archived on the first
# install (original_module/<k>/<a>/ with a .origin file), status says "(Original modules
# exist)", and uninstall puts the very same bytes back (reference §5.6, dkms 3.4.3).
. "$(dirname "$0")/lib.sh"
e2e_init
use_root "$(new_root originals)"
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "archiving originals (Debian's dkms 3.0.10 never archives on Debian)"; then
	e2e_done
fi

expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1"

# The "original": a real module file of the same name and version built from other
# sources (another srcversion, which the version sanity check accepts), marked so its
# bytes differ from ours.
ORIG=$INST/$K1/kernel/drivers/misc/mf_hello.ko
mkdir -p "$(dirname "$ORIG")"
perl -0777 -pe 's/(srcversion=)([0-9A-F]+)/$1 . ("0" x length($2))/e' \
	"$DKMS/mf-hello/1.0/$K1/$A/module/mf_hello.ko" >"$ORIG"
printf 'original-bytes' >>"$ORIG"
case $(modinfo -F srcversion "$ORIG") in
000*) ok "the original has another srcversion" ;;
*) not_ok "the original has another srcversion ($(modinfo -F srcversion "$ORIG"))" ;;
esac
cp "$ORIG" "$E2E_TMP/orig.copy"

expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_line "Found pre-existing $ORIG, archiving for uninstallation" "$E2E_OUT"
expect_no_file "$ORIG"
ARCH_DIR=$DKMS/mf-hello/original_module/$K1/$A
expect_file "$ARCH_DIR/mf_hello.ko"
expect_eq "the .origin file names where the original was" "$ORIG" "$(cat "$ARCH_DIR/mf_hello.ko.origin" 2>/dev/null)"
expect_file "$INST/$K1/updates/dkms/mf_hello.ko"

expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: installed (Original modules exist)"

expect_rc 0 mf uninstall mf-hello/1.0 -k "$K1"
expect_line "Restoring archived original module $ORIG" "$E2E_OUT"
# As dkms: an archive emptied by the restore goes without a word.
expect_no_line "Removing original module(s) from DKMS tree for kernel $K1 ($A)" "$E2E_OUT"
if cmp -s "$ORIG" "$E2E_TMP/orig.copy"; then
	ok "the original is back, byte for byte"
else
	not_ok "the original is back, byte for byte"
fi
expect_no_file "$INST/$K1/updates/dkms/mf_hello.ko"
expect_no_file "$DKMS/mf-hello/original_module"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: built"

# A second install archives again; remove --all restores it again.
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_no_file "$ORIG"
expect_rc 0 mf remove mf-hello/1.0 --all
if cmp -s "$ORIG" "$E2E_TMP/orig.copy"; then
	ok "remove --all restores the original too"
else
	not_ok "remove --all restores the original too"
fi
expect_no_file "$DKMS/mf-hello"

# An archive that still holds something after the restore (here a stray file) is
# removed with dkms's line.
expect_rc 0 mf install "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
expect_file "$ARCH_DIR/mf_hello.ko"
echo stray >"$ARCH_DIR/stray"
expect_rc 0 mf uninstall mf-hello/1.0 -k "$K1"
expect_line "Restoring archived original module $ORIG" "$E2E_OUT"
expect_line "Removing original module(s) from DKMS tree for kernel $K1 ($A)" "$E2E_OUT"
expect_no_file "$DKMS/mf-hello/original_module"
e2e_done

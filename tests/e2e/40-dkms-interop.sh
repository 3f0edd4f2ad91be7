#!/bin/bash
# 40-dkms-interop: the on-disk tree is shared with dkms (DESIGN.md contract 2).
#  A. A tree made by the tool under test: Debian's dkms 3.0.10 `status` on it prints the
#     same lines as the tool, and Debian's dkms can uninstall what the tool installed.
#  B. A tree made by Debian's dkms: the tool's `status` prints the same lines as Debian's
#     dkms, and the tool can uninstall and remove what Debian's dkms installed, after which
#     Debian's dkms agrees about the state.
. "$(dirname "$0")/lib.sh"
e2e_init
require_refdkms
A=$E2E_ARCH
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
HELLO_SRC=$MODFORGE_SRC/examples/mf-hello-1.0
CONS_SRC=$MODFORGE_SRC/examples/mf-consumer-1.0
# mf-consumer needs mf-hello's Module.symvers in the result dir, which 3.0.10 does not keep.
if e2e_is_reference; then CONSUMER_BUILDS=0; else CONSUMER_BUILDS=1; fi

# same_status DESC: `mf status` and `ref status` on the same tree print the same lines.
same_status() {
	run_cmd mf status
	cp "$E2E_OUT" "$E2E_TMP/mf.status"
	run_cmd ref status
	cp "$E2E_OUT" "$E2E_TMP/ref.status"
	if cmp -s "$E2E_TMP/mf.status" "$E2E_TMP/ref.status"; then
		ok "$1: same status lines ($(wc -l <"$E2E_TMP/ref.status"))"
	else
		not_ok "$1: same status lines"
		diff -u --label "Debian's dkms" --label "$(basename "$MODFORGE")" \
			"$E2E_TMP/ref.status" "$E2E_TMP/mf.status" | sed 's/^/#   /'
	fi
}

diag "=== A: a tree made by $(basename "$MODFORGE"), read by Debian's dkms"
TA=$(new_root tree-a)
use_root "$TA"
use_ref_root "$TA"
expect_rc 0 mf add "$HELLO_SRC" -k "$K1"
expect_rc 0 mf add "$CONS_SRC" -k "$K1"
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K2"
WANT_A=()
if [ "$CONSUMER_BUILDS" = 1 ]; then
	expect_rc 0 mf install mf-consumer/1.0 -k "$K1"
	WANT_A+=("mf-consumer/1.0, $K1, $A: installed")
else
	WANT_A+=("mf-consumer/1.0: added")
fi
WANT_A+=("mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: built")
expect_rc 0 mf status
expect_lines "$E2E_OUT" "${WANT_A[@]}"
same_status "tree A"

expect_rc 0 ref uninstall mf-hello/1.0 -k "$K1"
expect_no_file "$INST/$K1/updates/dkms/mf_hello.ko"
expect_no_file "$INST/$K1/updates/dkms/mf_greet.ko"
expect_no_file "$DKMS/mf-hello/kernel-$K1-$A"
expect_rc 0 mf status -m mf-hello
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: built" "mf-hello/1.0, $K2, $A: built"
same_status "tree A after Debian's dkms uninstalled mf-hello"
if [ "$CONSUMER_BUILDS" = 1 ]; then
	expect_rc 0 ref remove mf-consumer/1.0 --all
	expect_no_file "$INST/$K1/updates/dkms/mf_consumer.ko"
	expect_no_file "$DKMS/mf-consumer"
	same_status "tree A after Debian's dkms removed mf-consumer"
fi

diag "=== B: a tree made by Debian's dkms, read and changed by $(basename "$MODFORGE")"
TB=$(new_root tree-b)
use_root "$TB"
use_ref_root "$TB"
expect_rc 0 ref add "$HELLO_SRC" -k "$K1"
expect_rc 0 ref add "$CONS_SRC" -k "$K1"
expect_rc 0 ref install mf-hello/1.0 -k "$K1"
expect_rc 0 ref install mf-hello/1.0 -k "$K2"
expect_rc 0 ref uninstall mf-hello/1.0 -k "$K2"
expect_file "$INST/$K1/updates/dkms/mf_hello.ko"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-consumer/1.0: added" \
	"mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: built"
same_status "tree B"
if modforge_only "status --json of a tree made by Debian's dkms"; then
	expect_rc 0 mf status --json
	status_json_check "$E2E_OUT" "mf-consumer/1.0: added" \
		"mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: built"
fi

expect_rc 0 mf uninstall mf-hello/1.0 -k "$K1"
expect_no_file "$INST/$K1/updates/dkms/mf_hello.ko"
expect_no_file "$INST/$K1/updates/dkms/mf_greet.ko"
expect_no_file "$DKMS/mf-hello/kernel-$K1-$A"
expect_file "$DKMS/mf-hello/1.0/$K1/$A/module/mf_hello.ko"
same_status "tree B after $(basename "$MODFORGE") uninstalled mf-hello"

expect_rc 0 mf install mf-hello/1.0 -k "$K2"
expect_vermagic "$INST/$K2/updates/dkms/mf_hello.ko" "$K2"
same_status "tree B after $(basename "$MODFORGE") installed a module Debian's dkms built"

expect_rc 0 mf remove mf-hello/1.0 --all
expect_no_file "$DKMS/mf-hello"
expect_no_file "$INST/$K2/updates/dkms/mf_hello.ko"
expect_rc 0 mf remove mf-consumer/1.0 --all
expect_no_file "$DKMS/mf-consumer"
expect_rc 0 ref status
expect_lines "$E2E_OUT"
expect_eq "nothing left in the scratch install trees" "" \
	"$(find "$TA/lib/modules" "$TB/lib/modules" -name '*.ko*' | sed "s|^$E2E_TMP/||")"
e2e_done

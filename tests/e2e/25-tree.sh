#!/bin/bash
# 25-tree: the dkms tree as dkms leaves it (issue 12, item 4), side by side with Debian's
# dkms 3.0.10 on a twin scratch root: after add, build, install, a failed build, unbuild
# and remove, the same files and directories (modforge's own state lives in .modforge/:
# left out of the comparison, as are the MOK pair refdkms never makes and depmod's files
# refdkms never writes). The kernel's .config is kept in the result's log/; no empty
# build/, no lock files. Where 3.4.3 differs from 3.0.10 (module/Module.symvers), 3.4.3 wins.
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if e2e_is_reference; then
	skip "the tree as dkms leaves it" "compares modforge with the reference itself"
	e2e_done
fi
require_refdkms
use_root "$(new_root mf)"
use_ref_root "$(new_root ref)"

# tree_of ROOT: the dkms tree's paths, as the comparison sees them. (What a failed build
# leaves in build/ besides make.log is how far a parallel make got: timing, not layout.)
tree_of() {
	(cd "$1/dkms" && find . -mindepth 1 \( -name .modforge -prune \) -o -print) |
		grep -v -e '^\./mok\.\(key\|pub\)$' -e '/module/Module\.symvers$' |
		awk '!/\/build\// || /\/build\/make\.log$/' | sort
}

# same_tree WHEN: both trees hold the same paths.
same_tree() {
	tree_of "$ROOT" >"$E2E_TMP/mf.tree"
	tree_of "$REF_ROOT" >"$E2E_TMP/ref.tree"
	if cmp -s "$E2E_TMP/ref.tree" "$E2E_TMP/mf.tree"; then
		ok "the tree as dkms leaves it $1"
	else
		not_ok "the tree as dkms leaves it $1"
		diff -u "$E2E_TMP/ref.tree" "$E2E_TMP/mf.tree" | sed 's/^/#   /'
	fi
}

# both ARGS...: the same command on both roots, with the same exit status.
both() {
	run_cmd ref "$@"
	local want=$E2E_RC
	expect_rc "$want" mf "$@"
}

both add "$MODFORGE_SRC/examples/mf-hello-1.0"
same_tree "after add"
both build mf-hello/1.0 -k "$K1"
same_tree "after build"
expect_file "$DKMS/mf-hello/1.0/$K1/$A/log/.config"
expect_eq "the kept .config is the kernel's" "" "$(cmp "/usr/src/linux-headers-$K1/.config" "$DKMS/mf-hello/1.0/$K1/$A/log/.config" 2>&1)"
both install mf-hello/1.0 -k "$K1"
same_tree "after install"
both unbuild mf-hello/1.0 -k "$K1"
same_tree "after unbuild"

# A build that fails: dkms leaves its build/ (with make.log) for a person to look at.
BAD=$E2E_TMP/bad/mf-bad-1.0
mkdir -p "$BAD"
cp "$MODFORGE_SRC"/examples/mf-hello-1.0/{Makefile,mf_hello.c,mf_hello.h,mf_greet.c} "$BAD/"
echo '#error "mf-bad: does not compile on purpose"' >>"$BAD/mf_hello.c"
sed -e 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-bad"/' "$MODFORGE_SRC/examples/mf-hello-1.0/dkms.conf" >"$BAD/dkms.conf"
both add "$BAD"
both build mf-bad/1.0 -k "$K1"
same_tree "after a failed build"
expect_file "$DKMS/mf-bad/1.0/build/make.log"

both remove mf-hello/1.0 --all
both remove mf-bad/1.0 --all
same_tree "after remove"
e2e_done

#!/bin/bash
# 24-match: match --templatekernel T -k K (dkms 3.4.3's run_match): what is installed on T
# is built and installed on K, with dkms's text (the per-module "Module:/Version:" header,
# then the build and install as `install` says them); its errors and exit codes (1 no
# template, 2 same kernel, 3 unknown module, 4 several kernels, 21 no headers for K);
# nothing to do when T has nothing installed. (Debian's 3.0.10 reads the old status
# format here, so the reference is 3.4.3's text, written out below.)
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
A=$E2E_ARCH
if ! modforge_only "match (3.0.10 cannot parse its own 3.x status lines here)"; then
	e2e_done
fi
use_root "$(new_root match)"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
expect_rc 0 mf install mf-hello/1.0 -k "$K1"

# The errors, in dkms's order and words.
expect_rc 1 mf match -k "$K2"
expect_lines "$E2E_ERR" "" "Error! Invalid number of parameters passed." \
	"Usage: match --templatekernel=<kernel-version> -k <kernel-version>" \
	"   or: match --templatekernel=<kernel-version> -k <kernel-version> <module>"
expect_rc 2 mf match --templatekernel="$K1" -k "$K1"
expect_lines "$E2E_ERR" "" "Error! The templatekernel and the specified kernel version are the same."
expect_rc 4 mf match --templatekernel="$K1" -k "$K2" -k "$K1"
expect_text "does not support multiple kernel version parameters" "$E2E_ERR"
expect_rc 3 mf match --templatekernel="$K1" -k "$K2" -m no-such-module
expect_lines "$E2E_ERR" "" "Error! The module: no-such-module is not located in the DKMS tree."

# A template with nothing installed: nothing to do, nothing changes.
expect_rc 0 mf match --templatekernel=no-such-kernel -k "$K2"
expect_lines "$E2E_OUT" "" "Matching modules in kernel: $K2 ($A)" "to the configuration of kernel: no-such-kernel ($A)" \
	"" "There is nothing to be done for this match."
expect_no_file "$DKMS/mf-hello/1.0/$K2"

# A kernel without headers, with work to do: dkms's error 21, nothing built.
mkdir -p "$INST/9.9.9-noheaders"
expect_rc 21 mf match --templatekernel="$K1" -k 9.9.9-noheaders
expect_text "Your kernel headers for kernel 9.9.9-noheaders cannot be found" "$E2E_ERR"
expect_no_file "$DKMS/mf-hello/1.0/9.9.9-noheaders"

# The match itself: K2 gets what K1 has, as `install` would put it there.
expect_rc 0 mf match --templatekernel="$K1" -k "$K2"
expect_lines "$E2E_OUT" "" "Matching modules in kernel: $K2 ($A)" "to the configuration of kernel: $K1 ($A)" \
	"Module:  mf-hello" "Version: 1.0" \
	"Sign command: built in (modforge, libcrypto)" "Signing key: $DKMS/mok.key" \
	"Public certificate (MOK): $DKMS/mok.pub" "" \
	"Building module(s)... done." \
	"Signing module $DKMS/mf-hello/1.0/build/mf_hello.ko" \
	"Signing module $DKMS/mf-hello/1.0/build/mf_greet.ko" \
	"Installing $INST/$K2/updates/dkms/mf_hello.ko" \
	"Installing $INST/$K2/updates/dkms/mf_greet.ko" \
	"Running depmod... done."
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed"
expect_vermagic "$INST/$K2/updates/dkms/mf_hello.ko" "$K2"

# One module that fails to build on K2, one whose dkms.conf went bad, one broken (its
# source is gone): the others are still matched, and K2's depmod still runs.
FIRST_ROOT=$ROOT
use_root "$(new_root match2)"
mkpkg() { # mkpkg NAME: a package of one module, NAME with '_' for '-'
	local d=$SRC/$1-1.0 mod=${1//-/_}
	mkdir -p "$d"
	printf '%s\n' '#include <linux/module.h>' "static int __init ${mod}_init(void) { return 0; }" \
		"static void __exit ${mod}_exit(void) { }" "module_init(${mod}_init);" "module_exit(${mod}_exit);" \
		'MODULE_LICENSE("GPL");' >"$d/$mod.c"
	echo "obj-m := $mod.o" >"$d/Kbuild"
	printf '%s\n' "PACKAGE_NAME=\"$1\"" 'PACKAGE_VERSION="1.0"' "BUILT_MODULE_NAME[0]=\"$mod\"" \
		'DEST_MODULE_LOCATION[0]="/updates"' >"$d/dkms.conf"
}
mkpkg mf-a
mkpkg mf-fails
mkpkg mf-badconf
mkpkg mf-broken
for m in mf-a mf-fails mf-badconf mf-broken; do
	expect_rc 0 mf install "$m/1.0" -k "$K1"
done
echo '#error "mf-fails: not on the second kernel"' >>"$SRC/mf-fails-1.0/mf_fails.c"
echo 'PACKAGE_VERSION=' >>"$SRC/mf-badconf-1.0/dkms.conf"
rm -rf "$SRC/mf-broken-1.0"
run_cmd mf match --templatekernel="$K1" -k "$K2"
expect_eq "a match with failures exits non-zero" 1 "$([ "$E2E_RC" -ne 0 ] && echo 1)"
expect_text "Error! mf-broken/1.0: Missing the module source directory or the symbolic link pointing to it." "$E2E_ERR"
expect_line "Module:  mf-badconf" "$E2E_OUT"
expect_no_line "Module:  mf-broken" "$E2E_OUT"
expect_file "$INST/$K2/updates/dkms/mf_a.ko"
expect_no_file "$DKMS/mf-fails/1.0/$K2/$A"
if grep -q "updates/dkms/mf_a.ko" "$INST/$K2/modules.dep"; then
	ok "K2's depmod ran although one module failed"
else
	not_ok "K2's depmod ran although one module failed" "$E2E_OUT"
fi
expect_rc 0 mf status -m mf-a -k "$K2"
expect_lines "$E2E_OUT" "mf-a/1.0, $K2, $A: installed"
use_root "$FIRST_ROOT"

# Again: both steps say they are done already (as dkms's maybe_build/maybe_install).
expect_rc 0 mf match --templatekernel="$K1" -k "$K2" mf-hello
expect_lines "$E2E_OUT" "" "Matching modules in kernel: $K2 ($A)" "to the configuration of kernel: $K1 ($A)" \
	"Module:  mf-hello" "Version: 1.0" \
	"Module mf-hello/1.0 already built for kernel $K2 ($A), skip. You may override by specifying --force." \
	"Module mf-hello/1.0 already installed on kernel $K2 ($A), skip. You may override by specifying --force."
e2e_done

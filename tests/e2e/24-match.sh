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

# Again: both steps say they are done already (as dkms's maybe_build/maybe_install).
expect_rc 0 mf match --templatekernel="$K1" -k "$K2" mf-hello
expect_lines "$E2E_OUT" "" "Matching modules in kernel: $K2 ($A)" "to the configuration of kernel: $K1 ($A)" \
	"Module:  mf-hello" "Version: 1.0" \
	"Module mf-hello/1.0 already built for kernel $K2 ($A), skip. You may override by specifying --force." \
	"Module mf-hello/1.0 already installed on kernel $K2 ($A), skip. You may override by specifying --force."
e2e_done

#!/bin/bash
# 17-plan-run: what a plan decided, as it runs. The MOK key pair is made by one keygen job
# before the first build that signs, and only when a build will run: not when every build
# needing it is skipped (autoinstall, a missing dependency), nor when the add before it
# fails. A key that cannot be made is said by every build, where dkms says it, and the
# modules go unsigned. remove's leftover .tmp_* dirs go even when a job of it fails (the
# version then stays). add DIR --force of an added module copies DIR first, as dkms does,
# then fails with 3.
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
A=$E2E_ARCH
if ! modforge_only "the keygen job and the plan's run-time side"; then
	e2e_done
fi

diag "--- no build will run: no key is made"
use_root "$(new_root nokey)"
expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-consumer-1.0" -k "$K1"
# mf-hello is not registered with DKMS: deferred, not failed (dkms 3.4.1+), exit 0
expect_rc 0 mf autoinstall -k "$K1"
expect_line "mf-consumer/1.0 autoinstall deferred: BUILD_DEPENDS not registered with DKMS: mf-hello." "$E2E_OUT"
expect_line "Autoinstall on $K1 deferred module(s) mf-consumer/1.0 due to BUILD_DEPENDS not yet registered with DKMS." "$E2E_OUT"
expect_no_file "$DKMS/mok.key"
expect_no_file "$DKMS/mok.pub"
# The add before the builds fails (the source tree's place is taken by a file): no key.
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$E2E_TMP/mf-hello-1.0"
: >"$SRC/mf-hello-1.0"
expect_rc 9 mf install "$E2E_TMP/mf-hello-1.0" -k "$K1" -k "$K2"
expect_no_file "$DKMS/mok.key"
rm -f "$SRC/mf-hello-1.0"

diag "--- the key is made once, before the first build, said by that build"
expect_rc 0 mf build "$E2E_TMP/mf-hello-1.0" -k "$K1" -k "$K2" -j 1
expect_file "$DKMS/mok.key"
n=$(grep -c "^Certificate or key are missing, generating self signed certificate for MOK...$" "$E2E_OUT")
expect_eq "one 'generating' line for two builds" 1 "$n"
first_build=$(grep -n "^Building module(s)" "$E2E_OUT" | head -n1 | cut -d: -f1)
gen=$(grep -n "^Certificate or key are missing" "$E2E_OUT" | cut -d: -f1)
if [ -n "$gen" ] && [ -n "$first_build" ] && [ "$gen" -lt "$first_build" ]; then
	ok "the 'generating' line is in the first build's prologue"
else
	not_ok "the 'generating' line is in the first build's prologue" "$E2E_OUT"
fi
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-consumer/1.0: added" "mf-hello/1.0, $K1, $A: built" "mf-hello/1.0, $K2, $A: built"

diag "--- a key that cannot be made: every build says so, the modules go unsigned"
use_root "$(new_root badkey)"
printf 'mok_signing_key=%s\nmok_certificate=%s\n' "$E2E_TMP/no/such/dir/mok.key" "$E2E_TMP/no/such/dir/mok.pub" \
	>"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf build "$E2E_TMP/mf-hello-1.0" -k "$K1" -k "$K2" -j 1
n=$(grep -c "^Certificate or key are missing, generating self signed certificate for MOK...$" "$E2E_OUT")
expect_eq "each build says it tried to make the key" 2 "$n"
n=$(grep -c "^Warning: " "$E2E_ERR")
expect_eq "each build says why it could not" 2 "$n"
expect_no_line "Signing module $DKMS/mf-hello/1.0/build/mf_hello.ko" "$E2E_OUT"
if grep -q "Module signature appended" "$DKMS/mf-hello/1.0/$K1/$A/module/mf_hello.ko"; then
	not_ok "the module is unsigned"
else
	ok "the module is unsigned"
fi
rm -f "$MODFORGE_ETC_DKMS/framework.conf"

diag "--- remove: leftover .tmp_* dirs go even when a job fails"
use_root "$(new_root rmtmp)"
expect_rc 0 mf add "$E2E_TMP/mf-hello-1.0"
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
mkdir -p "$DKMS/mf-hello/1.0/$K1/.tmp_${A}_stale" "$DKMS/mf-hello/1.0/6.9.9/.tmp_${A}_old"
FAKE=$E2E_TMP/fakebin
mkdir -p "$FAKE"
printf '#!/bin/sh\nexit 1\n' >"$FAKE/depmod"
chmod +x "$FAKE/depmod"
PATH="$FAKE:$PATH" expect_rc 6 mf remove mf-hello/1.0 --all
expect_no_file "$DKMS/mf-hello/1.0/$K1/.tmp_${A}_stale"
expect_no_file "$DKMS/mf-hello/1.0/6.9.9"
expect_dir "$DKMS/mf-hello/1.0"
expect_no_line "Deleting module mf-hello/1.0 completely from the DKMS tree." "$E2E_OUT"

diag "--- add DIR --force of an added module: DIR is copied first, then 3"
echo "refreshed" >"$E2E_TMP/mf-hello-1.0/REFRESHED"
expect_rc 3 mf add "$E2E_TMP/mf-hello-1.0" --force
expect_line "Forcing install of mf-hello/1.0" "$E2E_OUT"
expect_text "DKMS tree already contains: mf-hello/1.0" "$E2E_ERR"
expect_file "$SRC/mf-hello-1.0/REFRESHED"

diag "--- autoinstall's signing prologue: once per kernel, first, with the key's fate"
# mk_pkg NAME [DKMS.CONF LINE...]: a copy of mf-hello named NAME in $SRC, added.
mk_pkg() {
	local name=$1
	shift
	cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/$name-1.0"
	sed -i "s/^PACKAGE_NAME=.*/PACKAGE_NAME=\"$name\"/" "$SRC/$name-1.0/dkms.conf"
	printf 'DEST_MODULE_NAME[0]="%s_a"\nDEST_MODULE_NAME[1]="%s_b"\n' "${name//-/_}" "${name//-/_}" >>"$SRC/$name-1.0/dkms.conf"
	printf '%s\n' "$@" >>"$SRC/$name-1.0/dkms.conf"
	mf add "$name/1.0" >/dev/null
}
use_root "$(new_root prologue)"
mk_pkg aaa 'BUILD_EXCLUSIVE_KERNEL="^nomatch"'   # the first candidate, and excluded
mk_pkg bbb
expect_rc 0 mf autoinstall -k "$K1" -j 1
expect_eq "one 'generating' line" 1 "$(grep -c '^Certificate or key are missing, generating self signed certificate for MOK...$' "$E2E_OUT")"
gen=$(grep -n -m1 '^Certificate or key' "$E2E_OUT" | cut -d: -f1)
first=$(grep -n -m1 '^Autoinstall of module' "$E2E_OUT" | cut -d: -f1)
if [ -n "$gen" ] && [ -n "$first" ] && [ "$gen" -lt "$first" ]; then ok "the prologue comes before the first module"; else not_ok "the prologue comes before the first module" "$E2E_OUT"; fi
expect_eq "one prologue" 1 "$(grep -c '^Sign command:' "$E2E_OUT")"
expect_line "Signing module $DKMS/bbb/1.0/build/mf_hello.ko" "$E2E_OUT"
use_root "$(new_root nokey2)"
mk_pkg aaa 'BUILD_EXCLUSIVE_KERNEL="^nomatch"'
mk_pkg bbb
echo 'mok_signing_key=/proc/no-such-dir/mok.key' >"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf autoinstall -k "$K1" -j 1
expect_line "Key file /proc/no-such-dir/mok.key not found and can't be generated, modules won't be signed" "$E2E_OUT"
expect_no_line "Signing module $DKMS/bbb/1.0/build/mf_hello.ko" "$E2E_OUT"
rm -f "$MODFORGE_ETC_DKMS/framework.conf"

diag "--- a dependency excluded by BUILD_EXCLUSIVE is no missing one"
use_root "$(new_root deferred)"
mk_pkg eee 'BUILD_EXCLUSIVE_KERNEL="^nomatch"'
mk_pkg ddd 'BUILD_DEPENDS[0]="eee"' 'BUILD_DEPENDS[1]="uuu"'
expect_rc 0 mf autoinstall -k "$K1"
expect_line "ddd/1.0 autoinstall deferred: BUILD_DEPENDS not registered with DKMS: uuu." "$E2E_OUT"

diag "--- add DIR --dry-run with a bad dkms.conf copies nothing"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$E2E_TMP/badconf-1.0"
sed -i -e 's/^PACKAGE_NAME=.*/PACKAGE_NAME="badconf"/' -e 's/^BUILT_MODULE_NAME\[1\]=.*/BUILT_MODULE_NAME[1]="mf_hello"/' \
	"$E2E_TMP/badconf-1.0/dkms.conf"
expect_rc 8 mf add "$E2E_TMP/badconf-1.0" --dry-run
expect_no_file "$SRC/badconf-1.0"
expect_rc 8 mf add "$E2E_TMP/badconf-1.0"
expect_dir "$SRC/badconf-1.0"   # as dkms: copied, then refused
e2e_done

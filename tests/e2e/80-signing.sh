#!/bin/bash
# 80-signing: modforge signs built modules itself (libcrypto) on the privileged side, with
# the hash of the kernel's CONFIG_MODULE_SIG_HASH, byte for byte as the kernel's
# scripts/sign-file does; generates mok.key (0600) / mok.pub (DER) when missing; honours
# mok_signing_key, mok_certificate and sign_file from framework.conf; does not sign for a
# kernel without module signing; reads framework.conf's signing settings per kernel, as
# dkms does before each build ($kernelver in a key's path: a pair per kernel).
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "modforge's built-in signer"; then
	e2e_done
fi
SIGNFILE=$(ls /usr/lib/linux-kbuild-*/scripts/sign-file 2>/dev/null | sort -V | tail -n1)
[ -x "$SIGNFILE" ] || bail "no Debian sign-file (package linux-kbuild-6.1, installed with the headers)"

# unsigned_of SIGNED OUT: the module bytes without signature, trailer and magic.
unsigned_of() {
	"$E2E_PY" - "$1" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
magic = b"~Module signature appended~\n"
assert b.endswith(magic), "not signed"
sig_len = struct.unpack(">I", b[-len(magic) - 4:-len(magic)])[0]
open(sys.argv[2], "wb").write(b[:len(b) - len(magic) - 12 - sig_len])
PY
}
# same_as_sign_file SIGNED HASH KEY CERT: our bytes equal sign-file's on the same input.
same_as_sign_file() {
	local plain=$E2E_TMP/plain.ko theirs=$E2E_TMP/theirs.ko
	unsigned_of "$1" "$plain" && cp "$plain" "$theirs" && "$SIGNFILE" "$2" "$3" "$4" "$theirs" &&
		cmp -s "$1" "$theirs"
}

use_root "$(new_root sign)"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
expect_rc 0 mf add mf-hello/1.0
expect_rc 0 mf build mf-hello/1.0 -k "$K1"
expect_line "Sign command: built in (modforge, libcrypto)" "$E2E_OUT"
expect_line "Signing key: $DKMS/mok.key" "$E2E_OUT"
expect_line "Public certificate (MOK): $DKMS/mok.pub" "$E2E_OUT"
expect_line "Certificate or key are missing, generating self signed certificate for MOK..." "$E2E_OUT"
expect_line "Signing module $DKMS/mf-hello/1.0/build/mf_hello.ko" "$E2E_OUT"
expect_eq "mok.key is mode 600" 600 "$(stat -c %a "$DKMS/mok.key")"
if openssl x509 -inform DER -in "$DKMS/mok.pub" -noout -subject 2>/dev/null | grep -q "DKMS module signing key"; then
	ok "mok.pub is a DER certificate for CN=DKMS module signing key"
else
	not_ok "mok.pub is a DER certificate for CN=DKMS module signing key"
fi
M1=$DKMS/mf-hello/1.0/$K1/$A/module/mf_hello.ko
expect_eq "signer of mf_hello.ko" "DKMS module signing key" "$(modinfo -F signer "$M1")"
expect_eq "hash of mf_hello.ko (the kernel's CONFIG_MODULE_SIG_HASH)" sha256 "$(modinfo -F sig_hashalgo "$M1")"
if same_as_sign_file "$M1" sha256 "$DKMS/mok.key" "$DKMS/mok.pub"; then
	ok "sha256: byte for byte what $SIGNFILE writes"
else
	not_ok "sha256: byte for byte what $SIGNFILE writes"
fi
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_eq "the installed module is the signed one" "" "$(cmp "$M1" "$INST/$K1/updates/dkms/mf_hello.ko" 2>&1)"

# sha512, forced with a kernel config (--config), and the same key: no new key made.
sed 's/^CONFIG_MODULE_SIG_HASH=.*/CONFIG_MODULE_SIG_HASH="sha512"/' "/usr/src/linux-headers-$K1/.config" >"$E2E_TMP/config-sha512"
key_before=$(md5sum <"$DKMS/mok.key")
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --config "$E2E_TMP/config-sha512"
expect_no_line "Certificate or key are missing, generating self signed certificate for MOK..." "$E2E_OUT"
expect_eq "the key was kept" "$key_before" "$(md5sum <"$DKMS/mok.key")"
expect_eq "hash with a sha512 kernel config" sha512 "$(modinfo -F sig_hashalgo "$M1")"
if same_as_sign_file "$M1" sha512 "$DKMS/mok.key" "$DKMS/mok.pub"; then
	ok "sha512: byte for byte what $SIGNFILE writes"
else
	not_ok "sha512: byte for byte what $SIGNFILE writes"
fi

# No CONFIG_MODULE_SIG_HASH: not signed.
grep -v '^CONFIG_MODULE_SIG' "/usr/src/linux-headers-$K1/.config" >"$E2E_TMP/config-nosig"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --config "$E2E_TMP/config-nosig"
expect_line "The kernel is built without module signing facility, modules won't be signed" "$E2E_OUT"
expect_eq "no signature without CONFIG_MODULE_SIG_HASH" "" "$(modinfo -F signer "$M1")"

# A --config that cannot be read is an error, and nothing is built (dkms builds unsigned).
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 1 mf build mf-hello/1.0 -k "$K1" --config "$E2E_TMP/no-such-config"
expect_line "Error! Cannot read the kernel configuration $E2E_TMP/no-such-config (--config): No such file or directory" "$E2E_ERR"
expect_no_file "$DKMS/mf-hello/1.0/$K1/$E2E_ARCH"
# A kernel whose build tree has no configuration: dkms's words before the build (which
# kbuild then refuses).
FARM=$E2E_TMP/headers-noconfig
cp -as "$(readlink -f "$INST/$K1/build")" "$FARM"
rm -f "$FARM/.config" "$FARM/include/config/auto.conf"
expect_rc 10 mf build mf-hello/1.0 -k "$K1" --kernelsourcedir "$FARM"
expect_line "Kernel config $FARM/.config not found, modules won't be signed" "$E2E_OUT"

# Key, certificate and an external sign_file from framework.conf (keys made by generate_mok).
KD=$E2E_TMP/keys
mkdir -p "$KD"
cat >"$MODFORGE_ETC_DKMS/framework.conf" <<CONF
mok_signing_key=$KD/signing.key
mok_certificate=$KD/signing.der
CONF
expect_rc 0 mf generate_mok
expect_eq "generate_mok: key mode 600" 600 "$(stat -c %a "$KD/signing.key" 2>&1)"
expect_file "$KD/signing.der"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --no-cache
expect_line "Signing key: $KD/signing.key" "$E2E_OUT"
cp "$M1" "$E2E_TMP/native.ko"
if same_as_sign_file "$M1" sha256 "$KD/signing.key" "$KD/signing.der"; then
	ok "framework.conf's key pair is used"
else
	not_ok "framework.conf's key pair is used"
fi
echo "sign_file=$SIGNFILE" >>"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1"
expect_line "Sign command: $SIGNFILE" "$E2E_OUT"
expect_eq "external sign_file and the built-in signer write the same bytes" "" "$(cmp "$E2E_TMP/native.ko" "$M1" 2>&1)"
# A pkcs11: key goes to the kernel's sign-file (Debian: linux-kbuild's); without a token
# the signing fails, which is a warning, as in dkms.
echo 'mok_signing_key="pkcs11:token=none;object=none"' >"$MODFORGE_ETC_DKMS/framework.conf"
echo "mok_certificate=$KD/signing.der" >>"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1"
expect_line "Sign command: /usr/lib/linux-kbuild-${K1%.*}/scripts/sign-file" "$E2E_OUT"
expect_line "Signing key: pkcs11:token=none;object=none" "$E2E_OUT"
expect_no_line "Certificate or key are missing, generating self signed certificate for MOK..." "$E2E_OUT"
expect_text "Warning: Failed to sign module '$DKMS/mf-hello/1.0/build/mf_hello.ko'!" "$E2E_ERR"
# The environment works too (framework.conf wins over it, as in dkms).
rm "$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 env sign_file=/nonexistent/sign-file "$MODFORGE" build mf-hello/1.0 -k "$K1" \
	--dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_line "Binary /nonexistent/sign-file not found, modules won't be signed" "$E2E_OUT"

# Paths that name the kernel: each kernel of one run gets (and is signed with) its own pair.
K2=${E2E_KERNELS[1]}
PK=$E2E_TMP/per-kernel
mkdir -p "$PK"
cat >"$MODFORGE_ETC_DKMS/framework.conf" <<CONF
mok_signing_key="$PK/\${kernelver}-\${arch}.key"
mok_certificate="$PK/\${kernelver}-\${arch}.der"
CONF
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" -k "$K2"
expect_line "Signing key: $PK/$K1-$A.key" "$E2E_OUT"
expect_line "Signing key: $PK/$K2-$A.key" "$E2E_OUT"
expect_file "$PK/$K1-$A.der"
expect_file "$PK/$K2-$A.der"
for k in "$K1" "$K2"; do
	serial=$(openssl x509 -inform DER -in "$PK/$k-$A.der" -noout -serial | cut -d= -f2 | tr 'a-f' 'A-F')
	got=$(modinfo -F sig_key "$DKMS/mf-hello/1.0/$k/$A/module/mf_hello.ko" | tr -d ':')
	expect_eq "$k's module is signed with $k's own certificate" "$serial" "$got"
done
# No build sees any kernel's pair: a PRE_BUILD that looks for both keys finds neither.
PEEK=$E2E_TMP/mf-peek-1.0
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$PEEK"
sed -i 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-peek"/' "$PEEK/dkms.conf"
# (a hidden file is /dev/null in the sandbox; the key itself is a regular file)
printf '#!/bin/sh\nfor f in "$@"; do if [ -f "$f" ]; then echo "peek: there $f"; else echo "peek: hidden $f"; fi; done\n' >"$PEEK/peek.sh"
chmod +x "$PEEK/peek.sh"
echo "PRE_BUILD=\"peek.sh $PK/$K1-$A.key $PK/$K2-$A.key\"" >>"$PEEK/dkms.conf"
expect_rc 0 mf add "$PEEK"
expect_rc 0 mf build mf-peek/1.0 -k "$K1" -k "$K2"
for k in "$K1" "$K2"; do
	for key in "$PK/$K1-$A.key" "$PK/$K2-$A.key"; do
		expect_line "peek: hidden $key" "$DKMS/mf-peek/1.0/$k/$A/log/make.log"
	done
done
rm "$MODFORGE_ETC_DKMS/framework.conf"
e2e_done

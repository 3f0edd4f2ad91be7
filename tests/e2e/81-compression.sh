#!/bin/bash
# 81-compression: built modules are compressed as the target kernel's own modules are
# (dkms 3.4.3: the strongest of .ko.zst > .ko.xz > .ko.gz found in <installtree>/<k>/),
# after signing, with dkms's default options or framework.conf's compress_*_opts; libkmod
# (modinfo) reads the result back. Debian's 6.12 kernels use xz: one is built for here,
# with one of its real .ko.xz modules copied into the scratch install tree.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "modforge's compression (3.4.3 detection)"; then
	e2e_done
fi
K612=$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | grep -vE -- '-(cloud|rt)-amd64$' | sort -V | tail -n1)
K612=${K612#/usr/src/linux-headers-}
[ -n "$K612" ] || bail "no linux-headers-6.12.N+deb12-amd64 installed (scripts/deps.sh installs it)"
REAL_XZ=$(find "/lib/modules/$K612/kernel" -name '*.ko.xz' 2>/dev/null | head -n1)
[ -n "$REAL_XZ" ] || bail "no .ko.xz under /lib/modules/$K612 (the 6.12 image comes with its headers)"
MAGIC='~Module signature appended~'

# signed_inside FILE TOOL: the decompressed module ends with the signature magic.
signed_inside() { [ "$($2 -dc "$1" | tail -c 28 | head -c 27)" = "$MAGIC" ]; }

use_root "$(new_root comp)"
mkdir -p "$INST/$K612/kernel/drivers"
ln -sfn "/usr/src/linux-headers-$K612" "$INST/$K612/build"
: >"$INST/$K612/modules.dep"
cp "$REAL_XZ" "$INST/$K612/kernel/drivers/"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
expect_rc 0 mf add mf-hello/1.0
expect_rc 0 mf install mf-hello/1.0 -k "$K612"
RES=$DKMS/mf-hello/1.0/$K612/$A/module
for m in mf_hello mf_greet; do
	expect_file "$RES/$m.ko.xz"
	expect_no_file "$RES/$m.ko"
	expect_file "$INST/$K612/updates/dkms/$m.ko.xz"
	expect_vermagic "$INST/$K612/updates/dkms/$m.ko.xz" "$K612"
	expect_eq "$m.ko.xz: libkmod reads the signer" "DKMS module signing key" "$(modinfo -F signer "$INST/$K612/updates/dkms/$m.ko.xz")"
	if xz -t "$RES/$m.ko.xz" && signed_inside "$RES/$m.ko.xz" xz; then
		ok "$m.ko.xz: valid xz, signed before it was compressed"
	else
		not_ok "$m.ko.xz: valid xz, signed before it was compressed"
	fi
done
if xz --robot --list "$RES/mf_hello.ko.xz" | grep -q CRC32; then
	ok "dkms 3.4.3's default xz options (--check=crc32), as kbuild compresses"
else
	not_ok "dkms 3.4.3's default xz options (--check=crc32)"
fi
expect_rc 0 mf status mf-hello/1.0 -k "$K612"
expect_lines "$E2E_OUT" "mf-hello/1.0, $K612, $A: installed"
expect_rc 0 mf uninstall mf-hello/1.0 -k "$K612"
expect_no_file "$INST/$K612/updates/dkms/mf_hello.ko.xz"

# compress_xz_opts from framework.conf.
echo 'compress_xz_opts="--check=crc64"' >"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K612"
expect_rc 0 mf build mf-hello/1.0 -k "$K612"
if xz --robot --list "$RES/mf_hello.ko.xz" | grep -q CRC64; then
	ok "compress_xz_opts from framework.conf is used"
else
	not_ok "compress_xz_opts from framework.conf is used"
fi
rm "$MODFORGE_ETC_DKMS/framework.conf"

# zstd and gzip, chosen by what the kernel tree holds (zst wins over gz).
mkdir -p "$INST/$K1/kernel/x"
echo x | gzip >"$INST/$K1/kernel/x/a.ko.gz"
expect_rc 0 mf build mf-hello/1.0 -k "$K1"
R1=$DKMS/mf-hello/1.0/$K1/$A/module
expect_file "$R1/mf_hello.ko.gz"
if gzip -t "$R1/mf_hello.ko.gz" && signed_inside "$R1/mf_hello.ko.gz" gzip; then ok "gz: valid, signed inside"; else not_ok "gz: valid, signed inside"; fi
echo x | zstd -q >"$INST/$K1/kernel/x/b.ko.zst"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_file "$R1/mf_hello.ko.zst"
expect_vermagic "$INST/$K1/updates/dkms/mf_hello.ko.zst" "$K1"
if zstd -t -q "$R1/mf_hello.ko.zst" && signed_inside "$R1/mf_hello.ko.zst" zstd; then ok "zst: valid, signed inside"; else not_ok "zst: valid, signed inside"; fi
e2e_done

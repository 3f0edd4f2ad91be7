#!/bin/bash
# 22-options: options and directives dkms has do what dkms does, or are refused by name.
#  - --modprobe-on-install (and framework.conf's modprobe_on_install): after installing for
#    the running kernel, `modprobe -a -b -q` with each device modalias once, sorted, then
#    `systemctl restart systemd-modules-load.service` when that unit exists; nothing for
#    another kernel. (A fake /sys/devices through MODFORGE_SYSFS_DEVICES, and fake
#    modprobe/systemctl first in PATH that only log their arguments.)
#  - --symlink-modules and --rpm_safe_upgrade are refused by name; framework.conf settings
#    modforge does not act on are named in a warning.
#  - BUILD_DEPENDS_REBUILD="yes": installing another version of a dependency rebuilds and
#    reinstalls the dependent, which links against the new version; without the directive
#    (or with --force) it is left alone.
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
if ! modforge_only "modforge's handling of dkms options"; then
	e2e_done
fi
ETC=$MODFORGE_ETC_DKMS

# ---- --modprobe-on-install ----------------------------------------------------------------
use_root "$(new_root modprobe)"
RUNNING=$(uname -r)
mkdir -p "$INST/$RUNNING"
ln -sfn "/usr/src/linux-headers-$K1" "$INST/$RUNNING/build"
for f in modules.dep modules.order modules.builtin modules.builtin.modinfo; do : >"$INST/$RUNNING/$f"; done
SYS=$E2E_TMP/sys-devices
mkdir -p "$SYS/pci0000:00/0000:00:01.0" "$SYS/pci0000:00/0000:00:02.0/usb1" "$SYS/platform/serial8250" "$E2E_TMP/elsewhere"
echo 'pci:v00008086d00001237sv*' >"$SYS/pci0000:00/0000:00:01.0/modalias"
echo 'usb:v1D6Bp0002d0606dc09' >"$SYS/pci0000:00/0000:00:02.0/usb1/modalias"
echo 'pci:v00008086d00001237sv*' >"$SYS/platform/serial8250/modalias"   # the same alias twice
echo 'platform:serial8250' >"$SYS/platform/modalias"
echo 'acpi:NOTFOLLOWED:' >"$E2E_TMP/elsewhere/modalias"
ln -s "$E2E_TMP/elsewhere" "$SYS/platform/link"                         # links are not followed
BIN=$E2E_TMP/fakebin
mkdir -p "$BIN"
LOG=$E2E_TMP/calls.log
for tool in modprobe systemctl; do
	printf '#!/bin/sh\necho "%s $*" >>%s\n' "$tool" "$LOG" >"$BIN/$tool"
	chmod 755 "$BIN/$tool"
done
UNIT=/lib/systemd/system/systemd-modules-load.service
want_calls=("modprobe -a -b -q pci:v00008086d00001237sv* platform:serial8250 usb:v1D6Bp0002d0606dc09")
if [ -f "$UNIT" ]; then want_calls+=("systemctl restart systemd-modules-load.service"); fi

cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
expect_rc 0 mf add mf-hello/1.0
: >"$LOG"
expect_rc 0 env PATH="$BIN:$PATH" MODFORGE_SYSFS_DEVICES="$SYS" "$MODFORGE" install mf-hello/1.0 -k "$RUNNING" \
	--modprobe-on-install --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_lines "$LOG" "${want_calls[@]}"
: >"$LOG"
expect_rc 0 env PATH="$BIN:$PATH" MODFORGE_SYSFS_DEVICES="$SYS" "$MODFORGE" install mf-hello/1.0 -k "$K1" \
	--modprobe-on-install --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_lines "$LOG"   # not the running kernel: nothing is loaded
: >"$LOG"
expect_rc 0 env PATH="$BIN:$PATH" MODFORGE_SYSFS_DEVICES="$SYS" "$MODFORGE" uninstall mf-hello/1.0 -k "$RUNNING" \
	--modprobe-on-install --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_lines "$LOG"   # uninstall loads nothing
echo 'modprobe_on_install="true"' >"$ETC/framework.conf"
: >"$LOG"
expect_rc 0 env PATH="$BIN:$PATH" MODFORGE_SYSFS_DEVICES="$SYS" "$MODFORGE" install mf-hello/1.0 -k "$RUNNING" \
	--dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_lines "$LOG" "${want_calls[@]}"
rm "$ETC/framework.conf"
: >"$LOG"
expect_rc 0 env PATH="$BIN:$PATH" MODFORGE_SYSFS_DEVICES="$SYS/nonexistent" "$MODFORGE" install mf-hello/1.0 \
	-k "$RUNNING" --force --modprobe-on-install --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_line "Warning: --modprobe-on-install: cannot read $SYS/nonexistent: No such file or directory" "$E2E_ERR"
expect_lines "$LOG"

# ---- refused options, ignored framework settings ------------------------------------------
for opt in --symlink-modules --rpm_safe_upgrade; do
	expect_rc 2 mf status "$opt"
	if grep -q -- "^Error! $opt is not supported by modforge" "$E2E_ERR"; then ok "$opt refused by name"; else not_ok "$opt refused by name" "$E2E_ERR"; fi
done
printf 'symlink_modules=true\nbuild_environment=/etc/x\n' >"$ETC/framework.conf"
expect_rc 0 mf status
expect_lines "$E2E_ERR" \
	"Warning: framework.conf sets symlink_modules, which modforge does not support (modules are installed as copies); ignored." \
	"Warning: framework.conf sets build_environment, which modforge does not support (builds get a fixed environment); ignored."
rm "$ETC/framework.conf"

# ---- BUILD_DEPENDS_REBUILD ------------------------------------------------------------------
use_root "$(new_root rebuild)"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/mf-hello-1.1"
sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="1.1"/' "$SRC/mf-hello-1.1/dkms.conf"
sed -i 's/MODULE_VERSION("1.0")/MODULE_VERSION("1.1")/' "$SRC/mf-hello-1.1/"*.c
# Two dependents of mf-hello, linked against whichever mf-hello is installed (the build
# sees only that one's result): one asks to be rebuilt, one does not.
for dep in mf-consumer:yes mf-second:yes mf-plain:no; do
	name=${dep%%:*}
	cp -a "$MODFORGE_SRC/examples/mf-consumer-1.0" "$SRC/$name-1.0"
	cat >"$SRC/$name-1.0/dkms.conf" <<CONF
PACKAGE_NAME="$name"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="mf_consumer"
DEST_MODULE_NAME[0]="${name//-/_}"
DEST_MODULE_LOCATION[0]="/updates"
BUILD_DEPENDS[0]="mf-hello"
BUILD_DEPENDS_REBUILD="${dep#*:}"
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build MF_TREE=\${dkms_tree}/mf-hello MF_KA=\${kernelver}/\${arch}"
CONF
	# The build sees only the installed mf-hello's result: links against that one.
	sed -i '1i MF_HELLO_SYMVERS := $(firstword $(wildcard $(foreach v,1.1 1.0,$(MF_TREE)/$(v)/$(MF_KA)/module/Module.symvers)))\n$(info linking against $(MF_HELLO_SYMVERS))' \
		"$SRC/$name-1.0/Makefile"
done
expect_rc 0 mf add mf-hello/1.0
expect_rc 0 mf add mf-hello/1.1
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_rc 0 mf install mf-consumer/1.0 -k "$K1"
expect_rc 0 mf install mf-plain/1.0 -k "$K1"
expect_rc 0 mf install mf-second/1.0 -k "$K1"
RES=$DKMS/mf-consumer/1.0/$K1/$E2E_ARCH
expect_eq "the dependent records the version it was built against" "1.0" "$(cat "$RES/.dep_mf-hello" 2>&1)"
expect_no_file "$DKMS/mf-plain/1.0/$K1/$E2E_ARCH/.dep_mf-hello"
plain_before=$(stat -c %i "$DKMS/mf-plain/1.0/$K1/$E2E_ARCH")
expect_rc 0 mf install mf-hello/1.1 -k "$K1"
expect_line "Rebuilding module mf-consumer/1.0 due to updated dependencies" "$E2E_OUT"
expect_no_line "Rebuilding module mf-plain/1.0 due to updated dependencies" "$E2E_OUT"
# Two dependents: one after the other, each ending with its install and a depmod, as dkms.
first=$(grep -n "^Rebuilding module mf-consumer/1.0" "$E2E_OUT" | cut -d: -f1)
installed=$(grep -n "^Installing $INST/$K1/updates/dkms/mf_consumer.ko" "$E2E_OUT" | cut -d: -f1)
second=$(grep -n "^Rebuilding module mf-second/1.0" "$E2E_OUT" | cut -d: -f1)
if [ -n "$first" ] && [ -n "$installed" ] && [ -n "$second" ] && [ "$first" -lt "$installed" ] &&
	[ "$installed" -lt "$second" ] && sed -n "${installed},${second}p" "$E2E_OUT" | grep -qx "Running depmod... done."; then
	ok "dependents are rebuilt one after the other, each installed and depmod'ed"
else
	not_ok "dependents are rebuilt one after the other, each installed and depmod'ed" "$E2E_OUT"
fi
expect_eq "the rebuilt dependent records the new version" "1.1" "$(cat "$RES/.dep_mf-hello" 2>&1)"
if grep -q "mf-hello/1.1/$K1/$E2E_ARCH/module/Module.symvers" "$RES/log/make.log"; then
	ok "the rebuild linked against mf-hello 1.1's Module.symvers"
else
	not_ok "the rebuild linked against mf-hello 1.1's Module.symvers" "$RES/log/make.log"
fi
expect_rc 0 mf status -m mf-consumer
expect_lines "$E2E_OUT" "mf-consumer/1.0, $K1, $E2E_ARCH: installed"
expect_file "$INST/$K1/updates/dkms/mf_consumer.ko"
expect_eq "a dependent without BUILD_DEPENDS_REBUILD is left alone" "$plain_before" \
	"$(stat -c %i "$DKMS/mf-plain/1.0/$K1/$E2E_ARCH")"
# Installing the version it records again changes nothing; --force skips the check (dkms).
expect_rc 0 mf install mf-hello/1.1 -k "$K1" --force
expect_no_line "Rebuilding module mf-consumer/1.0 due to updated dependencies" "$E2E_OUT"
expect_rc 0 mf install mf-hello/1.0 -k "$K1" --force
expect_no_line "Rebuilding module mf-consumer/1.0 due to updated dependencies" "$E2E_OUT"
expect_eq "--force: the record stays" "1.1" "$(cat "$RES/.dep_mf-hello" 2>&1)"
# An install that is a skip (already installed) rebuilds nothing, as in dkms.
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_line "Module mf-hello/1.0 already installed on kernel $K1 ($E2E_ARCH), skip. You may override by specifying --force." "$E2E_OUT"
expect_no_line "Rebuilding module mf-consumer/1.0 due to updated dependencies" "$E2E_OUT"
# The dependency built anew with a signing key still to be made: one keygen job before
# both builds (the plan once waited in a circle here and crashed).
expect_rc 0 mf uninstall mf-hello/1.0 -k "$K1"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
rm -f "$DKMS/mok.key" "$DKMS/mok.pub"
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_line "Rebuilding module mf-consumer/1.0 due to updated dependencies" "$E2E_OUT"
expect_eq "rebuilt against 1.0" "1.0" "$(cat "$RES/.dep_mf-hello" 2>&1)"
expect_file "$DKMS/mok.key"
# autoinstall where the new dependency fails to build: the dependent's rebuild does not
# run (it stays installed), and the kernel's depmod still runs for what was installed.
cp -a "$SRC/mf-hello-1.1" "$SRC/mf-hello-1.2"
sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="1.2"/' "$SRC/mf-hello-1.2/dkms.conf"
echo "this is not C" >>"$SRC/mf-hello-1.2/mf_hello.c"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/mf-two-1.0"
sed -i -e 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-two"/' "$SRC/mf-two-1.0/dkms.conf"
printf 'DEST_MODULE_NAME[0]="mf_two_a"\nDEST_MODULE_NAME[1]="mf_two_b"\n' >>"$SRC/mf-two-1.0/dkms.conf"
expect_rc 0 mf add mf-hello/1.2
expect_rc 0 mf add mf-two/1.0
expect_rc 11 mf autoinstall -k "$K1"
expect_no_line "Rebuilding module mf-consumer/1.0 due to updated dependencies" "$E2E_OUT"
if grep -q "mf_two_a.ko" "$INST/$K1/modules.dep"; then ok "depmod ran for what autoinstall installed"; else not_ok "depmod ran for what autoinstall installed" "$E2E_OUT"; fi
expect_rc 0 mf status -m mf-consumer -k "$K1"
expect_lines "$E2E_OUT" "mf-consumer/1.0, $K1, $E2E_ARCH: installed"

# -V and the make.log header: as dkms, the dkms release modforge is compatible with; as
# modforge, its own version.
ln -sf "$MODFORGE" "$E2E_TMP/dkms"
expect_rc 0 "$E2E_TMP/dkms" -V
expect_lines "$E2E_OUT" "dkms-3.4.3"
expect_rc 0 "$MODFORGE" --version
MF_VERSION=$(sed -n 's/^project(modforge VERSION \([0-9.]*\).*/\1/p' "$MODFORGE_SRC/CMakeLists.txt")
expect_lines "$E2E_OUT" "modforge-$MF_VERSION (dkms-3.4.3 compatible)"
expect_rc 0 "$E2E_TMP/dkms" unbuild mf-consumer/1.0 -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_rc 0 "$E2E_TMP/dkms" build mf-consumer/1.0 -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST" --no-cache
expect_eq "make.log's header as dkms" "DKMS (dkms-3.4.3) make.log for mf-consumer/1.0 for kernel $K1 ($E2E_ARCH)" \
	"$(head -n1 "$DKMS/mf-consumer/1.0/$K1/$E2E_ARCH/log/make.log")"
expect_rc 0 mf unbuild mf-consumer/1.0 -k "$K1"
expect_rc 0 mf build mf-consumer/1.0 -k "$K1" --no-cache
expect_eq "make.log's header as modforge" "DKMS (modforge-$MF_VERSION) make.log for mf-consumer/1.0 for kernel $K1 ($E2E_ARCH)" \
	"$(head -n1 "$DKMS/mf-consumer/1.0/$K1/$E2E_ARCH/log/make.log")"
e2e_done

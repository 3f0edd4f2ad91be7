#!/bin/bash
# 70-hooks: the kernel hooks and integration files of hooks/, as `cmake --install` puts
# them (into a DESTDIR): every file lands at its path with its mode; the Debian kernel
# hooks, kernel-install's plugin, the pacman hook script and common.postinst run, from
# where they were installed, against modforge in scratch roots (a `dkms` wrapper first on
# PATH adds --dkmstree/--sourcetree/--installtree) and against a stub dkms that records
# its command lines, to check the exact calls (kernel_preinst and kernel_prerm are not
# needed from modforge for that). uname -r is faked by a stub on PATH where the running
# kernel matters.
. "$(dirname "$0")/lib.sh"
e2e_init
use_root "$(new_root main)"
# lib.sh's $DKMS is the scratch dkms tree; the hooks read $DKMS as the program to run.
DTREE=$DKMS
unset DKMS MODFORGE_HOOK_ARGS

A=$E2E_ARCH
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
OLDEST=$(printf '%s\n' "$K1" "$K2" | sort -V | head -n1)
NEWEST=$(printf '%s\n' "$K1" "$K2" | sort -V | tail -n1)
NOHDR=6.1.0-999-noheaders # a kernel directory without headers
mkdir -p "$INST/$NOHDR"
SKIP_MSG="Automatic installation of modules for kernel $NOHDR was skipped since the kernel headers for this kernel do not seem to be installed."
MODFORGE_BUILD=${MODFORGE_BUILD:-$(dirname "$MODFORGE")}
DEST=$E2E_TMP/dest
HOOKS=$MODFORGE_SRC/hooks

# The `dkms` every hook runs by default: modforge on the scratch roots.
BIN=$E2E_TMP/bin
mkdir -p "$BIN"
cat >"$BIN/dkms" <<EOF
#!/bin/sh
exec "$MODFORGE" "\$@" --dkmstree "$DTREE" --sourcetree "$SRC" --installtree "$INST"
EOF
chmod 755 "$BIN/dkms"
export PATH="$BIN:$PATH"
export MODFORGE_INSTALLTREE=$INST MODFORGE_SOURCETREE=$SRC

# A stub dkms: appends its arguments to $STUB_LOG; `status` prints $STUB_STATUS (a file);
# any other verb V exits with $STUB_RC_V (default 0).
STUB=$E2E_TMP/stub-dkms
CALLS=$E2E_TMP/calls
cat >"$STUB" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$STUB_LOG"
if [ "${1-}" = status ]; then
	if [ -f "${STUB_STATUS-}" ]; then cat "$STUB_STATUS"; fi
	exit 0
fi
eval "exit \${STUB_RC_${1:-none}:-0}"
EOF
chmod 755 "$STUB"

# stub_run CMD...: run_cmd with DKMS=the stub, its calls recorded in $CALLS (emptied first).
stub_run() {
	: >"$CALLS"
	run_cmd env DKMS="$STUB" STUB_LOG="$CALLS" "$@"
}

# `running K CMD...` runs CMD with a uname whose `uname -r` prints K.
FAKEBIN=$E2E_TMP/fakeuname
mkdir -p "$FAKEBIN"
cat >"$FAKEBIN/uname" <<EOF
#!/bin/sh
if [ "\${1-}" = -r ]; then printf '%s\n' "\$FAKE_UNAME_R"; else exec $(command -v uname) "\$@"; fi
EOF
RUNNING=$E2E_TMP/running
cat >"$RUNNING" <<EOF
#!/bin/sh
FAKE_UNAME_R=\$1 PATH="$FAKEBIN:\$PATH"
export FAKE_UNAME_R PATH
shift
exec "\$@"
EOF
chmod 755 "$FAKEBIN/uname" "$RUNNING"

# expect_rc_as DESC N CMD...: expect_rc, described as DESC.
expect_rc_as() {
	local desc=$1 want=$2
	shift 2
	run_cmd "$@"
	if [ "$E2E_RC" -eq "$want" ]; then
		ok "exit $want: $desc"
	else
		not_ok "exit $want (got $E2E_RC): $desc" "$E2E_OUT" "$E2E_ERR"
	fi
}

# status_is LINE...: `dkms status` (modforge on the scratch roots) prints exactly LINE...
status_is() {
	run_cmd dkms status
	expect_lines "$E2E_OUT" "$@"
}

POSTINST=$DEST/etc/kernel/postinst.d/dkms
HPOSTINST=$DEST/etc/kernel/header_postinst.d/dkms
PREINST=$DEST/etc/kernel/preinst.d/dkms
PRERM=$DEST/etc/kernel/prerm.d/dkms
KINSTALL=$DEST/usr/lib/kernel/install.d/40-dkms.install
ALPM=$DEST/usr/lib/dkms/alpm-hook
COMMON=$DEST/usr/lib/dkms/common.postinst

diag "--- cmake --install into a DESTDIR"
[ -f "$MODFORGE_BUILD/cmake_install.cmake" ] ||
	bail "MODFORGE_BUILD=$MODFORGE_BUILD is not a configured build directory"
if grep -q '^MODFORGE_INSTALL_HOOKS:BOOL=OFF$' "$MODFORGE_BUILD/CMakeCache.txt" 2>/dev/null; then
	skip "kernel hooks" "configured with -DMODFORGE_INSTALL_HOOKS=OFF"
	e2e_done
fi
run_cmd env DESTDIR="$DEST" cmake --install "$MODFORGE_BUILD" --prefix /usr
if [ "$E2E_RC" -eq 0 ]; then ok "cmake --install exit 0"; else not_ok "cmake --install exit 0" "$E2E_TMP/last.all"; fi
outside=$(sed -n 's/^-- \(Installing\|Up-to-date\): //p' "$E2E_OUT" | grep -v "^$DEST/")
expect_eq "everything installed under DESTDIR" "" "$outside"
for f in etc/kernel/postinst.d/dkms etc/kernel/header_postinst.d/dkms etc/kernel/preinst.d/dkms \
	etc/kernel/prerm.d/dkms usr/lib/kernel/install.d/40-dkms.install usr/lib/dkms/alpm-hook \
	usr/lib/dkms/common.postinst; do
	expect_eq "mode 755: /$f" 755 "$(stat -c %a "$DEST/$f" 2>&1)"
done
for f in usr/share/libalpm/hooks/70-dkms-install.hook usr/share/libalpm/hooks/70-dkms-upgrade.hook \
	usr/share/libalpm/hooks/71-dkms-remove.hook usr/lib/systemd/system/dkms.service; do
	expect_eq "mode 644: /$f" 644 "$(stat -c %a "$DEST/$f" 2>&1)"
done
for pair in "kernel/postinst.d/dkms:$POSTINST" "kernel/postinst.d/dkms:$HPOSTINST" \
	"kernel/preinst.d/dkms:$PREINST" "kernel/prerm.d/dkms:$PRERM" \
	"kernel-install/40-dkms.install:$KINSTALL" "pacman/alpm-hook:$ALPM" "common.postinst:$COMMON"; do
	if cmp -s "$HOOKS/${pair%%:*}" "${pair#*:}"; then
		ok "installed $(e2e_short "${pair#*:}") is hooks/${pair%%:*}"
	else
		not_ok "installed $(e2e_short "${pair#*:}") is hooks/${pair%%:*}"
	fi
done
expect_dir "$DEST/var/lib/dkms"
expect_dir "$DEST/etc/dkms/framework.conf.d"
UNIT=$DEST/usr/lib/systemd/system/dkms.service
expect_line "ExecStart=/usr/sbin/dkms autoinstall --verbose --kernelver %v" "$UNIT"
expect_line "Type=oneshot" "$UNIT"
expect_line "Before=systemd-modules-load.service shutdown.target" "$UNIT"
expect_line "WantedBy=multi-user.target" "$UNIT"
for h in 70-dkms-install 70-dkms-upgrade 71-dkms-remove; do
	H=$DEST/usr/share/libalpm/hooks/$h.hook
	expect_line "Target = usr/src/*/dkms.conf" "$H"
	expect_line "Target = usr/lib/modules/*/build/include/" "$H"
	expect_line "Target = usr/lib/modules/*/modules.alias" "$H"
	expect_line "NeedsTargets" "$H"
done
expect_line "Exec = /usr/lib/dkms/alpm-hook install" "$DEST/usr/share/libalpm/hooks/70-dkms-install.hook"
expect_line "Exec = /usr/lib/dkms/alpm-hook upgrade" "$DEST/usr/share/libalpm/hooks/70-dkms-upgrade.hook"
expect_line "Exec = /usr/lib/dkms/alpm-hook remove" "$DEST/usr/share/libalpm/hooks/71-dkms-remove.hook"
if command -v shellcheck >/dev/null; then
	if shellcheck -s sh "$POSTINST" "$PREINST" "$PRERM" "$KINSTALL" "$ALPM" "$COMMON" >"$E2E_TMP/sc.log" 2>&1; then
		ok "shellcheck -s sh: every hook script is clean"
	else
		not_ok "shellcheck -s sh: every hook script is clean" "$E2E_TMP/sc.log"
	fi
else
	skip "shellcheck of the hook scripts" "shellcheck is not installed"
fi
if command -v systemd-analyze >/dev/null && [ -x /usr/sbin/dkms ]; then
	if systemd-analyze verify --man=no "$UNIT" >"$E2E_TMP/sa.log" 2>&1; then
		ok "systemd-analyze verify dkms.service"
	else
		not_ok "systemd-analyze verify dkms.service" "$E2E_TMP/sa.log"
	fi
else
	skip "systemd-analyze verify dkms.service" "no systemd-analyze or no /usr/sbin/dkms"
fi
if [ ! -x "$POSTINST" ] || [ ! -x "$COMMON" ] || [ ! -x "$ALPM" ]; then bail "the hooks were not installed"; fi

diag "--- postinst.d / header_postinst.d with modforge"
expect_rc 0 dkms add "$MODFORGE_SRC/examples/mf-hello-1.0"
expect_rc_as "postinst.d/dkms $K1 /boot/vmlinuz-$K1" 0 "$POSTINST" "$K1" "/boot/vmlinuz-$K1"
for mod in mf_hello mf_greet; do
	expect_file "$INST/$K1/updates/dkms/$mod.ko"
	expect_vermagic "$INST/$K1/updates/dkms/$mod.ko" "$K1"
done
status_is "mf-hello/1.0, $K1, $A: installed"
expect_rc_as "header_postinst.d/dkms $K2" 0 "$HPOSTINST" "$K2"
expect_file "$INST/$K2/updates/dkms/mf_hello.ko"
status_is "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed"
expect_rc_as "postinst.d/dkms $NOHDR (no headers)" 0 "$POSTINST" "$NOHDR"
expect_lines "$E2E_OUT" "$SKIP_MSG"
expect_no_file "$INST/$NOHDR/updates"

diag "--- postinst.d with a stub dkms: the call, MODFORGE_HOOK_ARGS, the exit status"
stub_run "$POSTINST" "$K1" "/boot/vmlinuz-$K1"
expect_eq "postinst.d exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "autoinstall --kernelver $K1"
stub_run env MODFORGE_HOOK_ARGS="--verbose -j 2" "$POSTINST" "$K1"
expect_lines "$CALLS" "autoinstall --kernelver $K1 --verbose -j 2"
stub_run env STUB_RC_autoinstall=11 "$POSTINST" "$K1"
expect_eq "postinst.d passes autoinstall's exit status 11 on" 11 "$E2E_RC"
stub_run "$POSTINST" "$NOHDR"
expect_eq "postinst.d without headers exit 0" 0 "$E2E_RC"
expect_lines "$E2E_OUT" "$SKIP_MSG"
expect_lines "$CALLS"
expect_rc_as "postinst.d/dkms when there is no dkms (a conffile left behind)" 0 env DKMS="$E2E_TMP/no-such-dkms" "$POSTINST" "$K1"
expect_lines "$E2E_TMP/last.all"
expect_rc_as "postinst.d/dkms without a kernel version" 2 "$POSTINST"

diag "--- preinst.d, prerm.d with a stub dkms"
stub_run "$PREINST" "$K1" "/boot/vmlinuz-$K1"
expect_eq "preinst.d exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "kernel_preinst -k $K1"
stub_run env STUB_RC_kernel_preinst=14 "$PREINST" "$K1"
expect_eq "preinst.d exits 0 when kernel_preinst fails" 0 "$E2E_RC"
expect_lines "$CALLS" "kernel_preinst -k $K1"
stub_run "$PRERM" "$K2" "/boot/vmlinuz-$K2"
expect_eq "prerm.d exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "kernel_prerm -k $K2"
stub_run env STUB_RC_kernel_prerm=14 "$PRERM" "$K2"
expect_eq "prerm.d exits 0 when kernel_prerm fails" 0 "$E2E_RC"
expect_rc_as "prerm.d/dkms when there is no dkms" 0 env DKMS="$E2E_TMP/no-such-dkms" "$PRERM" "$K1"

diag "--- kernel-install plugin with a stub dkms"
stub_run "$KINSTALL" add "$K1" "/boot/efi/x/$K1" "/boot/vmlinuz-$K1"
expect_eq "40-dkms.install add exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "kernel_postinst --kernelver $K1"
stub_run "$KINSTALL" remove "$K2"
expect_eq "40-dkms.install remove exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "kernel_prerm --kernelver $K2"
stub_run "$KINSTALL" inspect "$K1"
expect_eq "40-dkms.install inspect exit 0" 0 "$E2E_RC"
expect_lines "$CALLS"
stub_run env STUB_RC_kernel_postinst=11 "$KINSTALL" add "$K1"
expect_eq "40-dkms.install add exits 0 when kernel_postinst fails" 0 "$E2E_RC"
expect_text "failed with exit status 11" "$E2E_ERR"
stub_run env STUB_RC_kernel_postinst=77 "$KINSTALL" add "$K1"
expect_eq "40-dkms.install never passes 77 (stop the other plugins) on" 0 "$E2E_RC"

diag "--- alpm-hook with a stub dkms"
# Sources: a PACKAGE_NAME with a "-" and a version with one; a computed PACKAGE_NAME.
mkdir -p "$SRC/my-drv-2.0-rc1" "$SRC/other-pkg-4.2"
printf 'PACKAGE_NAME="my-drv"\nPACKAGE_VERSION="2.0-rc1"\n' >"$SRC/my-drv-2.0-rc1/dkms.conf"
printf 'PACKAGE_NAME=$(echo other-pkg)\nPACKAGE_VERSION=4.2\n' >"$SRC/other-pkg-4.2/dkms.conf"
# alpm MODE [env...] -- TARGET...: runs the installed alpm-hook with the stub, the targets on stdin.
alpm() {
	local mode=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	printf '%s\n' "$@" >"$E2E_TMP/targets"
	stub_run env "${envs[@]}" sh -c 'exec "$0" "$1" <"$2"' "$ALPM" "$mode" "$E2E_TMP/targets"
}
KS="-k $OLDEST -k $NEWEST"
alpm install -- usr/src/mf-hello-1.0/dkms.conf usr/src/my-drv-2.0-rc1/dkms.conf \
	usr/src/other-pkg-4.2/dkms.conf "usr/lib/modules/$K1/build/include/" \
	"usr/lib/modules/$K1/modules.alias" "usr/lib/modules/$NOHDR/modules.alias" usr/share/doc/x/README
expect_eq "alpm-hook install exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "install -m mf-hello -v 1.0 $KS" "install -m my-drv -v 2.0-rc1 $KS" \
	"install -m other-pkg -v 4.2 $KS" "autoinstall -k $K1"
expect_line "$SKIP_MSG" "$E2E_OUT"
alpm install STUB_RC_install=10 -- usr/src/mf-hello-1.0/dkms.conf "usr/lib/modules/$K2/build/include/"
expect_eq "alpm-hook install passes a failure on (10), and still autoinstalls" 10 "$E2E_RC"
expect_lines "$CALLS" "install -m mf-hello -v 1.0 $KS" "autoinstall -k $K2"
alpm install STUB_RC_install=77 -- usr/src/mf-hello-1.0/dkms.conf
expect_eq "alpm-hook install: 77 (excluded) is not a failure" 0 "$E2E_RC"
printf '%s\n' "mf-hello/1.0, $K1, $A: installed" "other/2.1-3, $K1, $A: built" \
	"mf-hello/1.0, $K2, $A: installed (Original modules exist)" "lonely/1: added" >"$E2E_TMP/stub-status"
alpm upgrade STUB_STATUS="$E2E_TMP/stub-status" -- usr/src/mf-hello-1.0/dkms.conf "usr/lib/modules/$K1/build/include/"
expect_eq "alpm-hook upgrade exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "status -m mf-hello -v 1.0" "remove -m mf-hello -v 1.0 --all" "status -k $K1" \
	"unbuild -m mf-hello -v 1.0 -k $K1 -a $A" "unbuild -m other -v 2.1-3 -k $K1 -a $A"
alpm remove STUB_STATUS="$E2E_TMP/stub-status" -- "usr/lib/modules/$K1/build/include/"
expect_eq "alpm-hook remove (headers only) exit 0" 0 "$E2E_RC"
expect_lines "$CALLS"
alpm remove STUB_STATUS="$E2E_TMP/stub-status" -- usr/src/my-drv-2.0-rc1/dkms.conf \
	"usr/lib/modules/$K2/modules.alias" "usr/lib/modules/$K2/build/include/"
expect_eq "alpm-hook remove exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "status -m my-drv -v 2.0-rc1" "remove -m my-drv -v 2.0-rc1 --all" "status -k $K2" \
	"unbuild -m mf-hello -v 1.0 -k $K2 -a $A"
alpm remove -- usr/src/my-drv-2.0-rc1/dkms.conf
expect_lines "$CALLS" "status -m my-drv -v 2.0-rc1"
alpm bogus --
expect_eq "alpm-hook with an unknown mode exit 2" 2 "$E2E_RC"
rm -rf "$SRC/my-drv-2.0-rc1" "$SRC/other-pkg-4.2"

diag "--- alpm-hook with modforge"
printf '%s\n' "usr/lib/modules/$K2/modules.alias" >"$E2E_TMP/targets"
expect_rc_as "alpm-hook remove <<< usr/lib/modules/$K2/modules.alias" 0 \
	sh -c 'exec "$0" remove <"$1"' "$ALPM" "$E2E_TMP/targets"
expect_no_file "$INST/$K2/updates/dkms/mf_hello.ko"
status_is "mf-hello/1.0, $K1, $A: installed"
printf '%s\n' "usr/lib/modules/$K2/build/include/" >"$E2E_TMP/targets"
expect_rc_as "alpm-hook install <<< usr/lib/modules/$K2/build/include/" 0 \
	sh -c 'exec "$0" install <"$1"' "$ALPM" "$E2E_TMP/targets"
expect_file "$INST/$K2/updates/dkms/mf_hello.ko"
status_is "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed"
printf '%s\n' usr/src/mf-hello-1.0/dkms.conf >"$E2E_TMP/targets"
expect_rc_as "alpm-hook remove <<< usr/src/mf-hello-1.0/dkms.conf" 0 \
	sh -c 'exec "$0" remove <"$1"' "$ALPM" "$E2E_TMP/targets"
status_is
expect_no_file "$INST/$K1/updates/dkms/mf_hello.ko"
expect_dir "$SRC/mf-hello-1.0"

diag "--- common.postinst with modforge"
rm -rf "$SRC/mf-hello-1.0"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
# The running kernel (this machine's) has no directory in the scratch install tree: the
# "chroot" case, all kernels with headers on a first installation.
expect_rc 0 "$COMMON" mf-hello 1.0 /usr/share/mf-hello-dkms
expect_line "Building for $OLDEST and $NEWEST" "$E2E_OUT"
expect_no_line "Removing old mf-hello/1.0 DKMS files..." "$E2E_OUT"
status_is "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed"
for K in "$K1" "$K2"; do
	expect_vermagic "$INST/$K/updates/dkms/mf_greet.ko" "$K"
done
# Upgrade (same version): removed and added again; only the newest kernel then.
expect_rc 0 "$COMMON" mf-hello 1.0 /usr/share/mf-hello-dkms "" 1.0
expect_line "Removing old mf-hello/1.0 DKMS files..." "$E2E_OUT"
expect_line "Building for $NEWEST" "$E2E_OUT"
status_is "mf-hello/1.0, $NEWEST, $A: installed"
expect_no_file "$INST/$OLDEST/updates/dkms/mf_hello.ko"
expect_file "$INST/$NEWEST/updates/dkms/mf_hello.ko"
# The running kernel in the tree: it and the newest.
expect_rc 0 "$RUNNING" "$OLDEST" "$COMMON" mf-hello 1.0 /usr/share/mf-hello-dkms "" 1.0
expect_line "Removing old mf-hello/1.0 DKMS files..." "$E2E_OUT"
expect_line "Building for $OLDEST and $NEWEST" "$E2E_OUT"
status_is "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed"
expect_rc 0 "$RUNNING" "$NEWEST" "$COMMON" mf-hello 1.0
status_is "mf-hello/1.0, $NEWEST, $A: installed"
# autoinstall_all_kernels in framework.conf: every kernel with headers.
echo 'autoinstall_all_kernels="y"' >"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 "$RUNNING" "$NEWEST" "$COMMON" mf-hello 1.0
expect_line "Building for $OLDEST and $NEWEST" "$E2E_OUT"
status_is "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed"
rm -f "$MODFORGE_ETC_DKMS/framework.conf"
# Excluded (BUILD_EXCLUSIVE) on the newest kernel, failing on the oldest: exit 10, and
# only the failed kernel is listed.
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/mf-mixed-1.0"
sed -i -e 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-mixed"/' "$SRC/mf-mixed-1.0/dkms.conf"
printf 'BUILD_EXCLUSIVE_KERNEL="^%s$"\nMAKE[0]="false"\n' "${OLDEST//./\\.}" >>"$SRC/mf-mixed-1.0/dkms.conf"
expect_rc 10 "$COMMON" mf-mixed 1.0
expect_line "Builds for the following kernel(s) failed: $OLDEST" "$E2E_OUT"
expect_rc 0 dkms remove mf-mixed/1.0 --all
# A package without AUTOINSTALL=yes: added, not built.
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/mf-noauto-1.0"
sed -i -e 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-noauto"/' -e 's/^AUTOINSTALL=.*/AUTOINSTALL="no"/' \
	"$SRC/mf-noauto-1.0/dkms.conf"
expect_rc 0 "$COMMON" mf-noauto 1.0
expect_text "does not set AUTOINSTALL=yes" "$E2E_OUT"
status_is "mf-hello/1.0, $K1, $A: installed" "mf-hello/1.0, $K2, $A: installed" "mf-noauto/1.0: added"
expect_rc 0 dkms remove mf-noauto/1.0 --all
expect_rc 0 dkms remove mf-hello/1.0 --all
status_is

diag "--- common.postinst with a stub dkms: the kernels it picks, errors"
FT=$E2E_TMP/stub-modules # kernels: 8, 9, 10 with headers; 11 without
FS=$E2E_TMP/stub-src
FE=$E2E_TMP/stub-etc
for n in 8 9 10; do mkdir -p "$FT/6.1.0-$n-amd64/build/include"; done
mkdir -p "$FT/6.1.0-11-amd64" "$FS/stubpkg-2.0" "$FE"
printf "PACKAGE_NAME=stubpkg\nPACKAGE_VERSION=2.0\nAUTOINSTALL='yes'\n" >"$FS/stubpkg-2.0/dkms.conf"
# cpi RUNNING [env...] -- ARGS...: the installed common.postinst on the stub trees.
cpi() {
	local running=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	stub_run env MODFORGE_INSTALLTREE="$FT" MODFORGE_SOURCETREE="$FS" MODFORGE_ETC_DKMS="$FE" \
		"${envs[@]}" "$RUNNING" "$running" "$COMMON" "$@"
}
ADDED=("status -m stubpkg -v 2.0" "add -m stubpkg -v 2.0")
cpi 6.1.0-9-amd64 -- stubpkg 2.0
expect_eq "running 6.1.0-9 with headers: exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-9-amd64 -k 6.1.0-10-amd64"
expect_line "Building for 6.1.0-9-amd64 and 6.1.0-10-amd64" "$E2E_OUT"
cpi 6.1.0-10-amd64 -- stubpkg 2.0 /usr/share/stubpkg-dkms x86_64
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-10-amd64 -a x86_64"
expect_line "Building for architecture x86_64" "$E2E_OUT"
cpi 6.1.0-11-amd64 -- stubpkg 2.0
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-10-amd64"
expect_text "Module build for kernel 6.1.0-11-amd64 was skipped since the kernel headers" "$E2E_OUT"
cpi 5.10.0-host -- stubpkg 2.0
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-8-amd64 -k 6.1.0-9-amd64 -k 6.1.0-10-amd64"
expect_line "Building for 6.1.0-8-amd64, 6.1.0-9-amd64 and 6.1.0-10-amd64" "$E2E_OUT"
cpi 5.10.0-host -- stubpkg 2.0 "" "" 1.9
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-10-amd64"
echo 'autoinstall_all_kernels=1' >"$FE/framework.conf"
cpi 6.1.0-9-amd64 -- stubpkg 2.0
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-8-amd64 -k 6.1.0-9-amd64 -k 6.1.0-10-amd64"
rm -f "$FE/framework.conf"
echo "stubpkg/2.0, 6.1.0-9-amd64, $A: installed" >"$E2E_TMP/stub-status"
cpi 6.1.0-9-amd64 STUB_STATUS="$E2E_TMP/stub-status" -- stubpkg 2.0
expect_lines "$CALLS" "status -m stubpkg -v 2.0" "remove -m stubpkg -v 2.0 --all" "add -m stubpkg -v 2.0" \
	"install -m stubpkg -v 2.0 -k 6.1.0-9-amd64 -k 6.1.0-10-amd64"
# A failed build: every kernel is tried (one call), the failed ones listed, dkms's status
# passed on (continue_on_error=true, the default, as dkms 3.4.3).
cpi 6.1.0-9-amd64 STUB_RC_install=10 -- stubpkg 2.0
expect_eq "failed build: exit 10" 10 "$E2E_RC"
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-9-amd64 -k 6.1.0-10-amd64" \
	"status -m stubpkg -v 2.0" "build -m stubpkg -v 2.0 -k 6.1.0-9-amd64 --dry-run --json" \
	"build -m stubpkg -v 2.0 -k 6.1.0-10-amd64 --dry-run --json"
expect_line "Builds for the following kernel(s) failed: 6.1.0-9-amd64 6.1.0-10-amd64" "$E2E_OUT"
cpi 6.1.0-9-amd64 STUB_RC_install=77 -- stubpkg 2.0
expect_eq "77 (BUILD_EXCLUSIVE) is a skip: exit 0" 0 "$E2E_RC"
# continue_on_error=false: one install per kernel, stop at the first failure.
echo 'continue_on_error=false' >"$FE/framework.conf"
cpi 6.1.0-9-amd64 -- stubpkg 2.0
expect_eq "continue_on_error=false: exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-9-amd64" \
	"install -m stubpkg -v 2.0 -k 6.1.0-10-amd64"
cpi 6.1.0-9-amd64 STUB_RC_install=10 -- stubpkg 2.0
expect_eq "continue_on_error=false, failed build: exit 10" 10 "$E2E_RC"
expect_lines "$CALLS" "${ADDED[@]}" "install -m stubpkg -v 2.0 -k 6.1.0-9-amd64"
rm -f "$FE/framework.conf"
# AUTOINSTALL not yes; no-autoinstall; no kernel with headers; no sources; no arguments.
printf 'PACKAGE_NAME=stubpkg\nPACKAGE_VERSION=2.0\n#AUTOINSTALL=yes\nAUTOINSTALL=no\n' >"$FS/stubpkg-2.0/dkms.conf"
cpi 6.1.0-9-amd64 -- stubpkg 2.0
expect_eq "AUTOINSTALL=no: exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "${ADDED[@]}"
printf 'PACKAGE_NAME=stubpkg\nPACKAGE_VERSION=2.0\nAUTOINSTALL="yes"  # on\n' >"$FS/stubpkg-2.0/dkms.conf"
touch "$FE/no-autoinstall"
cpi 6.1.0-9-amd64 -- stubpkg 2.0
expect_eq "no-autoinstall: exit 0" 0 "$E2E_RC"
expect_lines "$CALLS"
rm -f "$FE/no-autoinstall"
cpi 6.1.0-9-amd64 MODFORGE_INSTALLTREE="$E2E_TMP/empty-modules" -- stubpkg 2.0
expect_eq "no kernel headers: exit 0" 0 "$E2E_RC"
expect_lines "$CALLS" "${ADDED[@]}"
expect_text "WARNING: No kernel headers were found" "$E2E_OUT"
cpi 6.1.0-9-amd64 -- nosuchpkg 1.0
expect_eq "no sources: exit 1" 1 "$E2E_RC"
expect_lines "$CALLS" "status -m nosuchpkg -v 1.0"
cpi 6.1.0-9-amd64 -- stubpkg
expect_eq "no VERSION: exit 1" 1 "$E2E_RC"
expect_lines "$CALLS"

e2e_done

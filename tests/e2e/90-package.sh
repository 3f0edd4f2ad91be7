#!/bin/bash
# 90-package: the Debian package. scripts/package.sh makes modforge_<v>_amd64.deb; its
# control fields take over from Debian's dkms (Provides: dkms (= 3.4.3), Conflicts and
# Replaces: dkms) and it holds everything `cmake --install` puts. Then, on an overlay of
# this machine's root (in CI: the pristine Debian 12 root scripts/deps.sh prepared, which
# has Debian's dkms 3.0.10 installed), entered with pivot_root in private mount and pid
# namespaces so that nothing of the real system changes:
#  1. apt-get install ./modforge_*.deb replaces dkms: dkms's package is gone, /usr/sbin/dkms
#     is modforge, common.postinst and dkms.service are modforge's;
#  2. apt-get install v4l2loopback-dkms (from Debian's archive): its postinst runs our
#     common.postinst, which builds and installs the module for every kernel with headers;
#  3. apt-get remove v4l2loopback-dkms: its prerm runs `dkms remove --all`: the tree and the
#     module trees are clean again;
#  4. apt-get remove modforge: /usr/sbin/dkms is gone.
. "$(dirname "$0")/lib.sh"
e2e_init
if ! modforge_only "modforge's Debian package"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "this test mounts an overlay root, so it runs as root"
A=$E2E_ARCH
PKGDIR=$E2E_TMP/pkg
run_cmd bash "$MODFORGE_SRC/scripts/package.sh" "$PKGDIR"
if [ "$E2E_RC" -eq 0 ]; then ok "scripts/package.sh made $(basename "$(cat "$E2E_OUT")")"; else bail "scripts/package.sh failed: $(tail -n 20 "$E2E_TMP/last.all")"; fi
DEB=$(cat "$E2E_OUT")
case $(basename "$DEB") in
modforge_*_amd64.deb) ok "named modforge_<version>_amd64.deb" ;;
*) not_ok "named modforge_<version>_amd64.deb: $DEB" ;;
esac
field() { dpkg-deb -f "$DEB" "$1"; }
expect_eq "Package" "modforge" "$(field Package)"
expect_eq "Provides" "dkms (= 3.4.3)" "$(field Provides)"
expect_eq "Conflicts" "dkms" "$(field Conflicts)"
expect_eq "Replaces" "dkms" "$(field Replaces)"
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$E2E_TMP/contents"
for f in /usr/sbin/modforge /usr/sbin/dkms /usr/lib/dkms/common.postinst /usr/lib/systemd/system/dkms.service \
	/etc/kernel/postinst.d/dkms /etc/kernel/header_postinst.d/dkms /etc/kernel/preinst.d/dkms \
	/etc/kernel/prerm.d/dkms /usr/share/man/man8/modforge.8 /usr/share/man/man8/dkms.8 \
	/usr/share/bash-completion/completions/modforge /usr/share/bash-completion/completions/dkms \
	/usr/share/zsh/vendor-completions/_modforge /usr/share/modforge/schema/status.schema.json \
	/usr/share/modforge/schema/plan.schema.json /usr/share/modforge/schema/events.schema.json \
	/var/lib/dkms/ /etc/dkms/framework.conf.d/; do
	if grep -qxF "$f" "$E2E_TMP/contents"; then ok "the package has $f"; else not_ok "the package has $f"; fi
done
expect_eq "no pacman hooks in a Debian package" "" "$(grep libalpm "$E2E_TMP/contents" || true)"
expect_eq "conffiles" "$(printf '%s\n' /etc/kernel/postinst.d/dkms /etc/kernel/header_postinst.d/dkms \
	/etc/kernel/preinst.d/dkms /etc/kernel/prerm.d/dkms)" "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)"

diag "--- on an overlay of this root: install, a real *-dkms package in and out, remove"
OUT=$E2E_TMP/out
mkdir -p "$OUT"
chmod 755 "$OUT"
mkdir -p "$E2E_TMP/inside-dir"
cat >"$E2E_TMP/inside-dir/inside.sh" <<'SH'
# Runs in the overlay root; records what each step left in /out.
set -u
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "$@"; }
snapshot() { # NAME: the state after a step
	dpkg-query -W -f='${Status}\n' dkms >"/out/$1.dkms-pkg" 2>/dev/null || echo "not known" >"/out/$1.dkms-pkg"
	dkms status >"/out/$1.status" 2>&1
	find /lib/modules -path '*/updates/*' -name 'v4l2loopback.ko*' | sort >"/out/$1.modules"
	ls -A /var/lib/dkms >"/out/$1.tree" 2>&1
}
snapshot before
apt_get install /pkg/*.deb >/out/install.log 2>&1; echo $? >/out/install.rc
snapshot installed
readlink /usr/sbin/dkms >/out/sbin-dkms
dkms --version >/out/dkms-version 2>&1
grep '^ExecStart=' /usr/lib/systemd/system/dkms.service >/out/execstart
cp /usr/lib/dkms/common.postinst /out/common.postinst
# Debian 12's v4l2loopback (0.12.7) does not build for 6.12: only the 6.1 kernels keep
# their headers here (the overlay's whiteouts; the real ones stay).
for b in /lib/modules/6.12.*/build; do [ -e "$b" ] && rm -f "$b"; done
ls /lib/modules/*/build/include -d 2>/dev/null | sed 's|^/lib/modules/||; s|/build/include$||' | sort >/out/kernels
apt_get install v4l2loopback-dkms >/out/v4l-install.log 2>&1; echo $? >/out/v4l-install.rc
snapshot v4l
dpkg-query -W -f='${Version}\n' v4l2loopback-dkms >/out/v4l-version 2>&1
apt_get remove v4l2loopback-dkms >/out/v4l-remove.log 2>&1; echo $? >/out/v4l-remove.rc
snapshot v4l-removed
apt_get remove modforge >/out/remove.log 2>&1; echo $? >/out/remove.rc
ls /usr/sbin/dkms /usr/sbin/modforge >/out/sbin-after 2>&1
exit 0
SH
run_cmd bash "$MODFORGE_SRC/tests/tools/overlay_root.sh" "$PKGDIR:/pkg" "$OUT:/out" "$E2E_TMP/inside-dir:/inside" \
	-- bash /inside/inside.sh
[ "$E2E_RC" -eq 0 ] || not_ok "the overlay root ran (exit $E2E_RC)" "$E2E_ERR"

expect_eq "before: Debian's dkms is installed" "install ok installed" "$(cat "$OUT/before.dkms-pkg")"
expect_eq "apt-get install ./modforge.deb: exit 0" 0 "$(cat "$OUT/install.rc")" || tail -n 20 "$OUT/install.log" | sed 's/^/#   /'
case $(cat "$OUT/installed.dkms-pkg") in
"deinstall ok config-files" | "not known" | "") ok "dkms's package was removed ($(cat "$OUT/installed.dkms-pkg"))" ;;
*) not_ok "dkms's package was removed: $(cat "$OUT/installed.dkms-pkg")" "$OUT/install.log" ;;
esac
expect_eq "/usr/sbin/dkms -> modforge" "modforge" "$(cat "$OUT/sbin-dkms")"
expect_eq "dkms --version" "dkms-3.4.3" "$(cat "$OUT/dkms-version")"
expect_eq "dkms.service runs /usr/sbin/dkms" "ExecStart=/usr/sbin/dkms autoinstall --verbose --kernelver %v" "$(cat "$OUT/execstart")"
if cmp -s "$OUT/common.postinst" "$MODFORGE_SRC/hooks/common.postinst"; then ok "/usr/lib/dkms/common.postinst is modforge's"; else not_ok "/usr/lib/dkms/common.postinst is modforge's"; fi

expect_eq "apt-get install v4l2loopback-dkms: exit 0" 0 "$(cat "$OUT/v4l-install.rc")" || tail -n 30 "$OUT/v4l-install.log" | sed 's/^/#   /'
if grep -q "common.postinst\|Building module\|Installing " "$OUT/v4l-install.log"; then ok "its postinst ran our common.postinst"; else not_ok "its postinst ran our common.postinst" "$OUT/v4l-install.log"; fi
V=$(sed 's/-[^-]*$//; s/^[0-9]*://' "$OUT/v4l-version")
mapfile -t KERNELS <"$OUT/kernels"
[ "${#KERNELS[@]}" -gt 0 ] || not_ok "the root has kernel headers"
# Installed where the kernel has V4L2 (CONFIG_VIDEO_DEV since 5.18); excluded elsewhere
# (its dkms.conf sets BUILD_EXCLUSIVE_KERNEL then), which is a skip, not a failure.
want_status=() want_mods=()
for k in "${KERNELS[@]}"; do
	kernel_has_config "$k" CONFIG_VIDEO_DEV || continue
	want_status+=("v4l2loopback/$V, $k, $A: installed")
	want_mods+=("/lib/modules/$k/updates/dkms/v4l2loopback.ko")
done
[ "${#want_status[@]}" -gt 0 ] || not_ok "a kernel with V4L2 among: ${KERNELS[*]}"
expect_lines "$OUT/v4l.status" "${want_status[@]}"
expect_lines "$OUT/v4l.modules" "${want_mods[@]}"
expect_eq "apt-get remove v4l2loopback-dkms: exit 0" 0 "$(cat "$OUT/v4l-remove.rc")" || tail -n 20 "$OUT/v4l-remove.log" | sed 's/^/#   /'
expect_lines "$OUT/v4l-removed.status"
expect_lines "$OUT/v4l-removed.modules"
expect_eq "the tree holds no v4l2loopback" "" "$(grep -x v4l2loopback "$OUT/v4l-removed.tree" || true)"
expect_eq "apt-get remove modforge: exit 0" 0 "$(cat "$OUT/remove.rc")"
expect_eq "/usr/sbin/dkms and modforge are gone" 2 "$(grep -c 'No such file' "$OUT/sbin-after")"
e2e_done

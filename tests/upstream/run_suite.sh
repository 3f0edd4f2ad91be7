#!/bin/bash
# tests/upstream/run_suite.sh [SECTION...] - dkms 3.4.3's own test suite
# (../shared/upstream/dkms-3.4.3/run_test.sh), run against modforge installed as dkms.
#
# Each section runs on its own throwaway overlay of this machine's root
# (tests/tools/overlay_root.sh), where Debian's dkms is taken away (its /usr/lib/dkms and
# state too) and this build is installed with `cmake --install --prefix /usr`: modforge is
# /usr/sbin/dkms, and its hooks, common.postinst and dkms_autoinstaller are the ones in
# place (a section fails with exit 96 when there is no dkms_autoinstaller, whose steps the
# suite would skip). The suite's
# directory is copied there (to /srv: it writes its logs into it) and run as root with
# KERNEL_VER, against the real paths of the copy; nothing reaches the machine.
#
# The allowed differences, each a small edit of the copied run_test.sh:
#  - the signing prologue's "Sign command:" names modforge's built-in signer where dkms
#    names the distribution's sign-file (the signatures are the same bytes);
#  - in autoinstall (and kernel_postinst), "Running depmod... done." is left out of both
#    the expected and the actual text: modforge runs depmod once per kernel after all the
#    modules, dkms after each.
#
# Environment: MODFORGE_BUILD (a configured, built build directory; default build/),
# MODFORGE_UPSTREAM (default ../shared/upstream/dkms-3.4.3 beside the checkout),
# KERNEL_VER (default: the newest 6.1.0-N-amd64 with headers), OUT (where each section's
# log and exit code go; default a temporary directory, printed).
# Prints one line per section, "SECTION pass" or "SECTION FAIL (exit N): <first lines of
# what the suite said>", and exits 0 when every section asked for passed.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${MODFORGE_BUILD:-$SRC/build}" && pwd)
UP=${MODFORGE_UPSTREAM:-$SRC/../shared/upstream/dkms-3.4.3}
[ "$(id -u)" = 0 ] || { echo "run_suite.sh: needs root (mounts, and the suite itself)" >&2; exit 2; }
[ -f "$UP/run_test.sh" ] || { echo "run_suite.sh: no dkms 3.4.3 suite at $UP" >&2; exit 2; }
[ -x "$BUILD/modforge" ] || { echo "run_suite.sh: no modforge in $BUILD" >&2; exit 2; }
UP=$(cd "$UP" && pwd)
if [ -z "${KERNEL_VER:-}" ]; then
	KERNEL_VER=$(for d in /lib/modules/6.1.0-*-amd64/build; do [ -d "$d/include" ] && basename "$(dirname "$d")"; done |
		grep -v cloud | sort -V | tail -n1)
fi
[ -n "$KERNEL_VER" ] && [ -d "/lib/modules/$KERNEL_VER/build" ] ||
	{ echo "run_suite.sh: no kernel with headers (KERNEL_VER)" >&2; exit 2; }
SECTIONS=("$@")
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(basic signing autoinstall noautoinstall dependencies rebuild_dependencies
	replace multiple malformed multiversion noversion exclusive os-release incomplete broken)
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/modforge-upstream.XXXXXX")}
mkdir -p "$OUT"
echo "# dkms 3.4.3's suite against $BUILD/modforge as dkms, KERNEL_VER=$KERNEL_VER; logs in $OUT"

inside=$(mktemp -d "${TMPDIR:-/tmp}/modforge-upstream-in.XXXXXX")
trap 'rm -rf "$inside"' EXIT
cat >"$inside/section.sh" <<'SH'
# In the overlay root: replace dkms with this build, then run one section.
set -u
section=$1 kernel=$2 build=$3
export DEBIAN_FRONTEND=noninteractive
rm -rf /usr/lib/dkms /etc/dkms /usr/sbin/dkms /var/lib/dkms
mkdir -p /var/lib/dkms /etc/dkms/framework.conf.d
cmake --install "$build" --prefix /usr >/out/$section.install.log 2>&1 || { echo 97 >/out/$section.rc; exit 0; }
# The suite skips its dkms_autoinstaller steps when there is none: modforge's must be there.
[ -x /usr/lib/dkms/dkms_autoinstaller ] || { echo 96 >/out/$section.rc; exit 0; }
# Not under /root (0700): modforge reads dkms.conf as its unprivileged build user, which
# must reach it (dkms reads it as root).
cp -a /upstream /srv/dkms-suite
cd /srv/dkms-suite
# Allowed difference: modforge signs with its built-in signer.
sed -i 's|^SIGNING_PROLOGUE_command="Sign command: \${sign_file}"$|SIGNING_PROLOGUE_command="Sign command: built in (modforge, libcrypto)"|' run_test.sh
grep -q 'built in (modforge, libcrypto)' run_test.sh || { echo 98 >/out/$section.rc; exit 0; }
# Allowed difference: depmod once per kernel in autoinstall.
sed -i 's|^    generalize_expected_output "\${output_log}" "\${dkms_command}"$|&\n    if [[ $dkms_command = autoinstall \|\| $dkms_command = kernel_postinst ]]; then sed -i "/^Running depmod... done.$/d" "${output_log}" "${expected_output_log}"; fi|' run_test.sh
grep -q 'dkms_command = autoinstall' run_test.sh || { echo 98 >/out/$section.rc; exit 0; }
KERNEL_VER=$kernel ./run_test.sh "$section" >/out/$section.log 2>&1
echo $? >/out/$section.rc
SH
failed=0
for s in "${SECTIONS[@]}"; do
	rm -f "$OUT/$s.rc"
	bash "$SRC/tests/tools/overlay_root.sh" "$UP:/upstream" "$OUT:/out" "$inside:/inside" "$BUILD:$BUILD" \
		-- bash /inside/section.sh "$s" "$KERNEL_VER" "$BUILD" >"$OUT/$s.overlay.log" 2>&1
	rc=$(cat "$OUT/$s.rc" 2>/dev/null || echo 99)
	if [ "$rc" = 0 ] && grep -q "^\*\*\* All tests successful" "$OUT/$s.log"; then
		echo "$s pass"
	else
		failed=1
		why=$(grep -v '^Using kernel\|^Checking module\|^config:\|^files:\|^Expected extension\|^Preparing\|^Test\|^Enabling\|^Running only\|^ *$' \
			"$OUT/$s.log" 2>/dev/null | head -n 6 | tr '\n' '|' | cut -c1-300)
		echo "$s FAIL (exit $rc): $why"
	fi
done
exit "$failed"

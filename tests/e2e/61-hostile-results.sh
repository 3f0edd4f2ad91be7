#!/bin/bash
# 61-hostile-results: builds whose *results* are the attack. The sandbox keeps a build from
# reading the signing key; these try to make the privileged side read it for them, by
# leaving, where a module or Module.symvers or make.log should be: a symlink to the MOK key,
# to a root-only file, to /proc/self/environ; a symlinked result directory; a FIFO; a hard
# link (to its own file, to the root-owned make.log, and one to a root-owned file readable by
# all, made for it as fs.protected_hardlinks=0 would allow); a 4 GiB sparse file; a make.log
# made 4 GiB through the build's own stdout. And a race:
# a process of the build user outside the sandbox swaps the module for a symlink to the key
# in a loop while the builds run and root collects them.
# Each must fail that module only (named, with the reason), install and cache nothing of
# it, hang nothing; a random secret planted in the key, a root-only file and modforge's
# environment must appear nowhere under the dkms tree, the cache or the install tree.
export TMPDIR=/var/tmp # the tree must be outside the sandbox's private /tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "the privileged side's checks of build results (dkms trusts its builds)"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "runs as root: the privileged side is what is attacked"
use_root "$(new_root results)"
chmod 755 "$E2E_TMP" "$ROOT"
BUILD_UID=65534
MARK=modforge-secret-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
KEY=$DKMS/mok.key
expect_rc 0 mf generate_mok
echo "$MARK-key" >>"$KEY"
SECRETDIR=/root/modforge-results.$$
mkdir -m 700 "$SECRETDIR"
echo "$MARK-root" >"$SECRETDIR/secret"
echo "$MARK-dir" >"$SECRETDIR/evil_dir.ko"
RACER=
trap '[ -z "$RACER" ] || kill "$RACER" 2>/dev/null; rm -rf "$SECRETDIR"; e2e_cleanup' EXIT
# In modforge's own environment: what /proc/self/environ would give away.
export MODFORGE_E2E_SECRET=$MARK-env

# pkg NAME ATTACK [extra dkms.conf lines]: a package whose module evil_NAME is built from
# the example's source, then ATTACK runs (bash, in the build dir).
pkg() {
	local name=$1 attack=$2 extra=${3:-} d=$E2E_TMP/pkg/evil-$1-1.0
	mkdir -p "$d"
	cp "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.c" "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.h" "$d/"
	printf 'obj-m := evil_%s.o\nevil_%s-y := mf_hello.o\n' "$name" "$name" >"$d/Kbuild"
	cat >"$d/dkms.conf" <<CONF
PACKAGE_NAME="evil-$name"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="evil_$name"
DEST_MODULE_LOCATION[0]="/updates"
AUTOINSTALL="yes"
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/evil-$name/1.0/build modules && { $attack; }"
$extra
CONF
	expect_rc 0 mf add "$d"
}

pkg good "true"
pkg key "rm -f evil_key.ko && ln -s $KEY evil_key.ko"
pkg root "rm -f evil_root.ko && ln -s $SECRETDIR/secret evil_root.ko"
pkg proc "rm -f evil_proc.ko && ln -s /proc/self/environ evil_proc.ko"
pkg symvers "rm -f Module.symvers && ln -s $KEY Module.symvers"
pkg log "rm -f make.log && ln -s $SECRETDIR/secret make.log"
# The build's stdout is make.log: made a 4 GiB sparse file, root keeps only its tail.
pkg biglog "python3 -c 'import os; os.ftruncate(1, 4 << 30)'"
pkg dir "mkdir out.real && mv evil_dir.ko out.real/ && ln -s $SECRETDIR out" 'BUILT_MODULE_LOCATION[0]="out/"'
pkg fifo "rm -f evil_fifo.ko && mkfifo evil_fifo.ko"
pkg hardlink "ln evil_hardlink.ko evil_hardlink.copy"
# Linking a file of root's (make.log) is refused by the kernel where fs.protected_hardlinks
# is 1; where it is 0 the link exists and modforge refuses it (owner, link count).
pkg rootlink "rm -f evil_rootlink.ko && { ln make.log evil_rootlink.ko || true; }"
pkg sparse "truncate -s 4G evil_sparse.ko"
# Where fs.protected_hardlinks is 0 the build could link a file of root's that it can read:
# this build waits (at most 120 s) until the test, as root, has put such a link in place of
# its module, as that build could have.
READABLE=$E2E_TMP/readable-by-all
echo "$MARK-readable" >"$READABLE"
chmod 644 "$READABLE"
pkg readable "touch made && timeout 120 sh -c 'until [ -e linked ]; do sleep 0.1; done'"

# One run over all of them: every evil module fails on its own, the good one installs.
RAREA=$DKMS/evil-readable/1.0/.build-$K1-$A
( for i in $(seq 1200); do
	if [ -e "$RAREA/made" ]; then
		ln -f "$READABLE" "$RAREA/evil_readable.ko" && touch "$RAREA/linked"
		break
	fi
	sleep 0.1
done ) &
LINKER=$!
t0=$(date +%s)
run_cmd timeout 900 "$MODFORGE" autoinstall -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
t1=$(date +%s)
wait "$LINKER"
if [ "$E2E_RC" -ne 0 ] && [ "$E2E_RC" -ne 124 ]; then ok "autoinstall fails (exit $E2E_RC) in $((t1 - t0)) s, no hang"; else not_ok "autoinstall fails, no hang (exit $E2E_RC)" "$E2E_OUT" "$E2E_ERR"; fi
cp "$E2E_ERR" "$E2E_TMP/autoinstall.err"
ERR=$E2E_TMP/autoinstall.err

# The reason, named with the file as the build sees it.
refusal() { # NAME FILE REASON
	local b=$DKMS/evil-$1/1.0/build
	expect_text "$b/$2 $3" "$ERR"
}
refusal key evil_key.ko "is a symbolic link; a build result must be a regular file"
refusal root evil_root.ko "is a symbolic link; a build result must be a regular file"
refusal proc evil_proc.ko "is a symbolic link; a build result must be a regular file"
refusal symvers Module.symvers "is a symbolic link; a build result must be a regular file"
refusal dir out/evil_dir.ko "lies below the symbolic link out;"
refusal fifo evil_fifo.ko "is a FIFO; a build result must be a regular file"
refusal hardlink evil_hardlink.ko "has 2 hard links; a build result must have exactly one"
refusal sparse evil_sparse.ko "is 4294967296 bytes, over the 512 MiB a build result may have"
refusal readable evil_readable.ko "belongs to uid 0, not to the build user (uid $BUILD_UID)"
if grep -q "evil-rootlink/1.0/build/evil_rootlink.ko .*a build result" "$ERR"; then
	ok "rootlink: the link was made (fs.protected_hardlinks=0) and refused"
elif grep -q "Build of evil_rootlink.ko failed for: $K1" "$ERR"; then
	ok "rootlink: the kernel refused the link (fs.protected_hardlinks=1): no module"
else
	not_ok "rootlink: refused" "$ERR"
fi

status_of() { mf status "evil-$1" -k "$K1" 2>/dev/null; }
for n in good log biglog; do
	expect_eq "evil-$n is installed" "evil-$n/1.0, $K1, $A: installed" "$(status_of "$n")"
done
for n in key root proc symvers dir fifo hardlink rootlink sparse readable; do
	expect_eq "evil-$n is not built" "evil-$n/1.0: added" "$(status_of "$n")"
	expect_no_file "$INST/$K1/updates/dkms/evil_$n.ko"
	expect_no_file "$DKMS/evil-$n/1.0/$K1"
done

# make.log swapped for a symlink: the log kept is root's own copy of what the build wrote.
LOG=$DKMS/evil-log/1.0/$K1/$A/log/make.log
if [ -f "$LOG" ] && [ ! -L "$LOG" ] && [ "$(stat -c %u "$LOG")" = 0 ]; then
	ok "make.log is a regular file of root's"
else
	not_ok "make.log is a regular file of root's ($(ls -l "$LOG" 2>&1))"
fi
expect_text "Building module(s)" "$LOG"
BIGLOG=$DKMS/evil-biglog/1.0/$K1/$A/log/make.log
size=$(stat -c %s "$BIGLOG" 2>/dev/null || echo missing)
if [ "$size" != missing ] && [ "$size" -le $((17 << 20)) ] && head -n1 "$BIGLOG" | grep -q "^\[modforge: make.log was 42949"; then
	ok "a 4 GiB sparse make.log is kept as its last 16 MiB ($size bytes)"
else
	not_ok "a 4 GiB sparse make.log is kept as its last 16 MiB (size $size)" "$BIGLOG"
fi
expect_eq "the good module is signed" "DKMS module signing key" \
	"$(modinfo -F signer "$INST/$K1/updates/dkms/evil_good.ko" 2>&1)"

# Nothing root wrote holds anything it should not: no symlink, no file of the build user.
expect_eq "no symlink in any result, the cache or the install tree" "" \
	"$(find "$DKMS"/evil-*/1.0/"$K1" "$DKMS/.modforge" "$INST" -type l ! -name build 2>/dev/null)"
expect_eq "no file of the build user in any result, the cache or the install tree" "" \
	"$(find "$DKMS"/evil-*/1.0/"$K1" "$DKMS/.modforge" "$INST" -uid "$BUILD_UID" 2>/dev/null)"

# leak_check WHAT: the secret is nowhere but in the key itself and the file the test linked
# into a build area (the sparse file left in a failed area is skipped by size).
leak_check() {
	local hits
	hits=$(find "$DKMS" "$INST" -type f -size -100M ! -path "$KEY" ! -samefile "$READABLE" -print0 2>/dev/null |
		xargs -0 -r grep -l -D skip -e "$MARK" 2>/dev/null || true)
	expect_eq "$1: no secret under the dkms tree, the cache or the install tree" "" "$hits"
}
leak_check "after the run"

# Each on its own: the exit code of a refused result is 7 (as for a missing module).
expect_rc 7 timeout 300 "$MODFORGE" build evil-key/1.0 -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
expect_text "evil-key/1.0/build/evil_key.ko is a symbolic link" "$E2E_ERR"
expect_rc 7 timeout 300 "$MODFORGE" install evil-fifo/1.0 -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"

# The race: the build user, outside any sandbox (its area's parent is root's 0755, the area
# its own), swaps evil_race.ko for a symlink to the key, and back, in a loop, while builds
# run and root collects them. Whatever root takes must be the build user's own file.
# MAKE ends by leaving "made"; from then on the racer swaps, as fast as it can, while root
# checks, strips and takes the results.
pkg race "touch made"
AREA=$DKMS/evil-race/1.0/.build-$K1-$A
setpriv --reuid=$BUILD_UID --regid=$BUILD_UID --clear-groups bash -c '
	area=$1 key=$2
	while :; do
		if [ -f "$area/made" ]; then
			[ -f "$area/real" ] || cp "$area/evil_race.ko" "$area/real"
			ln -sfn "$key" "$area/ko.l" && mv -Tf "$area/ko.l" "$area/evil_race.ko"
			ln -sfn "$key" "$area/sv.l" && mv -Tf "$area/sv.l" "$area/Module.symvers"
			cp "$area/real" "$area/ko.f" && mv -Tf "$area/ko.f" "$area/evil_race.ko"
		else
			sleep 0.005
		fi
	done 2>/dev/null' racer "$AREA" "$KEY" &
RACER=$!
outcomes=
for round in 1 2 3 4 5 6; do
	run_cmd timeout 300 "$MODFORGE" install evil-race/1.0 -k "$K1" --force --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
	outcomes="$outcomes $E2E_RC"
	ko=$INST/$K1/updates/dkms/evil_race.ko
	# What root took is the build user's own file: the real module, or nothing.
	if [ "$E2E_RC" -eq 0 ] && ! modinfo -F vermagic "$ko" 2>/dev/null | grep -qF "$K1 "; then
		not_ok "race round $round: the installed evil_race.ko is the real module for $K1" "$E2E_ERR"
	fi
	case $E2E_RC in
	0) ;;
	7) grep -q "a build result must be a regular file\|has disappeared" "$E2E_ERR" ||
		not_ok "race round $round: exit 7 names the refused file" "$E2E_ERR" ;;
	*) not_ok "race round $round: exit 0 or 7 (got $E2E_RC)" "$E2E_OUT" "$E2E_ERR" ;;
	esac
	mf unbuild evil-race/1.0 -k "$K1" >/dev/null 2>&1
done
kill "$RACER" 2>/dev/null
wait "$RACER" 2>/dev/null
RACER=
ok "race: 6 rounds, exit codes:$outcomes (0: the real module taken, 7: a symlink refused)"
leak_check "after the race"
expect_eq "no process of a build is left" "" \
	"$(ps -u $BUILD_UID -o stat=,args= | awk '$1 !~ /^Z/' | grep -F "$DKMS" || true)"
e2e_done

#!/bin/bash
# 30-bad-input: bad dkms.conf files, a kernel without headers and a failing make. Each must
# end with dkms's exit code (reference §4.4), say which module (and, where the failure is
# about one kernel, which kernel) failed, and write nothing outside the module's own area
# of the scratch dkms tree: the scratch install tree, source tree and the rest of the dkms
# tree are compared before and after.
. "$(dirname "$0")/lib.sh"
e2e_init
use_root "$(new_root main)"
A=$E2E_ARCH
K1=${E2E_KERNELS[0]}
HELLO_SRC=$MODFORGE_SRC/examples/mf-hello-1.0

# A kernel that has headers nowhere.
NOHDR_K=6.1.0-9999-amd64
[ ! -e "/usr/src/linux-headers-$NOHDR_K" ] && [ ! -e "/lib/modules/$NOHDR_K" ] ||
	bail "$NOHDR_K unexpectedly has headers on this machine"

# mk_src NAME: $SRC/NAME-1.0 with a one-module kbuild source (mf_hello.c) and no dkms.conf.
mk_src() {
	local d=$SRC/$1-1.0
	mkdir -p "$d"
	cp "$HELLO_SRC/mf_hello.c" "$HELLO_SRC/mf_hello.h" "$d/"
	echo 'obj-m := mf_hello.o' >"$d/Makefile"
	printf '%s\n' "$d"
}

# conf NAME LINES...: writes $SRC/NAME-1.0/dkms.conf.
conf() {
	local n=$1
	shift
	printf '%s\n' "$@" >"$SRC/$n-1.0/dkms.conf"
}

# snapshot M: the scratch root except M's own area of the dkms tree (directories by name
# only: creating <dkmstree>/M changes the mtime of <dkmstree>).
# (modforge's per-module build locks and failed builds' logs, under .modforge/, are the
# module's too)
snapshot() {
	find "$ROOT" \( -path "$DKMS/$1" -o -path "$DKMS/.modforge/locks" -o -path "$DKMS/.modforge/logs" \) -prune \
		-o -type d -printf '%p d\n' -o -printf '%p %y %s %T@ %l\n' | sort
}

# case_run NAME RC_MF RC_REF TEXT... -- CMD...: runs CMD; checks the exit code (RC_MF, or
# RC_REF for Debian's 3.0.10), that every TEXT appears in the output, and (for a failure)
# that nothing outside <dkmstree>/NAME changed.
case_run() {
	local m=$1 want texts=() t
	want=$(mf_or_ref "$2" "$3")
	shift 3
	while [ "$1" != -- ]; do texts+=("$1"); shift; done
	shift
	diag "--- $m: $* (want exit $want)"
	snapshot "$m" >"$E2E_TMP/snap.before"
	expect_rc "$want" "$@"
	for t in "${texts[@]}"; do
		expect_text "$t" "$E2E_TMP/last.all"
	done
	snapshot "$m" >"$E2E_TMP/snap.after"
	if [ "$want" -eq 0 ]; then
		skip "$m: nothing written outside <dkmstree>/$m" "the reference accepts this input"
	elif cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
		ok "$m: nothing written outside <dkmstree>/$m"
	else
		not_ok "$m: nothing written outside <dkmstree>/$m"
		diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed 's/^/#   /'
	fi
	rm -rf "${DKMS:?}/$m"
}

GOOD_MOD=('BUILT_MODULE_NAME[0]="mf_hello"' 'DEST_MODULE_LOCATION[0]="/updates"')

# An installed module elsewhere in the tree, which no failure may touch (the snapshots
# cover it; it is checked again at the end).
expect_rc 0 mf add "$HELLO_SRC" -k "$K1"
expect_rc 0 mf install mf-hello/1.0 -k "$K1"
expect_file "$INST/$K1/updates/dkms/mf_hello.ko"
# 1. No dkms.conf in the source dir.
mk_src mf-noconf >/dev/null
case_run mf-noconf 4 4 mf-noconf dkms.conf -- mf install -m mf-noconf -v 1.0 -k "$K1"

# 2. A bash syntax error (unterminated quote): nothing after it can be read.
mk_src mf-syntax >/dev/null
conf mf-syntax 'PACKAGE_NAME="mf-syntax"' 'PACKAGE_VERSION="1.0' "${GOOD_MOD[@]}"
case_run mf-syntax 8 8 mf-syntax -- mf install -m mf-syntax -v 1.0 -k "$K1"

# 3. DEST_MODULE_LOCATION outside /kernel, /updates, /extra.
mk_src mf-destloc >/dev/null
conf mf-destloc 'PACKAGE_NAME="mf-destloc"' 'PACKAGE_VERSION="1.0"' \
	'BUILT_MODULE_NAME[0]="mf_hello"' 'DEST_MODULE_LOCATION[0]="/usr/lib/mf-destloc"'
case_run mf-destloc 8 8 mf-destloc DEST_MODULE_LOCATION -- mf install -m mf-destloc -v 1.0 -k "$K1"

# 4. DEST_MODULE_LOCATION climbing out with "..": modforge refuses it (DESIGN.md: conf
# validation); Debian's dkms replaces every location by /updates/dkms and installs.
mk_src mf-dotdot >/dev/null
conf mf-dotdot 'PACKAGE_NAME="mf-dotdot"' 'PACKAGE_VERSION="1.0"' \
	'BUILT_MODULE_NAME[0]="mf_hello"' 'DEST_MODULE_LOCATION[0]="/updates/../../../../../mf-escaped"'
case_run mf-dotdot 8 0 mf-dotdot -- mf install -m mf-dotdot -v 1.0 -k "$K1"
expect_no_file "$E2E_TMP/mf-escaped"

# 5. BUILT_MODULE_NAME with a "/" (the Makefile really builds sub/mf_hello.ko): modforge
# refuses the name (DESIGN.md); Debian's dkms fails to copy it into module/sub/ (cp errors)
# yet exits 0.
d=$(mk_src mf-slash)
mkdir -p "$d/sub"
mv "$d/mf_hello.c" "$d/sub/"
cp "$d/mf_hello.h" "$d/sub/"
echo 'obj-m := sub/mf_hello.o' >"$d/Makefile"
conf mf-slash 'PACKAGE_NAME="mf-slash"' 'PACKAGE_VERSION="1.0"' \
	'BUILT_MODULE_NAME[0]="sub/mf_hello"' 'DEST_MODULE_LOCATION[0]="/updates"'
case_run mf-slash 8 0 mf-slash -- mf install -m mf-slash -v 1.0 -k "$K1"

# 6. A kernel without headers (3.4.3: exit 21; Debian's 3.0.10: exit 1).
mk_src mf-nohdr >/dev/null
conf mf-nohdr 'PACKAGE_NAME="mf-nohdr"' 'PACKAGE_VERSION="1.0"' "${GOOD_MOD[@]}"
case_run mf-nohdr 21 1 "$NOHDR_K" -- mf build -m mf-nohdr -v 1.0 -k "$NOHDR_K"

# 7. make fails (a compile error): exit 10, the kernel and the make.log path are named.
d=$(mk_src mf-makefail)
echo '#error "mf-makefail: this module does not compile on purpose"' >>"$d/mf_hello.c"
conf mf-makefail 'PACKAGE_NAME="mf-makefail"' 'PACKAGE_VERSION="1.0"' "${GOOD_MOD[@]}"
LOG=$DKMS/mf-makefail/1.0/build/make.log
diag "--- mf-makefail"
snapshot mf-makefail >"$E2E_TMP/snap.before"
expect_rc 10 mf install -m mf-makefail -v 1.0 -k "$K1"
expect_text "$K1" "$E2E_TMP/last.all"
expect_text "$LOG" "$E2E_TMP/last.all"
expect_line "Error! Bad return status for module build on kernel: $K1 ($A)" "$E2E_ERR"
expect_file "$LOG"
expect_text "does not compile on purpose" "$LOG"
expect_no_file "$DKMS/mf-makefail/1.0/$K1/$A"
expect_no_file "$DKMS/mf-makefail/kernel-$K1-$A"
snapshot mf-makefail >"$E2E_TMP/snap.after"
if cmp -s "$E2E_TMP/snap.before" "$E2E_TMP/snap.after"; then
	ok "mf-makefail: nothing written outside <dkmstree>/mf-makefail"
else
	not_ok "mf-makefail: nothing written outside <dkmstree>/mf-makefail"
	diff "$E2E_TMP/snap.before" "$E2E_TMP/snap.after" | head -n 20 | sed 's/^/#   /'
fi
expect_rc 0 mf status -m mf-makefail
expect_lines "$E2E_OUT" "mf-makefail/1.0: added"
if modforge_only "one make.log per failed kernel, and the summary"; then
	K2=${E2E_KERNELS[1]}
	expect_rc 10 mf build mf-makefail/1.0 -k "$K1" -k "$K2"
	for k in "$K1" "$K2"; do
		own=$DKMS/.modforge/logs/mf-makefail/1.0/make-$k-$A.log
		expect_text "Consult $own for more information." "$E2E_ERR"
		expect_text "make.log for mf-makefail/1.0 for kernel $k ($A)" "$own"
		expect_text "failed:   build mf-makefail/1.0 for $k ($A), exit 10, log $own" "$E2E_ERR"
	done
	expect_file "$DKMS/mf-makefail/1.0/build/make.log"
	n=$(grep -c 'error: #error "mf-makefail: this module does not compile on purpose"' "$E2E_ERR")
	expect_eq "the summary quotes each failure's first error line" 2 "$n"
fi
expect_rc 0 mf remove mf-makefail/1.0 --all
expect_no_file "$DKMS/mf-makefail"

diag "--- the installed module survived every failure"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: installed"
expect_vermagic "$INST/$K1/updates/dkms/mf_hello.ko" "$K1"
expect_rc 0 mf remove mf-hello/1.0 --all
expect_rc 0 mf status
expect_lines "$E2E_OUT"

diag "--- a sandbox that cannot reach its paths says which call failed on which path"
if [ "$(id -u)" = 0 ] && modforge_only "the sandbox's build user (dkms builds as root)"; then
	CLOSED=$E2E_TMP/closed
	mkdir -m 700 "$CLOSED"
	# All of the root below a directory the build user cannot enter: the add reads the
	# dkms.conf of the tree given; the build cannot read the copy in the source tree.
	use_root "$(new_root closed/main)"
	expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0"
	expect_rc 8 mf build mf-hello/1.0 -k "$K1"
	expect_text "Cannot run bash to read $DKMS/mf-hello/1.0/source/dkms.conf: open($SRC/mf-hello-1.0): Permission denied" "$E2E_ERR"
	expect_text "The sandbox's build user (uid 65534) must be able to reach every path it is shown" "$E2E_ERR"
	# Only the dkms tree there: dkms.conf is read, the build's own sandbox cannot start.
	use_root "$(new_root open)"
	DKMS=$CLOSED/dkms
	mkdir "$DKMS"
	expect_rc 0 "$MODFORGE" add "$MODFORGE_SRC/examples/mf-hello-1.0" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
	expect_rc 10 "$MODFORGE" build mf-hello/1.0 -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
	expect_text "Error! Cannot start a step of the build of mf-hello/1.0 for $K1 ($A) in its sandbox: open($DKMS/mf-hello/1.0/.build-$K1-$A): Permission denied" "$E2E_ERR"
fi
diag "--- a mistyped verb, a -j that is not a number"
use_root "$(new_root words)"
expect_rc 1 mf instal mf-hello/1.0
expect_line 'Error! Unknown action specified: "instal"' "$E2E_ERR"
expect_line 'Did you mean "install"?' "$E2E_ERR"
expect_rc 1 mf frobnicate
expect_line 'Error! Unknown action specified: "frobnicate"' "$E2E_ERR"
expect_no_line 'Did you mean' "$E2E_ERR"
for j in abc -1 1.5 99999; do
	expect_rc 1 mf status -j "$j"
	expect_line "Error! -j: \"$j\" is not a number of jobs (1 to 1024, or 0: no limit)." "$E2E_ERR"
done
parallel_jobs=x expect_rc 0 mf status # not the user's -j: said, and the default
expect_text 'Warning: parallel_jobs in the environment: "x" is not a number of jobs; using ' "$E2E_ERR"
# dkms alone prints its usage and exits 0, as dkms does; a word that is no verb fails.
expect_rc 0 "$(dirname "$MODFORGE")/dkms"
expect_text 'Usage:' "$E2E_TMP/last.all"
expect_rc 1 "$(dirname "$MODFORGE")/dkms" instal
# -j 0 is dkms's make -j: no limit.
expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" -j 0 --dry-run --json
expect_text '"slots":	1024' "$E2E_OUT"
diag "--- kernel versions and arches that cannot be path components"
expect_rc 16 mf build mf-hello/1.0 -k "$K1" -a '../../x'
expect_line 'Error! Invalid arch "../../x": only letters, digits and . _ - are allowed, and not . or ..' "$E2E_ERR"
expect_rc 16 mf build mf-hello/1.0 -k "$K1" -a 'a b'
expect_line 'Error! Invalid arch "a b": only letters, digits and . _ - are allowed, and not . or ..' "$E2E_ERR"
expect_rc 16 mf build mf-hello/1.0 -k '../x'
expect_line 'Error! Invalid kernel version "..": only letters, digits and . _ - + ~ are allowed, and not . or ..' "$E2E_ERR"
expect_rc 16 mf status -k 'a b'
expect_rc 0 mf status -k '6.1*' -m 'mf-*'  # status takes glob patterns, as dkms
expect_rc 16 mf build mf-hello/1.0 -k ''
expect_line 'Error! Empty kernelver[0]' "$E2E_ERR"
expect_eq "nothing was built for them" "" "$(ls "$DKMS/mf-hello/1.0" | grep -v '^build$\|^source$' || true)"
diag "--- a mistyped tree"
expect_rc 0 "$MODFORGE" status --dkmstree "$E2E_TMP/no-such-tree"
expect_line "Warning: There is no DKMS tree at $E2E_TMP/no-such-tree." "$E2E_ERR"
expect_rc 1 "$MODFORGE" build mf-hello/1.0 --dkmstree "$E2E_TMP/no-such-tree"
expect_line "Error! No write access to DKMS tree at $E2E_TMP/no-such-tree: it does not exist." "$E2E_ERR"
expect_rc 1 "$MODFORGE" add "$MODFORGE_SRC/examples/mf-hello-1.0" --dkmstree "$E2E_TMP/no-such-tree" --sourcetree "$E2E_TMP/src-untouched"
expect_no_file "$E2E_TMP/src-untouched"
diag "--- a broken module: status shows what it left, remove --force cleans it up"
if modforge_only "broken entries (dkms shows only the broken line)"; then
	words_root=$ROOT
	use_root "$(new_root broken)"
	cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
	expect_rc 0 mf install mf-hello/1.0 -k "$K1"
	expect_rc 0 mf build mf-hello/1.0 -k "$K2"
	mv "$SRC/mf-hello-1.0" "$SRC/gone"
	expect_rc 0 mf status
	expect_lines "$E2E_OUT" "mf-hello/1.0: broken" "mf-hello/1.0, $K1, $E2E_ARCH: installed (broken: its source is missing)" \
		"mf-hello/1.0, $K2, $E2E_ARCH: built (broken: its source is missing)"
	expect_line "mf-hello/1.0 is broken: its source link $DKMS/mf-hello/1.0/source points to $SRC/mf-hello-1.0, which does not exist." "$E2E_ERR"
	run_cmd "$(dirname "$MODFORGE")/dkms" status --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
	expect_lines "$E2E_OUT" "mf-hello/1.0: broken"   # as dkms: dkms's one line
	run_cmd mf status --json
	status_json_check "$E2E_OUT" "mf-hello/1.0: broken" "mf-hello/1.0, $K1, $E2E_ARCH: installed" "mf-hello/1.0, $K2, $E2E_ARCH: built"
	if "$E2E_PY" - "$E2E_OUT" "$INST/$K1/updates/dkms" <<'PY'; then ok "status --json: the reason, and what each build left"; else not_ok "status --json: the reason, and what each build left" "$E2E_OUT"; fi
import json, sys
e = json.load(open(sys.argv[1]))["entries"]
assert all("which does not exist" in x["broken"] for x in e), e
assert e[0]["autoinstall"] is None and e[0]["source"].endswith("/mf-hello-1.0")
inst = e[1]["modules"]
assert [m["installed_as"] for m in inst] == [sys.argv[2] + "/mf_hello.ko", sys.argv[2] + "/mf_greet.ko"], inst
assert all(m["signed"] is True and m["file"].endswith(".ko") for m in inst), inst
assert all(m["installed_as"] is None for m in e[2]["modules"]), e[2]
PY
	expect_rc 4 mf remove mf-hello/1.0 --all
	expect_line "With --force, remove cleans up what is left of it (without running its scripts)." "$E2E_ERR"
	expect_file "$INST/$K1/updates/dkms/mf_hello.ko"
	expect_rc 0 mf remove mf-hello/1.0 --all --force
	expect_line "mf-hello/1.0 is broken (its source is missing): cleaning up what is left of it." "$E2E_OUT"
	expect_line "Deleting $INST/$K1/updates/dkms/mf_hello.ko" "$E2E_OUT"
	expect_line "Deleting module mf-hello/1.0 completely from the DKMS tree." "$E2E_OUT"
	expect_no_file "$INST/$K1/updates/dkms/mf_hello.ko"
	expect_no_file "$DKMS/mf-hello"
	expect_rc 0 mf status
	expect_lines "$E2E_OUT"
	use_root "$words_root"
fi
diag "--- a read-only tree: the same words from every verb that would change it"
if modforge_only "read-only trees (a private mount namespace)"; then
	RO=$E2E_TMP/ro-verbs.sh
	# Runs each verb with $DKMS (or the module tree) remounted read-only in a private
	# mount namespace; prints "rc<TAB>last stderr line" per verb.
	cat >"$RO" <<'SH'
set -u
dir=$1; shift
mount --bind "$dir" "$dir" && mount -o remount,ro,bind "$dir" || exit 99
for v in "$@"; do
	# shellcheck disable=SC2086
	"$MODFORGE" $v --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST" >/dev/null 2>"$E2E_TMP/ro.err"
	printf '%s	%s
' "$?" "$(grep -v '^$' "$E2E_TMP/ro.err" | tail -n1)"
done
SH
	expect_rc 0 mf build mf-hello/1.0 -k "$K1"
	msg="Error! No write access to DKMS tree at $DKMS: Read-only file system."
	run_cmd env MODFORGE="$MODFORGE" DKMS="$DKMS" SRC="$SRC" INST="$INST" E2E_TMP="$E2E_TMP" \
		unshare -m --propagation private bash "$RO" "$DKMS" \
		"add $MODFORGE_SRC/examples/mf-consumer-1.0" "build mf-hello/1.0 -k $K2" "install mf-hello/1.0 -k $K1" \
		"unbuild mf-hello/1.0 -k $K1" "remove mf-hello/1.0 --all" "autoinstall -k $K1" "kernel_postinst -k $K1"
	expect_lines "$E2E_OUT" "1	$msg" "1	$msg" "1	$msg" "1	$msg" "1	$msg" "1	$msg" "1	$msg"
	expect_rc 0 mf install mf-hello/1.0 -k "$K1"
	before=$(find "$DKMS" "$INST" -printf '%p %s %T@\n' | sort)
	run_cmd env MODFORGE="$MODFORGE" DKMS="$DKMS" SRC="$SRC" INST="$INST" E2E_TMP="$E2E_TMP" \
		unshare -m --propagation private bash "$RO" "$DKMS" "uninstall mf-hello/1.0 -k $K1" "kernel_prerm -k $K1"
	expect_lines "$E2E_OUT" "1	$msg" "14	$msg"
	run_cmd env MODFORGE="$MODFORGE" DKMS="$DKMS" SRC="$SRC" INST="$INST" E2E_TMP="$E2E_TMP" \
		unshare -m --propagation private bash "$RO" "$INST" "uninstall mf-hello/1.0 -k $K1"
	expect_lines "$E2E_OUT" "1	Error! No write access to the module tree at $INST: Read-only file system."
	expect_eq "nothing changed in the read-only trees" "$before" "$(find "$DKMS" "$INST" -printf '%p %s %T@\n' | sort)"
fi
e2e_done

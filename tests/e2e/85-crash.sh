#!/bin/bash
# 85-crash: kill -9 in the middle of install / uninstall / remove --all, again and again,
# and check after each kill that the NEXT command (`status`) finishes the journaled change
# and that the tree is whole: no journal, no *.modforge-tmp.* file, the kernel-<k>-<a>
# marker exists exactly when all 24 modules of the package are in updates/dkms/ (and
# status says installed), and each of 4 pre-existing same-named "original" modules exists
# exactly once: at its place with its bytes, or archived in original_module/ with a
# .origin naming that place (and at its place whenever the package is not installed).
#
# The package mf-many/1.0 is generated: 24 trivial modules mf_many_01..24, one Kbuild
# line, all to DEST_MODULE_LOCATION "/updates" (updates/dkms/ on Debian). The originals:
# kernel/drivers/mf/mf_many_03.ko, updates/mf_many_07.ko, extra/mf_many_11.ko and
# updates/dkms/mf_many_15.ko (copies of our modules with a unique tail).
#
# Part 0: the state a kill during the journal's own write leaves (its temp, no journal).
# Part 1, random kills: each operation is first timed uninterrupted (median of 3). A round
# picks the operation from the state (every 6th round `remove --all`, the next round adds
# and builds again from the build cache; installed -> uninstall; built -> install), starts
# it in the background as the leader of its own process group (its depmod dies with it, as
# in a crash), kills the group with SIGKILL after a random delay, runs `status` and checks
# every invariant. The first 20 rounds draw the delay uniformly from [0, duration]; after
# that 2 of 3 rounds draw it uniformly from a window learned from the earlier kills of the
# operation (one that changed nothing moves its start up, one that found the change done
# moves its end down): the journal exists for a few ms of a run of ~40 ms, most of which is
# start-up. 60 rounds; how many of them landed mid-change (the next command said
# "Finishing the interrupted ...") depends on the machine's speed, so it is reported, not
# required: the invariants must hold after every kill, wherever it landed.
# Part 2, kills at system calls (needs strace; in CI its absence fails): SIGKILL injected
# into the N-th rename / unlink / symlink / unlinkat of install, uninstall and remove, for
# every N. These land mid-change by construction (an install's module renames happen while
# its journal exists), whatever the speed: the test requires that they did.
# Runs as root; takes about 60 s (the build ~8 s, part 1 ~20 s, part 2 ~30 s).
. "$(dirname "$0")/lib.sh"
e2e_init
[ "$(id -u)" = 0 ] || bail "85-crash runs as root (install into the scratch tree, depmod)"
if ! modforge_only "crash recovery (the journal is modforge's)"; then
	e2e_done
fi
use_root "$(new_root crash)"
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
M=mf-many
V=1.0
N_MODS=24
ROUNDS=60

# ---- the package -------------------------------------------------------------------------
PKG=$E2E_TMP/pkg/mf-many-1.0
mkdir -p "$PKG"
{
	echo 'PACKAGE_NAME="mf-many"'
	echo 'PACKAGE_VERSION="1.0"'
} >"$PKG/dkms.conf"
OBJS=
NAMES=()
for i in $(seq 1 $N_MODS); do
	n=$(printf 'mf_many_%02d' "$i")
	NAMES+=("$n")
	cat >"$PKG/$n.c" <<C
// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>

static int __init ${n}_init(void)
{
	return 0;
}

static void __exit ${n}_exit(void)
{
}

module_init(${n}_init);
module_exit(${n}_exit);
MODULE_LICENSE("GPL");
C
	OBJS="$OBJS $n.o"
	printf 'BUILT_MODULE_NAME[%d]="%s"\nDEST_MODULE_LOCATION[%d]="/updates"\n' $((i - 1)) "$n" $((i - 1)) >>"$PKG/dkms.conf"
done
echo "obj-m :=$OBJS" >"$PKG/Kbuild"

DEST=$INST/$K1/updates/dkms
MARKER=$DKMS/$M/kernel-$K1-$A
ORIG_ARCHIVE=$DKMS/$M/original_module/$K1/$A
RESULT=$DKMS/$M/$V/$K1/$A/module

expect_rc 0 mf add "$PKG" -k "$K1"
expect_rc 0 mf build "$M/$V" -k "$K1"
for n in "${NAMES[@]}"; do
	[ -f "$RESULT/$n.ko" ] || bail "the build made no $n.ko (see $DKMS/$M/$V/$K1/$A/log/make.log)"
done
ok "all $N_MODS modules built"

# ---- the originals -------------------------------------------------------------------------
# Real module files (a copy of ours, so depmod reads them) with a recognisable tail.
ORIG_NAMES=(mf_many_03 mf_many_07 mf_many_11 mf_many_15)
declare -A ORIG_PATH=(
	[mf_many_03]=$INST/$K1/kernel/drivers/mf/mf_many_03.ko
	[mf_many_07]=$INST/$K1/updates/mf_many_07.ko
	[mf_many_11]=$INST/$K1/extra/mf_many_11.ko
	[mf_many_15]=$INST/$K1/updates/dkms/mf_many_15.ko
)
declare -A ORIG_TAG
mkdir -p "$E2E_TMP/orig"
for n in "${ORIG_NAMES[@]}"; do
	ORIG_TAG[$n]="modforge-e2e-original-$n-$$-$RANDOM"
	mkdir -p "$(dirname "${ORIG_PATH[$n]}")"
	cp "$RESULT/$n.ko" "${ORIG_PATH[$n]}"
	printf '%s\n' "${ORIG_TAG[$n]}" >>"${ORIG_PATH[$n]}"
	cp "${ORIG_PATH[$n]}" "$E2E_TMP/orig/$n.ko"
done

# ---- helpers -------------------------------------------------------------------------------
# A sleep with sub-millisecond resolution and no fork: a timed read from a FIFO that never
# gets data.
mkfifo "$E2E_TMP/never"
exec 9<>"$E2E_TMP/never"
pause() { read -r -t "$1" -u 9 _ || true; }
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; }
us_to_s() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
# uniform LO HI: an integer drawn uniformly from [LO, HI] (30 random bits).
uniform() { printf '%s' $(($1 + ((((RANDOM << 15) | RANDOM) * ($2 - $1 + 1)) >> 30))); }

op_args() {
	case $1 in
	install) echo "install $M/$V -k $K1" ;;
	uninstall) echo "uninstall $M/$V -k $K1" ;;
	remove) echo "remove $M/$V --all" ;;
	esac
}
TREE_ARGS=(--dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST")

# start_op OP: OP in the background as the leader of its own process group (so that the
# kill takes its depmod along, as a crash would); sets PID.
start_op() {
	# shellcheck disable=SC2046
	setsid "$MODFORGE" $(op_args "$1") "${TREE_ARGS[@]}" >"$E2E_TMP/op.out" 2>"$E2E_TMP/op.err" </dev/null &
	PID=$!
}
# reap: waits for PID (bash's "Killed" notice silenced); sets OP_RC.
reap() {
	{ wait "$PID"; } 2>/dev/null
	OP_RC=$?
}

# state_of FILE: the state status (in FILE) gives mf-many on K1:
# installed | built | added | none | other:<the line>. Installed, the originals are
# archived: "(Original modules exist)"; not installed, nothing is archived.
state_of() {
	local l
	l=$(grep "^$M/$V" "$1")
	case "$l" in
	"$M/$V, $K1, $A: installed (Original modules exist)") echo installed ;;
	"$M/$V, $K1, $A: built") echo built ;;
	"$M/$V: added") echo added ;;
	"") echo none ;;
	*) echo "other:$l" ;;
	esac
}

# next_cmd: the next command after a kill (`status`) into $E2E_TMP/st.*; ST_RC.
next_cmd() {
	"$MODFORGE" status "${TREE_ARGS[@]}" >"$E2E_TMP/st.out" 2>"$E2E_TMP/st.err" </dev/null
	ST_RC=$?
}
cur_state() {
	"$MODFORGE" status "${TREE_ARGS[@]}" >"$E2E_TMP/cur.out" 2>/dev/null </dev/null
	state_of "$E2E_TMP/cur.out"
}

# make_ready: uninterrupted, from "none" or "added" back to built (add, build: the build
# cache makes it quick).
make_ready() {
	local s
	s=$(cur_state)
	if [ "$s" = none ]; then
		run_cmd mf add -m "$M" -v "$V" -k "$K1"
		[ "$E2E_RC" = 0 ] || fail "add $M/$V again exits 0" "$E2E_OUT" "$E2E_ERR"
		s=added
	fi
	if [ "$s" = added ]; then
		run_cmd mf build "$M/$V" -k "$K1"
		[ "$E2E_RC" = 0 ] || fail "build $M/$V again exits 0" "$E2E_OUT" "$E2E_ERR"
	fi
}
# make_state installed|built: uninterrupted.
make_state() {
	make_ready
	local s
	s=$(cur_state)
	if [ "$1" = installed ] && [ "$s" = built ]; then
		run_cmd mf install "$M/$V" -k "$K1"
		[ "$E2E_RC" = 0 ] || fail "install $M/$V exits 0" "$E2E_OUT" "$E2E_ERR"
	elif [ "$1" = built ] && [ "$s" = installed ]; then
		run_cmd mf uninstall "$M/$V" -k "$K1"
		[ "$E2E_RC" = 0 ] || fail "uninstall $M/$V exits 0" "$E2E_OUT" "$E2E_ERR"
	fi
}

FAILS=0
WHERE=setup
# fail DESC [FILE...]: one broken invariant (shown and counted; the run goes on).
fail() {
	FAILS=$((FAILS + 1))
	not_ok "$WHERE: $1" "${@:2}"
}

declare -A TEMP_SEEN=()
# check_invariants: the tree after the next command (whose output is in $E2E_TMP/st.*).
check_invariants() {
	local n f t tag hits installed=0 ours=0 s at arch
	[ "$ST_RC" = 0 ] || fail "status exits 0 (got $ST_RC)" "$E2E_TMP/st.out" "$E2E_TMP/st.err"
	[ ! -e "$DKMS/.modforge/journal" ] || fail "no journal left after the next command" "$DKMS/.modforge/journal"
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		fail "no *.modforge-tmp.* file survives the next command: $(e2e_short "$t")" \
			"$E2E_TMP/op.out" "$E2E_TMP/st.all"
		# Reported once; deleted so that the later rounds check afresh.
		TEMP_SEEN[$(basename "$t" | sed 's/\.modforge-tmp\..*//')]=1
		rm -f "$t"
	done < <(find "$ROOT" -name '*.modforge-tmp.*' 2>/dev/null)
	for n in "${NAMES[@]}"; do
		f=$DEST/$n.ko
		[ -f "$f" ] || continue
		if [ -n "${ORIG_TAG[$n]:-}" ] && grep -qF "${ORIG_TAG[$n]}" "$f"; then
			continue # the original of mf_many_15 lives there
		fi
		ours=$((ours + 1))
	done
	s=$(state_of "$E2E_TMP/st.out")
	[ -L "$MARKER" ] && installed=1
	case "$installed:$ours:$s" in
	1:$N_MODS:installed | 0:0:built | 0:0:added | 0:0:none) ;;
	*)
		fail "marker $([ $installed = 1 ] && echo exists || echo absent), $ours of $N_MODS modules in updates/dkms, status: $s" \
			"$E2E_TMP/st.all" "$E2E_TMP/op.out" "$E2E_TMP/op.err"
		;;
	esac
	case $s in
	installed | built | added | none) ;;
	*) fail "status shows mf-many in a usable state (got '${s#other:}')" "$E2E_TMP/st.all" ;;
	esac
	# Every file holding an original's tag (one walk), then the files of each original.
	local tagargs=() tagged
	for n in "${ORIG_NAMES[@]}"; do tagargs+=(-e "${ORIG_TAG[$n]}"); done
	tagged=$(grep -rlF "${tagargs[@]}" "$ROOT" 2>/dev/null)
	for n in "${ORIG_NAMES[@]}"; do
		tag=${ORIG_TAG[$n]}
		hits=
		for f in $tagged; do grep -qF "$tag" "$f" && hits+="$f"$'\n'; done
		hits=$(printf '%s' "$hits" | sort)
		at=${ORIG_PATH[$n]}
		arch=$ORIG_ARCHIVE/$n.ko
		if [ "$hits" = "$at" ]; then
			cmp -s "$at" "$E2E_TMP/orig/$n.ko" || fail "the original $n at its place has its bytes"
			[ "$installed" = 0 ] || fail "the original $n is archived while mf-many is installed (it is still at its place)"
		elif [ "$hits" = "$arch" ]; then
			cmp -s "$arch" "$E2E_TMP/orig/$n.ko" || fail "the archived original $n has its bytes"
			[ "$(cat "$arch.origin" 2>/dev/null)" = "$at" ] ||
				fail "$(e2e_short "$arch").origin names $(e2e_short "$at") (has: $(cat "$arch.origin" 2>/dev/null))"
			[ "$installed" = 1 ] || fail "the original $n is at its place when mf-many is not installed (it is archived)"
		else
			fail "the original $n exists exactly once, at its place or archived (found: $(printf '%s ' $hits | sed "s|$E2E_TMP/||g"))"
		fi
	done
}

MID=0          # kills that landed mid-change: the next command said "Finishing the interrupted"
STARTED=0      # kills after the operation had started (it had printed, or mid-change)
DEPMOD_OWED=0  # kills after the change, before its depmod: the next command ran it
KILLED=0
declare -A MID_BY=([install]=0 [uninstall]=0 [remove]=0)
# after_kill OP BEFORE: the next command, the classification (OUTCOME: done | before | mid |
# after) and every invariant.
after_kill() {
	local op=$1 before=$2 want
	next_cmd
	# (What the next command says about the recovery goes to stderr: stdout may be JSON.)
	cat "$E2E_TMP/st.out" "$E2E_TMP/st.err" >"$E2E_TMP/st.all"
	AFTER=$(state_of "$E2E_TMP/st.out")
	if [ "$OP_RC" != 137 ]; then
		OUTCOME=done
	elif grep -q '^Finishing the interrupted' "$E2E_TMP/st.all"; then
		OUTCOME=mid
	elif [ "$AFTER" = "$before" ]; then
		OUTCOME=before
	else
		OUTCOME=after
	fi
	if [ "$OP_RC" = 137 ]; then
		KILLED=$((KILLED + 1))
		if [ "$OUTCOME" = mid ] || [ -s "$E2E_TMP/op.out" ]; then STARTED=$((STARTED + 1)); fi
	fi
	grep -q '^Running depmod' "$E2E_TMP/st.all" && DEPMOD_OWED=$((DEPMOD_OWED + 1))
	if [ "$OUTCOME" = mid ]; then
		MID=$((MID + 1))
		MID_BY[$op]=$((MID_BY[$op] + 1))
		case $op in
		install) want="Finishing the interrupted install of $M/$V for kernel $K1 ($A)." ;;
		*) want="Finishing the interrupted uninstall of $M/$V from kernel $K1 ($A)." ;;
		esac
		grep -qxF "$want" "$E2E_TMP/st.all" || fail "the next command says: $want" "$E2E_TMP/st.all"
		# A finished change is the whole change.
		case $op in
		install) [ "$AFTER" = installed ] || fail "the interrupted install was finished (status: $AFTER)" "$E2E_TMP/st.all" ;;
		*) [ "$AFTER" != installed ] || fail "the interrupted uninstall was finished (status: $AFTER)" "$E2E_TMP/st.all" ;;
		esac
	fi
	check_invariants
}

# ---- timing the uninterrupted operations ------------------------------------------------------
declare -A DUR WS WE
# time_op OP: one uninterrupted run, started as the rounds start it; its time in T_US.
time_op() {
	local t0 t1
	t0=$(now_us)
	start_op "$1"
	reap
	t1=$(now_us)
	[ "$OP_RC" = 0 ] || not_ok "uninterrupted $1 exits 0 (got $OP_RC)" "$E2E_TMP/op.out" "$E2E_TMP/op.err"
	T_US=$((t1 - t0))
}
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
declare -A T1 T2 T3
for i in 1 2 3; do
	time_op install; T1[$i]=$T_US
	time_op uninstall; T2[$i]=$T_US
	time_op install
	time_op remove; T3[$i]=$T_US
	make_ready
done
DUR[install]=$(median3 "${T1[@]}")
DUR[uninstall]=$(median3 "${T2[@]}")
DUR[remove]=$(median3 "${T3[@]}")
for op in install uninstall remove; do
	WS[$op]=0
	WE[$op]=${DUR[$op]}
	diag "uninterrupted $op: $(us_to_s "${DUR[$op]}") s (median of 3)"
done
expect_rc 0 mf status
expect_lines "$E2E_OUT" "$M/$V, $K1, $A: built"
for n in "${ORIG_NAMES[@]}"; do
	if cmp -s "${ORIG_PATH[$n]}" "$E2E_TMP/orig/$n.ko"; then
		ok "after 3 install/remove cycles the original $n is at its place"
	else
		not_ok "after 3 install/remove cycles the original $n is at its place"
	fi
done

# ---- part 0: a kill during the journal's own write ------------------------------------------------
# The state such a kill leaves (deterministically, no timing): the journal's temp, partly
# written, and no journal. Nothing had changed yet; the next command must delete the temp.
WHERE="a kill while the journal itself was written"
mkdir -p "$DKMS/.modforge"
printf 'modforge-journal 1\nwhat\tinstall of %s/%s for kernel %s (%s)\ncopy\t%s' "$M" "$V" "$K1" "$A" \
	"$RESULT/mf_many_01.ko" >"$DKMS/.modforge/journal.modforge-tmp.999999"
next_cmd
expect_eq "after a kill during the journal's write: status exits 0" 0 "$ST_RC"
expect_eq "after a kill during the journal's write: nothing changed" built "$(state_of "$E2E_TMP/st.out")"
expect_no_file "$DKMS/.modforge/journal.modforge-tmp.999999" ||
	diag "BUG: a journal temp with no journal is never deleted: the next command only finishes (and drops the journal's temps) when a journal or a pending depmod exists"
rm -f "$DKMS/.modforge/journal.modforge-tmp.999999" # part 1 starts clean

# ---- part 1: kill -9 after a random delay -------------------------------------------------------
# The first 20 rounds draw the delay over the whole run; afterwards 2 of 3 rounds draw it
# over the window learned so far (the journal exists for a few ms of a run of tens of ms).
MID_UNIFORM=0
ROUND=0
while [ "$ROUND" -lt "$ROUNDS" ]; do
	[ "$FAILS" -ge 15 ] && { diag "too many failures, no more rounds"; break; }
	ROUND=$((ROUND + 1))
	WHERE="round $ROUND"
	make_ready
	BEFORE=$(cur_state)
	if [ $((ROUND % 6)) -eq 0 ]; then
		OP=remove
	elif [ "$BEFORE" = installed ]; then
		OP=uninstall
	else
		OP=install
	fi
	if [ "$ROUND" -le 20 ] || [ $((ROUND % 3)) -eq 0 ]; then
		HOW=whole
		DELAY=$(uniform 0 "${DUR[$OP]}")
	else
		HOW=window
		DELAY=$(uniform "${WS[$OP]}" "${WE[$OP]}")
	fi
	WHERE="round $ROUND ($OP killed after $(us_to_s "$DELAY") s)"
	start_op "$OP"
	pause "$(us_to_s "$DELAY")"
	# The group; if the child has not reached setsid yet, the process itself.
	kill -9 -- "-$PID" 2>/dev/null || kill -9 "$PID" 2>/dev/null
	reap
	after_kill "$OP" "$BEFORE"
	case $OUTCOME in
	mid) [ "$HOW" = whole ] && MID_UNIFORM=$((MID_UNIFORM + 1)) ;;
	before) [ "$DELAY" -gt "${WS[$OP]}" ] && [ "$DELAY" -lt "${WE[$OP]}" ] && WS[$OP]=$DELAY ;;
	after | done) [ "$DELAY" -gt "${WS[$OP]}" ] && [ "$DELAY" -lt "${WE[$OP]}" ] && WE[$OP]=$DELAY ;;
	esac
	# Start-up jitter: keep the window at least 4 ms wide.
	if [ $((WE[$OP] - WS[$OP])) -lt 4000 ]; then
		WS[$OP]=$((WS[$OP] > 2000 ? WS[$OP] - 2000 : 0))
		WE[$OP]=$((WE[$OP] + 2000))
	fi
	printf '# round %d: %-9s %-6s delay %s s of %s -> %s (%s -> %s)\n' "$ROUND" "$OP" "$HOW" \
		"$(us_to_s "$DELAY")" "$(us_to_s "${DUR[$OP]}")" "$OUTCOME" "$BEFORE" "$AFTER"
done
diag "rounds: $ROUND, killed: $KILLED, of them after the operation had started: $STARTED"
diag "kills that landed mid-change: $MID (install ${MID_BY[install]}, uninstall ${MID_BY[uninstall]}, remove ${MID_BY[remove]}; $MID_UNIFORM with the delay drawn over the whole run)"
diag "a depmod owed by a killed run was run by the next command $DEPMOD_OWED times"
diag "learned windows: install $(us_to_s "${WS[install]}")..$(us_to_s "${WE[install]}") s, uninstall $(us_to_s "${WS[uninstall]}")..$(us_to_s "${WE[uninstall]}") s, remove $(us_to_s "${WS[remove]}")..$(us_to_s "${WE[remove]}") s"
F_RANDOM=$FAILS

# ---- part 2: kill -9 at every file-changing system call -----------------------------------------
# Deterministic: strace injects SIGKILL into the N-th call of one system call of the
# modforge process (not its children), for every N the uninterrupted operation reaches:
# rename (an atomic write's temp is complete, not yet in place; an archive or a restore
# about to move), unlink (an installed module, the marker, the journal about to go),
# symlink (the marker's temp) and unlinkat (remove's deletion of the version's directory).
# Skipped without strace.
MID_RANDOM=$MID
SWEPT=0
declare -A MID_SWEEP=([install]=0 [uninstall]=0 [remove]=0)
if command -v strace >/dev/null 2>&1 && strace -qq -o /dev/null true 2>/dev/null; then
	for SWEEP in install:built:rename install:built:unlink install:built:symlink \
		uninstall:installed:rename uninstall:installed:unlink remove:installed:unlinkat; do
		IFS=: read -r OP FROM SYS <<<"$SWEEP"
		WHERE="sweep $OP/$SYS"
		make_state "$FROM"
		# shellcheck disable=SC2046
		strace -qq -o "$E2E_TMP/trace" -e trace="$SYS" "$MODFORGE" $(op_args "$OP") "${TREE_ARGS[@]}" \
			>/dev/null 2>&1 </dev/null
		CALLS=$(grep -c "^$SYS(" "$E2E_TMP/trace")
		M0=$MID
		for N in $(seq 1 "$CALLS"); do
			WHERE="$OP killed at its $SYS call #$N of $CALLS"
			make_state "$FROM"
			BEFORE=$(cur_state)
			# shellcheck disable=SC2046
			{ strace -qq -o /dev/null -e trace="$SYS" -e inject="$SYS:signal=KILL:when=$N" \
				"$MODFORGE" $(op_args "$OP") "${TREE_ARGS[@]}" >"$E2E_TMP/op.out" 2>"$E2E_TMP/op.err" </dev/null; } 2>/dev/null
			OP_RC=$?
			after_kill "$OP" "$BEFORE"
			SWEPT=$((SWEPT + 1))
			[ "$FAILS" -ge 40 ] && break 2
		done
		diag "sweep: $OP (from $FROM) killed at each of its $CALLS $SYS calls: $((MID - M0)) mid-change"
		MID_SWEEP[$OP]=$((MID_SWEEP[$OP] + MID - M0))
	done
	if [ "${MID_SWEEP[install]}" -gt 0 ] && [ "${MID_SWEEP[uninstall]}" -gt 0 ]; then
		ok "kills at system calls landed mid-change and were finished (install ${MID_SWEEP[install]}, uninstall ${MID_SWEEP[uninstall]}, remove ${MID_SWEEP[remove]})"
	else
		not_ok "kills at system calls landed mid-change and were finished (install ${MID_SWEEP[install]}, uninstall ${MID_SWEEP[uninstall]}, remove ${MID_SWEEP[remove]})"
	fi
	if [ "$FAILS" = "$F_RANDOM" ]; then
		ok "all invariants held after each of the $SWEPT kills at system calls"
	else
		not_ok "all invariants held after each of the $SWEPT kills at system calls ($((FAILS - F_RANDOM)) failures above)"
	fi
elif [ -n "${CI:-}" ]; then
	not_ok "kill -9 at every file-changing system call: strace is missing or cannot trace (scripts/deps.sh installs it)"
else
	skip "kill -9 at every file-changing system call" "strace is not installed (or cannot trace here)"
fi
if [ "$F_RANDOM" = 0 ]; then ok "all invariants held after each of the $ROUND random kills"; else not_ok "all invariants held after each of the $ROUND random kills ($F_RANDOM failures above)"; fi
if [ "${#TEMP_SEEN[@]}" -gt 0 ]; then
	diag "temp files that survived the next command were of: ${!TEMP_SEEN[*]}"
fi
LEAKED=$(find "$DKMS" -maxdepth 1 -name '.modforge-depmod-*' | wc -l)
diag "depmod roots (<dkmstree>/.modforge-depmod-*) left by kills during depmod: $LEAKED"

# ---- afterwards: a clean remove puts everything back ------------------------------------------
WHERE=end
make_ready
expect_rc 0 mf remove "$M/$V" --all
expect_no_file "$DKMS/$M"
for n in "${ORIG_NAMES[@]}"; do
	if cmp -s "${ORIG_PATH[$n]}" "$E2E_TMP/orig/$n.ko"; then
		ok "at the end the original $n is at its place, byte for byte"
	else
		not_ok "at the end the original $n is at its place, byte for byte"
	fi
done
expect_eq "no module of $M left in updates/dkms (the original mf_many_15 only)" "mf_many_15.ko" \
	"$(ls "$DEST" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
expect_eq "no journal, temp file or depmod owed left" "" \
	"$(find "$ROOT" \( -name journal -o -name '*.modforge-tmp.*' -o -path '*/depmod-pending/*' \) 2>/dev/null | sed "s|$E2E_TMP/||")"
e2e_done

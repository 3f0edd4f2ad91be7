#!/bin/bash
# 86-concurrent: many modforge runs at once on one tree and one kernel must never fail
# because another one runs, and never corrupt the tree (one flock per dkms tree: writers
# exclusive while they change it, status shared; a build area has its own lock).
#
# 8 packages mf-c1..mf-c8 (examples/mf-hello-1.0 renamed: package, module files, symbol)
# and a 9th, mf-shared, are added, then built all at once. Then 8 workers run at once,
# each 10 rounds of: install mf-shared (every worker, every round: the first install wins,
# the others find it installed and skip, or install it again), install its own mf-cN,
# status (its line says installed), uninstall mf-cN, status (its line says built). Every
# command must exit 0. Afterwards: no journal, no temp file, every mf-cN built and not
# installed, mf-shared installed, no stray module file of mf-cN in the install tree, and
# modules.dep lists exactly the modules installed (and is what depmod makes of the tree now).
# Runs as root; takes about 20 s on 2 CPUs (the 9 builds ~10 s, the workers ~7 s).
. "$(dirname "$0")/lib.sh"
e2e_init
[ "$(id -u)" = 0 ] || bail "86-concurrent runs as root (install into the scratch tree, depmod)"
use_root "$(new_root concurrent)"
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
WORKERS=8
ROUNDS=10

# make_pkg NAME TAG: examples/mf-hello-1.0 as package NAME/1.0 whose modules are
# mf_TAG_hello and mf_TAG_greet (own files, own exported symbol).
make_pkg() {
	local name=$1 tag=$2 d=$E2E_TMP/pkg/$1-1.0 f
	mkdir -p "$d"
	for f in "$MODFORGE_SRC"/examples/mf-hello-1.0/*; do
		local base
		base=$(basename "$f")
		base=${base/mf_hello/mf_${tag}_hello}
		base=${base/mf_greet/mf_${tag}_greet}
		sed -e "s/mf_hello/mf_${tag}_hello/g" -e "s/mf_greet/mf_${tag}_greet/g" \
			-e "s/MF_HELLO_H/MF_${tag^^}_HELLO_H/g" \
			-e "s/^PACKAGE_NAME=.*/PACKAGE_NAME=\"$name\"/" "$f" >"$d/$base"
	done
	printf '%s\n' "$d"
}

PKGS=()
for i in $(seq 1 $WORKERS); do PKGS+=("mf-c$i"); done
ALL=("${PKGS[@]}" mf-shared)
for p in "${ALL[@]}"; do
	tag=${p#mf-}
	dir=$(make_pkg "$p" "$tag")
	expect_rc 0 mf add "$dir" -k "$K1"
done
expect_line "BUILT_MODULE_NAME[0]=\"mf_c3_hello\"" "$E2E_TMP/pkg/mf-c3-1.0/dkms.conf"
expect_line "obj-m := mf_c3_hello.o mf_c3_greet.o" "$E2E_TMP/pkg/mf-c3-1.0/Makefile"

diag "--- the 9 builds at once"
mkdir -p "$E2E_TMP/build"
PIDS=()
for p in "${ALL[@]}"; do
	mf build "$p/1.0" -k "$K1" >"$E2E_TMP/build/$p.out" 2>"$E2E_TMP/build/$p.err" </dev/null &
	PIDS+=($!)
done
for i in "${!ALL[@]}"; do
	p=${ALL[$i]}
	wait "${PIDS[$i]}"
	rc=$?
	if [ "$rc" = 0 ]; then ok "concurrent build of $p exits 0"; else not_ok "concurrent build of $p exits 0 (got $rc)" "$E2E_TMP/build/$p.out" "$E2E_TMP/build/$p.err"; fi
done
WANT=()
for p in "${ALL[@]}"; do WANT+=("$p/1.0, $K1, $A: built"); done
expect_rc 0 mf status
expect_lines "$E2E_OUT" "${WANT[@]}"

# worker N: 10 rounds for mf-cN; each command that fails (or whose status line is not the
# one expected) is written to $E2E_TMP/w$N/failures with its stdout and stderr.
# Exits with the number of failures.
worker() {
	local n=$1 p=mf-c$1 d=$E2E_TMP/w$1 r fails=0 k=0
	mkdir -p "$d"
	: >"$d/failures"
	# one NAME WANT_LINE ARGS...: runs mf ARGS; checks exit 0 (and WANT_LINE, if any).
	one() {
		local what=$1 want=$2 rc
		shift 2
		k=$((k + 1))
		mf "$@" >"$d/out" 2>"$d/err" </dev/null
		rc=$?
		cat "$d/out" >>"$d/$what.out"
		cat "$d/err" >>"$d/all.err"
		if [ "$rc" != 0 ] || { [ -n "$want" ] && ! grep -qxF -- "$want" "$d/out"; }; then
			fails=$((fails + 1))
			{
				echo "== worker $n round $r: mf $* -> exit $rc${want:+ (want the line: $want)}"
				sed 's/^/   out| /' "$d/out"
				sed 's/^/   err| /' "$d/err"
			} >>"$d/failures"
		fi
	}
	# mf-shared first: a worker uninstalls its own package only after mf-shared is
	# installed, so modules.dep never gets empty again (a scratch tree has no kernel
	# modules; an empty modules.dep makes modforge drop depmod's files, as dkms does).
	for r in $(seq 1 $ROUNDS); do
		one shared "" install mf-shared/1.0 -k "$K1"
		one install "" install "$p/1.0" -k "$K1"
		one status "$p/1.0, $K1, $A: installed" status -m "$p" -k "$K1"
		one uninstall "" uninstall "$p/1.0" -k "$K1"
		one status "$p/1.0, $K1, $A: built" status -m "$p" -k "$K1"
	done
	echo "$k" >"$d/count"
	exit $((fails > 100 ? 100 : fails))
}

diag "--- $WORKERS workers x $ROUNDS rounds at once"
T0=$SECONDS
WPIDS=()
for i in $(seq 1 $WORKERS); do
	worker "$i" &
	WPIDS+=($!)
done
TOTAL=0
for i in $(seq 1 $WORKERS); do
	wait "${WPIDS[$((i - 1))]}"
	rc=$?
	cnt=$(cat "$E2E_TMP/w$i/count" 2>/dev/null || echo 0)
	TOTAL=$((TOTAL + cnt))
	if [ "$rc" = 0 ]; then
		ok "worker $i: all $cnt commands exit 0 and show what they must"
	else
		not_ok "worker $i: all $cnt commands exit 0 and show what they must ($rc failed)"
		head -n 40 "$E2E_TMP/w$i/failures" | sed 's/^/#   /'
	fi
done
diag "$TOTAL commands in $((SECONDS - T0)) s"
WAITS=$(cat "$E2E_TMP"/w*/all.err | grep -c '^Waiting for' || true)
SKIPS=$(cat "$E2E_TMP"/w*/shared.out | grep -c "^Module mf-shared/1.0 already installed on kernel $K1 ($A), skip" || true)
# A run that finds a depmod owed (another run between its change and its depmod) runs it
# first and says so on stderr (its own depmod is on stdout).
OWED=$(cat "$E2E_TMP"/w*/all.err | grep -c '^Running depmod' || true)
diag "mf-shared installs that found it installed and skipped: $SKIPS of $((WORKERS * ROUNDS))"
diag "\"Waiting for ...\" notices (a lock held > 2 s): $WAITS"
diag "runs that first ran a depmod another run still owed: $OWED"
diag "--- afterwards"
expect_no_file "$DKMS/.modforge/journal"
expect_eq "no *.modforge-tmp.* file in the scratch root" "" \
	"$(find "$ROOT" -name '*.modforge-tmp.*' 2>/dev/null | sed "s|$E2E_TMP/||")"
expect_eq "no depmod owed" "" "$(ls "$DKMS/.modforge/depmod-pending" 2>/dev/null)"
WANT=()
for p in "${PKGS[@]}"; do WANT+=("$p/1.0, $K1, $A: built"); done
WANT+=("mf-shared/1.0, $K1, $A: installed")
expect_rc 0 mf status
expect_lines "$E2E_OUT" "${WANT[@]}"
for p in "${PKGS[@]}"; do
	if [ -e "$DKMS/$p/kernel-$K1-$A" ] || [ -L "$DKMS/$p/kernel-$K1-$A" ]; then
		not_ok "no installed marker of $p"
	else
		ok "no installed marker of $p"
	fi
done
expect_symlink "$DKMS/mf-shared/kernel-$K1-$A" "1.0/$K1/$A"
expect_eq "no module file of mf-c1..mf-c$WORKERS in the install tree" "" \
	"$(find "$INST" -name 'mf_c[0-9]*' | sed "s|$E2E_TMP/||")"
expect_eq "the install tree holds exactly mf-shared's modules" \
	"updates/dkms/mf_shared_greet.ko updates/dkms/mf_shared_hello.ko" \
	"$(cd "$INST/$K1" && find . -name '*.ko*' | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')"
for m in hello greet; do
	if cmp -s "$INST/$K1/updates/dkms/mf_shared_$m.ko" "$DKMS/mf-shared/1.0/$K1/$A/module/mf_shared_$m.ko"; then
		ok "installed mf_shared_$m.ko equals the built one"
	else
		not_ok "installed mf_shared_$m.ko equals the built one"
	fi
done
# modules.dep: exactly the installed modules, and what depmod makes of the tree now.
expect_file "$INST/$K1/modules.dep"
expect_eq "modules.dep lists exactly the installed modules" \
	"updates/dkms/mf_shared_greet.ko: updates/dkms/mf_shared_hello.ko|updates/dkms/mf_shared_hello.ko:" \
	"$(sort "$INST/$K1/modules.dep" 2>/dev/null | paste -sd'|')"
mkdir -p "$E2E_TMP/depmod-view/lib"
ln -s "$INST" "$E2E_TMP/depmod-view/lib/modules"
# depmod -n prints modules.dep first, then the other files (which hold no "x.ko:" line).
depmod -b "$E2E_TMP/depmod-view" -n "$K1" 2>"$E2E_TMP/depmod.err" | grep -E '^[^ #:]+\.ko(\.[a-z]+)?:' |
	sort >"$E2E_TMP/depmod.now"
expect_eq "modules.dep is what depmod -b makes of the tree now" \
	"$(paste -sd'|' "$E2E_TMP/depmod.now")" "$(sort "$INST/$K1/modules.dep" 2>/dev/null | paste -sd'|')"

# And the tree still works: uninstall and remove everything, one at a time.
for p in "${ALL[@]}"; do
	expect_rc 0 mf remove "$p/1.0" --all
done
expect_rc 0 mf status
expect_lines "$E2E_OUT"
expect_eq "nothing left in the install tree" "" "$(find "$INST" -name '*.ko*' | sed "s|$E2E_TMP/||")"
e2e_done

#!/bin/bash
# bench/run.sh - modforge against Debian's dkms (3.0.10, through tests/e2e/refdkms) on the
# same inputs, side by side in one run, each tool in its own scratch tree. Reports ratios,
# not absolute times (absolute figures are in the JSON for reference only).
#
#   (a) autoinstall of real Debian *-dkms packages for three kernels (dkms: once per kernel,
#       serially; modforge: one run with every -k if it takes several, else once per kernel):
#       wall ratio dkms/modforge, CPU efficiency = sum CPU / (wall x cores); both trees must
#       end with the same (module, kernel) states and the same installed module files.
#   (b) `status` on the populated trees, N repetitions each.
#   (c) overhead per job: a package whose MAKE copies a prebuilt .ko, built for many fake
#       kernels (install-tree entries whose build -> real headers); wall minus the copy's
#       own time, per job.
#   (d) modforge only: the cold autoinstall of (a) against a re-autoinstall after
#       `unbuild <m>/<v> --all` of every module (build cache warm, if modforge has one).
#
# Usage (as root, Debian 12, after scripts/deps.sh):
#   bench/run.sh [--quick] [--keep] [--out FILE]
#     --quick   one kernel, three small packages, fewer repetitions (a smoke run)
#     --keep    keep the scratch trees (path printed at the end)
#     --out     JSON output (default bench/results/latest.json)
# Environment: MODFORGE (default build/modforge; copied before use so that a rebuild during
# the run changes nothing), MODFORGE_COMMIT (what to report as its commit; default: HEAD
# of this checkout, "+dirty" if it has uncommitted changes outside bench/).
#
# Never touches the real /var/lib/dkms, /usr/src, /lib/modules, /etc/dkms, except that
# missing kernel headers (and the `time` package) are installed with apt-get. Both tools run
# with --no-depmod (refdkms always adds it), so both do the same work.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=../tests/e2e/lib.sh
. "$SRC_DIR/tests/e2e/lib.sh"   # new_root, fetch_deb, e2e_real_snapshot, REFDKMS
set -euo pipefail                # lib.sh sets only -u

FULL_PKGS=(v4l2loopback-dkms ddcci-dkms bbswitch-dkms evdi-dkms jool-dkms acpi-call-dkms
	iptables-netflow-dkms xtables-addons-dkms dahdi-dkms)
QUICK_PKGS=(acpi-call-dkms bbswitch-dkms v4l2loopback-dkms)

QUICK=0
KEEP=0
OUT=$BENCH_DIR/results/latest.json
CORES=$(nproc)
CLK_TCK=$(getconf CLK_TCK)
declare -A OVH   # (c): ms per job, by tool

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'; }

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--quick) QUICK=1 ;;
		--keep) KEEP=1 ;;
		--out) OUT=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		*) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
		esac
		shift
	done
	if [ "$QUICK" = 1 ]; then
		PKGS=("${QUICK_PKGS[@]}")
		STATUS_REPS=5; FAKE_KERNELS=5; OVERHEAD_REPS=1; QUIET_MAX=30
	else
		PKGS=("${FULL_PKGS[@]}")
		STATUS_REPS=20; FAKE_KERNELS=20; OVERHEAD_REPS=5; QUIET_MAX=300
	fi
}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- results: "key<TAB>value" lines, turned into JSON at the end -----------------------

# put KEY VALUE: a result (dotted KEY = JSON path; "KEY[]" appends to a list).
put() {
	local v=${2//$'\t'/ }
	printf '%s\t%s\n' "$1" "${v//$'\n'/\\n}" >>"$WORK/results.tsv"
}

# note_failure WHAT CMDLINE LOG: a command that failed; shown at the end and in the JSON.
note_failure() {
	local what=$1 cmd=$2 logf=$3 text
	text=$(printf '%s\n  command: %s\n  log: %s\n%s' "$what" "$cmd" "$logf" \
		"$(tail -n 30 "$logf" 2>/dev/null | sed 's/^/  | /')")
	printf '%s\n\n' "$text" >>"$WORK/failures.txt"
	put "failures[]" "$text"
}

# ---- arithmetic (awk) -------------------------------------------------------------------

calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "null" }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- the two tools on their scratch roots, and timing -----------------------------------

# tool_argv TOOL ROOT ARGS...: sets ARGV to the command line of TOOL (mf: modforge, ref:
# Debian's dkms through refdkms) with ARGS on the scratch root ROOT.
tool_argv() {
	local tool=$1 r=$2
	shift 2
	case $tool in
	mf) ARGV=("$MF_BIN") ;;
	ref) ARGV=("$REFDKMS") ;;
	*) die "tool_argv: unknown tool $tool" ;;
	esac
	ARGV+=("$@" --dkmstree "$r/dkms" --sourcetree "$r/src" --installtree "$r/lib/modules")
}

# mf ROOT ARGS... / ref ROOT ARGS...: run a tool, untimed.
mf() { tool_argv mf "$@"; "${ARGV[@]}"; }
ref() { tool_argv ref "$@"; "${ARGV[@]}"; }

# cpu_busy: CPU seconds the whole machine (all cores) has spent busy since boot.
cpu_busy() {
	awk -v hz="$CLK_TCK" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}

# The machine may be shared: wait_quiet waits (at most QUIET_MAX s) until less than 10% of
# the cores were busy over 3 s, and says so if it gives up.
wait_quiet() {
	local waited=0 b0 b1 busy
	while :; do
		b0=$(cpu_busy)
		sleep 3
		b1=$(cpu_busy)
		busy=$(calc "($b1 - $b0) / (3 * $CORES)" 2)
		if awk -v b="$busy" 'BEGIN { exit !(b < 0.10) }'; then
			[ "$waited" = 0 ] || log "    waited ${waited}s for a quiet machine"
			return 0
		fi
		if [ "$waited" -ge "$QUIET_MAX" ]; then
			log "    machine still busy after ${waited}s ($busy of the cores), going on"
			put "busy_machine_warnings[]" "$(date -u +%H:%M:%S): $busy of the cores busy before a measurement"
			return 0
		fi
		waited=$((waited + 3))
	done
}

# timed LOG TOOL ROOT ARGS...: runs the tool (stdin /dev/null, stdout+stderr to LOG) and
# sets T_WALL (s, from EPOCHREALTIME), T_USER, T_SYS (CPU of all its children, from
# /usr/bin/time), T_OTHER (CPU s the rest of the machine used meanwhile) and T_RC.
timed() {
	local logf=$1 t0 t1 b0 b1 tf=$WORK/time.out
	shift
	tool_argv "$@"
	T_RC=0
	b0=$(cpu_busy)
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%U %S' -o "$tf" "${ARGV[@]}" >"$logf" 2>&1 </dev/null || T_RC=$?
	t1=$EPOCHREALTIME
	b1=$(cpu_busy)
	T_WALL=$(calc "$t1 - $t0" 4)
	read -r T_USER T_SYS < <(tail -n 1 "$tf")
	T_OTHER=$(awk -v d="$(calc "$b1 - $b0" 2)" -v u="$T_USER" -v s="$T_SYS" \
		'BEGIN { o = d - u - s; printf "%.2f", (o > 0 ? o : 0) }')
}

# walltime LOG TOOL ROOT ARGS...: as timed, wall time only and without /usr/bin/time in
# between (for the millisecond figures of (b) and (c)).
walltime() {
	local logf=$1 t0 t1
	shift
	tool_argv "$@"
	T_RC=0
	t0=$EPOCHREALTIME
	"${ARGV[@]}" >"$logf" 2>&1 </dev/null || T_RC=$?
	t1=$EPOCHREALTIME
	T_WALL=$(calc "$t1 - $t0" 4)
}

# ---- setup ------------------------------------------------------------------------------

check_host() {
	[ "$(id -u)" = 0 ] || die "must run as root (refdkms needs a mount namespace; autoinstall needs root)"
	[ -x /usr/sbin/dkms ] || die "Debian's dkms is missing; run scripts/deps.sh"
	[ -x "$MODFORGE" ] || die "MODFORGE=$MODFORGE is not executable; build it: cmake -S . -B build && cmake --build build"
	if [ ! -x /usr/bin/time ]; then
		log "installing the 'time' package (/usr/bin/time)"
		apt-get install -y -q --no-install-recommends time >"$RESULTS/logs/apt-time.log" 2>&1 ||
			die "apt-get install time failed (see $RESULTS/logs/apt-time.log)"
	fi
}

# newest_abi: the newest 6.1.0-N that apt-cache offers in the amd64, cloud-amd64 and
# rt-amd64 flavours.
newest_abi() {
	apt-cache pkgnames linux-headers-6.1.0- |
		sed -nE 's/^linux-headers-(6\.1\.0-[0-9]+)-rt-amd64$/\1/p' | sort -V |
		while read -r v; do
			apt-cache show "linux-headers-$v-amd64" >/dev/null 2>&1 &&
				apt-cache show "linux-headers-$v-cloud-amd64" >/dev/null 2>&1 &&
				echo "$v"
		done | tail -n 1
}

dkms_real_state() { find /var/lib/dkms -printf '%p %y %s\n' 2>/dev/null | sort; }

# ensure_headers K...: installs linux-headers-K for every K without /usr/src/linux-headers-K.
# Debian's dkms hook runs for the new kernel on the real tree; that tree must not change.
ensure_headers() {
	local k missing=() before
	for k in "$@"; do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] || missing+=("linux-headers-$k")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "installing ${missing[*]}"
	before=$(dkms_real_state)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
		>"$RESULTS/logs/apt-headers.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed (see $RESULTS/logs/apt-headers.log)"
	[ "$before" = "$(dkms_real_state)" ] || die "installing headers changed the real /var/lib/dkms"
	for k in "$@"; do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] || die "no /usr/src/linux-headers-$k/Makefile after apt-get install"
	done
}

pick_kernels() {
	ABI=$(newest_abi)
	[ -n "$ABI" ] || die "apt-cache offers no linux-headers-6.1.0-N-{amd64,cloud-amd64,rt-amd64} (run apt-get update)"
	if [ "$QUICK" = 1 ]; then
		KERNELS=("$ABI-amd64")
	else
		KERNELS=("$ABI-amd64" "$ABI-cloud-amd64" "$ABI-rt-amd64")
	fi
	ensure_headers "${KERNELS[@]}"
	E2E_KERNELS=("${KERNELS[@]}")   # what lib.sh's new_root makes
	log "kernels: ${KERNELS[*]}"
}

# Reads the header trees (flavour and -common), kbuild and the compiler once, so that
# neither tool pays a cold page cache for the other.
warm_page_cache() {
	local dirs=(/usr/src/linux-headers-"$ABI"-* /usr/lib/linux-kbuild-* /usr/lib/gcc /usr/libexec/gcc)
	find "${dirs[@]}" -type f -print0 2>/dev/null | xargs -0 cat >/dev/null 2>&1 || true
}

# fetch_packages: PKG_DIRS[i] = extracted /usr/src/<m>-<v> of PKGS[i] (lib.sh's fetch_deb).
fetch_packages() {
	local p dir
	PKG_DIRS=()
	ROOT=$WORK   # fetch_deb extracts into $ROOT/deb/<name>
	for p in "${PKGS[@]}"; do
		dir=$(fetch_deb "$p" 2>"$RESULTS/logs/fetch-$p.log") ||
			die "fetching $p failed: $(cat "$RESULTS/logs/fetch-$p.log")"
		PKG_DIRS+=("$dir")
		put "packages[]" "$p $(apt-cache show --no-all-versions "$p" | sed -n 's/^Version: //p' | head -n 1)"
	done
}

# ---- status normalisation ---------------------------------------------------------------

# norm_status: "m/v, k, a: state" lines (or "m/v: state"), state without any "(WARNING ...)".
norm_status() {
	sed -nE 's/^([^ ,:]+\/[^ ,:]+(, [^,]+, [^:]+)?): ([a-z]+).*$/\1: \3/p' | sort
}

# module_files ROOT: installed module files relative to the install tree, no compression suffix.
module_files() {
	(cd "$1/lib/modules" && find . -name '*.ko*' -printf '%P\n') | sed -E 's/\.(xz|gz|zst)$//' | sort
}

# ---- (a) autoinstall --------------------------------------------------------------------

add_all() {
	local tool=$1 root=$2 d rc
	for d in "${PKG_DIRS[@]}"; do
		rc=0
		"$tool" "$root" add "$d" >>"$RESULTS/logs/add-$tool.log" 2>&1 </dev/null || rc=$?
		[ "$rc" = 0 ] || note_failure "$tool add $(basename "$d") exited $rc" "$tool add $d" "$RESULTS/logs/add-$tool.log"
	done
}

# only_exclusive_errors LOG: every "Error!" of a dkms 3.0.10 autoinstall log is a
# BUILD_EXCLUSIVE mismatch (or the summary line that follows from them).
only_exclusive_errors() {
	! grep '^Error!' "$1" | grep -v -e 'includes a BUILD_EXCLUSIVE directive which does not match' \
		-e 'One or more modules failed to install during autoinstall' | grep -q .
}

# mf_multi_k ROOT: true if modforge plans autoinstall for several -k in one run.
mf_multi_k() {
	local args=() k rc=0
	for k in "${KERNELS[@]}"; do args+=(-k "$k"); done
	mf "$1" autoinstall --dry-run --json "${args[@]}" >"$RESULTS/logs/mf-multi-k-probe.log" 2>&1 </dev/null || rc=$?
	[ "$rc" = 0 ]
}

bench_autoinstall() {
	local k w=0 u=0 s=0 o=0 rcs=()
	REF_A=$(new_root ref-a)
	MF_A=$(new_root mf-a)
	add_all ref "$REF_A"
	add_all mf "$MF_A"

	wait_quiet
	log "(a) Debian's dkms: autoinstall, once per kernel"
	for k in "${KERNELS[@]}"; do
		timed "$RESULTS/logs/a-dkms-$k.log" ref "$REF_A" autoinstall -k "$k"
		log "    dkms autoinstall -k $k: ${T_WALL}s, exit $T_RC"
		if [ "$T_RC" = 11 ] && only_exclusive_errors "$RESULTS/logs/a-dkms-$k.log"; then
			put "autoinstall.dkms.notes[]" "exit 11 on $k: dkms 3.0.10 counts BUILD_EXCLUSIVE skips as autoinstall failures"
		elif [ "$T_RC" != 0 ]; then
			note_failure "Debian's dkms autoinstall -k $k exited $T_RC" \
				"refdkms autoinstall -k $k" "$RESULTS/logs/a-dkms-$k.log"
		fi
		w=$(calc "$w + $T_WALL"); u=$(calc "$u + $T_USER"); s=$(calc "$s + $T_SYS")
		o=$(calc "$o + $T_OTHER")
		rcs+=("$T_RC")
	done
	record_run autoinstall.dkms "$w" "$u" "$s" "$o" "${rcs[*]}"
	A_DKMS_WALL=$w

	MF_MODE=per-kernel
	if [ ${#KERNELS[@]} -eq 1 ]; then
		MF_MODE=single-kernel
	elif mf_multi_k "$MF_A"; then
		MF_MODE=multi-k
	else
		log "    modforge autoinstall does not take several -k (dry-run probe: $(grep -v '^$' "$RESULTS/logs/mf-multi-k-probe.log" | tail -n 1))"
	fi
	put autoinstall.modforge.mode "$MF_MODE"
	MF_NO_CACHE=0
	mf_has_no_cache && MF_NO_CACHE=1
	put cache.no_cache_option "$([ "$MF_NO_CACHE" = 1 ] && echo true || echo false)"
	wait_quiet
	log "(a) modforge: autoinstall ($MF_MODE)"
	mf_autoinstall "$MF_A" a-mf
	record_run autoinstall.modforge "$MF_RUN_WALL" "$MF_RUN_USER" "$MF_RUN_SYS" "$MF_RUN_OTHER" "$MF_RUN_RCS"
	A_MF_WALL=$MF_RUN_WALL
	put autoinstall.wall_ratio_dkms_over_modforge "$(ratio "$A_DKMS_WALL" "$A_MF_WALL")"
	if awk -v a="$(get autoinstall.dkms.other_processes_share)" -v b="$(get autoinstall.modforge.other_processes_share)" \
		'BEGIN { exit !(a > 0.10 || b > 0.10) }'; then
		put autoinstall.skewed_by_other_load true
	else
		put autoinstall.skewed_by_other_load false
	fi

	compare_trees "$REF_A" "$MF_A"
}

# mf_autoinstall ROOT TAG [EXTRA...]: modforge autoinstall for every kernel in MF_MODE,
# timed; sets MF_RUN_WALL/USER/SYS and MF_RUN_RCS.
mf_autoinstall() {
	local root=$1 tag=$2 k args=()
	shift 2
	MF_RUN_WALL=0; MF_RUN_USER=0; MF_RUN_SYS=0; MF_RUN_OTHER=0; MF_RUN_RCS=
	if [ "$MF_MODE" = multi-k ]; then
		for k in "${KERNELS[@]}"; do args+=(-k "$k"); done
		mf_autoinstall_once "$root" "$RESULTS/logs/$tag.log" "$@" "${args[@]}"
	else
		for k in "${KERNELS[@]}"; do
			mf_autoinstall_once "$root" "$RESULTS/logs/$tag-$k.log" "$@" -k "$k"
		done
	fi
}

mf_autoinstall_once() {
	local root=$1 logf=$2
	shift 2
	timed "$logf" mf "$root" autoinstall "$@"
	log "    modforge autoinstall $*: ${T_WALL}s, exit $T_RC"
	[ "$T_RC" = 0 ] || note_failure "modforge autoinstall $* exited $T_RC" \
		"$MODFORGE autoinstall $* --dkmstree <root>/dkms --sourcetree <root>/src --installtree <root>/lib/modules" "$logf"
	MF_RUN_WALL=$(calc "$MF_RUN_WALL + $T_WALL")
	MF_RUN_USER=$(calc "$MF_RUN_USER + $T_USER")
	MF_RUN_SYS=$(calc "$MF_RUN_SYS + $T_SYS")
	MF_RUN_OTHER=$(calc "$MF_RUN_OTHER + $T_OTHER")
	MF_RUN_RCS="${MF_RUN_RCS:+$MF_RUN_RCS }$T_RC"
}

# record_run KEY WALL USER SYS OTHER RCS
record_run() {
	local key=$1 w=$2 u=$3 s=$4
	put "$key.wall_s" "$w"
	put "$key.user_s" "$u"
	put "$key.sys_s" "$s"
	put "$key.cpu_efficiency" "$(calc "($u + $s) / ($w * $CORES)" 2)"
	put "$key.other_processes_cpu_s" "$5"
	put "$key.other_processes_share" "$(calc "$5 / ($w * $CORES)" 2)"
	put "$key.exit_codes" "$6"
}

# compare_trees REF_ROOT MF_ROOT: same status entries and installed module files.
compare_trees() {
	local d=$RESULTS/compare
	mkdir -p "$d"
	ref "$1" status 2>/dev/null </dev/null | norm_status >"$d/status.dkms" || true
	mf "$2" status 2>/dev/null </dev/null | norm_status >"$d/status.modforge" || true
	module_files "$1" >"$d/files.dkms"
	module_files "$2" >"$d/files.modforge"
	put autoinstall.status_entries.dkms "$(wc -l <"$d/status.dkms")"
	put autoinstall.status_entries.modforge "$(wc -l <"$d/status.modforge")"
	put autoinstall.installed_files.dkms "$(wc -l <"$d/files.dkms")"
	put autoinstall.installed_files.modforge "$(wc -l <"$d/files.modforge")"
	if cmp -s "$d/status.dkms" "$d/status.modforge" && cmp -s "$d/files.dkms" "$d/files.modforge"; then
		put autoinstall.same_result true
	else
		put autoinstall.same_result false
		diff -u --label dkms --label modforge "$d/status.dkms" "$d/status.modforge" >"$d/diff.txt" || true
		diff -u --label dkms --label modforge "$d/files.dkms" "$d/files.modforge" >>"$d/diff.txt" || true
		put autoinstall.differences "$(grep -E '^[-+][^-+]' "$d/diff.txt" | head -n 40)"
	fi
}

# ---- (b) status -------------------------------------------------------------------------

# sample NAME: keeps T_WALL as one sample of NAME; median_of NAME: their median.
sample() { printf '%s\n' "$T_WALL" >>"$WORK/samples.$1"; }
median_of() { mapfile -t _v <"$WORK/samples.$1"; median "${_v[@]}"; }

# status_once TOOL ROOT NAME: one timed `status`.
status_once() {
	walltime "$RESULTS/logs/b-$3-status.log" "$1" "$2" status
	[ "$T_RC" = 0 ] || note_failure "$3: status exited $T_RC" "${ARGV[*]}" "$RESULTS/logs/b-$3-status.log"
	sample "status-$3"
}

# The two tools alternate, so that a load from elsewhere is shared between them.
bench_status() {
	local i mf_s ref_s wrap_s
	wait_quiet
	log "(b) status x $STATUS_REPS on the populated trees"
	for ((i = 0; i < STATUS_REPS; i++)); do
		status_once mf "$MF_A" modforge
		status_once ref "$REF_A" dkms
		# refdkms itself (mktemp, unshare, bind mounts) with a no-op in place of dkms.
		(export REFDKMS_BIN=/bin/true; status_once ref "$REF_A" wrapper)
	done
	mf_s=$(median_of status-modforge)
	ref_s=$(median_of status-dkms)
	wrap_s=$(median_of status-wrapper)
	put status.repetitions "$STATUS_REPS"
	put status.modforge_ms "$(calc "$mf_s * 1000" 1)"
	put status.dkms_ms "$(calc "$ref_s * 1000" 1)"
	put status.refdkms_wrapper_ms "$(calc "$wrap_s * 1000" 1)"
	put status.ratio_dkms_over_modforge "$(ratio "$ref_s" "$mf_s")"
	put status.ratio_without_wrapper "$(ratio "$(calc "$ref_s - $wrap_s" 4)" "$mf_s")"
}

# ---- (c) overhead per job on a trivial package ------------------------------------------

# A package whose MAKE copies a small real module (mf_hello.ko of examples/mf-hello-1.0,
# built once here for the first kernel).
make_trivial_package() {
	local k=${KERNELS[0]} hello=$WORK/hello
	TRIVIAL=$WORK/trivial/mf-trivial-1.0
	cp -r "$SRC_DIR/examples/mf-hello-1.0" "$hello"
	make -C "/usr/src/linux-headers-$k" M="$hello" modules >"$RESULTS/logs/c-prebuilt.log" 2>&1 </dev/null ||
		die "building the prebuilt module failed (see $RESULTS/logs/c-prebuilt.log)"
	mkdir -p "$TRIVIAL"
	cp "$hello/mf_hello.ko" "$TRIVIAL/prebuilt.ko"
	cat >"$TRIVIAL/dkms.conf" <<-'EOF'
		PACKAGE_NAME="mf-trivial"
		PACKAGE_VERSION="1.0"
		BUILT_MODULE_NAME[0]="x"
		DEST_MODULE_LOCATION[0]="/updates"
		MAKE[0]="cp prebuilt.ko x.ko"
		CLEAN="rm -f x.ko"
		AUTOINSTALL="no"
	EOF
}

# fake_root NAME N: makes FAKE_ROOT, a scratch root with N kernels FAKE_KS (<k0>-fakeNN,
# whose build -> k0's headers).
fake_root() {
	local r=$WORK/$1 i fk
	FAKE_ROOT=$r
	mkdir -p "$r/dkms" "$r/src" "$r/lib/modules"
	FAKE_KS=()
	for ((i = 1; i <= $2; i++)); do
		fk=$(printf '%s-fake%02d' "${KERNELS[0]}" "$i")
		mkdir -p "$r/lib/modules/$fk"
		ln -sfn "/usr/src/linux-headers-${KERNELS[0]}" "$r/lib/modules/$fk/build"
		FAKE_KS+=("$fk")
	done
}

# The MAKE command's own time: the same copy, as a process, N times.
copy_ms() {
	local d=$WORK/copytime i t0 t1 n=200
	mkdir -p "$d"
	cp "$TRIVIAL/prebuilt.ko" "$d/"
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do (cd "$d" && cp prebuilt.ko x.ko); done
	t1=$EPOCHREALTIME
	calc "($t1 - $t0) * 1000 / $n" 3
}

# build_once TOOL ROOT N [-cached]: one timed `build mf-trivial/1.0` for the first N fake
# kernels in one invocation (a sample of c-TOOL-N), then an untimed `unbuild --all`.
# modforge gets --no-cache if it has it (a job that really runs MAKE), except with -cached.
# --kernelsourcedir for both: dkms 3.0.10 looks for headers in the real /lib/modules/<k>
# whatever --installtree says.
build_once() {
	local tool=$1 root=$2 n=$3 args=() k logf=$RESULTS/logs/c-$1-build-$3${4:-}.log
	for k in "${FAKE_KS[@]:0:$n}"; do args+=(-k "$k"); done
	[ "$tool" = ref ] || [ "${4:-}" = -cached ] || [ "$MF_NO_CACHE" = 0 ] || args+=(--no-cache)
	walltime "$logf" "$tool" "$root" build -m mf-trivial -v 1.0 "${args[@]}" \
		--kernelsourcedir "/usr/src/linux-headers-${KERNELS[0]}"
	[ "$T_RC" = 0 ] || note_failure "$tool: build mf-trivial/1.0 for $n fake kernels exited $T_RC" \
		"${ARGV[*]:0:8} ... ($n kernels)" "$logf"
	sample "c-$tool-$n${4:-}"
	"$tool" "$root" unbuild -m mf-trivial -v 1.0 --all >>"$RESULTS/logs/c-$tool-unbuild.log" 2>&1 </dev/null ||
		note_failure "$tool: unbuild mf-trivial/1.0 --all failed" "$tool unbuild -m mf-trivial -v 1.0 --all" \
			"$RESULTS/logs/c-$tool-unbuild.log"
}

bench_overhead() {
	local mf_root ref_root cp_ms i tool name n_wall one_wall per_job
	wait_quiet
	log "(c) overhead per job: mf-trivial for $FAKE_KERNELS fake kernels and for 1, x $OVERHEAD_REPS"
	make_trivial_package
	fake_root ref-c "$FAKE_KERNELS"
	ref_root=$FAKE_ROOT
	fake_root mf-c "$FAKE_KERNELS"
	mf_root=$FAKE_ROOT
	add_all_dir ref "$ref_root" "$TRIVIAL"
	add_all_dir mf "$mf_root" "$TRIVIAL"
	cp_ms=$(copy_ms)
	put overhead.fake_kernels "$FAKE_KERNELS"
	put overhead.repetitions "$OVERHEAD_REPS"
	put overhead.make_command_ms "$cp_ms"
	for ((i = 0; i < OVERHEAD_REPS; i++)); do
		build_once mf "$mf_root" "$FAKE_KERNELS"
		build_once ref "$ref_root" "$FAKE_KERNELS"
		build_once mf "$mf_root" 1
		build_once ref "$ref_root" 1
		[ "$MF_NO_CACHE" = 0 ] || build_once mf "$mf_root" "$FAKE_KERNELS" -cached
	done
	for tool in mf ref; do
		n_wall=$(median_of "c-$tool-$FAKE_KERNELS")
		one_wall=$(median_of "c-$tool-1")
		per_job=$(calc "($n_wall * 1000 - $FAKE_KERNELS * $cp_ms) / $FAKE_KERNELS" 1)
		name=modforge
		[ "$tool" = mf ] || name=dkms
		put "overhead.$name.batch_wall_s" "$n_wall"
		put "overhead.$name.ms_per_job" "$per_job"
		put "overhead.$name.single_invocation_ms" "$(calc "$one_wall * 1000 - $cp_ms" 1)"
		OVH[$name]=$per_job
	done
	put overhead.ratio_dkms_over_modforge "$(ratio "${OVH[dkms]}" "${OVH[modforge]}")"
	put overhead.modforge.no_cache "$([ "$MF_NO_CACHE" = 1 ] && echo true || echo false)"
	if [ "$MF_NO_CACHE" = 1 ]; then
		n_wall=$(median_of "c-mf-$FAKE_KERNELS-cached")
		put overhead.modforge.cache_on_ms_per_job "$(calc "$n_wall * 1000 / $FAKE_KERNELS" 1)"
	fi
}

add_all_dir() {
	local tool=$1 root=$2 dir=$3 rc=0
	"$tool" "$root" add "$dir" >>"$RESULTS/logs/add-$tool.log" 2>&1 </dev/null || rc=$?
	[ "$rc" = 0 ] || note_failure "$tool add $(basename "$dir") exited $rc" "$tool add $dir" "$RESULTS/logs/add-$tool.log"
}

# ---- (d) cold autoinstall against a re-autoinstall after unbuild --all ------------------

# added_versions ROOT: "m/v" of every module/version in ROOT's dkms tree.
added_versions() {
	local link
	for link in "$1"/dkms/*/*/source; do
		[ -L "$link" ] || continue
		link=${link%/source}
		printf '%s/%s\n' "$(basename "$(dirname "$link")")" "$(basename "$link")"
	done
}

unbuild_all() {
	local root=$1 mv rc
	for mv in $(added_versions "$root"); do
		rc=0
		mf "$root" unbuild "$mv" --all >>"$RESULTS/logs/d-unbuild.log" 2>&1 </dev/null || rc=$?
		[ "$rc" = 0 ] || note_failure "modforge unbuild $mv --all exited $rc" \
			"$MODFORGE unbuild $mv --all --dkmstree ..." "$RESULTS/logs/d-unbuild.log"
	done
}

# mf_has_no_cache: modforge knows --no-cache (an unknown option is exit 2, "Unknown option").
mf_has_no_cache() {
	local rc=0
	mf "$MF_A" autoinstall --no-cache --dry-run -k "${KERNELS[0]}" >"$RESULTS/logs/d-no-cache-probe.log" 2>&1 </dev/null || rc=$?
	! grep -q 'Unknown option' "$RESULTS/logs/d-no-cache-probe.log" && [ "$rc" != 2 ]
}

bench_cache() {
	local d=$RESULTS/compare
	log "(d) modforge: unbuild --all of every module, then autoinstall again (cache warm)"
	unbuild_all "$MF_A"
	wait_quiet
	mf_autoinstall "$MF_A" d-mf-warm
	put cache.warm_other_processes_cpu_s "$MF_RUN_OTHER"
	put cache.cold_wall_s "$A_MF_WALL"
	put cache.warm_wall_s "$MF_RUN_WALL"
	put cache.warm_cpu_s "$(calc "$MF_RUN_USER + $MF_RUN_SYS")"
	put cache.warm_exit_codes "$MF_RUN_RCS"
	put cache.ratio_cold_over_warm "$(ratio "$A_MF_WALL" "$MF_RUN_WALL")"
	mf "$MF_A" status 2>/dev/null </dev/null | norm_status >"$d/status.modforge-warm" || true
	module_files "$MF_A" >"$d/files.modforge-warm"
	if cmp -s "$d/status.modforge" "$d/status.modforge-warm" && cmp -s "$d/files.modforge" "$d/files.modforge-warm"; then
		put cache.same_result_as_cold true
	else
		put cache.same_result_as_cold false
		{ diff "$d/status.modforge" "$d/status.modforge-warm"; diff "$d/files.modforge" "$d/files.modforge-warm"; } >"$d/diff-warm.txt" || true
		note_failure "modforge: the re-autoinstall after unbuild --all left a different tree than the cold one" \
			"diff (status and module files, cold vs warm)" "$d/diff-warm.txt"
	fi
	if [ "$MF_NO_CACHE" = 1 ]; then
		unbuild_all "$MF_A"
		wait_quiet
		mf_autoinstall "$MF_A" d-mf-nocache --no-cache
		put cache.no_cache_wall_s "$MF_RUN_WALL"
		put cache.no_cache_other_processes_cpu_s "$MF_RUN_OTHER"
		put cache.ratio_no_cache_over_warm "$(ratio "$MF_RUN_WALL" "$(grep -P '^cache.warm_wall_s\t' "$WORK/results.tsv" | cut -f2)")"
	else
		log "    modforge has no --no-cache option yet (probe: $(grep -v '^$' "$RESULTS/logs/d-no-cache-probe.log" | tail -n 1))"
	fi
}

# ---- report -----------------------------------------------------------------------------

write_json() {
	mkdir -p "$(dirname "$OUT")"
	"$E2E_PY" - "$WORK/results.tsv" "$OUT" <<-'PY'
		import json, re, sys
		doc = {}
		def value(s):
		    if s in ("true", "false"): return s == "true"
		    if s == "null": return None
		    if re.fullmatch(r"-?[0-9]+", s): return int(s)
		    if re.fullmatch(r"-?[0-9]*\.[0-9]+", s): return float(s)
		    return s
		for line in open(sys.argv[1]):
		    key, _, val = line.rstrip("\n").partition("\t")
		    val = val.replace("\\n", "\n")
		    *path, last = key.split(".")
		    node = doc
		    for p in path: node = node.setdefault(p, {})
		    if last.endswith("[]"):
		        node.setdefault(last[:-2], []).append(value(val))
		    elif last == "exit_codes" or last == "warm_exit_codes":
		        node[last] = [int(x) for x in val.split()]
		    else:
		        node[last] = value(val)
		json.dump(doc, open(sys.argv[2], "w"), indent=2, sort_keys=False)
		open(sys.argv[2], "a").write("\n")
	PY
}

# get KEY: a recorded result.
get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$WORK/results.tsv"; }

# row LABEL DKMS MODFORGE: one line of the table.
row() { printf '    %-42s %-14s %s\n' "$1" "$2" "$3"; }

print_table() {
	local n_pk=${#PKGS[@]} n_k=${#KERNELS[@]}
	printf '\nmodforge vs Debian'"'"'s dkms %s (refdkms) -- %s, %s cores, %s\n' \
		"$(get versions.dkms)" "$(get date)" "$CORES" "$(get machine.cpu)"
	printf 'kernels: %s; %s, commit %s\n\n' "${KERNELS[*]}" "$(get versions.modforge)" "$(get versions.modforge_commit)"
	row "" dkms "modforge"
	printf '(a) autoinstall, %s packages x %s kernels (modforge: %s)\n' "$n_pk" "$n_k" "$(get autoinstall.modforge.mode)"
	row "wall (s)" "$(get autoinstall.dkms.wall_s)" "$(get autoinstall.modforge.wall_s)"
	row "CPU user+sys (s)" "$(calc "$(get autoinstall.dkms.user_s) + $(get autoinstall.dkms.sys_s)" 2)" \
		"$(calc "$(get autoinstall.modforge.user_s) + $(get autoinstall.modforge.sys_s)" 2)"
	row "CPU efficiency (CPU / (wall x $CORES))" "$(get autoinstall.dkms.cpu_efficiency)" "$(get autoinstall.modforge.cpu_efficiency)"
	row "exit codes" "$(get autoinstall.dkms.exit_codes | tr ' ' ,)" "$(get autoinstall.modforge.exit_codes | tr ' ' ,)"
	row "other processes' CPU meanwhile (s)" "$(get autoinstall.dkms.other_processes_cpu_s)" "$(get autoinstall.modforge.other_processes_cpu_s)"
	row "  as a share of wall x $CORES cores" "$(get autoinstall.dkms.other_processes_share)" "$(get autoinstall.modforge.other_processes_share)"
	row "status entries / installed module files" "$(get autoinstall.status_entries.dkms) / $(get autoinstall.installed_files.dkms)" \
		"$(get autoinstall.status_entries.modforge) / $(get autoinstall.installed_files.modforge)"
	printf '    wall ratio dkms/modforge: %sx; same (module, kernel) states and files: %s\n' \
		"$(get autoinstall.wall_ratio_dkms_over_modforge)" "$(get autoinstall.same_result)"
	if [ "$(get autoinstall.skewed_by_other_load)" = true ]; then
		printf '    WARNING: other processes used over 10%% of the cores during a run; the wall ratio is skewed\n'
	fi
	awk -F'\t' '$1 == "autoinstall.dkms.notes[]" { print "    note: " $2 }' "$WORK/results.tsv"
	printf '(b) status on those trees, median of %s\n' "$(get status.repetitions)"
	row "wall (ms)" "$(get status.dkms_ms)" "$(get status.modforge_ms)"
	printf '    ratio dkms/modforge: %sx (%sx without refdkms'"'"'s own %s ms)\n' \
		"$(get status.ratio_dkms_over_modforge)" "$(get status.ratio_without_wrapper)" "$(get status.refdkms_wrapper_ms)"
	printf '(c) overhead of a build job (MAKE copies a prebuilt .ko: %s ms), median of %s\n' \
		"$(get overhead.make_command_ms)" "$(get overhead.repetitions)"
	row "ms per job, $(get overhead.fake_kernels) kernels in one run" "$(get overhead.dkms.ms_per_job)" "$(get overhead.modforge.ms_per_job)"
	row "ms, one kernel in one run" "$(get overhead.dkms.single_invocation_ms)" "$(get overhead.modforge.single_invocation_ms)"
	printf '    ratio dkms/modforge per job: %sx' "$(get overhead.ratio_dkms_over_modforge)"
	if [ "$(get overhead.modforge.no_cache)" = true ]; then
		printf ' (modforge with --no-cache; with its cache on: %s ms per job)' \
			"$(get overhead.modforge.cache_on_ms_per_job)"
	fi
	printf '\n'
	printf '(d) modforge: cold autoinstall vs re-autoinstall after unbuild --all of every module\n'
	printf '    cold %s s, warm %s s: %sx; same tree as cold: %s; --no-cache option: %s\n' \
		"$(get cache.cold_wall_s)" "$(get cache.warm_wall_s)" "$(get cache.ratio_cold_over_warm)" \
		"$(get cache.same_result_as_cold)" "$(get cache.no_cache_option)"
	if [ "$(get cache.no_cache_option)" = true ]; then
		printf '    --no-cache re-autoinstall %s s (%sx the warm one)\n' "$(get cache.no_cache_wall_s)" "$(get cache.ratio_no_cache_over_warm)"
	fi
	if grep -q '^busy_machine_warnings' "$WORK/results.tsv"; then
		printf '\nThe machine was busy with other work before some measurements:\n'
		awk -F'\t' '$1 == "busy_machine_warnings[]" { print "    " $2 }' "$WORK/results.tsv"
	fi
	if [ "$(get autoinstall.same_result)" = false ]; then
		printf '\nDifferences in (a) (- dkms, + modforge):\n'
		sed 's/^/    /' "$RESULTS/compare/diff.txt"
	fi
	if [ -s "$WORK/failures.txt" ]; then
		printf '\nFailures:\n'
		cat "$WORK/failures.txt"
	fi
	printf '\nJSON: %s; logs: %s\n' "$OUT" "$RESULTS/logs"
}

record_context() {
	put date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	put mode "$([ "$QUICK" = 1 ] && echo quick || echo full)"
	put command "bench/run.sh $*"
	put machine.nproc "$CORES"
	put machine.cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	put machine.mem_gib "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
	put versions.dkms "$(dpkg-query -W -f '${Version}' dkms)"
	put versions.modforge "$("$MF_BIN" -V 2>&1 | head -n 1)"
	put versions.modforge_commit "${MODFORGE_COMMIT:-$(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC_DIR" diff --quiet HEAD -- . ':!bench' 2>/dev/null || echo +dirty)}"
	local k
	for k in "${KERNELS[@]}"; do put "kernels[]" "$k"; done
}

cleanup() {
	if [ "$KEEP" = 1 ]; then
		log "kept scratch trees in $WORK"
	else
		rm -rf "$WORK"
	fi
}

main() {
	parse_args "$@"
	RESULTS=$BENCH_DIR/results
	rm -rf "$RESULTS/logs" "$RESULTS/compare"
	mkdir -p "$RESULTS/logs"
	check_host
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/modforge-bench.XXXXXX")
	E2E_TMP=$WORK   # lib.sh's scratch dir
	trap cleanup EXIT
	: >"$WORK/results.tsv"
	: >"$WORK/failures.txt"
	MF_BIN=$WORK/bin/modforge
	mkdir -p "$WORK/bin"
	cp "$MODFORGE" "$MF_BIN"

	pick_kernels
	record_context "$@"
	e2e_real_snapshot >"$WORK/real.before"
	log "fetching ${PKGS[*]}"
	fetch_packages
	log "warming the page cache (header trees, compiler)"
	warm_page_cache

	bench_autoinstall
	bench_status
	bench_cache
	bench_overhead

	e2e_real_snapshot >"$WORK/real.after"
	if ! cmp -s "$WORK/real.before" "$WORK/real.after"; then
		diff "$WORK/real.before" "$WORK/real.after" >"$RESULTS/logs/real-roots.diff" || true
		note_failure "the real /var/lib/dkms, /etc/dkms, /lib/modules or /usr/src changed during the run" \
			"e2e_real_snapshot before/after" "$RESULTS/logs/real-roots.diff"
	fi
	write_json
	print_table
}

main "$@"

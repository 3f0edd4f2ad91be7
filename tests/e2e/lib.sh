# tests/e2e/lib.sh - shared helpers of the end-to-end tests; sourced by tests/e2e/NN-*.sh.
#
# Every test runs the binary named by $MODFORGE (set by ctest; default build/modforge) on
# scratch roots made under one mktemp dir, never on the real /var/lib/dkms, /usr/src,
# /lib/modules or /etc/dkms; e2e_done checks that those real roots are unchanged.
#
# Output is TAP-like ("ok N - ...", "not ok N - ...", "# ..." diagnostics) and ends with
# the line "N passed, N failed"; the script exits non-zero if anything failed.
#
# Reference mode: with MODFORGE=tests/e2e/refdkms (Debian's dkms 3.0.10 behind a safety
# wrapper) the same scripts check the harness itself. Where 3.0.10 differs from dkms 3.4.3,
# the compatibility target (or where modforge is deliberately stricter, per DESIGN.md), a
# check uses `mf_or_ref <expected of modforge> <what Debian's 3.0.10 does>` or is marked
# modforge-only (`modforge_only "what"`), so that a run against the reference is green and
# a run against modforge checks the 3.4.3 behaviour.

set -u
export LC_ALL=C

MODFORGE_SRC=${MODFORGE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MODFORGE=${MODFORGE:-$MODFORGE_SRC/build/modforge}
E2E_DIR=$MODFORGE_SRC/tests/e2e
REFDKMS=$E2E_DIR/refdkms
SCHEMA_DIR=$MODFORGE_SRC/schema
# apt-get download cache, shared between runs and scripts.
E2E_CACHE=${MODFORGE_TEST_CACHE:-/var/cache/modforge-tests}
E2E_ARCH=$(uname -m)
# Python with the distribution's python3-jsonschema (a pyenv shim may shadow it).
if [ -x /usr/bin/python3 ]; then E2E_PY=/usr/bin/python3; else E2E_PY=python3; fi

T_NUM=0
T_PASS=0
T_FAIL=0
T_SKIP=0
E2E_OUT=/dev/null   # stdout of the last expect_rc/run_cmd
E2E_ERR=/dev/null   # stderr of the last expect_rc/run_cmd
E2E_RC=0

e2e_is_reference() {
	[ "$(readlink -f "$MODFORGE")" = "$(readlink -f "$REFDKMS")" ]
}

# mf_or_ref A B: prints A (expected of modforge: dkms 3.4.3's behaviour), or B (Debian's
# dkms 3.0.10) in reference mode.
mf_or_ref() {
	if e2e_is_reference; then printf '%s\n' "$2"; else printf '%s\n' "$1"; fi
}

# ---- TAP output ------------------------------------------------------------------------

diag() { printf '# %s\n' "$*"; }

ok() {
	T_NUM=$((T_NUM + 1)); T_PASS=$((T_PASS + 1))
	printf 'ok %d - %s\n' "$T_NUM" "$*"
}

# not_ok DESC [FILE...]: a failure; the tail of each FILE is shown as diagnostics.
not_ok() {
	local desc=$1 f
	shift
	T_NUM=$((T_NUM + 1)); T_FAIL=$((T_FAIL + 1))
	printf 'not ok %d - %s\n' "$T_NUM" "$desc"
	for f in "$@"; do
		[ -s "$f" ] || continue
		printf '#   --- %s (last 25 lines)\n' "$(basename "$f")"
		tail -n 25 "$f" | sed 's/^/#   | /'
	done
	return 1
}

# skip DESC REASON: counted apart, never as a pass.
skip() {
	T_NUM=$((T_NUM + 1)); T_SKIP=$((T_SKIP + 1))
	printf 'ok %d - %s # SKIP %s\n' "$T_NUM" "$1" "$2"
}

# modforge_only WHAT: true when running modforge; in reference mode records a skip.
modforge_only() {
	if e2e_is_reference; then
		skip "$1" "modforge/dkms>=3.1 behaviour; reference is Debian's dkms 3.0.10"
		return 1
	fi
	return 0
}

# bail REASON: stop the whole script as failed (a precondition is missing).
bail() {
	printf 'Bail out! %s\n' "$*"
	T_FAIL=$((T_FAIL + 1))
	e2e_summary
	exit 1
}

e2e_summary() {
	printf '1..%d\n' "$T_NUM"
	[ "$T_SKIP" -eq 0 ] || diag "$T_SKIP skipped"
	printf '%d passed, %d failed\n' "$T_PASS" "$T_FAIL"
}

# ---- assertions ------------------------------------------------------------------------

# run_cmd CMD...: runs CMD, keeping stdout/stderr in $E2E_OUT/$E2E_ERR and the status in $E2E_RC.
run_cmd() {
	E2E_OUT=$E2E_TMP/last.out
	E2E_ERR=$E2E_TMP/last.err
	"$@" >"$E2E_OUT" 2>"$E2E_ERR" </dev/null
	E2E_RC=$?
	cat "$E2E_OUT" "$E2E_ERR" >"$E2E_TMP/last.all"
	return 0
}

# expect_rc N CMD...: runs CMD (as run_cmd) and checks its exit status is N.
expect_rc() {
	local want=$1
	shift
	run_cmd "$@"
	if [ "$E2E_RC" -eq "$want" ]; then
		ok "exit $want: $(e2e_cmd_desc "$@")"
	else
		not_ok "exit $want (got $E2E_RC): $(e2e_cmd_desc "$@")" "$E2E_OUT" "$E2E_ERR"
	fi
}

e2e_cmd_desc() {
	local s
	if [ "$1" = mf ] || [ "$1" = ref ]; then s="$1"; else s=$(basename "$1"); fi
	shift
	s="$s $*"
	s=${s//$E2E_TMP\//}
	printf '%s' "$s"
}

# expect_line TEXT FILE: FILE has a line that is exactly TEXT.
expect_line() {
	if grep -Fxq -- "$1" "$2"; then
		ok "line: $1"
	else
		not_ok "line \"$1\" in $(basename "$2")" "$2"
	fi
}

expect_no_line() {
	if grep -Fxq -- "$1" "$2"; then
		not_ok "no line \"$1\" in $(basename "$2")" "$2"
	else
		ok "no line: $1"
	fi
}

# expect_text TEXT FILE: FILE contains TEXT somewhere (fixed string).
expect_text() {
	if grep -Fq -- "$1" "$2"; then
		ok "mentions: $1"
	else
		not_ok "\"$1\" in $(basename "$2")" "$2"
	fi
}

# expect_lines FILE LINE...: FILE holds exactly these lines, in this order.
expect_lines() {
	local file=$1
	shift
	local want=$E2E_TMP/want.txt
	if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$want"; else : >"$want"; fi
	if cmp -s "$want" "$file"; then
		ok "exact output ($# lines)"
	else
		not_ok "exact output ($# lines)"
		diff -u "$want" "$file" | sed 's/^/#   /'
		return 1
	fi
}

# expect_eq DESC WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want: %s\n#    got: %s\n' "$2" "$3"
		return 1
	fi
}

e2e_short() { local p=$1; printf '%s' "${p#"$E2E_TMP"/}"; }

expect_file() {
	if [ -f "$1" ]; then ok "file $(e2e_short "$1")"; else not_ok "file $(e2e_short "$1") exists"; fi
}

expect_dir() {
	if [ -d "$1" ]; then ok "dir $(e2e_short "$1")"; else not_ok "dir $(e2e_short "$1") exists"; fi
}

expect_no_file() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		not_ok "no $(e2e_short "$1")"
	else
		ok "no $(e2e_short "$1")"
	fi
}

# expect_symlink PATH TARGET: PATH is a symlink whose text is exactly TARGET.
expect_symlink() {
	local got
	got=$(readlink "$1" 2>/dev/null) || { not_ok "symlink $(e2e_short "$1")"; return 1; }
	expect_eq "symlink $(e2e_short "$1") -> $2" "$2" "$got"
}

# expect_vermagic KO KERNEL: modinfo's vermagic of KO starts with "KERNEL ".
expect_vermagic() {
	local vm
	vm=$(modinfo -F vermagic "$1" 2>&1)
	case "$vm" in
	"$2 "*) ok "vermagic $2: $(basename "$1")" ;;
	*) not_ok "vermagic of $(e2e_short "$1") starts with '$2 ' (got '$vm')" ;;
	esac
}

# ---- kernels ---------------------------------------------------------------------------

# e2e_kernels: sets E2E_KERNELS to two installed Debian 6.1 header trees (the newest
# -amd64 and the newest -cloud-amd64; else the newest two), or bails naming scripts/deps.sh.
# MODFORGE_TEST_KERNELS="k1 k2" overrides the choice.
e2e_kernels() {
	local d k amd=() cloud=() all=()
	if [ -n "${MODFORGE_TEST_KERNELS:-}" ]; then
		read -r -a E2E_KERNELS <<<"$MODFORGE_TEST_KERNELS"
	else
		for d in /usr/src/linux-headers-6.1.0-*-amd64 /usr/src/linux-headers-6.1.0-*-cloud-amd64; do
			[ -f "$d/Makefile" ] && [ -f "$d/.config" ] || continue
			k=${d#/usr/src/linux-headers-}
			case "$k" in
			*-cloud-amd64) cloud+=("$k") ;;
			*-rt-amd64 | *-common*) ;;
			*) amd+=("$k") ;;
			esac
			all+=("$k")
		done
		E2E_KERNELS=()
		if [ ${#amd[@]} -gt 0 ] && [ ${#cloud[@]} -gt 0 ]; then
			E2E_KERNELS=("$(printf '%s\n' "${amd[@]}" | sort -V | tail -n1)"
				"$(printf '%s\n' "${cloud[@]}" | sort -V | tail -n1)")
		elif [ ${#all[@]} -ge 2 ]; then
			mapfile -t E2E_KERNELS < <(printf '%s\n' "${all[@]}" | sort -uV | tail -n2)
		fi
	fi
	if [ ${#E2E_KERNELS[@]} -lt 2 ]; then
		bail "need >= 2 Debian kernel header trees /usr/src/linux-headers-6.1.0-N-{amd64,cloud-amd64} (found: ${E2E_KERNELS[*]:-none}); install them with scripts/deps.sh"
	fi
	for k in "${E2E_KERNELS[@]}"; do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] ||
			bail "no kernel headers at /usr/src/linux-headers-$k; run scripts/deps.sh"
	done
	diag "kernels: ${E2E_KERNELS[*]} (arch $E2E_ARCH)"
}

# kernel_has_config K CONFIG_X: the kernel's .config sets CONFIG_X to y or m.
kernel_has_config() {
	grep -Eq "^$2=[ym]\$" "/usr/src/linux-headers-$1/.config"
}

# ---- scratch roots ---------------------------------------------------------------------

# new_root NAME: makes $E2E_TMP/NAME with dkms/, src/ and lib/modules/<k>/ for every kernel
# of E2E_KERNELS (build -> the real headers; empty modules.{dep,order,builtin,builtin.modinfo}
# so that `depmod -b` works there) and prints its path.
new_root() {
	local r=$E2E_TMP/$1 k
	mkdir -p "$r/dkms" "$r/src" "$r/lib/modules"
	for k in "${E2E_KERNELS[@]}"; do
		mkdir -p "$r/lib/modules/$k"
		ln -sfn "/usr/src/linux-headers-$k" "$r/lib/modules/$k/build"
		: >"$r/lib/modules/$k/modules.dep"
		: >"$r/lib/modules/$k/modules.order"
		: >"$r/lib/modules/$k/modules.builtin"
		: >"$r/lib/modules/$k/modules.builtin.modinfo"
	done
	printf '%s\n' "$r"
}

# The roots `mf` and `ref` work on (set with use_root / use_ref_root).
ROOT=
REF_ROOT=
use_root() { ROOT=$1; DKMS=$ROOT/dkms; SRC=$ROOT/src; INST=$ROOT/lib/modules; }
use_ref_root() { REF_ROOT=$1; }

# mf ARGS...: the tool under test on $ROOT.
mf() {
	"$MODFORGE" "$@" --dkmstree "$ROOT/dkms" --sourcetree "$ROOT/src" \
		--installtree "$ROOT/lib/modules"
}

# ref ARGS...: Debian's dkms 3.0.10 (through refdkms: no signing, no depmod) on $REF_ROOT.
ref() {
	"$REFDKMS" "$@" --dkmstree "$REF_ROOT/dkms" --sourcetree "$REF_ROOT/src" \
		--installtree "$REF_ROOT/lib/modules"
}

require_refdkms() {
	[ -x /usr/sbin/dkms ] ||
		bail "Debian's dkms (/usr/sbin/dkms) is needed for the differential tests; run scripts/deps.sh"
}

# ---- real-system guard -----------------------------------------------------------------

# A listing of the real roots the tests must never touch.
e2e_real_snapshot() {
	{
		find /var/lib/dkms /etc/dkms -printf '%p %y %s %T@\n' 2>/dev/null
		find /lib/modules -maxdepth 2 -printf '%p %y %s %T@\n' 2>/dev/null
		find /usr/src -maxdepth 1 -printf '%p %y\n' 2>/dev/null
	} | sort
}

# ---- Debian packages -------------------------------------------------------------------

# fetch_deb NAME: downloads NAME (apt-get download, into $E2E_CACHE, reused between runs),
# extracts it with dpkg -x into $ROOT/deb/NAME and prints the path of its
# /usr/src/<m>-<v> (the directory holding dkms.conf).
fetch_deb() {
	local name=$1 ver file dest conf
	ver=$(apt-cache show --no-all-versions "$name" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	if [ -z "$ver" ]; then
		echo "fetch_deb: apt knows no package $name (run scripts/deps.sh, which runs apt-get update)" >&2
		return 1
	fi
	mkdir -p "$E2E_CACHE" || return 1
	file=$(ls "$E2E_CACHE/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
	if [ -z "$file" ]; then
		# _apt downloads into the cache when it may; otherwise apt falls back to root.
		chown _apt "$E2E_CACHE" 2>/dev/null
		(cd "$E2E_CACHE" && apt-get download -q "$name" >"$E2E_TMP/apt-$name.log" 2>&1) || {
			echo "fetch_deb: apt-get download $name failed:" >&2
			cat "$E2E_TMP/apt-$name.log" >&2
			return 1
		}
		file=$(ls "$E2E_CACHE/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
		[ -n "$file" ] || { echo "fetch_deb: downloaded no file for $name $ver" >&2; return 1; }
	fi
	dest=$ROOT/deb/$name
	rm -rf "$dest"
	mkdir -p "$dest"
	dpkg -x "$file" "$dest" || { echo "fetch_deb: dpkg -x $file failed" >&2; return 1; }
	conf=$(ls "$dest"/usr/src/*/dkms.conf 2>/dev/null | head -n1)
	[ -n "$conf" ] || { echo "fetch_deb: $name has no /usr/src/*/dkms.conf" >&2; return 1; }
	dirname "$conf"
}

# ---- status helpers --------------------------------------------------------------------

# status_json_check FILE LINE...: FILE validates against schema/status.schema.json and its
# entries, written as status text ("M/V: state", "M/V, K, A: state"), are exactly LINE...
# in that order (the text and the JSON list the same entries, reference §4.3).
status_json_check() {
	local file=$1
	shift
	local schema=$SCHEMA_DIR/status.schema.json
	if [ ! -f "$schema" ]; then
		not_ok "status --json: schema $schema exists"
		return 1
	fi
	if "$E2E_PY" - "$schema" "$file" "$@" >"$E2E_TMP/json.log" 2>&1 <<'PY'; then
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
got = []
for e in doc["entries"]:
    if e.get("kernel") is None:
        got.append("%s/%s: %s" % (e["module"], e["version"], e["state"]))
    else:
        got.append("%s/%s, %s, %s: %s" % (e["module"], e["version"], e["kernel"], e["arch"], e["state"]))
want = sys.argv[3:]
if got != want:
    print("entries as text:", got)
    print("expected:       ", want)
    sys.exit(1)
PY
		ok "status --json valid against the schema, entries: $*"
	else
		not_ok "status --json valid against the schema, entries: $*" "$E2E_TMP/json.log" "$file"
	fi
}

# ---- setup and teardown ----------------------------------------------------------------

e2e_cleanup() {
	if [ "${MODFORGE_TEST_KEEP:-0}" = 1 ]; then
		diag "kept scratch dir $E2E_TMP"
	else
		rm -rf "$E2E_TMP"
	fi
}

# e2e_init: scratch dir, guard snapshot, kernels. Call once at the top of a script.
e2e_init() {
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/modforge-e2e.XXXXXX") || { echo "mktemp failed" >&2; exit 1; }
	trap e2e_cleanup EXIT
	# Builds run as an unprivileged build user inside modforge's sandbox: it must be able
	# to walk down to the scratch trees (mktemp -d makes 0700).
	chmod 755 "$E2E_TMP"
	E2E_START=$SECONDS
	e2e_real_snapshot >"$E2E_TMP/real.before"
	# modforge reads /etc/dkms (framework.conf, overrides) from here: never the host's.
	export MODFORGE_ETC_DKMS=$E2E_TMP/etc-dkms
	mkdir -p "$MODFORGE_ETC_DKMS"
	if e2e_is_reference; then
		diag "reference mode: MODFORGE is Debian's dkms 3.0.10 via refdkms"
	elif [ ! -x "$MODFORGE" ]; then
		bail "MODFORGE=$MODFORGE is not executable (build it: cmake -S . -B build && cmake --build build)"
	fi
	diag "MODFORGE=$MODFORGE"
	e2e_kernels
}

# e2e_done: checks the real roots were not touched, prints the summary, exits.
e2e_done() {
	e2e_real_snapshot >"$E2E_TMP/real.after"
	if cmp -s "$E2E_TMP/real.before" "$E2E_TMP/real.after"; then
		ok "real /var/lib/dkms, /etc/dkms, /lib/modules, /usr/src untouched"
	else
		not_ok "real /var/lib/dkms, /etc/dkms, /lib/modules, /usr/src untouched"
		diff "$E2E_TMP/real.before" "$E2E_TMP/real.after" | head -n 20 | sed 's/^/#   /'
	fi
	diag "took $((SECONDS - E2E_START)) s"
	e2e_summary
	[ "$T_FAIL" -eq 0 ]
	exit $?
}

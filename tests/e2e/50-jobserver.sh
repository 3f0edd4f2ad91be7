#!/bin/bash
# 50-jobserver: one -j budget for the whole run. Two packages of 16 objects each are built
# in one autoinstall plan for a real kernel; their MAKE uses a wrapper CC that records how
# many compilers run at once. With -j N no more than N ever run together, and with N >= 2
# more than one does (the makes really draw from modforge's pool; without a jobserver a
# make given no -j compiles one file at a time).
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
if ! modforge_only "the jobserver budget"; then
	e2e_done
fi

# The wrapper: counts running compilers with one directory entry each, keeps the maximum.
# Its counter is shared by concurrent builds, which the sandbox keeps apart on purpose, so
# these builds run with --no-sandbox: what is measured here is the job budget alone.
W=$E2E_TMP/wrap
mkdir -p "$W/running"
cat >"$W/cc" <<'SH'
#!/bin/bash
d=$(dirname "$0")
touch "$d/running/$$"
n=$(ls "$d/running" | wc -l)
( flock 9; m=$(cat "$d/max" 2>/dev/null || echo 0); [ "$n" -gt "$m" ] && echo "$n" >"$d/max" ) 9>"$d/lock"
case " $* " in *" -c "*) sleep 0.4 ;; esac
gcc-12 "$@"; rc=$?
rm -f "$d/running/$$"
exit $rc
SH
chmod +x "$W/cc"
command -v gcc-12 >/dev/null || bail "gcc-12 (the Debian 6.1 kernels' compiler) is not installed"

# make_pkg NAME: a package with 16 source files making one module.
make_pkg() {
	local d=$E2E_TMP/pkgs/$1-1.0 i objs=
	mkdir -p "$d"
	for i in $(seq 1 16); do
		printf 'int %s_f%d(void);\nint %s_f%d(void) { return %d; }\n' "${1//-/_}" "$i" "${1//-/_}" "$i" "$i" >"$d/f$i.c"
		objs="$objs f$i.o"
	done
	printf '#include <linux/module.h>\nstatic int __init m_init(void) { return 0; }\nstatic void __exit m_exit(void) { }\nmodule_init(m_init);\nmodule_exit(m_exit);\nMODULE_LICENSE("GPL");\n' >"$d/main.c"
	printf 'obj-m := %s.o\n%s-y := main.o%s\n' "${1//-/_}" "${1//-/_}" "$objs" >"$d/Kbuild"
	cat >"$d/dkms.conf" <<CONF
PACKAGE_NAME="$1"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="${1//-/_}"
DEST_MODULE_LOCATION[0]="/updates"
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/$1/1.0/build CC=$W/cc modules"
AUTOINSTALL="yes"
CONF
	printf '%s\n' "$d"
}

run_budget() {
	local n=$1 root
	root=$(new_root "j$n")
	use_root "$root"
	rm -f "$W/max" "$W/running"/*
	expect_rc 0 mf add "$(make_pkg js-a)" -k "$K1"
	expect_rc 0 mf add "$(make_pkg js-b)" -k "$K1"
	expect_rc 0 mf autoinstall -k "$K1" -j "$n" --no-sandbox
	# dkms lists them in the order their installs ended: either may finish first.
	if grep -qxE "Autoinstall on $K1 succeeded for module\(s\) (js-a js-b|js-b js-a)\." "$E2E_OUT"; then
		ok "-j $n: both modules installed"
	else
		not_ok "-j $n: both modules installed" "$E2E_OUT"
	fi
	cmdline=$(grep '# command:' "$DKMS/js-a/1.0/$K1/$E2E_ARCH/log/make.log")
	if [ "$n" = 1 ]; then
		# one slot: nothing to share; make runs as dkms runs it with parallel_jobs=1
		expect_eq "-j 1: make -j1, as dkms" "# command: make -j1 KERNELRELEASE=$K1" "${cmdline%% -C *}"
		expect_no_line "make: warning: jobserver unavailable: using -j1.  Add '+' to parent make rule." \
			"$DKMS/js-a/1.0/$K1/$E2E_ARCH/log/make.log"
	elif grep -q -- ' -j' <<<"$cmdline"; then
		not_ok "-j $n: make's command line has no -j (it would leave the jobserver)"
	else
		ok "-j $n: make's command line has no -j (it would leave the jobserver)"
	fi
	MAX=$(cat "$W/max" 2>/dev/null || echo 0)
	diag "-j $n: at most $MAX compilers ran at once"
}

run_budget 1
expect_eq "-j 1: one compiler at a time" 1 "$MAX"
run_budget 2
if [ "$MAX" -le 2 ] && [ "$MAX" -ge 2 ]; then ok "-j 2: exactly 2 compilers at once at most ($MAX)"; else not_ok "-j 2: at most 2 and more than 1 compilers at once (saw $MAX)"; fi
run_budget 3
if [ "$MAX" -le 3 ] && [ "$MAX" -ge 2 ]; then ok "-j 3: 2..3 compilers at once ($MAX)"; else not_ok "-j 3: at most 3 and more than 1 compilers at once (saw $MAX)"; fi

# One build alone draws from the pool too (its make gets the other slots).
use_root "$(new_root single)"
rm -f "$W/max" "$W/running"/*
expect_rc 0 mf add "$(make_pkg js-c)" -k "$K1"
expect_rc 0 mf build js-c/1.0 -k "$K1" -j 3 --no-sandbox
MAX=$(cat "$W/max" 2>/dev/null || echo 0)
if [ "$MAX" -le 3 ] && [ "$MAX" -ge 2 ]; then ok "one build with -j 3: its make used 2..3 slots ($MAX)"; else not_ok "one build with -j 3 used 2..3 slots (saw $MAX)"; fi
e2e_done

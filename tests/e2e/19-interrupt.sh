#!/bin/bash
# 19-interrupt: Ctrl-C (SIGINT) or SIGTERM while a plan runs. autoinstall of mf-hello and
# mf-slow (whose PRE_BUILD sleeps a minute, and which BUILD_DEPENDS on mf-hello, so
# mf-hello is built and installed first); the signal comes while mf-slow builds. The run
# stops at once: exit 130 (143 for SIGTERM); one line says what was done, what was
# stopped and what did not start; mf-hello stays installed and the depmod owed for the
# kernel ran (modules.dep lists it); mf-slow's private build area and source copy are
# gone, no process of its sandbox is left, and it is not built.
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "modforge's handling of Ctrl-C"; then
	e2e_done
fi

# mf-slow: its own module (mf_slow), a PRE_BUILD that sleeps, BUILD_DEPENDS on mf-hello.
make_slow() {
	local d=$E2E_TMP/$1/mf-slow-1.0
	mkdir -p "$d"
	cat >"$d/mf_slow.c" <<'C'
#include <linux/module.h>
static int __init mf_slow_init(void) { return 0; }
static void __exit mf_slow_exit(void) { }
module_init(mf_slow_init);
module_exit(mf_slow_exit);
MODULE_LICENSE("GPL");
C
	echo 'obj-m := mf_slow.o' >"$d/Kbuild"
	printf '#!/bin/sh\nsleep 60 # modforge-e2e-slow\n' >"$d/slow.sh"
	chmod +x "$d/slow.sh"
	printf '%s\n' 'PACKAGE_NAME="mf-slow"' 'PACKAGE_VERSION="1.0"' 'BUILT_MODULE_NAME[0]="mf_slow"' \
		'DEST_MODULE_LOCATION[0]="/updates"' 'AUTOINSTALL="yes"' 'BUILD_DEPENDS[0]="mf-hello"' \
		'PRE_BUILD="slow.sh"' >"$d/dkms.conf"
	printf '%s\n' "$d"
}

# interrupt SIGNAL WANT-RC: runs autoinstall in the background, sends SIGNAL once mf-slow's
# private build area exists, checks what the run left.
interrupt() {
	local sig=$1 want=$2 i
	use_root "$(new_root "stop-$sig")"
	expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
	expect_rc 0 mf add "$(make_slow "$sig")" -k "$K1"
	# modforge itself in the background (not the mf function's subshell): its pid gets the signal.
	"$MODFORGE" autoinstall -k "$K1" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST" \
		>"$E2E_TMP/$sig.out" 2>"$E2E_TMP/$sig.err" </dev/null &
	local pid=$!
	local area=$DKMS/mf-slow/1.0/.build-$K1-$A
	for ((i = 0; i < 3000; i++)); do
		[ -d "$area" ] && break
		sleep 0.2
	done
	if [ ! -d "$area" ]; then
		kill -KILL "$pid" 2>/dev/null
		not_ok "$sig: mf-slow's build started" "$E2E_TMP/$sig.err"
		return
	fi
	sleep 1 # inside its PRE_BUILD by now, or about to be: either way it is running
	kill -"$sig" "$pid"
	local rc=0
	wait "$pid" || rc=$?
	expect_eq "$sig: exit $want" "$want" "$rc"
	expect_text "modforge: stopped by SIG$sig: " "$E2E_TMP/$sig.err"
	expect_text "stopped, their build areas removed: build mf-slow/1.0 for $K1 ($A)" "$E2E_TMP/$sig.err"
	expect_text "depmod run for $K1" "$E2E_TMP/$sig.err"
	expect_no_file "$area"
	expect_no_file "$DKMS/mf-slow/1.0/.source-$K1-$A"
	expect_no_file "$DKMS/mf-slow/1.0/$K1/$A"
	if pgrep -f modforge-e2e-slow >/dev/null; then
		not_ok "$sig: no process of the stopped build is left"
	else
		ok "$sig: no process of the stopped build is left"
	fi
	expect_text "updates/dkms/mf_hello.ko" "$INST/$K1/modules.dep"
	expect_rc 0 mf status
	expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: installed" "mf-slow/1.0: added"
	# Nothing owed is left for the next run to do.
	expect_no_line "Running depmod" "$E2E_OUT"
}

interrupt INT 130
interrupt TERM 143
e2e_done

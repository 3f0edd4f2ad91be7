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

# interrupt SIGNAL SIGNO: runs autoinstall, sends SIGNAL once mf-slow's private build area
# exists, checks what the run left.
interrupt() {
	local sig=$1 want=$2 i
	use_root "$(new_root "stop-$sig")"
	expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
	expect_rc 0 mf add "$(make_slow "$sig")" -k "$K1"
	# Started from python, where SIGINT is not ignored (a shell's background job ignores
	# it, and so does modforge then); the signal once mf-slow's private area exists.
	local area=$DKMS/mf-slow/1.0/.build-$K1-$A rc
	rc=$("$E2E_PY" - "$sig" "$area" "$E2E_TMP/$sig.out" "$E2E_TMP/$sig.err" "$MODFORGE" autoinstall -k "$K1" \
		--dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST" <<'PY'
import os, signal, subprocess, sys, time
sig, area, out, err = sys.argv[1:5]
p = subprocess.Popen(sys.argv[5:], stdout=open(out, "w"), stderr=open(err, "w"), stdin=subprocess.DEVNULL)
for _ in range(3000):
    if os.path.isdir(area) or p.poll() is not None:
        break
    time.sleep(0.2)
time.sleep(1)  # inside its PRE_BUILD by now, or about to be: either way it is running
p.send_signal(getattr(signal, "SIG" + sig))
print(p.wait(timeout=120))
PY
	)
	expect_eq "$sig: it dies of SIG$sig, once cleaned up" "-$want" "$rc"
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

interrupt INT 2
interrupt TERM 15

# Ctrl-C while waiting for another run's lock stops at once (nothing installed), and it
# dies of the signal.
diag "--- Ctrl-C while waiting for the tree's lock"
use_root "$(new_root lockwait)"
expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1"
mkdir -p "$DKMS/.modforge"
(
	flock 9
	exec sleep 600 # holds the lock (fd 9) until killed
) 9>"$DKMS/.modforge/lock" &
HOLDER=$!
if "$E2E_PY" - "$MODFORGE" "$DKMS" "$SRC" "$INST" "$K1" "$E2E_TMP/lockwait.err" >"$E2E_TMP/lockwait.log" 2>&1 <<'PY'; then
import signal, subprocess, sys, time
mf, dkms, src, inst, k, errf = sys.argv[1:]
args = [mf, "install", "mf-hello/1.0", "-k", k, "--dkmstree", dkms, "--sourcetree", src, "--installtree", inst]
err = open(errf, "w")
p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
for _ in range(3000):  # until it says it waits for the lock (after 2 s)
    if "Waiting for the dkms tree" in open(errf).read():
        break
    time.sleep(0.1)
else:
    sys.exit("it never waited for the lock")
p.send_signal(signal.SIGINT)
rc = p.wait(timeout=60)
assert rc == -signal.SIGINT, "died of SIGINT, got %d" % rc
assert "stopped by SIGINT" in open(errf).read(), open(errf).read()
PY
	ok "Ctrl-C while waiting for the tree's lock: stops at once, dies of SIGINT"
else
	not_ok "Ctrl-C while waiting for the tree's lock: stops at once, dies of SIGINT" "$E2E_TMP/lockwait.log" "$E2E_TMP/lockwait.err"
fi
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K1, $A: built"
e2e_done

#!/bin/bash
# 60-hostile: a package whose dkms.conf and whose build try to break out (reference: the
# sandbox issue). Every attempt must fail; the effects are checked from outside (files,
# the listener, processes), and the build log reports each attempt as blocked.
# Filling the disk: the private /tmp has a size limit, and a build that fills its build
# area's filesystem (here a 200 MiB tmpfs as the dkms tree) is stopped under the reserve
# modforge keeps free, reported, and its area deleted.
# The scratch root lives outside /tmp, as a real dkms tree does: inside the sandbox /tmp
# is private, and a tree below it would be out of sight anyway.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
if ! modforge_only "the sandbox (dkms runs everything as root)"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "the hostile suite runs as root (it checks the drop to the build user)"
use_root "$(new_root hostile)"
PKG=$E2E_TMP/pkg/hostile-1.0
mkdir -p "$PKG"
cp "$MODFORGE_SRC/tests/hostile/attack.sh" "$PKG/"
cp "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.c" "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.h" "$PKG/"
echo 'obj-m := mf_hello.o' >"$PKG/Kbuild"
HOSTTMP=/tmp/modforge-hostile.$$
KEY=$DKMS/mok.key
# A real signing key (the build signs with it, outside the sandbox), marked so a leak shows.
expect_rc 0 mf generate_mok
echo "modforge-secret-key" >>"$KEY"
ROOTSECRET=/root/modforge-secret
echo "modforge-secret-root" >"$ROOTSECRET"
FULL=
trap 'rm -f "$ROOTSECRET" "$HOSTTMP" /etc/modforge-hostile /etc/modforge-hostile-conf; pkill -f modforge-hostile-survivor; [ -z "$FULL" ] || umount "$FULL"; e2e_cleanup' EXIT

# A listener on loopback that records any connection.
PORT=$("$E2E_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$E2E_PY" - "$PORT" "$E2E_TMP/connections" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); s.settimeout(120)
try:
    while True:
        c, a = s.accept(); open(sys.argv[2], "a").write("connection from %s\n" % (a,)); c.close()
except Exception:
    pass
PY
LISTENER=$!
sleep 0.3

cat >"$PKG/dkms.conf" <<CONF
PACKAGE_NAME="hostile"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="mf_hello"
DEST_MODULE_LOCATION[0]="/updates"
# dkms.conf itself is hostile too: it runs while modforge reads it.
echo pwned > /etc/modforge-hostile-conf 2>/dev/null
echo pwned > "$DKMS/pwned-by-conf" 2>/dev/null
(echo hi > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null
MAKE[0]="HOSTILE_DKMS=$DKMS HOSTILE_SRC=$SRC/hostile-1.0 HOSTILE_INST=$INST/$K1 HOSTILE_HOSTTMP=$HOSTTMP HOSTILE_KEY=$KEY HOSTILE_PORT=$PORT ./attack.sh -C \${kernel_source_dir} M=\${dkms_tree}/hostile/1.0/build modules"
CONF

expect_rc 0 mf add "$PKG" -k "$K1"
expect_rc 0 mf build hostile/1.0 -k "$K1"
LOG=$DKMS/hostile/1.0/$K1/$E2E_ARCH/log/make.log
expect_file "$LOG"
# (write-host-tmp lands in the sandbox's private /tmp, write-source in the job's private
# copy of the source: for those two only the absence outside counts.)
for a in write-etc write-dkms-tree write-install-tree fill-tmp connect-loopback mount new-userns setuid-bit setgid-bit load-module kexec bpf ptrace-parent "read $KEY" "read /root/modforge-secret"; do
	if grep -qx "ATTACK $a: blocked" "$LOG"; then
		ok "blocked and reported: $a"
	else
		not_ok "blocked and reported: $a" "$LOG"
	fi
done
if grep -q "ATTACK uid: 0$" "$LOG"; then not_ok "the build did not run as root" "$LOG"; else ok "the build did not run as root ($(grep 'ATTACK uid' "$LOG"))"; fi
expect_no_file /etc/modforge-hostile
expect_no_file /etc/modforge-hostile-conf
expect_no_file "$DKMS/pwned"
expect_no_file "$DKMS/pwned-by-conf"
expect_no_file "$SRC/hostile-1.0/pwned"
expect_no_file "$INST/$K1/pwned"
expect_no_file "$HOSTTMP"
if grep -qE "modforge-secret-(key|root)" "$LOG"; then not_ok "no secret in the build log" "$LOG"; else ok "no secret in the build log"; fi
sleep 0.5
if [ -s "$E2E_TMP/connections" ]; then not_ok "the loopback listener saw no connection" "$E2E_TMP/connections"; else ok "the loopback listener saw no connection"; fi
if pgrep -f modforge-hostile-survivor >/dev/null; then not_ok "no process of the build outlived it"; else ok "no process of the build outlived it"; fi
find "$DKMS/hostile" -perm /6000 -type f >"$E2E_TMP/suid"
expect_eq "no setuid/setgid file in the result" "" "$(cat "$E2E_TMP/suid")"
expect_file "$DKMS/hostile/1.0/$K1/$E2E_ARCH/module/mf_hello.ko"
expect_eq "signed with the key the build could not read" "DKMS module signing key" \
	"$(modinfo -F signer "$DKMS/hostile/1.0/$K1/$E2E_ARCH/module/mf_hello.ko")"
kill "$LISTENER" 2>/dev/null

# A build that fills the disk of its build area.
use_root "$(new_root full)"
FULL=$DKMS
mount -t tmpfs -o size=200m modforge-e2e-full "$FULL" || bail "cannot mount a tmpfs on $FULL"
FPKG=$E2E_TMP/pkg/filler-1.0
mkdir -p "$FPKG"
cp "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.c" "$MODFORGE_SRC/examples/mf-hello-1.0/mf_hello.h" "$FPKG/"
echo 'obj-m := mf_hello.o' >"$FPKG/Kbuild"
cat >"$FPKG/dkms.conf" <<'CONF'
PACKAGE_NAME="filler"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="mf_hello"
DEST_MODULE_LOCATION[0]="/updates"
MAKE[0]="dd if=/dev/zero of=fill bs=1M; sleep 120; make -C ${kernel_source_dir} M=${dkms_tree}/filler/1.0/build modules"
CONF
expect_rc 0 mf add "$FPKG"
t0=$(date +%s)
expect_rc 10 mf build filler/1.0 -k "$K1"
t1=$(date +%s)
expect_text "was stopped: the filesystem of $DKMS/filler/1.0/.build-$K1-$E2E_ARCH has" "$E2E_ERR"
if [ $((t1 - t0)) -lt 100 ]; then ok "the step was killed, not left to run ($((t1 - t0)) s)"; else not_ok "the step was killed, not left to run ($((t1 - t0)) s)"; fi
free_kib=$(df -k --output=avail "$FULL" | tail -n1)
if [ "$free_kib" -gt 190000 ]; then ok "the space came back ($free_kib KiB free)"; else not_ok "the space came back ($free_kib KiB free)"; fi
expect_eq "no build area or source copy is left" "" "$(ls -a "$DKMS/filler/1.0" | grep -E '^\.(source|build)-' || true)"
expect_rc 0 mf status filler
expect_line "filler/1.0: added" "$E2E_OUT"
expect_rc 10 mf build filler/1.0 -k "$K1"
expect_text "was stopped" "$E2E_ERR"
umount "$FULL" && FULL=

# The explicit escape hatch warns.
expect_rc 0 mf status --no-sandbox
expect_text "no-sandbox" "$E2E_ERR"
e2e_done

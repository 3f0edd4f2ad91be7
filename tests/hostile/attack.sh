#!/bin/bash
# The hostile build step: every attack is tried, its outcome written to stdout (make.log),
# and the real module is built afterwards. Paths come from the environment of the MAKE
# line (see dkms.conf): HOSTILE_* variables name the host paths to attack.
try() { # try NAME CMD...: runs CMD, reports whether it worked
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "ATTACK $name: SUCCEEDED"; else echo "ATTACK $name: blocked"; fi
}
secret() { cat "$1" 2>/dev/null | grep -q modforge-secret && { echo "ATTACK read $1: SUCCEEDED ($(cat "$1"))"; return 0; }; echo "ATTACK read $1: blocked"; }
try write-etc sh -c "echo pwned > /etc/modforge-hostile"
try write-dkms-tree sh -c "echo pwned > '$HOSTILE_DKMS/pwned'"
try write-source sh -c "echo pwned > '$HOSTILE_SRC/pwned'"
try write-install-tree sh -c "echo pwned > '$HOSTILE_INST/pwned'"
try write-host-tmp sh -c "echo pwned > '$HOSTILE_HOSTTMP'"
# The private /tmp is RAM: it has a size limit (1 GiB) the build cannot pass.
try fill-tmp dd if=/dev/zero of=/tmp/modforge-fill bs=1M count=1536
rm -f /tmp/modforge-fill
secret "$HOSTILE_KEY"
secret /root/modforge-secret
try connect-loopback bash -c "echo hi > /dev/tcp/127.0.0.1/$HOSTILE_PORT"
try mount mount -t tmpfs none "$PWD"
try new-userns unshare -U true
touch suid-probe
try setuid-bit chmod u+s suid-probe
try setgid-bit chmod g+s suid-probe
try load-module python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(0 if l.syscall(175, 0, 0, b"") == 0 else 1)'
try kexec python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(0 if l.syscall(246, 0, 0, 0, 0) == 0 else 1)'
try bpf python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(0 if l.syscall(321, 0, 0, 0) >= 0 else 1)'
try ptrace-parent python3 -c 'import ctypes,os,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(0 if l.ptrace(16, os.getppid(), 0, 0) == 0 else 1)'
# A process that tries to outlive the build (its argv carries a marker the test looks for).
( setsid bash -c "exec -a modforge-hostile-survivor sleep 300" & ) 2>/dev/null
echo "ATTACK uid: $(id -u)"
exec make "$@"

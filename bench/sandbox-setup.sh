#!/bin/bash
# bench/sandbox-setup.sh - what the sandbox costs per untrusted step: `true` spawned N times
# through proc_spawn + sandbox_child_setup, unconfined (today's path) and confined (user,
# mount, pid, ipc, uts, cgroup and net namespaces, read-only root, /dev, /tmp, /proc, /sys,
# caps, no_new_privs, seccomp), confined with allow_net (no net namespace: making and
# tearing one down is the known expensive part), and confined with the seccomp filter
# compiled once in the caller (sandbox_filter_new) instead of in every child.
#
# Measured on the dev VM (Linux 6.18, 2 vCPU, Debian 12, as root, N=200, five runs while
# other builds kept the load at 2.2-2.5), ms per spawn, wall (CPU of the children):
#   unconfined                          1.15-1.59  (0.98-1.26)
#   confined                            3.63-5.01  (2.90-3.64)   +2.5..3.7 wall
#   confined, allow_net (no net ns)     3.39-3.81  (2.66-3.07)
#   confined, filter compiled in caller 3.42-4.49  (2.39-2.90)   +1.8..3.2 wall
# (At load 3-5 the same runs gave 6-10 ms confined: the three forks and namespace
# teardown queue behind other work.) A module build has a handful of untrusted steps
# (conf evaluation, make, strip ...) taking seconds each, so this is ~10-15 ms a job.
#
# Usage: bench/sandbox-setup.sh [N]   (BUILD=/tmp/b-sandbox by default: a configured and
# built tree of this checkout; the driver links its libmodforge_core.a)
set -euo pipefail

N=${1:-200}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/b-sandbox}
LIB=$BUILD/libmodforge_core.a
[ -f "$LIB" ] || { echo "no $LIB: cmake -S $SRC -B $BUILD && cmake --build $BUILD" >&2; exit 1; }

work=$(mktemp -d /var/tmp/mf-sbx-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

cat >"$work/driver.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "common/strv.h"
#include "executor/proc.h"
#include "sandbox/sandbox.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* CPU ms (user + system) of the reaped children so far. */
static double children_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Spawns `true` n times under pol; returns wall ms per spawn (CPU ms per spawn of the
 * children in *cpu), or -1 on a failure. */
static double measure(struct sandbox_policy *pol, int n, double *cpu)
{
	char *argv[] = { "true", NULL };
	struct strv env = STRV_INIT;
	sandbox_build_env(pol, environ, &env);
	struct proc_spec spec = { .argv = argv, .envp = strv_array(&env), .cwd = pol->cwd,
				  .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
				  .new_session = true, .child_setup = sandbox_child_setup,
				  .child_data = pol };
	double t0 = now_ms(), c0 = children_cpu_ms();
	for (int i = 0; i < n; i++) {
		int code;
		int r = proc_run(&spec, &code);
		if (r < 0 || code != 0) {
			fprintf(stderr, "spawn %d: %s, exit %d\n", i, strerror(-r), code);
			return -1;
		}
	}
	double ms = (now_ms() - t0) / n;
	*cpu = (children_cpu_ms() - c0) / n;
	strv_release(&env);
	return ms;
}

int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	const char *work[] = { argv[2], NULL };
	const char *hidden[] = { "/root", "/home", NULL };
	struct sandbox_policy open = { .cwd = argv[2] };
	struct sandbox_policy conf = { .cwd = argv[2], .confine = true, .writable = work,
				       .hidden = hidden };
	struct sandbox_policy net = conf, pre = conf;
	net.allow_net = true;
	if (sandbox_filter_new((struct sandbox_filter **)&pre.filter) < 0)
		return 1;
	int r = sandbox_probe(&conf);
	if (r < 0) {
		fprintf(stderr, "sandbox unavailable: %s (%s)\n", strerror(-r), sandbox_userns_hint());
		return 1;
	}
	double uc, cc, ac, pc;
	measure(&conf, 10, &cc); /* warm the page cache and the kernel's namespace caches */
	double u = measure(&open, n, &uc), c = measure(&conf, n, &cc), a = measure(&net, n, &ac);
	double p = measure(&pre, n, &pc);
	if (u < 0 || c < 0 || a < 0 || p < 0)
		return 1;
	printf("spawns: %d each; ms per spawn, wall (CPU of the children)\n", n);
	printf("unconfined          %6.2f (%.2f)\n", u, uc);
	printf("confined            %6.2f (%.2f)  +%.2f wall\n", c, cc, c - u);
	printf("confined allow_net  %6.2f (%.2f)  +%.2f wall\n", a, ac, a - u);
	printf("confined, filter compiled once in the caller\n");
	printf("                    %6.2f (%.2f)  +%.2f wall\n", p, pc, p - u);
	return 0;
}
EOF

# shellcheck disable=SC2046
gcc -O2 -D_GNU_SOURCE -I"$SRC" -o "$work/driver" "$work/driver.c" "$LIB" \
	$(pkg-config --libs libseccomp libcap libkmod libcjson libcrypto)
if [ "$(id -u)" = 0 ]; then
	chown 65534:65534 "$work" # the default build user writes its cwd
fi
"$work/driver" "$N" "$work"

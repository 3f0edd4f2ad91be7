/* sandbox.h - how an untrusted step runs: its environment and its process setup.
 *
 * Knows nothing of modules or kernels. A policy always gives a clean environment (an
 * allowlist: never the caller's MAKEFLAGS, MAKELEVEL, sub_make_done, KBUILD_*, CC ...),
 * umask 022 and death with the caller. With confine set, sandbox_child_setup also puts
 * the step in a sandbox:
 *   - a user namespace mapping one unprivileged uid/gid (the caller's; when the caller is
 *     root, build_uid/build_gid, which the child switches to first), setgroups denied;
 *   - new mount, pid, ipc, uts, cgroup and (unless allow_net) net namespaces;
 *   - every mount read-only except the writable paths and a private /tmp; a minimal /dev
 *     (null zero full random urandom, no tty); a fresh /proc (and /sys, with the net
 *     namespace); hidden paths covered by an empty read-only tmpfs; readonly paths shown
 *     again (read-only) inside hidden ones;
 *   - no capabilities in any set, PR_SET_NO_NEW_PRIVS, a seccomp filter (sandbox/filter.h),
 *     the rlimits of struct sandbox_limits, a new session;
 *   - every process of the step killed when its main process ends (it is the only child
 *     of the pid namespace's init) or when the caller dies.
 * The paths keep their names inside: a writable build dir is at the same path in and out.
 *
 * What stays true: the pid proc_spawn returns is an intermediate process that waits for
 * the step and exits with its folded status (status, or 128 + signal), so callers wait on
 * it as before; killing it kills the whole step. A policy is only read, never kept.
 * Caller duties when root: the writable paths must be writable by build_uid (chown them)
 * and every path given must be reachable by it (no 0700 parent directories).
 */
#ifndef MODFORGE_SANDBOX_H
#define MODFORGE_SANDBOX_H

#include <errno.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/strv.h"

struct failure;

/* sandbox_child_setup / sandbox_probe fail with -SANDBOX_ENOUSERNS when no usable user
 * namespace can be made; sandbox_userns_hint() then names the setting to change. */
#define SANDBOX_ENOUSERNS EOPNOTSUPP
/* The build user when the caller is root and the policy leaves build_uid/gid at 0. */
#define SANDBOX_BUILD_UID_DEFAULT 65534
#define SANDBOX_BUILD_GID_DEFAULT 65534

/* Limits of each process of the step. 0 = the default given; RLIM_INFINITY = no limit.
 * A value above the caller's hard limit is lowered to it. Core dumps are always off. */
struct sandbox_limits {
	rlim_t nofile; /* open files: 4096 */
	rlim_t nproc;  /* processes of the build uid: 4096 */
	rlim_t fsize;  /* largest file written, bytes: 8 GiB */
	rlim_t as;     /* address space, bytes: no limit */
	rlim_t cpu;    /* CPU seconds: no limit */
	unsigned long long tmp_size; /* bytes of the private /tmp (RAM): 1 GiB */
};

/* A compiled seccomp filter (sandbox/filter.h); opaque, immutable once made. */
struct sandbox_filter;

struct sandbox_policy {
	const char *cwd;            /* working directory of the step (NULL = the current one) */
	char *const *extra_env;     /* NAME=value pairs added after the allowlist */
	bool confine;               /* false: only the environment, umask and death signal */
	/* NULL-terminated path lists (NULL = none), absolute, processed in this order and
	 * within a list in the order given (parents before children): */
	const char *const *hidden;  /* replaced by an empty read-only dir (or /dev/null for a
				     * file); missing or unreachable paths are skipped */
	const char *const *readonly;/* shown read-only, e.g. a dependency's Module.symvers
				     * inside a hidden dkms tree; must exist */
	const char *const *writable;/* bind-mounted read-write (nosuid, nodev); must exist */
	const char *const *writable_at; /* pairs: source, target, ...: source (which must
				     * exist) bound read-write at target, e.g. a job's private
				     * build area at the build path its dkms.conf names */
	uid_t build_uid;            /* the step's uid when the caller is root; 0 = default */
	gid_t build_gid;            /* likewise its gid */
	bool allow_net;             /* keep the caller's network namespace */
	struct sandbox_limits limits;
	/* From sandbox_filter_new, shared by any number of spawns (not owned). NULL: the
	 * child compiles the same filter itself: 0.5-1.7 ms of libseccomp work each time. */
	const struct sandbox_filter *filter;
};

/* Builds the step's environment into env: the allowlisted variables of caller_env that
 * extra_env does not set (PATH defaulted when unset), then policy->extra_env. When
 * confining, HOME and TMPDIR are /tmp (the private one) unless extra_env sets them. */
void sandbox_build_env(const struct sandbox_policy *policy, char *const *caller_env,
		       struct strv *env);
/* Runs in the child between fork and exec. Returns 0 in the process that goes on to
 * exec, or -errno (-SANDBOX_ENOUSERNS: see sandbox_userns_hint), with the call that
 * failed and its path in why (common/failure.h; the process runner reports it). When confining it forks
 * twice; the extra processes never return (they wait and _exit). The caller is single-
 * threaded, so the malloc-using calls made here (libseccomp, stdio) are safe. */
int sandbox_child_setup(void *policy, struct failure *why);
/* Checks in a short-lived child that this policy's user namespace can be made (the uid
 * switch, unshare, maps, a mount). Returns 0, -SANDBOX_ENOUSERNS or -errno. */
int sandbox_probe(const struct sandbox_policy *policy);
/* Compiles the seccomp filter once, in the caller. Returns 0 or -errno; the caller owns
 * *out and frees it with sandbox_filter_free once no spawn uses it. */
int sandbox_filter_new(struct sandbox_filter **out);
void sandbox_filter_free(struct sandbox_filter *f);
/* A one-line reason user namespaces are unavailable, naming the setting to change. */
const char *sandbox_userns_hint(void);

#endif

/* policy.h - what a sandboxed step may see and do: struct sandbox_policy and its limits.
 * Shared by the sandbox room's parts (sandbox.c, mounts.c, userns.c) and its callers
 * (through sandbox.h).
 */
#ifndef MODFORGE_SANDBOX_POLICY_H_
#define MODFORGE_SANDBOX_POLICY_H_

#include <errno.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

/* sandbox_child_setup / sandbox_probe fail with -SANDBOX_ENOUSERNS when no usable user
 * namespace can be made; sandbox_userns_hint() then names the setting to change. */
#define SANDBOX_ENOUSERNS EOPNOTSUPP
/* The build user when the caller is root and the policy leaves build_uid/gid at 0. */
#define SANDBOX_BUILD_UID_DEFAULT 65534
#define SANDBOX_BUILD_GID_DEFAULT 65534

/* Limits of each process of the step. 0 = the default given; RLIM_INFINITY = no limit.
 * A value above the caller's hard limit is lowered to it. Core dumps are always off. */
struct sandbox_limits {
	rlim_t nofile;               /* open files: 4096 */
	rlim_t nproc;                /* processes of the build uid: 4096 */
	rlim_t fsize;                /* largest file written, bytes: 8 GiB */
	rlim_t as;                   /* address space, bytes: no limit */
	rlim_t cpu;                  /* CPU seconds: no limit */
	unsigned long long tmp_size; /* bytes of the private /tmp (RAM): 1 GiB */
};

/* A compiled seccomp filter (sandbox/filter.h); opaque, immutable once made. */
struct sandbox_filter;

struct sandbox_policy {
	const char *cwd;        /* working directory of the step (NULL = the current one) */
	char *const *extra_env; /* NAME=value pairs added after the allowlist */
	bool confine;           /* false: only the environment, umask and death signal */
	/* NULL-terminated path lists (NULL = none), absolute, processed in this order and
	 * within a list in the order given (parents before children): */
	const char *const *hidden;      /* replaced by an empty read-only dir (or /dev/null for a
				     * file); missing or unreachable paths are skipped */
	const char *const *readonly;    /* shown read-only, e.g. a dependency's Module.symvers
				     * inside a hidden dkms tree; must exist */
	const char *const *writable;    /* bind-mounted read-write (nosuid, nodev); must exist */
	const char *const *writable_at; /* pairs: source, target, ...: source (which must
				     * exist) bound read-write at target, e.g. a job's private
				     * build area at the build path its dkms.conf names */
	uid_t build_uid;                /* the step's uid when the caller is root; 0 = default */
	gid_t build_gid;                /* likewise its gid */
	bool allow_net;                 /* keep the caller's network namespace */
	struct sandbox_limits limits;
	/* From sandbox_filter_new, shared by any number of spawns (not owned). NULL: the
	 * child compiles the same filter itself: 0.5-1.7 ms of libseccomp work each time. */
	const struct sandbox_filter *filter;
};

#endif

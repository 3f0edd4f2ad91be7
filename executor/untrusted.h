/* untrusted.h - the one executor entry point for untrusted steps.
 *
 * Every step whose content comes from a package (dkms.conf evaluation, patches,
 * PRE_BUILD/POST_BUILD, make, strip) runs through untrusted_run, which applies the
 * sandbox policy (sandbox/sandbox.h) in the child. The privileged side (copy, sign,
 * depmod, POST_INSTALL-style scripts) never calls this.
 */
#ifndef MODFORGE_UNTRUSTED_H
#define MODFORGE_UNTRUSTED_H

#include <stdbool.h>

#include "sandbox/sandbox.h"

struct buf;
struct failure;

/* What the orchestrator decided for one job's untrusted steps, in one struct: the
 * sandbox policy (sandbox/sandbox.h: confine or not (--no-sandbox), hidden, read-only and
 * writable paths, the seccomp filter, the build user), which untrusted_run copies whole,
 * adding only the step's cwd and environment; and the disk guard. */
struct confinement {
	struct sandbox_policy policy; /* cwd and extra_env unset: they are the step's */
	/* A directory whose filesystem the step writes to (its build area), or NULL. While
	 * the step runs, modforge keeps untrusted_disk_reserve() bytes free there: below
	 * that, the step is not started or is killed, and untrusted_run returns -ENOSPC. */
	const char *guard_dir;
};

struct untrusted_cmd {
	char *const *argv; /* the program and its arguments */
	const char *cwd;
	char *const *extra_env; /* NAME=value added to the clean environment */
	int out_fd;             /* stdout and stderr; -1 = inherit */
	const int *keep_fds;    /* fds the step inherits (the jobserver pipe) */
	int n_keep_fds;
	const struct confinement *box; /* NULL = environment only, not confined */
	struct failure *failure;       /* when the step could not start: the call and path that
				    * failed (common/failure.h); NULL = not wanted */
	bool reap_orphans;             /* the caller is a build worker, the subreaper of its steps
					* and parent of nothing else: a step killed for the disk
					* is waited for to its sandbox's end */
};

/* The bytes kept free on guard_dir's filesystem: 5% of its size, at most 1 GiB.
 * Returns 0 or -errno; *reserve and *avail (bytes free now) are set on success. */
int untrusted_disk_reserve(const char *dir, unsigned long long *reserve, unsigned long long *avail);
/* Runs the step and waits. Returns 0 (see *exit_code) or -errno if it could not start,
 * or -ENOSPC if it was stopped for the disk (see guard_dir). */
int untrusted_run(const struct untrusted_cmd *c, int *exit_code);
/* Like untrusted_run, but stdout goes to out and stderr to err_fd (-1 = inherit). */
int untrusted_capture(const struct untrusted_cmd *c, struct buf *out, int err_fd, int *exit_code);

#endif

/* sandbox.h - how an untrusted step runs: its environment and its process setup.
 *
 * Knows nothing of modules or kernels. Today a policy gives a clean environment (an
 * allowlist: never the caller's MAKEFLAGS, MAKELEVEL, sub_make_done, KBUILD_*, CC ...),
 * a new session with no controlling tty, stdin from /dev/null and umask 022; the
 * namespace/seccomp/capability confinement of the sandbox issue is applied in
 * sandbox_child_setup, so callers do not change when it arrives.
 */
#ifndef MODFORGE_SANDBOX_H
#define MODFORGE_SANDBOX_H

#include "common/strv.h"

struct sandbox_policy {
	const char *cwd;            /* working directory of the step */
	char *const *extra_env;     /* NAME=value pairs added after the allowlist */
};

/* Builds the step's environment into env: the allowlisted variables of caller_env that
 * extra_env does not set (PATH defaulted when unset), then policy->extra_env. */
void sandbox_build_env(const struct sandbox_policy *policy, char *const *caller_env,
		       struct strv *env);
/* Runs in the child between fork and exec (async-signal-safe). Returns 0 or -errno. */
int sandbox_child_setup(void *policy);

#endif

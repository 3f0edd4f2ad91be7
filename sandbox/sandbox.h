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

#include "common/strv.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/userns.h"

struct failure;

/* Builds the step's environment into env: the allowlisted variables of caller_env that
 * extra_env does not set (PATH defaulted when unset), then policy->extra_env. When
 * confining, HOME and TMPDIR are /tmp (the private one) unless extra_env sets them. */
void sandbox_build_env(const struct sandbox_policy *policy, char *const *caller_env, struct strv *env);
/* Runs in the child between fork and exec. Returns 0 in the process that goes on to
 * exec, or -errno (-SANDBOX_ENOUSERNS: see sandbox_userns_hint), with the call that
 * failed and its path in why (common/failure.h; the process runner reports it). When confining it forks
 * twice; the extra processes never return (they wait and _exit). The caller is single-
 * threaded, so the malloc-using calls made here (libseccomp, stdio) are safe. */
int sandbox_child_setup(void *policy, struct failure *why);

#endif

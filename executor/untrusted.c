#include "untrusted.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/strv.h"
#include "executor/proc.h"
#include "sandbox/sandbox.h"

extern char **environ;

static void prepare(const struct untrusted_cmd *c, struct sandbox_policy *pol, struct strv *env, struct proc_spec *spec)
{
	if (c->box)
		*pol = c->box->policy;
	pol->cwd = c->cwd;
	pol->extra_env = c->extra_env;
	sandbox_build_env(pol, environ, env);
	*spec = (struct proc_spec){
		.argv = c->argv,
		.envp = strv_array(env),
		/* Confined, the sandbox changes directory once its mounts are in place. */
		.cwd = pol->confine ? NULL : c->cwd,
		.stdin_fd = -1,
		.stdout_fd = c->out_fd,
		.stderr_fd = c->out_fd >= 0 ? -2 : -1,
		.new_session = true,
		.keep_fds = c->keep_fds,
		.n_keep_fds = c->n_keep_fds,
		.child_setup = sandbox_child_setup,
		.child_data = pol,
		.failure = c->failure,
	};
}

int untrusted_disk_reserve(const char *dir, unsigned long long *reserve, unsigned long long *avail)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return -errno;
	unsigned long long size = (unsigned long long)sv.f_blocks * sv.f_frsize;
	*reserve = size / 20 < (1ULL << 30) ? size / 20 : 1ULL << 30;
	*avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	return 0;
}

static bool disk_low(const char *dir)
{
	unsigned long long reserve = 0, avail = 0;
	return untrusted_disk_reserve(dir, &reserve, &avail) == 0 && avail < reserve;
}

/* Killing the step's first process kills its sandbox's init (PDEATHSIG), which takes the
 * whole pid namespace with it, asynchronously: until then a killed writer still holds its
 * files (and their space). A build worker (untrusted_cmd.reap_orphans: the subreaper of
 * its steps, with no other children) waits for the orphaned init; its end means every
 * process of the step is gone. */
static void reap_killed_sandbox(bool killed)
{
	if (!killed)
		return;
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

/* Waits for pid, checking guard_dir's free space every 100 ms; kills the step (its
 * whole sandbox goes with the first process) when it falls below the reserve. */
static int wait_guarded(pid_t pid, const char *guard_dir, bool reap_orphans, int *exit_code)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool stopped = false;
	while (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n = poll(&p, 1, 100);
		if (n > 0 || (n < 0 && errno != EINTR))
			break;
		if (!stopped && disk_low(guard_dir)) {
			kill(pid, SIGKILL);
			stopped = true;
		}
	}
	if (pfd >= 0)
		close(pfd);
	int r = proc_wait(pid, exit_code);
	if (!stopped && r == 0 && *exit_code != 0 && disk_low(guard_dir))
		stopped = true; /* it ended on the full disk before the next check */
	reap_killed_sandbox(stopped && reap_orphans);
	return stopped ? -ENOSPC : r;
}

int untrusted_run(const struct untrusted_cmd *c, int *exit_code)
{
	struct sandbox_policy pol = { 0 }; /* fields it does not set stay off */
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct proc_spec spec;
	prepare(c, &pol, &env, &spec);
	const char *guard = c->box && c->box->policy.confine ? c->box->guard_dir : NULL;
	if (!guard)
		return proc_run(&spec, exit_code);
	if (disk_low(guard))
		return -ENOSPC;
	pid_t pid;
	int r = proc_spawn(&spec, &pid);
	return r < 0 ? r : wait_guarded(pid, guard, c->reap_orphans, exit_code);
}

int untrusted_capture(const struct untrusted_cmd *c, struct buf *out, int err_fd, int *exit_code)
{
	struct sandbox_policy pol = { 0 }; /* fields it does not set stay off */
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct proc_spec spec;
	prepare(c, &pol, &env, &spec);
	spec.stderr_fd = err_fd;
	return proc_capture(&spec, out, exit_code);
}

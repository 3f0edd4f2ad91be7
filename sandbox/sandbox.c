/* sandbox.c - the step's environment, and the process chain of a confined step:
 *
 *   caller --fork--> outer (proc_spawn's child: drops root, user ns, other ns; waits)
 *                      --fork--> init (pid 1: mounts, hostname; reaps; exits with the job)
 *                                  --fork--> job (limits, no caps, no_new_privs, seccomp;
 *                                                 returns to proc_spawn, which execs)
 * Only the job returns from sandbox_child_setup; outer and init close every fd (so the
 * exec-error pipe and the output pipes end with the job) and _exit with its status.
 */
#include "common/failure.h"
#include "sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "filter.h"
#include "mounts.h"
#include "userns.h"

/* Variables a build may see from the caller; everything else is dropped. */
static const char *const env_allow[] = {
	"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", "TMPDIR", "SOURCE_DATE_EPOCH",
};

/* Set to the private /tmp in a confined step (the caller's values point outside it). */
static const char *const env_confined[] = { "HOME=/tmp", "TMPDIR=/tmp" };

/* True if kv and entry (both NAME=value) name the same variable. */
static int same_name(const char *kv, const char *entry)
{
	size_t n = strcspn(kv, "=");
	return strncmp(entry, kv, n) == 0 && entry[n] == '=';
}

static int allowed(const char *kv, bool confine)
{
	if (confine)
		for (size_t i = 0; i < sizeof(env_confined) / sizeof(env_confined[0]); i++)
			if (same_name(kv, env_confined[i]))
				return 0;
	for (size_t i = 0; i < sizeof(env_allow) / sizeof(env_allow[0]); i++) {
		size_t n = strlen(env_allow[i]);
		if (strncmp(kv, env_allow[i], n) == 0 && kv[n] == '=')
			return 1;
	}
	return 0;
}

/* True if extra sets the variable named by kv (NAME=...). */
static int overridden(const char *kv, char *const *extra)
{
	for (char *const *e = extra; e && *e; e++)
		if (same_name(kv, *e))
			return 1;
	return 0;
}

void sandbox_build_env(const struct sandbox_policy *policy, char *const *caller_env, struct strv *env)
{
	int have_path = overridden("PATH=", policy->extra_env);
	for (char *const *e = caller_env; e && *e; e++) {
		if (!allowed(*e, policy->confine) || overridden(*e, policy->extra_env))
			continue;
		if (strncmp(*e, "PATH=", 5) == 0)
			have_path = 1;
		strv_push(env, *e);
	}
	if (!have_path)
		strv_push(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (size_t i = 0; policy->confine && i < sizeof(env_confined) / sizeof(env_confined[0]); i++)
		if (!overridden(env_confined[i], policy->extra_env))
			strv_push(env, env_confined[i]);
	for (char *const *e = policy->extra_env; e && *e; e++)
		strv_push(env, *e);
}

/* Closes every fd from lo up to hi. */
static void close_fds(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = lo; fd <= (long)hi && fd < max; fd++)
		close((int)fd);
}

static int fold_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
}

/* Waits until child ends, reaping any other child on the way (init adopts the job's
 * orphans), and exits with child's folded status. */
static _Noreturn void exit_with(pid_t child)
{
	for (;;) {
		int st;
		pid_t c = waitpid(-1, &st, 0);
		if (c < 0 && errno != EINTR)
			_exit(255);
		if (c == child)
			_exit(fold_status(st));
	}
}

/* Sets resource to want (0: def; def 0: leave it), never above the hard limit. */
static int set_limit(int resource, rlim_t want, rlim_t def)
{
	struct rlimit rl;
	rlim_t v = want ? want : def;
	if (v == 0)
		return 0;
	if (getrlimit(resource, &rl) < 0)
		return -errno;
	if (rl.rlim_max != RLIM_INFINITY && (v == RLIM_INFINITY || v > rl.rlim_max))
		v = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = v;
	return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

static int set_limits(const struct sandbox_limits *l)
{
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		return -errno;
	int r = set_limit(RLIMIT_NOFILE, l->nofile, 4096);
	if (r == 0)
		r = set_limit(RLIMIT_NPROC, l->nproc, 4096);
	if (r == 0)
		r = set_limit(RLIMIT_FSIZE, l->fsize, (rlim_t)8 << 30);
	if (r == 0)
		r = set_limit(RLIMIT_AS, l->as, 0);
	if (r == 0)
		r = set_limit(RLIMIT_CPU, l->cpu, 0);
	return r;
}

/* The job, right before proc_spawn's exec: nothing left to gain after this. */
static int job_setup(const struct sandbox_policy *p, struct failure *why)
{
	setsid(); /* its own session inside; there is no terminal to lose */
	int r = set_limits(&p->limits);
	if (r < 0)
		return failure_set(why, -r, "setrlimit", NULL);
	r = caps_drop_all();
	if (r < 0)
		return failure_set(why, -r, "capset", NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return failure_set(why, errno, "prctl", NULL);
	r = p->filter ? filter_load(p->filter) : filter_install();
	if (r < 0)
		return failure_set(why, -r, "seccomp", NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return failure_set(why, errno, "prctl", NULL);
	return 0;
}

/* Pid 1 of the new pid namespace. Returns only in the job (0 or -errno), or on a setup
 * error (then proc_spawn's child reports it and exits, which empties the namespace). */
static int run_init(const struct sandbox_policy *p, const char *cwd, struct failure *why)
{
	prctl(PR_SET_NAME, "modforge-init", 0, 0, 0);
	int r = mounts_setup(p, cwd, why);
	if (r < 0)
		return r;
	if (sethostname("modforge", strlen("modforge")) < 0)
		return failure_set(why, errno, "sethostname", NULL);
	pid_t job = fork();
	if (job < 0)
		return failure_set(why, errno, "fork", NULL);
	if (job == 0)
		return job_setup(p, why);
	close_fds(0, ~0U);
	caps_drop_all();
	exit_with(job);
}

/* The outer process: drops root, makes the namespaces, forks init and waits for it. */
static int confine(const struct sandbox_policy *p, struct failure *why)
{
	pid_t caller = getppid();
	char here[PATH_MAX];
	const char *cwd = p->cwd;
	if (!cwd && !(cwd = getcwd(here, sizeof(here))))
		return failure_set(why, errno, "getcwd", NULL);
	int r = userns_enter(p->build_uid, p->build_gid, why);
	if (r < 0)
		return r;
	int ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	if (unshare(p->allow_net ? ns : ns | CLONE_NEWNET) < 0)
		return failure_set(why, errno, "unshare", NULL);
	/* The uid switch cleared the death signal: set it again, then check the race. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return failure_set(why, errno, "prctl", NULL);
	if (getppid() != caller)
		_exit(128 + SIGKILL);
	int life[2]; /* init sees a hangup on life[0] if outer died before the signal was set */
	if (pipe2(life, O_CLOEXEC) < 0)
		return failure_set(why, errno, "pipe2", NULL);
	pid_t init = fork();
	if (init < 0) {
		r = failure_set(why, errno, "fork", NULL);
		close(life[0]);
		close(life[1]);
		return r;
	}
	if (init > 0) {
		close_fds(0, (unsigned)life[1] - 1);
		close_fds((unsigned)life[1] + 1, ~0U);
		exit_with(init);
	}
	close(life[1]);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return failure_set(why, errno, "prctl", NULL);
	struct pollfd pf = { .fd = life[0], .events = POLLIN };
	if (poll(&pf, 1, 0) != 0)
		_exit(128 + SIGKILL);
	close(life[0]);
	return run_init(p, cwd, why);
}

int sandbox_child_setup(void *data, struct failure *why)
{
	const struct sandbox_policy *p = data;
	umask(022);
	if (p && p->confine)
		return confine(p, why);
	/* Die with modforge rather than linger as an orphan build. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	return 0;
}

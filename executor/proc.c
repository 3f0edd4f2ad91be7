#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/failure.h"
#include "../common/macro.h"

extern char **environ;

/* Reports err (what proc_spawn returns: a child_setup's own code, as -SANDBOX_ENOUSERNS,
 * is kept) with the call, path and errno child_setup named, or else call and path. */
static _Noreturn void child_fail(int errpipe, struct failure *f, int err, const char *call, const char *path)
{
	failure_set(f, err, call, path);
	f->code = err;
	ssize_t _unused_ w = write(errpipe, f, sizeof(*f));
	_exit(127);
}

/* Only async-signal-safe calls from here until exec. */
static void child_exec(const struct proc_spec *spec, int errpipe, int devnull)
{
	struct failure why = { 0 };
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (spec->new_session && setsid() < 0)
		child_fail(errpipe, &why, errno, "setsid", NULL);
	int in = spec->stdin_fd >= 0 ? spec->stdin_fd : devnull;
	int out = spec->stdout_fd >= 0 ? spec->stdout_fd : 1;
	int err = spec->stderr_fd == -2 ? out : spec->stderr_fd >= 0 ? spec->stderr_fd : 2;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		child_fail(errpipe, &why, errno, "dup2", NULL);
	for (int i = 0; i < spec->n_keep_fds; i++) {
		int fd = spec->keep_fds[i];
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			child_fail(errpipe, &why, errno, "fcntl", NULL);
	}
	if (spec->cwd && chdir(spec->cwd) < 0)
		child_fail(errpipe, &why, errno, "chdir", spec->cwd);
	if (spec->child_setup) {
		int r = spec->child_setup(spec->child_data, &why);
		if (r < 0)
			child_fail(errpipe, &why, -r, NULL, NULL);
	}
	execvpe(spec->argv[0], spec->argv, spec->envp ? spec->envp : environ);
	child_fail(errpipe, &why, errno, "execve", spec->argv[0]);
}

int proc_spawn(const struct proc_spec *spec, pid_t *pid)
{
	int p[2];
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL); /* no stdio buffer may be written twice by the child */
	pid_t c = fork();
	if (c < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (c == 0) {
		close(p[0]);
		child_exec(spec, p[1], devnull);
	}
	close(p[1]);
	struct failure why = { 0 };
	ssize_t n;
	do
		n = read(p[0], &why, sizeof(why));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == sizeof(why)) {
		int st;
		while (waitpid(c, &st, 0) < 0 && errno == EINTR)
			;
		if (spec->failure)
			*spec->failure = why;
		return -why.code;
	}
	*pid = c;
	return 0;
}

static int fold_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

int proc_wait(pid_t pid, int *exit_code)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	*exit_code = fold_status(st);
	return 0;
}

int proc_wait_any(pid_t *pid, int *exit_code)
{
	int st;
	pid_t c;
	while ((c = waitpid(-1, &st, 0)) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	*pid = c;
	*exit_code = fold_status(st);
	return 0;
}

static int pidfd_open_compat(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static long rusage_ms(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec * 1000L + ru->ru_utime.tv_usec / 1000 + ru->ru_stime.tv_sec * 1000L +
		ru->ru_stime.tv_usec / 1000;
}

int proc_wait_any_or_fd(const pid_t *pids, int n, int fd, int timeout_ms, pid_t *pid, int *exit_code, long *cpu_ms)
{
	struct rusage ru;
	struct pollfd *pf = calloc((size_t)n + 1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	int r = 0, np = 0;
	for (int i = 0; i < n; i++) {
		int st;
		pid_t c = wait4(pids[i], &st, WNOHANG, &ru);
		if (c == pids[i]) { /* already ended */
			*pid = c;
			*exit_code = fold_status(st);
			*cpu_ms = rusage_ms(&ru);
			goto out;
		}
		pf[np].fd = pidfd_open_compat(pids[i]);
		pf[np++].events = POLLIN;
	}
	if (fd >= 0) {
		pf[np].fd = fd;
		pf[np++].events = POLLIN;
	}
	for (;;) {
		int k = poll(pf, (nfds_t)np, timeout_ms);
		if (k < 0 && errno == EINTR) {
			r = 1; /* a signal: the caller looks whether to stop */
			goto out;
		}
		if (k < 0) {
			r = -errno;
			goto out;
		}
		break;
	}
	for (int i = 0; i < n; i++) {
		if (!(pf[i].revents & (POLLIN | POLLHUP)) || pf[i].fd < 0)
			continue;
		int st;
		pid_t c;
		while ((c = wait4(pids[i], &st, 0, &ru)) < 0 && errno == EINTR)
			;
		if (c < 0) {
			r = -errno;
			goto out;
		}
		*pid = c;
		*exit_code = fold_status(st);
		*cpu_ms = rusage_ms(&ru);
		goto out;
	}
	r = 1;
out:
	for (int i = 0; i < np; i++)
		if (pf[i].fd >= 0 && pf[i].fd != fd)
			close(pf[i].fd);
	free(pf);
	return r;
}

int proc_run(const struct proc_spec *spec, int *exit_code)
{
	pid_t pid;
	int r = proc_spawn(spec, &pid);
	if (r < 0)
		return r;
	return proc_wait(pid, exit_code);
}

int proc_capture(const struct proc_spec *spec, struct buf *out, int *exit_code)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	struct proc_spec s = *spec;
	s.stdout_fd = p[1];
	pid_t pid;
	int r = proc_spawn(&s, &pid);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return r;
	}
	r = buf_read_fd(out, p[0]);
	close(p[0]);
	int w = proc_wait(pid, exit_code);
	return r < 0 ? r : w;
}

int proc_fork_worker(int (*fn)(void *data), void *data, pid_t *pid)
{
	fflush(NULL);
	pid_t c = fork();
	if (c < 0)
		return -errno;
	if (c == 0) {
		/* The caller's handlers (a run that stops on Ctrl-C) are not the worker's: it
		 * dies of them, as any process of the run (an ignored one stays ignored). */
		for (int sig = SIGINT; sig; sig = sig == SIGINT ? SIGTERM : 0) {
			struct sigaction cur;
			if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN)
				signal(sig, SIG_DFL);
		}
		int r = fn(data);
		fflush(NULL);
		_exit(r & 0xff);
	}
	*pid = c;
	return 0;
}

/* proc.h - the one way modforge starts a process.
 *
 * argv and envp are built before fork; the child only calls async-signal-safe functions
 * (child_setup excepted: see there); a failure before exec comes back over a CLOEXEC pipe
 * as a struct failure (errno, call, path), so proc_spawn returns -errno for a missing
 * binary, or a sandbox that could not be set up, instead of a child that exits 127. Every fd modforge opens is CLOEXEC, so a child
 * sees only stdin/stdout/stderr (and the fds named in keep_fds).
 *
 * Invariants: proc_spawn never blocks on the child; proc_wait reaps exactly that pid.
 * Exit codes are folded: a normal exit gives its status, a signal gives 128 + signo.
 */
#ifndef MODFORGE_PROC_H
#define MODFORGE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct buf;
struct failure;

struct proc_spec {
	char *const *argv;   /* argv[0] searched in the caller's PATH (execvpe), not envp's */
	char *const *envp;   /* the whole environment; NULL = inherit the caller's */
	const char *cwd;     /* NULL = inherit */
	int stdin_fd;        /* -1 = /dev/null */
	int stdout_fd;       /* -1 = inherit */
	int stderr_fd;       /* -1 = inherit; -2 = same as stdout_fd */
	bool new_session;    /* setsid(): no controlling tty */
	const int *keep_fds; /* fds to pass on (their CLOEXEC flag cleared in the child) */
	int n_keep_fds;
	/* Called in the child after fork, before exec; returns 0 or -errno (then the
	 * child reports the error, with what why names, and exits). modforge is
	 * single-threaded, so it may use more than async-signal-safe calls (the sandbox's
	 * seccomp setup allocates); it must not rely on state another thread could hold. */
	int (*child_setup)(void *data, struct failure *why);
	void *child_data;
	/* Where proc_spawn puts what the child reported when it could not start: errno,
	 * call and path (NULL: not wanted). */
	struct failure *failure;
};

/* Starts the process. Returns 0 and sets *pid, or -errno (fork, or exec in the child). */
int proc_spawn(const struct proc_spec *spec, pid_t *pid);
/* Waits for pid; sets *exit_code (status, or 128 + signal). Returns 0 or -errno. */
int proc_wait(pid_t pid, int *exit_code);
/* Waits for any child; sets *pid and *exit_code. Returns 0, or -ECHILD when none is left. */
int proc_wait_any(pid_t *pid, int *exit_code);
/* Waits until one of pids ends (reaps it: sets *pid, *exit_code and *cpu_ms, the CPU
 * time of it and its reaped children; returns 0), or fd (unless -1) is readable, or
 * timeout_ms passed (unless -1), or a signal was caught (returns 1). Returns -errno on
 * error. */
int proc_wait_any_or_fd(const pid_t *pids, int n, int fd, int timeout_ms, pid_t *pid, int *exit_code, long *cpu_ms);
/* spawn + wait. Returns 0 or -errno; *exit_code as proc_wait. */
int proc_run(const struct proc_spec *spec, int *exit_code);
/* spawn + capture stdout into out (stderr as spec says) + wait. */
int proc_capture(const struct proc_spec *spec, struct buf *out, int *exit_code);
/* Forks a worker that runs fn(data) and _exit()s with its return value (0..255); SIGINT
 * and SIGTERM are back to their default action in it.
 * For jobs made of several steps (a build); the parent reaps it with proc_wait*. */
int proc_fork_worker(int (*fn)(void *data), void *data, pid_t *pid);

#endif

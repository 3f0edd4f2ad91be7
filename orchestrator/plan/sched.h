/* sched.h - run a plan: every job whose dependencies are met starts, one failed or
 * skipped job skips its dependents and nothing else.
 *
 * Two kinds of jobs: inline ones (install, depmod, ...: quick, privileged, run to the end
 * in this process, in plan order so that their text reads in order) and asynchronous
 * builds (started through the executor as workers). Each pass runs every ready inline
 * job first, then starts ready builds by critical path (rank_ms, longest first; plan
 * order breaks ties) while fewer than max_jobs run, no running job holds the same lock,
 * and ops->start does not answer "no job slot" (the jobserver is empty). It then waits
 * for a worker to end or for wake_fd to become readable (a token came back).
 * The scheduler never forks; it waits through the executor's proc_wait_any_or_fd.
 */
#ifndef MODFORGE_SCHED_H
#define MODFORGE_SCHED_H

#include <stdbool.h>
#include <sys/types.h>

struct plan;
struct job;

enum sched_start {
	SCHED_STARTED = 0, /* async: *pid set */
	SCHED_DONE = 1,    /* ran inline, job->exit_code set */
	SCHED_NO_SLOT = 2, /* no job token now; try again after a wake-up */
};

struct sched_ops {
	/* Returns an enum sched_start, or -errno. */
	int (*start)(void *data, struct job *job, pid_t *pid);
	/* Called once a job ended (inline, reaped, or skipped), with job->exit_code set. */
	void (*finished)(void *data, struct job *job);
	void *data;
	int wake_fd; /* readable when a job slot may be free again; -1 = none */
	/* Called about once a second while jobs run (NULL: never), e.g. to redraw a clock. */
	void (*tick)(void *data);
	/* true: stop now (NULL: never). Running workers are killed and reaped, ending with
	 * exit code 130 (failed); pending jobs end skipped; sched_run returns -EINTR. Asked
	 * before each job starts and whenever a wait ends, a caught signal included. */
	bool (*stop)(void *data);
};

/* The scheduler's clock (CLOCK_MONOTONIC, ms): what job->start_ms is measured in. */
long sched_now_ms(void);

/* Runs every pending job. Returns 0, -EDEADLK for jobs that can never run, -EINTR when
 * ops->stop said so, or -errno from a start or wait. */
int sched_run(struct plan *p, int max_jobs, const struct sched_ops *ops);

#endif

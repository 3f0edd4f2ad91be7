/* sched.h - run a plan: start every job whose dependencies succeeded, up to max_jobs
 * asynchronous jobs at once; a failed or skipped job skips its dependents and nothing else.
 *
 * The scheduler never forks: ops->start either runs a job to completion in this process
 * (returns 1, sets job->exit_code) or starts it through the executor (returns 0 and the
 * worker's pid), and the scheduler reaps workers with the executor's proc_wait_any.
 * Order among ready jobs: plan order (ids), which the commands build in dkms's order.
 */
#ifndef MODFORGE_SCHED_H
#define MODFORGE_SCHED_H

#include <sys/types.h>

struct plan;
struct job;

struct sched_ops {
	/* Returns 1 (done inline), 0 (started, *pid set) or -errno. */
	int (*start)(void *data, struct job *job, pid_t *pid);
	/* Called once a job ended (inline or reaped), with job->exit_code set. */
	void (*finished)(void *data, struct job *job);
	void *data;
};

/* Runs every pending job. Returns 0 or -errno (a start or wait error). */
int sched_run(struct plan *p, int max_jobs, const struct sched_ops *ops);

#endif

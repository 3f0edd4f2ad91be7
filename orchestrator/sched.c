#include "sched.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "executor/proc.h"
#include "orchestrator/plan.h"

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* PENDING jobs whose deps are DONE are ready; a dep that FAILED/SKIPPED skips them. */
static bool job_ready(struct plan *p, struct job *j)
{
	for (size_t d = 0; d < j->n_deps; d++) {
		const struct job *dep = &p->jobs[j->deps[d]];
		enum job_state s = dep->state;
		if (j->dep_kind[d] == DEP_ORDER && (s == JOB_DONE || s == JOB_FAILED || s == JOB_SKIPPED))
			continue;
		if (s == JOB_SKIPPED && j->dep_kind[d] == DEP_OR_EXCLUDED && dep->exit_code == 77)
			continue;
		if (s == JOB_FAILED || s == JOB_SKIPPED) {
			j->state = JOB_SKIPPED;
			j->exit_code = dep->exit_code; /* 77 travels on: excluded, not failed */
			return false;
		}
		if (s != JOB_DONE)
			return false;
	}
	return true;
}

static void finish(struct job *j, const struct sched_ops *ops, long started, long *seq)
{
	j->end_seq = ++*seq;
	j->duration_ms = now_ms() - started;
	j->state = j->exit_code == 0 ? JOB_DONE : j->exit_code == 77 ? JOB_SKIPPED : JOB_FAILED;
	ops->finished(ops->data, j);
}

int sched_run(struct plan *p, int max_jobs, const struct sched_ops *ops)
{
	pid_t pids[p->n ? p->n : 1];
	long started[p->n ? p->n : 1];
	int running = 0;
	long seq = 0;
	for (;;) {
		bool progress = false, pending = false;
		for (size_t i = 0; i < p->n; i++) {
			struct job *j = &p->jobs[i];
			if (j->state != JOB_PENDING)
				continue;
			if (!job_ready(p, j)) {
				if (j->state == JOB_PENDING)
					pending = true;
				else
					progress = true, ops->finished(ops->data, j);
				continue;
			}
			if (running >= max_jobs) {
				pending = true;
				continue;
			}
			started[i] = now_ms();
			j->state = JOB_RUNNING;
			pid_t pid = 0;
			int r = ops->start(ops->data, j, &pid);
			if (r < 0)
				return r;
			progress = true;
			if (r == 1) {
				finish(j, ops, started[i], &seq);
			} else {
				pids[i] = pid;
				running++;
			}
		}
		if (running == 0 && !pending)
			return 0;
		if (progress && running == 0)
			continue;
		if (running == 0)
			return -EDEADLK; /* pending jobs that can never become ready */
		pid_t pid;
		int code;
		int r = proc_wait_any(&pid, &code);
		if (r < 0)
			return r;
		for (size_t i = 0; i < p->n; i++) {
			if (p->jobs[i].state == JOB_RUNNING && pids[i] == pid) {
				p->jobs[i].exit_code = code;
				running--;
				finish(&p->jobs[i], ops, started[i], &seq);
				break;
			}
		}
	}
}

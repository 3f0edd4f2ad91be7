#include "orchestrator/plan/sched.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "executor/proc.h"
#include "orchestrator/plan/plan.h"

struct sched {
	struct plan *p;
	const struct sched_ops *ops;
	int max_jobs;
	pid_t *pids; /* pids[id] of running async jobs */
	int running;
	long seq;
};

long sched_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static bool is_async(const struct job *j) { return j->kind == JOB_BUILD; }

/* true if j may start now; a dependency that failed (or was skipped) marks j skipped. */
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

static bool lock_busy(const struct sched *s, const struct job *j)
{
	if (!j->lock)
		return false;
	for (size_t i = 0; i < s->p->n; i++) {
		const struct job *o = &s->p->jobs[i];
		if (o->state == JOB_RUNNING && o->lock && strcmp(o->lock, j->lock) == 0)
			return true;
	}
	return false;
}

static void finish(struct sched *s, struct job *j)
{
	j->end_seq = ++s->seq;
	j->duration_ms = sched_now_ms() - j->start_ms;
	j->state = j->exit_code == 0 ? JOB_DONE : j->exit_code == 77 ? JOB_SKIPPED : JOB_FAILED;
	s->ops->finished(s->ops->data, j);
}

/* Runs every ready inline job, in plan order, until none is left. Returns progress. */
static bool run_inline(struct sched *s, int *err)
{
	bool any = false, again = true;
	while (again) {
		again = false;
		for (size_t i = 0; i < s->p->n; i++) {
			struct job *j = &s->p->jobs[i];
			if (j->state != JOB_PENDING || is_async(j))
				continue;
			if (s->ops->stop && s->ops->stop(s->ops->data))
				return any; /* sched_run stops before anything else starts */
			if (!job_ready(s->p, j)) {
				if (j->state == JOB_SKIPPED) {
					s->ops->finished(s->ops->data, j);
					again = any = true;
				}
				continue;
			}
			j->start_ms = sched_now_ms();
			j->state = JOB_RUNNING;
			pid_t pid;
			int r = s->ops->start(s->ops->data, j, &pid);
			if (r < 0 || r != SCHED_DONE) {
				*err = r < 0 ? r : -EINVAL;
				return any;
			}
			finish(s, j);
			again = any = true;
		}
	}
	return any;
}

static int by_rank(const void *a, const void *b, void *plan)
{
	const struct plan *p = plan;
	const struct job *x = &p->jobs[*(const size_t *)a], *y = &p->jobs[*(const size_t *)b];
	if (x->rank_ms != y->rank_ms)
		return x->rank_ms > y->rank_ms ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_id(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Starts ready builds by rank (one slot: in plan order). Returns progress; sets *blocked when a start
 * found no slot. */
static bool start_async(struct sched *s, int *err, bool *blocked)
{
	size_t *ready = xcalloc(s->p->n ? s->p->n : 1, sizeof(size_t));
	size_t n = 0;
	bool any = false;
	for (size_t i = 0; i < s->p->n; i++) {
		struct job *j = &s->p->jobs[i];
		if (j->state != JOB_PENDING || !is_async(j))
			continue;
		if (job_ready(s->p, j))
			ready[n++] = i;
		else if (j->state == JOB_SKIPPED)
			s->ops->finished(s->ops->data, j), any = true;
	}
	/* One at a time, the plan's order is the text's (dkms's); the critical path first
	 * only pays when builds overlap. */
	if (s->max_jobs == 1)
		qsort(ready, n, sizeof(size_t), by_id);
	else
		qsort_r(ready, n, sizeof(size_t), by_rank, s->p);
	for (size_t k = 0; k < n && s->running < s->max_jobs; k++) {
		struct job *j = &s->p->jobs[ready[k]];
		if (lock_busy(s, j))
			continue;
		j->start_ms = sched_now_ms();
		j->state = JOB_RUNNING;
		pid_t pid = 0;
		int r = s->ops->start(s->ops->data, j, &pid);
		if (r < 0) {
			*err = r;
			break;
		}
		if (r == SCHED_NO_SLOT) {
			j->state = JOB_PENDING;
			*blocked = true;
			break;
		}
		any = true;
		if (r == SCHED_DONE) {
			/* (restored from the cache, or refused): what waited for it, e.g. its
			 * install, goes before the next build starts */
			finish(s, j);
			break;
		}
		s->pids[j->id] = pid;
		s->running++;
	}
	free(ready);
	return any;
}

static bool anything_pending(const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->jobs[i].state == JOB_PENDING)
			return true;
	return false;
}

/* Waits for a worker to end (and finishes its job) or for the wake fd. */
static int wait_one(struct sched *s, bool want_wake)
{
	pid_t *live = xcalloc((size_t)s->running + 1, sizeof(pid_t));
	int n = 0;
	for (size_t i = 0; i < s->p->n; i++)
		if (s->p->jobs[i].state == JOB_RUNNING)
			live[n++] = s->pids[i];
	pid_t pid;
	int code;
	long cpu = 0;
	int r = proc_wait_any_or_fd(live, n, want_wake ? s->ops->wake_fd : -1, s->ops->tick ? 1000 : -1, &pid, &code,
				    &cpu);
	free(live);
	if (r == 1 && s->ops->tick)
		s->ops->tick(s->ops->data);
	if (r < 0 || r == 1)
		return r;
	for (size_t i = 0; i < s->p->n; i++) {
		struct job *j = &s->p->jobs[i];
		if (j->state == JOB_RUNNING && s->pids[i] == pid) {
			j->exit_code = code;
			j->cpu_ms = cpu;
			s->running--;
			finish(s, j);
			break;
		}
	}
	return 0;
}

static bool stopping(const struct sched *s) { return s->ops->stop && s->ops->stop(s->ops->data); }

/* Kills and reaps the running workers (exit 130: stopped), skips what did not start. */
static void stop_all(struct sched *s)
{
	for (size_t i = 0; i < s->p->n; i++) {
		struct job *j = &s->p->jobs[i];
		if (j->state != JOB_RUNNING)
			continue;
		kill(s->pids[i], SIGKILL);
		int code;
		(void)proc_wait(s->pids[i], &code);
		j->exit_code = 130;
		s->running--;
		finish(s, j);
	}
	for (size_t i = 0; i < s->p->n; i++) {
		struct job *j = &s->p->jobs[i];
		if (j->state != JOB_PENDING)
			continue;
		j->state = JOB_SKIPPED;
		j->exit_code = 130;
		s->ops->finished(s->ops->data, j);
	}
}

int sched_run(struct plan *p, int max_jobs, const struct sched_ops *ops)
{
	struct sched s = { .p = p, .ops = ops, .max_jobs = max_jobs > 0 ? max_jobs : 1 };
	s.pids = xcalloc(p->n ? p->n : 1, sizeof(pid_t));
	int err = 0;
	for (;;) {
		if (stopping(&s)) {
			stop_all(&s);
			err = -EINTR;
			break;
		}
		bool blocked = false;
		bool progress = run_inline(&s, &err);
		if (!err)
			progress |= start_async(&s, &err, &blocked);
		if (err)
			break;
		if (progress)
			continue;
		if (s.running == 0) {
			if (anything_pending(p))
				err = blocked ? -EAGAIN : -EDEADLK;
			break;
		}
		int r = wait_one(&s, blocked);
		if (r < 0) {
			err = r;
			break;
		}
	}
	free(s.pids);
	return err;
}

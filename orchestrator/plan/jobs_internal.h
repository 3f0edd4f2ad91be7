/* jobs_internal.h - what jobs.c and jobs_build.c share about one run of a plan.
 * Not for other rooms: they use jobs.h.
 */
#ifndef MODFORGE_JOBS_INTERNAL_H
#define MODFORGE_JOBS_INTERNAL_H

#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/strv.h"
#include "executor/jobserver.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/progress.h"
#include "orchestrator/plan/runlog.h"

struct module_conf;
struct target;

struct run {
	struct ctx *c;
	struct progress progress; /* the status line on the terminal, and its counts */
	struct job_set *set;
	struct jobserver js; /* the run's one job budget */
	struct runlog log;   /* --events and durations */
	int builds_running;
	size_t builds;               /* build jobs in the plan */
	bool buffered;               /* a build's output is shown whole when it ends */
	struct strv kernels_touched; /* "k\ta" with an install/uninstall this run */
	struct strv prologue_said;   /* "k\ta" whose signing prologue a build said */
};

/* Starts a build job (dkms's checks, the cache, then a worker). Returns an enum
 * sched_start or -errno. */
int start_build(struct run *r, struct job *j, struct job_payload *p, pid_t *pid);
/* Ctrl-C and SIGTERM while a plan runs (jobs_stop.c). */
struct stop_handlers {
	struct sigaction intr, term;
};
/* Catches SIGINT/SIGTERM (saving the handlers before) and makes this process the
 * subreaper of the run's sandboxes. */
void stop_catch(struct stop_handlers *saved);
void stop_release(const struct stop_handlers *saved);
/* sched_ops.stop: a signal was caught. */
bool stop_requested(void *data);
/* After sched_run stopped: cleans up, runs the depmod owed, says what was done; returns
 * 128 + the signal. */
int jobs_stopped(struct run *r);

/* Runs a job that changes the tree in this process (jobs_tree.c); returns its exit code. */
int run_tree_job(struct run *r, struct job *j, struct job_payload *p);

#endif

/* jobs.h - what each plan job does, as scheduler callbacks (sched_ops).
 *
 * A command fills a plan whose jobs carry a struct job_payload; jobs_run() runs it. The
 * per-kernel decisions dkms makes before a build (already built? excluded? headers?
 * BUILD_DEPENDS installed?) are taken here, in dkms's order and words; the work itself is
 * done by the executor (build in a forked worker, install/uninstall/depmod in-process).
 *
 * Ownership: payloads are owned by the command's struct job_set and freed with it; a
 * payload only borrows its target and conf.
 */
#ifndef MODFORGE_JOBS_H
#define MODFORGE_JOBS_H

#include <stdbool.h>
#include <stdio.h>

#include "orchestrator/plan.h"
#include "orchestrator/sched.h"

struct ctx;
struct module_conf;
struct target;

struct job_payload {
	const struct target *target;
	struct module_conf *conf;     /* for this target (borrowed) */
	const char *conf_path;
	bool blank_after;             /* print "" after the job (remove's per-kernel spacing) */
	bool blank_before;            /* print "" before the job (uninstall's spacing) */
	const char *announce;         /* printed before the job starts (autoinstall) */
	bool for_install;             /* a build an install needs: silent when already built,
					 never redone by --force (dkms's do_install) */
	FILE *buffer;                 /* output of a parallel build, shown when it ends */
	bool holds_slot;              /* a running build holding a jobserver slot */
	bool cache_hit;               /* the build's result came from the build cache */
	char *skip_reason;            /* why BUILD_EXCLUSIVE excluded the build (owned) */
	char cache_key[65];           /* "" = not cacheable */
};

struct job_set {
	struct plan plan;
	struct job_payload **payloads;    /* payloads[job id], may be NULL */
	size_t cap;
	int first_error;                  /* dkms exit code of the first failed job */
	int depmods_needed;               /* bitmask-free counter, see jobs.c */
};

/* Adds a job with a zeroed payload; returns the payload. */
struct job_payload *jobs_add(struct job_set *s, enum job_kind kind, const char *m, const char *v,
			     const struct target *t, size_t *id);
/* Sets every job's weight (recorded durations) and the plan's critical-path ranks. */
void jobs_weigh(const struct ctx *c, struct job_set *s);
/* Runs the plan. Returns 0 or the first failed job's exit code (77 if all that did not
 * succeed were excluded by BUILD_EXCLUSIVE). */
int jobs_run(struct ctx *c, struct job_set *s);
/* Prints the plan as JSON (schema/plan.schema.json) on c->out, weighed, instead of
 * running it: what --dry-run does for every command. */
void jobs_print_plan(struct ctx *c, struct job_set *s);
/* --dry-run: jobs_print_plan and 0; otherwise jobs_run. */
int jobs_run_or_print(struct ctx *c, struct job_set *s);
void jobs_release(struct job_set *s);

#endif

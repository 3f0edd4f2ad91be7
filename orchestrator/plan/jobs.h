/* jobs.h - what each plan job does, as scheduler callbacks (sched_ops).
 *
 * A command makes a plan with the shared plan shapes below (jobs_plan.c), whose jobs carry
 * a struct job_payload with everything decided when the plan was made (decide.h), then
 * jobs_run() runs it, or --dry-run prints it. Every change to the tree is a job: the work
 * is done by the executor (a build in a forked worker; add, install, uninstall, unbuild,
 * depmod, the cache store and the rest in-process, each under the tree's lock).
 *
 * Ownership: payloads are owned by the command's struct job_set and freed with it; a
 * payload only borrows its target and (unless owns_conf) its conf.
 */
#ifndef MODFORGE_JOBS_H
#define MODFORGE_JOBS_H

#include <stdbool.h>
#include <stdio.h>

#include "orchestrator/plan/decide.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/sched.h"

struct ctx;
struct module_conf;
struct strv;
struct target;

struct job_payload {
	const struct target *target;
	struct module_conf *conf;    /* for this target (borrowed, unless owns_conf) */
	bool owns_conf;              /* conf is freed with the payload */
	bool blank_after;            /* print "" after the job (remove's per-kernel spacing) */
	bool blank_before;           /* print "" before the job (uninstall's spacing) */
	char *announce;              /* printed before the job starts (autoinstall; owned) */
	bool announce_on_err;        /* ... on stderr */
	bool for_install;            /* a build an install needs */
	struct build_decision build; /* build: everything decided when the plan was made */
	long keygen_job;             /* build: the keygen job it waits for, or -1 */
	int keygen_result;           /* keygen: 1 made, 0 there, -1 failed */
	bool keygen_told;            /* keygen: a build said "generating" already */
	char *source;                /* add: the source directory (owned) */
	bool copy_source;            /* add: copy source into <source_tree>/<m>-<v> first */
	bool link_source;            /* add: link it into the tree, run POST_ADD */
	long build_job;              /* store: the build whose result it stores */
	FILE *buffer;                /* output of a parallel build, shown when it ends */
	FILE *err_buffer;            /* its stderr, shown after it (a status line is on the terminal) */
	bool holds_slot;             /* a running build holding a jobserver slot */
	bool cache_hit;              /* the build's result came from the build cache */
	bool made;                   /* build: its worker ran (the result is this plan's own) */
	const char *skip_reason;     /* it ended with nothing to do, and why (static text) */
	bool start_logged;           /* its start event is written */
	bool rebuild;                /* build: BUILD_DEPENDS_REBUILD's (rebuild.c) */
	bool says_conf_warnings;     /* add/build/install: says the conf's warnings as dkms's
				      * read of it at that step does */
	bool conf_read;              /* build: it said them (its install then says less) */
	bool kernel_prologue;        /* build: the signing prologue is said once per kernel,
				      * before the first "Autoinstall of module" (autoinstall) */
	bool prologue_said_before;   /* build: so its own start says none */
	const struct signing *sign;  /* keygen: the pair it makes (a target's; NULL: ctx's) */
	char *keygen_warning;        /* keygen: why the pair could not be made (owned) */
	bool keygen_says;            /* keygen: generate_mok's, which says what it does */
};

struct job_set {
	struct plan plan;
	struct job_payload **payloads; /* payloads[job id], may be NULL */
	size_t cap;
	int first_error; /* dkms exit code of the first failed job */
};
/* clang-format off */
#define JOB_SET_INIT { .first_error = 0 }
/* clang-format on */

/* The plan shapes, shared by every command (jobs_plan.c). Each adds jobs and returns the
 * id of the main one. */
/* add m/v: source (copied into <source_tree>/<m>-<v> first when copy) into the tree
 * (when link: not when it is there already), then POST_ADD. */
size_t jobs_plan_add(struct job_set *s, const char *m, const char *v, struct module_conf *conf, const char *source,
		     bool copy, bool link);
/* A build of m/v for t, decided now (decide_build): with --force (or BUILD_AGAIN) on a
 * built one an unbuild first; a keygen job before it when it signs with a key still to be made; a
 * store into the build cache after it. after: a job it waits for (an add), or -1. */
size_t jobs_plan_build(const struct ctx *c, struct job_set *s, const char *m, const char *v, struct target *t,
		       struct module_conf *conf, const char *source_dir, const struct strv *provided,
		       enum build_purpose why, long after);
/* The plan's keygen job of sign's key pair (jobs_plan_build makes one per pair), or -1. */
long jobs_keygen_for(const struct job_set *s, const struct signing *sign);
/* The depmod of t's kernel (one per kernel per plan), created on first use. */
size_t jobs_plan_depmod(struct job_set *s, const struct target *t);
/* install m/v on t after job after (a build), then t's depmod, which waits for the
 * install's success (DEP_SUCCESS) or only its end (DEP_ORDER: autoinstall). */
size_t jobs_plan_install(struct job_set *s, const char *m, const char *v, const struct target *t,
			 struct module_conf *conf, size_t after, enum dep_kind depmod_waits);
/* uninstall m/v from t, then t's depmod. */
size_t jobs_plan_uninstall(struct job_set *s, const char *m, const char *v, const struct target *t,
			   struct module_conf *conf);
/* unbuild m/v for t after t's depmod (of the uninstalls before it). */
size_t jobs_plan_unbuild(struct job_set *s, const char *m, const char *v, const struct target *t);
/* remove m/v: after every job so far, its leftover .tmp_* build dirs go; and when every
 * one of them succeeded, the version itself (when nothing else is left in it). */
size_t jobs_plan_remove(struct job_set *s, const char *m, const char *v);
/* BUILD_DEPENDS_REBUILD (rebuild.c): after job install (of m/v on t), every other module
 * built for t that depends on m, sets BUILD_DEPENDS_REBUILD=yes and was built against
 * another version of m (or records none) is uninstalled, unbuilt, built and installed
 * again, as dkms does after each install. Not with --force (as dkms). */
void jobs_plan_rebuild_dependents(const struct ctx *c, struct job_set *s, const char *m, const char *v,
				  struct target *t, size_t install);
/* Ends a plan: framework.conf's post_transaction after every other job, when set. */
void jobs_plan_finish(const struct ctx *c, struct job_set *s);

/* Adds a job with a zeroed payload; returns the payload. */
struct job_payload *jobs_add(struct job_set *s, enum job_kind kind, const char *m, const char *v,
			     const struct target *t, size_t *id);
/* Sets every job's weight (recorded durations) and the plan's critical-path ranks. */
void jobs_weigh(const struct ctx *c, struct job_set *s);
/* A plan that changes a tree that cannot be written (read-only, missing) stops before
 * its first job, with the same words whichever command made it: jobs_run checks. Returns
 * 0 or 1 (said). */
int jobs_check_writable(const struct ctx *c, const struct job_set *s);
/* Runs the plan. Returns 0 or the first failed job's exit code (77 if all that did not
 * succeed were excluded by BUILD_EXCLUSIVE). */
int jobs_run(struct ctx *c, struct job_set *s);
/* Prints the plan on c->out, weighed, instead of running it: what --dry-run does for
 * every command. As JSON (schema/plan.schema.json) with --json, else as text. */
void jobs_print_plan(struct ctx *c, struct job_set *s);
/* --dry-run: jobs_print_plan and 0; otherwise jobs_run. */
int jobs_run_or_print(struct ctx *c, struct job_set *s);
void jobs_release(struct job_set *s);
/* The signal (SIGINT, SIGTERM) that stopped this process's last run, or 0. The command
 * ends by dying of it once all is cleaned up, so that a calling shell stops too. */
int jobs_stop_signal(void);
/* The plan as a person reads it: a line per job, what each build will do, what each job
 * waits for (plan_text.c). */
void jobs_print_plan_text(FILE *out, const struct job_set *s);

#endif

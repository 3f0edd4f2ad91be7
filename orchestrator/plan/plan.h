/* plan.h - a command's work as a DAG of jobs over (module, version, kernel, arch).
 *
 * Job kinds: eval (dkms.conf evaluated for a module/version's targets, done while the
 * plan is made, since its edges come from the evaluated conf), add (source into the tree,
 * POST_ADD), keygen (the MOK key pair, before the builds that sign with it), build,
 * store (a build's result into the build cache), install, uninstall, unbuild, depmod
 * (once per kernel, after that kernel's installs), remove (drop the version from the
 * tree when nothing is left), post_transaction (framework.conf's, after every other job). An edge a -> b means b starts
 * only after a succeeded; when a fails or is skipped, b is skipped.
 *
 * Ownership: the plan owns its jobs and their strings; job->payload belongs to the
 * command that made the plan (freed by it). Pure: no I/O except plan_json's string.
 */
#ifndef MODFORGE_PLAN_H
#define MODFORGE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

enum job_kind {
	JOB_EVAL,
	JOB_ADD,
	JOB_BUILD,
	JOB_INSTALL,
	JOB_UNINSTALL,
	JOB_UNBUILD,
	JOB_DEPMOD,
	JOB_REMOVE,
	JOB_KEYGEN,
	JOB_STORE,
	JOB_POST_TRANSACTION,
};

/* How a job depends on another. */
enum dep_kind {
	DEP_SUCCESS = 0, /* the other must succeed */
	DEP_OR_EXCLUDED, /* ... or be excluded by BUILD_EXCLUSIVE (77): a met BUILD_DEPENDS */
	DEP_ORDER,       /* the other must have ended, whatever its outcome (depmod) */
};

enum job_state {
	JOB_PENDING,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_SKIPPED,
};

struct job {
	size_t id;
	enum job_kind kind;
	char *module, *version, *kernel, *arch; /* NULL where the kind has none */
	size_t *deps;
	unsigned char *dep_kind; /* enum dep_kind of deps[i] */
	size_t n_deps;
	enum job_state state;
	int exit_code; /* dkms exit code of the job; 77 = excluded by BUILD_EXCLUSIVE */
	long start_ms; /* CLOCK_MONOTONIC ms when it started (sched_now_ms), 0 = not yet */
	long duration_ms;
	long end_seq;   /* 1, 2, ... in the order jobs ended (0 = not ended) */
	long cpu_ms;    /* CPU time of an asynchronous job and its children */
	char *lock;     /* jobs with the same lock never run at once (a build area) */
	long weight_ms; /* expected duration, for the critical path */
	long rank_ms;   /* weight + the longest chain of dependents after it */
	void *payload;  /* the command's data for running it */
};

struct plan {
	struct job *jobs;
	size_t n, cap;
	int slots; /* the run's job budget (-j), shown in the JSON when set */
};

/* Adds a job; returns its id. Strings are copied (NULL allowed). */
size_t plan_add(struct plan *p, enum job_kind kind, const char *m, const char *v, const char *k, const char *a);
/* Makes job wait for on. Duplicate edges are ignored. */
void plan_dep(struct plan *p, size_t job, size_t on);
/* plan_dep with an explicit kind (DEP_OR_EXCLUDED: dkms's autoinstall treats a
 * BUILD_DEPENDS module skipped by BUILD_EXCLUSIVE as satisfied). */
void plan_dep_kind(struct plan *p, size_t job, size_t on, enum dep_kind kind);
/* Returns the id of the first job of kind with these fields (NULL matches NULL), or -1. */
long plan_find(const struct plan *p, enum job_kind kind, const char *m, const char *v, const char *k, const char *a);
/* Sets job's lock (copied). */
void plan_lock(struct plan *p, size_t job, const char *lock);
/* Computes rank_ms of every job: its weight plus the heaviest chain of jobs that wait
 * for it (the plan must be acyclic). */
void plan_rank(struct plan *p);
/* Returns 0 if acyclic, else -ELOOP and a newly allocated "a -> b -> a" description. */
int plan_check_cycles(const struct plan *p, char **cycle);
/* {"schema":"modforge.plan/1","jobs":[...]} newly allocated. decorate (or NULL) adds
 * what the command decided for a job to its JSON object (a cJSON *). */
char *plan_json(const struct plan *p, void (*decorate)(const struct job *j, void *json_object));
const char *job_kind_name(enum job_kind k);
void plan_release(struct plan *p);

#endif

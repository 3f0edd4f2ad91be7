/* runlog.h - what a run records: its events as JSON lines (--events FILE, schema
 * schema/events.schema.json) and each module's last job durations, which weight the
 * scheduler's critical path on the next run.
 *
 * One run is one stream: a run_start record, every job of the plan (a start when it
 * starts, then finish, fail, skip with its reason, or cache_hit), a run_end record with
 * the exit code and the counts; every line carries the run's random id. A line that
 * cannot be written makes the run fail (runlog_failed).
 *
 * Durations live in <dkms_tree>/.modforge/durations/<module>.<kind> (milliseconds, one
 * number), a name dkms ignores. Without a record a job weighs a default per kind.
 */
#ifndef MODFORGE_RUNLOG_H
#define MODFORGE_RUNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct job;

enum runlog_end { RUNLOG_FINISH, RUNLOG_FAIL, RUNLOG_SKIP, RUNLOG_CACHE_HIT, RUNLOG_N_ENDS };

struct runlog {
	FILE *events;               /* NULL: no --events */
	char run[33];               /* the run's id: 128 random bits, hex */
	long start_ms;              /* when the run started (monotonic) */
	size_t ends[RUNLOG_N_ENDS]; /* how the jobs ended */
	int write_error;            /* errno of the first line that could not be written, or 0 */
};

/* Opens FILE for appending (NULL path = no events). Returns 0 or -errno. */
int runlog_open(struct runlog *rl, const char *events_path);
/* The run_start record: the command (its verb) and how many jobs its plan has. */
void runlog_run_start(struct runlog *rl, const char *command, size_t jobs);
/* A job started. */
void runlog_start(struct runlog *rl, const struct job *j);
/* A job ended as end says; reason: why it was skipped (RUNLOG_SKIP), log: a build's
 * make.log (both may be NULL). */
void runlog_end(struct runlog *rl, enum runlog_end end, const struct job *j, const char *reason, const char *log);
/* The run_end record: the plan's exit code and the counts. */
void runlog_run_end(struct runlog *rl, int exit_code);
/* 0, or the errno of the first event line that could not be written. */
int runlog_failed(const struct runlog *rl);
void runlog_close(struct runlog *rl);
/* The expected duration of j: its module's last recorded one, else a default. */
long runlog_weight(const char *dkms_tree, const struct job *j);
/* Records j's duration (builds and installs that ran). */
void runlog_record(const char *dkms_tree, const struct job *j);

#endif

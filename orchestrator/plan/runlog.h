/* runlog.h - what a run records: job events as JSON lines (--events FILE, schema
 * schema/events.schema.json) and each module's last job durations, which weight the
 * scheduler's critical path on the next run.
 *
 * Durations live in <dkms_tree>/.modforge/durations/<module>.<kind> (milliseconds, one
 * number), a name dkms ignores. Without a record a job weighs a default per kind.
 */
#ifndef MODFORGE_RUNLOG_H
#define MODFORGE_RUNLOG_H

#include <stdio.h>

struct job;

struct runlog {
	FILE *events; /* NULL: no --events */
};

/* Opens FILE for appending (NULL path = no events). Returns 0 or -errno. */
int runlog_open(struct runlog *rl, const char *events_path);
/* Writes one event line: start, finish, fail, skip or cache_hit. log may be NULL. */
void runlog_event(struct runlog *rl, const char *event, const struct job *j, const char *log);
void runlog_close(struct runlog *rl);
/* The expected duration of j: its module's last recorded one, else a default. */
long runlog_weight(const char *dkms_tree, const struct job *j);
/* Records j's duration (builds and installs that ran). */
void runlog_record(const char *dkms_tree, const struct job *j);

#endif

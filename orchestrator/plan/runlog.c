#include "orchestrator/plan/runlog.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/xalloc.h"
#include "orchestrator/plan/plan.h"

/* 128 random bits as hex: the run's id. */
static void new_run_id(char out[33])
{
	unsigned char b[16] = { 0 };
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		struct timespec t; /* no entropy yet (early boot): time and pid */
		clock_gettime(CLOCK_REALTIME, &t);
		uint64_t v[2] = { (uint64_t)t.tv_sec ^ ((uint64_t)getpid() << 32), (uint64_t)t.tv_nsec };
		memcpy(b, v, sizeof(b));
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static long now_ms(int clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int runlog_open(struct runlog *rl, const char *events_path)
{
	memset(rl, 0, sizeof(*rl));
	new_run_id(rl->run);
	rl->start_ms = now_ms(CLOCK_MONOTONIC);
	if (!events_path)
		return 0;
	int fd = open(events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rl->events = fdopen(fd, "a");
	if (!rl->events) {
		int e = -errno;
		close(fd);
		return e;
	}
	return 0;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* A record with what every line has. */
static cJSON *record(const struct runlog *rl, const char *event)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "schema", "modforge.event/2");
	cJSON_AddStringToObject(o, "run", rl->run);
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddNumberToObject(o, "time_ms", (double)now_ms(CLOCK_REALTIME));
	return o;
}

/* Writes o as one line (and frees it); the first failure is kept. */
static void emit(struct runlog *rl, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	errno = 0;
	if (!s || fprintf(rl->events, "%s\n", s) < 0 || fflush(rl->events) != 0) {
		if (!rl->write_error)
			rl->write_error = errno ? errno : EIO;
		clearerr(rl->events);
	}
	cJSON_free(s);
}

static cJSON *job_record(const struct runlog *rl, const char *event, const struct job *j)
{
	cJSON *o = record(rl, event);
	cJSON_AddNumberToObject(o, "job", (double)j->id);
	cJSON_AddStringToObject(o, "kind", job_kind_name(j->kind));
	add_str(o, "module", j->module);
	add_str(o, "version", j->version);
	add_str(o, "kernel", j->kernel);
	add_str(o, "arch", j->arch);
	return o;
}

void runlog_run_start(struct runlog *rl, const char *command, size_t jobs)
{
	if (!rl->events)
		return;
	cJSON *o = record(rl, "run_start");
	add_str(o, "command", command);
	cJSON_AddNumberToObject(o, "jobs", (double)jobs);
	emit(rl, o);
}

void runlog_start(struct runlog *rl, const struct job *j)
{
	if (rl->events)
		emit(rl, job_record(rl, "start", j));
}

static const char *const end_names[] = {
	[RUNLOG_FINISH] = "finish",
	[RUNLOG_FAIL] = "fail",
	[RUNLOG_SKIP] = "skip",
	[RUNLOG_CACHE_HIT] = "cache_hit",
};

void runlog_end(struct runlog *rl, enum runlog_end end, const struct job *j, const char *reason, const char *log)
{
	rl->ends[end]++;
	if (!rl->events)
		return;
	cJSON *o = job_record(rl, end_names[end], j);
	cJSON_AddNumberToObject(o, "duration_ms", (double)j->duration_ms);
	if (j->kind == JOB_BUILD)
		cJSON_AddNumberToObject(o, "cpu_ms", (double)j->cpu_ms);
	cJSON_AddNumberToObject(o, "exit_code", j->exit_code);
	if (end == RUNLOG_SKIP)
		add_str(o, "reason", reason);
	if (log)
		cJSON_AddStringToObject(o, "log", log);
	emit(rl, o);
}

void runlog_run_end(struct runlog *rl, int exit_code)
{
	if (!rl->events)
		return;
	cJSON *o = record(rl, "run_end");
	cJSON_AddNumberToObject(o, "exit_code", exit_code);
	cJSON_AddNumberToObject(o, "duration_ms", (double)(now_ms(CLOCK_MONOTONIC) - rl->start_ms));
	cJSON *counts = cJSON_AddObjectToObject(o, "counts");
	for (size_t i = 0; i < RUNLOG_N_ENDS; i++)
		cJSON_AddNumberToObject(counts, end_names[i], (double)rl->ends[i]);
	emit(rl, o);
}

int runlog_failed(const struct runlog *rl) { return rl->write_error; }

void runlog_close(struct runlog *rl)
{
	if (rl->events && fclose(rl->events) != 0 && !rl->write_error)
		rl->write_error = errno ? errno : EIO;
	rl->events = NULL;
}

static char *duration_path(const char *dkms_tree, const struct job *j)
{
	_cleanup_free_ char *dir = layout_durations_dir(dkms_tree);
	return xasprintf("%s/%s.%s", dir, j->module, job_kind_name(j->kind));
}

long runlog_weight(const char *dkms_tree, const struct job *j)
{
	static const long defaults[] = {
		[JOB_EVAL] = 10,       [JOB_ADD] = 10,     [JOB_BUILD] = 30000,          [JOB_INSTALL] = 200,
		[JOB_UNINSTALL] = 200, [JOB_UNBUILD] = 50, [JOB_DEPMOD] = 1000,          [JOB_REMOVE] = 10,
		[JOB_KEYGEN] = 300,    [JOB_STORE] = 50,   [JOB_POST_TRANSACTION] = 100,
	};
	long w = defaults[j->kind];
	if (!j->module)
		return w;
	_cleanup_free_ char *p = duration_path(dkms_tree, j);
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, p) == 0) {
		char *end;
		long v = strtol(b.data, &end, 10);
		if (end != b.data && v >= 0)
			w = v;
	}
	buf_release(&b);
	return w;
}

void runlog_record(const char *dkms_tree, const struct job *j)
{
	if (!j->module || (j->kind != JOB_BUILD && j->kind != JOB_INSTALL))
		return;
	_cleanup_free_ char *dir = layout_durations_dir(dkms_tree);
	if (mkdir_p(dir, 0755) < 0)
		return;
	_cleanup_free_ char *p = duration_path(dkms_tree, j);
	_cleanup_free_ char *v = xasprintf("%ld\n", j->duration_ms);
	(void)write_file_atomic(p, v, strlen(v), 0644);
}

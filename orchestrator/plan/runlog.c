#include "orchestrator/plan/runlog.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/xalloc.h"
#include "orchestrator/plan/plan.h"

int runlog_open(struct runlog *rl, const char *events_path)
{
	rl->events = NULL;
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

void runlog_event(struct runlog *rl, const char *event, const struct job *j, const char *log)
{
	if (!rl->events)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "schema", "modforge.event/1");
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddNumberToObject(o, "time_ms", (double)now.tv_sec * 1000.0 + (double)(now.tv_nsec / 1000000));
	cJSON_AddNumberToObject(o, "job", (double)j->id);
	cJSON_AddStringToObject(o, "kind", job_kind_name(j->kind));
	add_str(o, "module", j->module);
	add_str(o, "version", j->version);
	add_str(o, "kernel", j->kernel);
	add_str(o, "arch", j->arch);
	if (strcmp(event, "start") != 0) {
		cJSON_AddNumberToObject(o, "duration_ms", (double)j->duration_ms);
		if (j->kind == JOB_BUILD)
			cJSON_AddNumberToObject(o, "cpu_ms", (double)j->cpu_ms);
		cJSON_AddNumberToObject(o, "exit_code", j->exit_code);
	}
	if (log)
		cJSON_AddStringToObject(o, "log", log);
	char *s = cJSON_PrintUnformatted(o);
	fprintf(rl->events, "%s\n", s);
	fflush(rl->events);
	cJSON_free(s);
	cJSON_Delete(o);
}

void runlog_close(struct runlog *rl)
{
	if (rl->events)
		fclose(rl->events);
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

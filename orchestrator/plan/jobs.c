#include "orchestrator/plan/jobs.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/build.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/treelock.h"
#include "executor/cache.h"
#include "executor/jobserver.h"
#include "executor/proc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/plan/sandbox_policy.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/plan/progress.h"
#include "orchestrator/plan/runlog.h"
#include "orchestrator/tree/tree.h"
#include "orchestrator/plan/jobs_internal.h"

struct job_payload *jobs_add(struct job_set *s, enum job_kind kind, const char *m, const char *v,
			     const struct target *t, size_t *id)
{
	size_t i = plan_add(&s->plan, kind, m, v, t ? t->kernel : NULL, t ? t->arch : NULL);
	if (i >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		while (cap <= i)
			cap *= 2;
		s->payloads = xrealloc(s->payloads, cap * sizeof(*s->payloads));
		memset(s->payloads + s->cap, 0, (cap - s->cap) * sizeof(*s->payloads));
		s->cap = cap;
	}
	struct job_payload *p = xcalloc(1, sizeof(*p));
	p->target = t;
	p->keygen_job = -1;
	p->build_job = -1;
	s->payloads[i] = p;
	s->plan.jobs[i].payload = p;
	if (id)
		*id = i;
	return p;
}

void jobs_release(struct job_set *s)
{
	for (size_t i = 0; i < s->plan.n; i++) {
		struct job_payload *p = s->payloads[i];
		if (!p)
			continue;
		if (p->buffer)
			fclose(p->buffer);
		if (p->err_buffer)
			fclose(p->err_buffer);
		free(p->announce);
		if (p->owns_conf)
			conf_free(p->conf);
		free(p->source);
		free(p->keygen_warning);
		build_decision_release(&p->build);
		free(p);
	}
	free(s->payloads);
	plan_release(&s->plan);
	*s = (struct job_set)JOB_SET_INIT;
}

static int job_start_kind(struct run *r, struct job *j, struct job_payload *p, pid_t *pid)
{
	switch (j->kind) {
	case JOB_BUILD: return start_build(r, j, p, pid);
	case JOB_EVAL: j->exit_code = 0; return SCHED_DONE;
	default: j->exit_code = run_tree_job(r, j, p); return SCHED_DONE;
	}
}

static void show_progress(struct run *r) { progress_draw(&r->progress, &r->set->plan, sched_now_ms()); }

static void tick(void *data) { show_progress(data); }

static int job_start(void *data, struct job *j, pid_t *pid)
{
	struct run *r = data;
	progress_clear(&r->progress); /* the job may print */
	/* Said before the job does anything; once, though a build that finds no slot is
	 * started again later. */
	struct job_payload *p = j->payload;
	if (!p->start_logged)
		runlog_start(&r->log, j);
	p->start_logged = true;
	int ret = job_start_kind(r, j, p, pid);
	if (ret == SCHED_STARTED)
		show_progress(r);
	return ret;
}

/* The make.log of a build: in the result when it worked; when not, its own copy (kept for
 * each kernel), else the build area's. */
static char *build_log_path(const struct ctx *c, const struct job *j)
{
	if (j->state == JOB_DONE) {
		_cleanup_free_ char *base = tree_result_dir(&c->paths, j->module, j->version, j->kernel, j->arch);
		return path_join(base, "log/make.log");
	}
	char *own = layout_failed_log(c->paths.dkms_tree, j->module, j->version, j->kernel, j->arch);
	if (is_regular(own))
		return own;
	free(own);
	_cleanup_free_ char *area = tree_build_area(&c->paths, j->module, j->version);
	return path_join(area, "make.log");
}

/* The first line of a failed build's log that says what went wrong: a compiler's
 * "error:", else make's "***" (newly allocated, or NULL). */
static char *first_error_line(const char *log)
{
	/* build/make.log lies in an area a build wrote: never through a link, a regular file only. */
	int fd = open(log, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *line = NULL, *make_err = NULL, *found = NULL;
	size_t cap = 0;
	ssize_t n;
	while (!found && (n = getline(&line, &cap, f)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, "error:") || strstr(line, "Error:"))
			found = xstrdup(line);
		else if (!make_err && strstr(line, "*** "))
			make_err = xstrdup(line);
	}
	free(line);
	fclose(f);
	for (char *q = found ? found : make_err; q && *q; q++) /* the build wrote it: no escapes */
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	if (found) {
		free(make_err);
		return found;
	}
	return make_err;
}
/* Events and duration records for a job that ended. */
/* Why job j was skipped, in words (static). */
static const char *skip_reason(const struct run *r, const struct job *j, const struct job_payload *p)
{
	if (j->state == JOB_DONE)
		return p ? p->skip_reason : NULL;
	if (j->exit_code == 130)
		return "stopped (Ctrl-C or SIGTERM)";
	for (size_t d = 0; d < j->n_deps; d++) {
		const struct job *dep = &r->set->plan.jobs[j->deps[d]];
		if (j->dep_kind[d] != DEP_ORDER && (dep->state == JOB_FAILED || dep->state == JOB_SKIPPED) &&
		    !(j->dep_kind[d] == DEP_OR_EXCLUDED && dep->exit_code == 77))
			return "a job it needs did not succeed";
	}
	if (j->exit_code == 77)
		return "excluded by BUILD_EXCLUSIVE";
	return "a BUILD_DEPENDS is missing";
}

static void record_end(struct run *r, struct job *j, struct job_payload *p, bool ran_build)
{
	_cleanup_free_ char *log = j->kind == JOB_BUILD && j->state != JOB_SKIPPED ? build_log_path(r->c, j) : NULL;
	const char *reason = skip_reason(r, j, p);
	enum runlog_end end = p && p->cache_hit   ? RUNLOG_CACHE_HIT
		: j->state == JOB_DONE && !reason ? RUNLOG_FINISH
		: j->state == JOB_FAILED          ? RUNLOG_FAIL
						  : RUNLOG_SKIP;
	runlog_end(&r->log, end, j, reason, end == RUNLOG_SKIP ? NULL : log);
	if (!ran_build || j->state != JOB_DONE)
		return;
	runlog_record(r->c->paths.dkms_tree, j);
}

/* Copies what a job wrote into *buf to `to`, then closes it. */
static void show_buffer(FILE **buf, FILE *to)
{
	fflush(*buf);
	rewind(*buf);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), *buf)) > 0)
		fwrite(chunk, 1, n, to);
	fflush(to);
	fclose(*buf);
	*buf = NULL;
}

/* No other install for j's kernel is still to end. */
static bool last_install_of_kernel(const struct run *r, const struct job *j)
{
	for (size_t i = 0; i < r->set->plan.n; i++) {
		const struct job *o = &r->set->plan.jobs[i];
		if (o != j && o->kind == JOB_INSTALL && (o->state == JOB_PENDING || o->state == JOB_RUNNING) &&
		    strcmp(o->kernel, j->kernel) == 0 && strcmp(o->arch, j->arch) == 0)
			return false;
	}
	return true;
}

static void job_finished(void *data, struct job *j)
{
	struct run *r = data;
	struct job_payload *p = j->payload;
	bool ran_build = p && p->holds_slot;
	if (ran_build) {
		p->holds_slot = false;
		jobserver_release(&r->js);
		if (--r->builds_running == 0)
			jobserver_refill(&r->js);
	}
	record_end(r, j, p, ran_build);
	r->progress.done++;
	progress_clear(&r->progress);
	if (p && p->buffer) {
		/* Several builds' blocks: each says whose it is (an autoinstall block already
		 * does); one build keeps dkms's text. */
		if (r->builds > 1 && !p->announce)
			fprintf(r->c->out, "%s/%s, %s, %s:\n", j->module, j->version, j->kernel, j->arch);
		show_buffer(&p->buffer, r->c->out);
	}
	if (p && p->err_buffer) { /* what the build said on stderr, after its block */
		fflush(r->c->out);
		show_buffer(&p->err_buffer, r->c->err);
	}
	if (p && p->blank_after && j->kind == JOB_INSTALL && j->n_deps) {
		/* autoinstall's blank line after each module it tried; after the last one of a
		 * kernel it comes after that kernel's depmod, as in dkms (which runs depmod
		 * after each module) */
		const struct job *b = &r->set->plan.jobs[j->deps[0]];
		if (b->state != JOB_SKIPPED) { /* an excluded one's came when its build ended */
			long dm = last_install_of_kernel(r, j)
				? plan_find(&r->set->plan, JOB_DEPMOD, NULL, NULL, j->kernel, j->arch)
				: -1;
			if (dm >= 0 && r->set->plan.jobs[dm].state == JOB_PENDING) {
				r->set->payloads[dm]->blank_after = true;
			} else {
				fputs("\n", r->c->out);
				fflush(r->c->out);
			}
		}
	}
	if (p && p->announce && j->kind == JOB_BUILD && j->state == JOB_SKIPPED && j->exit_code == 77) {
		fputs("\n", r->c->out); /* autoinstall: a module BUILD_EXCLUSIVE excluded */
		fflush(r->c->out);
	}
	if (p && p->blank_after && j->kind == JOB_DEPMOD) {
		fputs("\n", r->c->out);
		fflush(r->c->out);
	}
	if (j->state == JOB_FAILED && !r->set->first_error)
		r->set->first_error = j->exit_code;
	show_progress(r);
}

/* After a run with several builds: what failed (with its log), what BUILD_EXCLUSIVE
 * excluded (and why), what did not run because something it needs failed. */
/* Jobs the summary names: what a person asked for, not the plan's bookkeeping. */
static bool reported(const struct job *j)
{
	return j->kind != JOB_STORE && j->kind != JOB_KEYGEN && j->kind != JOB_POST_TRANSACTION && j->kind != JOB_EVAL;
}

/* "m/v for k (a)", or the part of it the job has. */
static char *job_subject(const struct job *j)
{
	if (!j->kernel)
		return xasprintf("%s/%s", j->module ? j->module : "", j->version ? j->version : "");
	if (!j->module)
		return xasprintf("for %s (%s)", j->kernel, j->arch);
	return xasprintf("%s/%s for %s (%s)", j->module, j->version, j->kernel, j->arch);
}

static void print_summary(const struct run *r)
{
	const struct ctx *c = r->c;
	const struct plan *p = &r->set->plan;
	size_t builds = 0, bad = 0, n = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!reported(&p->jobs[i]))
			continue;
		n++;
		builds += p->jobs[i].kind == JOB_BUILD;
		bad += p->jobs[i].state == JOB_FAILED || p->jobs[i].state == JOB_SKIPPED;
	}
	if (bad == 0 || strcmp(c->prog, "dkms") == 0)
		return;
	if (builds < 2) { /* one build: no summary, but what its log says went wrong */
		for (size_t i = 0; i < p->n; i++) {
			const struct job *j = &p->jobs[i];
			if (j->state != JOB_FAILED || j->kind != JOB_BUILD)
				continue;
			/* the log dkms's message just named: the build area's */
			_cleanup_free_ char *area = tree_build_area(&c->paths, j->module, j->version);
			_cleanup_free_ char *log = path_join(area, "make.log");
			if (!is_regular(log)) {
				free(log);
				log = build_log_path(c, j);
			}
			_cleanup_free_ char *why = first_error_line(log);
			if (why)
				fprintf(c->err, "modforge: the first error in %s:\n  %s\n", log, why);
		}
		fflush(c->err);
		return;
	}
	fprintf(c->err, "\nmodforge: summary of %zu jobs:\n", n);
	for (size_t i = 0; i < p->n; i++) {
		const struct job *j = &p->jobs[i];
		const struct job_payload *pl = j->payload;
		if ((j->state != JOB_FAILED && j->state != JOB_SKIPPED) || !reported(j))
			continue;
		const char *what = job_kind_name(j->kind);
		_cleanup_free_ char *subject = job_subject(j);
		if (j->state == JOB_FAILED && j->kind == JOB_BUILD) {
			_cleanup_free_ char *log = build_log_path(c, j);
			_cleanup_free_ char *why = first_error_line(log);
			fprintf(c->err, "  failed:   %s %s, exit %d, log %s\n", what, subject, j->exit_code, log);
			if (why)
				fprintf(c->err, "            %s\n", why);
		} else if (j->state == JOB_FAILED) {
			fprintf(c->err, "  failed:   %s %s, exit %d\n", what, subject, j->exit_code);
		} else if (pl && pl->build.excluded) {
			fprintf(c->err, "  excluded: %s: %s\n", subject, pl->build.excluded);
		} else if (j->exit_code != 77) {
			fprintf(c->err, "  not run:  %s %s: a job it needs failed\n", what, subject);
		}
	}
	fflush(c->err);
}

void jobs_weigh(const struct ctx *c, struct job_set *s)
{
	for (size_t i = 0; i < s->plan.n; i++)
		s->plan.jobs[i].weight_ms = runlog_weight(c->paths.dkms_tree, &s->plan.jobs[i]);
	plan_rank(&s->plan);
	s->plan.slots = c->max_jobs;
}

int jobs_check_writable(const struct ctx *c, const struct job_set *s)
{
	bool dkms_tree = false, install_tree = false;
	for (size_t i = 0; i < s->plan.n; i++) {
		enum job_kind k = s->plan.jobs[i].kind;
		/* keygen writes where the key is configured (it says so itself when it cannot) */
		dkms_tree |= k != JOB_EVAL && k != JOB_POST_TRANSACTION && k != JOB_KEYGEN &&
			s->plan.jobs[i].state == JOB_PENDING;
		install_tree |= k == JOB_INSTALL || k == JOB_UNINSTALL;
	}
	if (dkms_tree && ctx_check_writable(c, "DKMS tree", c->paths.dkms_tree))
		return 1;
	if (install_tree && is_dir(c->paths.install_tree) &&
	    ctx_check_writable(c, "the module tree", c->paths.install_tree))
		return 1;
	return 0;
}

/* The run's exit code: sched_run's (a stop: 128 + signal), the first failed job's, 77
 * when all that did not succeed were excluded, else 0. */
static int run_exit_code(const struct ctx *c, const struct job_set *s, int e)
{
	if (e > 0)
		return e;
	if (e < 0) {
		ctx_error(c, "Running the plan failed: %s", strerror(-e));
		return 1;
	}
	if (s->first_error)
		return s->first_error;
	for (size_t i = 0; i < s->plan.n; i++)
		if (s->plan.jobs[i].exit_code == 77)
			return 77;
	return 0;
}

/* A plan with a circle of waits cannot run (nor be weighed): a bug, said, exit 1. */
static int refuse_cycle(const struct ctx *c, struct job_set *s)
{
	char *cycle = NULL;
	if (plan_check_cycles(&s->plan, &cycle) == 0)
		return 0;
	ctx_error(c, "The plan's jobs wait for each other in a circle (a bug in modforge): %s", cycle ? cycle : "");
	free(cycle);
	return 1;
}

int jobs_run(struct ctx *c, struct job_set *s)
{
	jobs_plan_finish(c, s);
	if (refuse_cycle(c, s) || jobs_check_writable(c, s))
		return 1;
	size_t builds = 0;
	for (size_t i = 0; i < s->plan.n; i++)
		builds += s->plan.jobs[i].kind == JOB_BUILD;
	struct run r = { .c = c, .set = s, .builds = builds };
	progress_init(&r.progress, c->err, strcmp(c->prog, "modforge") == 0 && !c->req->quiet);
	for (size_t i = 0; i < s->plan.n; i++) /* jobs that will end during the run */
		r.progress.total += s->plan.jobs[i].state == JOB_PENDING;
	/* Several builds at once, or a status line on the terminal: a build's output is shown
	 * whole when it ends. */
	r.buffered = (c->max_jobs > 1 && builds > 1) || r.progress.tty;
	jobs_weigh(c, s);
	int e = runlog_open(&r.log, c->req->events);
	if (e < 0) {
		ctx_error(c, "Cannot open the events file %s: %s", c->req->events, strerror(-e));
		return 1;
	}
	runlog_run_start(&r.log, c->req->action_word, s->plan.n);
	for (size_t i = 0; i < s->plan.n; i++) { /* what ended when the plan was made */
		struct job *j = &s->plan.jobs[i];
		if (j->state == JOB_PENDING)
			continue;
		runlog_start(&r.log, j);
		record_end(&r, j, j->payload, false);
	}
	e = jobserver_init(&r.js, c->max_jobs);
	if (e < 0) {
		runlog_close(&r.log);
		ctx_error(c, "Cannot create the jobserver pipe: %s", strerror(-e));
		return 1;
	}
	struct sched_ops ops = { job_start, job_finished, &r, r.js.nbfd, r.progress.tty ? tick : NULL, stop_requested };
	fflush(c->out);
	struct stop_handlers saved;
	stop_catch(&saved);
	e = sched_run(&s->plan, c->max_jobs, &ops);
	progress_clear(&r.progress);
	if (e == -EINTR)
		e = jobs_stopped(&r);
	else
		print_summary(&r);
	stop_release(&saved);
	jobserver_close(&r.js);
	strv_release(&r.kernels_touched);
	strv_release(&r.prologue_said);
	int ret = run_exit_code(c, s, e);
	runlog_run_end(&r.log, ret);
	runlog_close(&r.log);
	int we = runlog_failed(&r.log);
	if (we) { /* a stream with holes is no record: the run fails */
		ctx_error(c, "Cannot write the events file %s: %s", c->req->events, strerror(we));
		if (ret == 0)
			ret = 1;
	}
	return ret;
}

/* What the plan decided for a job, in its JSON. */
static void decorate(const struct job *j, void *o)
{
	const struct job_payload *p = j->payload;
	if (j->kind == JOB_BUILD && p)
		decide_json(&p->build, o);
	if (j->kind == JOB_ADD && p && p->source)
		cJSON_AddStringToObject(o, "source", p->source);
}

void jobs_print_plan(struct ctx *c, struct job_set *s)
{
	jobs_plan_finish(c, s);
	if (refuse_cycle(c, s))
		return;
	jobs_weigh(c, s);
	if (!c->req->json) {
		jobs_print_plan_text(c->out, s);
		return;
	}
	char *js = plan_json(&s->plan, decorate);
	fprintf(c->out, "%s\n", js);
	free(js);
}

int jobs_run_or_print(struct ctx *c, struct job_set *s)
{
	if (!c->req->dry_run)
		return jobs_run(c, s);
	jobs_print_plan(c, s);
	return 0;
}

#include "jobs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/build.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/treelock.h"
#include "executor/cache.h"
#include "executor/jobserver.h"
#include "executor/proc.h"
#include "orchestrator/conf.h"
#include "orchestrator/confine.h"
#include "orchestrator/context.h"
#include "orchestrator/framework.h"
#include "orchestrator/targets.h"
#include "orchestrator/runlog.h"
#include "orchestrator/tree.h"
#include "orchestrator/jobs_internal.h"

/* The build cache's size bound (LRU beyond it). */
#define CACHE_MAX_BYTES (1024LL * 1024 * 1024)



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
	s->payloads[i] = p;
	s->plan.jobs[i].payload = p;
	if (id)
		*id = i;
	return p;
}

void jobs_release(struct job_set *s)
{
	for (size_t i = 0; i < s->plan.n; i++) {
		if (s->payloads[i] && s->payloads[i]->buffer)
			fclose(s->payloads[i]->buffer);
		if (s->payloads[i])
			free(s->payloads[i]->skip_reason);
		free(s->payloads[i]);
	}
	free(s->payloads);
	plan_release(&s->plan);
	memset(s, 0, sizeof(*s));
}

static void fill_install_job(struct run *r, struct job *j, struct job_payload *p, struct install_job *ij,
			     struct install_record *recs, char **src)
{
	const struct module_conf *conf = p->conf;
	size_t n = 0;
	for (size_t i = 0; i < conf->n_records; i++)
		if (record_wanted(j, conf, i, p->target->config_text))
			recs[n++] = (struct install_record){ conf->records[i].dest_name, conf->records[i].dest_location,
							     conf->records[i].conf_dest_location };
	*src = tree_source_link(&r->c->paths, j->module, j->version);
	*ij = (struct install_job){
		.dkms_tree = r->c->paths.dkms_tree, .install_tree = r->c->paths.install_tree,
		.module = j->module, .version = j->version, .kernel = j->kernel, .arch = j->arch,
		.records = recs, .n_records = n, .source_dir = *src,
		.pre_install = conf->pre_install, .post_install = conf->post_install,
		.post_remove = conf->post_remove, .force = r->c->req->force,
		.force_version_override = r->c->req->force_version_override,
		.out = r->c->out, .err = r->c->err,
	};
}

static bool is_installed(const struct ctx *c, const struct job *j)
{
	_cleanup_free_ char *v = tree_installed_version(&c->paths, j->module, j->kernel, j->arch);
	return v && strcmp(v, j->version) == 0;
}

static void touch_kernel(struct run *r, const struct job *j)
{
	_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
	if (!strv_contains(&r->kernels_touched, ka))
		strv_push(&r->kernels_touched, ka);
}

static int run_install_like(struct run *r, struct job *j, struct job_payload *p, bool install)
{
	struct ctx *c = r->c;
	struct install_job ij;
	struct install_record *recs = xcalloc(p->conf->n_records + 1, sizeof(*recs));
	_cleanup_free_ char *src = NULL;
	fill_install_job(r, j, p, &ij, recs, &src);
	struct job_box box;
	bool boxed = c->req->sandbox_scripts && c->sandbox;
	if (boxed) {
		box_for_script(c, src, &box);
		ij.script_box = &box.box;
	}
	int code = 0;
	if (install) {
		if (is_installed(c, j)) {
			if (!c->req->force) {
				fprintf(c->out, "Module %s/%s already installed on kernel %s (%s), skip. You may override by specifying --force.\n",
					j->module, j->version, j->kernel, j->arch);
				free(recs);
				if (boxed)
					job_box_release(&box);
				return 0;
			}
			uninstall_run(&ij);
			fputs("\n", c->out);
		}
		code = install_run(&ij);
	} else {
		code = uninstall_run(&ij);
	}
	free(recs);
	if (boxed)
		job_box_release(&box);
	touch_kernel(r, j);
	return code;
}

static int run_uninstall(struct run *r, struct job *j, struct job_payload *p)
{
	struct ctx *c = r->c;
	if (p->blank_before)
		fputs("\n", c->out);
	if (!is_installed(c, j) || !tree_is_built(&c->paths, j->module, j->version, j->kernel, j->arch)) {
		bool excl = p->conf && (p->conf->excl_kernel || p->conf->excl_arch || p->conf->excl_config ||
					p->conf->excl_kernel_min || p->conf->excl_kernel_max);
		if (!excl)
			fprintf(c->out, "Module %s/%s is not installed for kernel %s (%s). Skipping...\n",
				j->module, j->version, j->kernel, j->arch);
		return 0;
	}
	if (!p->conf) {
		ctx_error(c, "Could not read dkms.conf of %s/%s; cannot uninstall.", j->module, j->version);
		return 8;
	}
	return run_install_like(r, j, p, false);
}

static int run_unbuild(struct run *r, struct job *j, struct job_payload *p)
{
	struct ctx *c = r->c;
	if (!tree_is_built(&c->paths, j->module, j->version, j->kernel, j->arch)) {
		fprintf(c->out, "Module %s/%s is not built for kernel %s (%s). Skipping...\n",
			j->module, j->version, j->kernel, j->arch);
	} else {
		int e = unbuild_run(c->paths.dkms_tree, j->module, j->version, j->kernel, j->arch);
		if (e < 0) {
			ctx_error(c, "Cannot delete the build of %s/%s for %s (%s): %s", j->module, j->version,
				  j->kernel, j->arch, strerror(-e));
			return 1;
		}
	}
	if (p->blank_after)
		fputs("\n", c->out);
	return 0;
}

static int run_depmod(struct run *r, struct job *j)
{
	_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
	if (!strv_contains(&r->kernels_touched, ka))
		return 0;
	if (depmod_run(r->c->paths.install_tree, r->c->paths.dkms_tree, j->kernel, r->c->req->no_depmod,
		       r->c->out, r->c->err))
		return 6;
	journal_depmod_done(r->c->paths.dkms_tree, j->kernel);
	return 0;
}

/* An inline job changes the tree: under its exclusive lock (status waits for it). */
static int locked_inline(struct run *r, struct job *j, struct job_payload *p)
{
	int lock;
	int le = tree_lock(r->c->paths.dkms_tree, true, r->c->err, &lock);
	if (le < 0) {
		ctx_error(r->c, "Cannot lock the dkms tree %s: %s", r->c->paths.dkms_tree, strerror(-le));
		return 1;
	}
	int code = 0;
	switch (j->kind) {
	case JOB_INSTALL: code = run_install_like(r, j, p, true); break;
	case JOB_UNINSTALL: code = run_uninstall(r, j, p); break;
	case JOB_UNBUILD: code = run_unbuild(r, j, p); break;
	case JOB_DEPMOD: code = run_depmod(r, j); break;
	default: break;
	}
	tree_unlock(lock);
	return code;
}

static int job_start_kind(struct run *r, struct job *j, struct job_payload *p, pid_t *pid)
{
	switch (j->kind) {
	case JOB_BUILD:
		return start_build(r, j, p, pid);
	case JOB_INSTALL:
	case JOB_UNINSTALL:
	case JOB_UNBUILD:
	case JOB_DEPMOD:
		j->exit_code = locked_inline(r, j, p);
		return SCHED_DONE;
	default:
		j->exit_code = 0;
		return SCHED_DONE;
	}
}

/* "[done/total] running: m/v k, ..." on the terminal, redrawn in place. */
static void show_progress(struct run *r)
{
	if (!r->progress)
		return;
	struct buf b = BUF_INIT;
	const struct plan *p = &r->set->plan;
	for (size_t i = 0; i < p->n; i++)
		if (p->jobs[i].state == JOB_RUNNING && p->jobs[i].kind == JOB_BUILD)
			buf_addf(&b, "%s%s/%s %s", b.len ? ", " : "", p->jobs[i].module, p->jobs[i].version, p->jobs[i].kernel);
	fprintf(r->c->err, "\r\033[K[%zu/%zu] %s%s", r->done, r->total, b.len ? "running: " : "", b.data);
	fflush(r->c->err);
	buf_release(&b);
}

static int job_start(void *data, struct job *j, pid_t *pid)
{
	struct run *r = data;
	int ret = job_start_kind(r, j, j->payload, pid);
	if (ret == SCHED_STARTED || ret == SCHED_DONE)
		runlog_event(&r->log, "start", j, NULL);
	if (ret == SCHED_STARTED)
		show_progress(r);
	return ret;
}

/* The make.log of a build: in the result when it worked, in the build area when not. */
static char *build_log_path(const struct ctx *c, const struct job *j)
{
	if (j->state == JOB_DONE) {
		_cleanup_free_ char *base = tree_result_dir(&c->paths, j->module, j->version, j->kernel, j->arch);
		return path_join(base, "log/make.log");
	}
	_cleanup_free_ char *area = tree_build_area(&c->paths, j->module, j->version);
	return path_join(area, "make.log");
}

/* Events, duration records and the cache store for a job that ended. */
static void record_end(struct run *r, struct job *j, struct job_payload *p, bool ran_build)
{
	_cleanup_free_ char *log = j->kind == JOB_BUILD && j->state != JOB_SKIPPED ? build_log_path(r->c, j) : NULL;
	const char *ev = p && p->cache_hit ? "cache_hit" : j->state == JOB_DONE ? "finish"
			 : j->state == JOB_FAILED ? "fail" : "skip";
	runlog_event(&r->log, ev, j, log);
	if (!ran_build || j->state != JOB_DONE)
		return;
	runlog_record(r->c->paths.dkms_tree, j);
	if (p->cache_key[0]) {
		_cleanup_free_ char *base = tree_result_dir(&r->c->paths, j->module, j->version, j->kernel, j->arch);
		(void)cache_store(r->c->paths.dkms_tree, p->cache_key, base, (size_t)CACHE_MAX_BYTES);
	}
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
	r->done++;
	show_progress(r);
	if (p && p->buffer) {
		fflush(p->buffer);
		rewind(p->buffer);
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), p->buffer)) > 0)
			fwrite(buf, 1, n, r->c->out);
		fflush(r->c->out);
		fclose(p->buffer);
		p->buffer = NULL;
	}
	if (p && p->blank_after && j->kind == JOB_INSTALL && j->n_deps) {
		/* autoinstall's blank line after each module it tried */
		const struct job *b = &r->set->plan.jobs[j->deps[0]];
		if (b->state != JOB_SKIPPED || b->exit_code == 77) {
			fputs("\n", r->c->out);
			fflush(r->c->out);
		}
	}
	if (j->state == JOB_FAILED && !r->set->first_error)
		r->set->first_error = j->exit_code;
}

/* After a run with several builds: what failed (with its log), what BUILD_EXCLUSIVE
 * excluded (and why), what did not run because something it needs failed. */
static void print_summary(const struct run *r)
{
	const struct ctx *c = r->c;
	const struct plan *p = &r->set->plan;
	size_t builds = 0, bad = 0;
	for (size_t i = 0; i < p->n; i++) {
		builds += p->jobs[i].kind == JOB_BUILD;
		bad += p->jobs[i].state == JOB_FAILED || p->jobs[i].state == JOB_SKIPPED;
	}
	if (builds < 2 || bad == 0 || strcmp(c->prog, "dkms") == 0)
		return;
	fprintf(c->err, "\nmodforge: summary of %zu jobs:\n", p->n);
	for (size_t i = 0; i < p->n; i++) {
		const struct job *j = &p->jobs[i];
		const struct job_payload *pl = j->payload;
		if (j->state != JOB_FAILED && j->state != JOB_SKIPPED)
			continue;
		const char *what = job_kind_name(j->kind);
		if (j->state == JOB_FAILED && j->kind == JOB_BUILD) {
			_cleanup_free_ char *log = build_log_path(c, j);
			fprintf(c->err, "  failed:   %s %s/%s for %s (%s), exit %d, log %s\n", what, j->module,
				j->version, j->kernel, j->arch, j->exit_code, log);
		} else if (j->state == JOB_FAILED) {
			fprintf(c->err, "  failed:   %s %s/%s for %s (%s), exit %d\n", what, j->module ? j->module : "",
				j->version ? j->version : "", j->kernel, j->arch, j->exit_code);
		} else if (pl && pl->skip_reason) {
			fprintf(c->err, "  excluded: %s/%s for %s (%s): %s\n", j->module, j->version, j->kernel,
				j->arch, pl->skip_reason);
		} else if (j->exit_code != 77) {
			fprintf(c->err, "  not run:  %s %s/%s for %s (%s): a job it needs failed\n", what,
				j->module ? j->module : "", j->version ? j->version : "", j->kernel, j->arch);
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

static int kernel_order(const char *a, const char *b) { return strverscmp(a, b); }

/* framework.conf's post_transaction, once per kernel whose modules changed, after every
 * job of the run: re-read with $kernelver set (as dkms re-reads it), run privileged. */
static void run_post_transaction(const struct run *r)
{
	const struct ctx *c = r->c;
	if (!c->fw || !c->fw->post_transaction || !*c->fw->post_transaction)
		return;
	_cleanup_strv_ struct strv kernels = STRV_INIT; /* in kernel order, not finishing order */
	for (size_t i = 0; i < r->kernels_touched.n; i++)
		strv_push(&kernels, r->kernels_touched.items[i]);
	strv_sort(&kernels, kernel_order);
	for (size_t i = 0; i < kernels.n; i++) {
		_cleanup_free_ char *k = xstrndup(kernels.items[i], strcspn(kernels.items[i], "\t"));
		int code = 0;
		fflush(c->out);
		if (framework_post_transaction(c->etc_dkms, k, &code) < 0 || code != 0)
			fprintf(c->err, "Warning: post_transaction for kernel %s exited with %d\n", k, code);
	}
}

int jobs_run(struct ctx *c, struct job_set *s)
{
	size_t builds = 0;
	for (size_t i = 0; i < s->plan.n; i++)
		builds += s->plan.jobs[i].kind == JOB_BUILD;
	struct run r = { .c = c, .set = s, .buffered = c->max_jobs > 1 && builds > 1, .total = s->plan.n };
	r.progress = strcmp(c->prog, "modforge") == 0 && isatty(fileno(c->err)) && !c->req->quiet;
	jobs_weigh(c, s);
	int e = runlog_open(&r.log, c->req->events);
	if (e < 0) {
		ctx_error(c, "Cannot open the events file %s: %s", c->req->events, strerror(-e));
		return 1;
	}
	e = jobserver_init(&r.js, c->max_jobs);
	if (e < 0) {
		runlog_close(&r.log);
		ctx_error(c, "Cannot create the jobserver pipe: %s", strerror(-e));
		return 1;
	}
	struct sched_ops ops = { job_start, job_finished, &r, r.js.nbfd };
	fflush(c->out);
	e = sched_run(&s->plan, c->max_jobs, &ops);
	jobserver_close(&r.js);
	runlog_close(&r.log);
	if (r.progress) {
		fputs("\r\033[K", c->err);
		fflush(c->err);
	}
	print_summary(&r);
	run_post_transaction(&r);
	strv_release(&r.kernels_touched);
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

void jobs_print_plan(struct ctx *c, struct job_set *s)
{
	jobs_weigh(c, s);
	char *js = plan_json(&s->plan);
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

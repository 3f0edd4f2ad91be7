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
#include "executor/cache.h"
#include "executor/jobserver.h"
#include "executor/proc.h"
#include "orchestrator/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/targets.h"
#include "orchestrator/runlog.h"
#include "orchestrator/tree.h"

/* The build cache's size bound (LRU beyond it). */
#define CACHE_MAX_BYTES (1024LL * 1024 * 1024)

struct run {
	struct ctx *c;
	bool progress;              /* a ninja-style status line on the terminal */
	size_t done, total;
	struct job_set *set;
	struct jobserver js;        /* the run's one job budget */
	struct runlog log;          /* --events and durations */
	int builds_running;
	bool buffered;              /* several builds may run at once */
	struct strv kernels_touched; /* "k\ta" with an install/uninstall this run */
};

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

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* dkms turns a leading "make" into "make -j<N> KERNELRELEASE=<k>"; modforge leaves -j
 * out, since a -j on make's command line makes it leave the jobserver. */
static char *final_make_command(const struct ctx *c, const struct job *j, const struct job_payload *p)
{
	const struct module_conf *conf = p->conf;
	_cleanup_free_ char *cmd = NULL;
	if (conf->make_is_default || !conf->make)
		cmd = xasprintf("make -C %s M=%s/%s/%s/build", p->target->kernel_source_dir,
				c->paths.dkms_tree, j->module, j->version);
	else
		cmd = xstrdup(conf->make);
	if (strncmp(cmd, "make", 4) == 0)
		return xasprintf("make KERNELRELEASE=%s%s", j->kernel, cmd + 4);
	return steal_pointer(&cmd);
}

/* CC/KERNEL_CC from the kernel's CONFIG_CC_VERSION_TEXT, as dkms does. */
static void kernel_cc_env(const struct target *t, struct strv *env)
{
	FILE *f = fopen(t->kernel_config, "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "CONFIG_CC_VERSION_TEXT=", 23) != 0)
			continue;
		const char *v = line + 23;
		while (*v == '"')
			v++;
		size_t n = strcspn(v, "\" \n");
		_cleanup_free_ char *cc = xstrndup(v, n);
		_cleanup_free_ char *probe = xasprintf("command -v %s >/dev/null 2>&1", cc);
		if (n && system(probe) == 0) {
			strv_pushf(env, "CC=%s", cc);
			strv_pushf(env, "KERNEL_CC=%s", cc);
		}
		break;
	}
	fclose(f);
}

static char *read_kernel_config(const struct target *t)
{
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, t->kernel_config) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Record i is built and installed unless its own BUILD_EXCLUSIVE_*[i] exclude it. */
static bool record_wanted(const struct job *j, const struct module_conf *conf, size_t i, const char *kcfg)
{
	struct conf_target ct = { j->kernel, j->arch };
	char *why = conf_record_exclusive(conf, i, &ct, kcfg);
	bool wanted = why == NULL;
	free(why);
	return wanted;
}

struct build_worker {
	struct build_job job;
};

static int build_worker_main(void *data)
{
	struct build_worker *w = data;
	return build_run(&w->job);
}

/* Checks dkms's do_build makes before building; returns 0 to go on, else an exit code. */
static int build_precheck(struct run *r, struct job *j, struct job_payload *p, FILE *out)
{
	struct ctx *c = r->c;
	const struct tree_paths *tp = &c->paths;
	_cleanup_free_ char *base = tree_result_dir(tp, j->module, j->version, j->kernel, j->arch);
	if (is_dir(base)) {
		ctx_error(c, "This module/version has already been built on: %s\nDirectory %s already exists. "
			  "Use the dkms remove function before trying to build again.", j->kernel, base);
		return 3;
	}
	_cleanup_free_ char *kcfg = read_kernel_config(p->target);
	struct conf_target ct = { j->kernel, j->arch };
	char *why = conf_exclusive(p->conf, &ct, kcfg);
	if (why) {
		free(p->skip_reason);
		p->skip_reason = why;
		fflush(out);
		fprintf(c->err, "Warning: The %s/dkms.conf\nfor module %s/%s includes BUILD_EXCLUSIVE directives\n"
			"which do not match this kernel/arch/config for any modules.\n"
			"This indicates that it should not be built.\n", base, j->module, j->version);
		fflush(c->err);
		return 77;
	}
	_cleanup_free_ char *src = tree_source_link(tp, j->module, j->version);
	if (count_entries(src) < 2) {
		ctx_error(c, "The directory %s does not appear to have module source located within it.\n"
			  "Build halted.", src);
		return 8;
	}
	if (!target_has_headers(p->target)) {
		ctx_error(c, "Your kernel headers for kernel %s cannot be found at %s/%s/build or %s/%s/source.\n"
			  "Please install the linux-headers-%s package or use the --kernelsourcedir option to tell DKMS where it's located.",
			  j->kernel, tp->install_tree, j->kernel, tp->install_tree, j->kernel, j->kernel);
		return 21;
	}
	fprintf(out, "Module signing is not yet done by modforge, modules won't be signed\n\n");
	_cleanup_free_ char *missing = xstrdup("");
	for (size_t i = 0; i < p->conf->n_build_depends; i++) {
		const char *bd = p->conf->build_depends[i];
		_cleanup_free_ char *v = tree_installed_version(tp, bd, j->kernel, j->arch);
		if (!v) {
			char *m = xasprintf("%s %s", missing, bd);
			free(missing);
			missing = m;
		}
	}
	if (*missing) {
		if (c->req->force) {
			fprintf(c->err, "Warning: Trying to build module %s/%s for kernel %s (%s) despite of missing BUILD_DEPENDS:%s.\n",
				j->module, j->version, j->kernel, j->arch, missing);
		} else {
			ctx_error(c, "Aborting build of module %s/%s for kernel %s (%s) due to missing BUILD_DEPENDS:%s.\n"
				  "You may override by specifying --force.", j->module, j->version, j->kernel, j->arch, missing);
			return 13;
		}
	}
	return 0;
}

static void fill_build_job(struct run *r, struct job *j, struct job_payload *p, struct build_worker *w,
			   struct build_record *recs, struct strv *env, FILE *out)
{
	const struct module_conf *conf = p->conf;
	_cleanup_free_ char *kcfg = read_kernel_config(p->target);
	size_t n = 0;
	for (size_t i = 0; i < conf->n_records; i++) {
		if (!record_wanted(j, conf, i, kcfg))
			continue;
		recs[n++] = (struct build_record){
			.built_name = conf->records[i].built_name,
			.built_location = conf->records[i].built_location,
			.dest_name = conf->records[i].dest_name,
			.dest_dir = xasprintf("%s/%s%s", r->c->paths.install_tree, j->kernel, conf->records[i].dest_location),
			.strip = conf->records[i].strip,
		};
	}
	kernel_cc_env(p->target, env);
	w->job = (struct build_job){
		.dkms_tree = r->c->paths.dkms_tree, .source_tree = r->c->paths.source_tree,
		.module = j->module, .version = j->version, .kernel = j->kernel, .arch = j->arch,
		.make_command = final_make_command(r->c, j, p),
		.patches = conf->patches, .n_patches = conf->n_patches,
		.pre_build = conf->pre_build, .post_build = conf->post_build,
		.records = recs, .n_records = n,
		.build_env = strv_array(env), .release = r->c->release, .verbose = r->c->req->verbose,
		.out = out, .err = r->c->err,
	};
}

/* A MAKE that passes -j itself runs its own job pool, outside the run's budget. */
static bool sets_jobs(const char *make)
{
	for (const char *t = make; t && (t = strstr(t, "-j")); t += 2)
		if (t == make || t[-1] == ' ' || t[-1] == '\t')
			return true;
	return make && strstr(make, "--jobs") != NULL;
}

/* Everything of the evaluated conf that decides the build's output, as text. */
static void conf_text(const struct build_job *b, struct buf *t)
{
	buf_addf(t, "make=%s\npre=%s\npost=%s\n", b->make_command, b->pre_build ? b->pre_build : "",
		 b->post_build ? b->post_build : "");
	for (size_t i = 0; i < b->n_patches; i++)
		buf_addf(t, "patch=%s\n", b->patches[i]);
	for (size_t i = 0; i < b->n_records; i++) {
		const struct build_record *r = &b->records[i];
		buf_addf(t, "rec=%s|%s|%s|%s|%d\n", r->built_name, r->built_location, r->dest_name,
			 r->dest_dir ? r->dest_dir : "", r->strip);
	}
	for (char *const *e = b->build_env; e && *e; e++)
		if (strncmp(*e, "MAKEFLAGS=", 10) != 0)
			buf_addf(t, "env=%s\n", *e);
	buf_addf(t, "module=%s/%s kernel=%s arch=%s\n", b->module, b->version, b->kernel, b->arch);
}

static const char *env_value(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (char *const *e = env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* A build whose result the cache already has: restore it instead of running make.
 * Builds with a POST_BUILD script are never taken from the cache (it may do more than
 * leave files in the result). Returns true on a hit. */
static bool try_cache(struct run *r, struct job *j, struct job_payload *p, const struct build_job *b, FILE *out)
{
	if (r->c->req->no_cache || (b->post_build && *b->post_build))
		return false;
	struct buf t = BUF_INIT;
	conf_text(b, &t);
	_cleanup_free_ char *src = tree_source_link(&r->c->paths, j->module, j->version);
	struct cache_key_input in = { src, t.data, t.len, p->target->kernel_source_dir, env_value(b->build_env, "CC") };
	int e = cache_key(&in, p->cache_key);
	buf_release(&t);
	if (e < 0) {
		p->cache_key[0] = '\0';
		return false;
	}
	_cleanup_free_ char *base = tree_result_dir(&r->c->paths, j->module, j->version, j->kernel, j->arch);
	if (cache_restore(r->c->paths.dkms_tree, p->cache_key, base) != 1)
		return false;
	fputs(r->c->req->verbose ? "Building module(s)... done (restored from the build cache).\n"
				 : "Building module(s)... done.\n", out);
	p->cache_hit = true;
	return true;
}

static int start_build(struct run *r, struct job *j, struct job_payload *p, pid_t *pid)
{
	struct ctx *c = r->c;
	FILE *out = c->out;
	if (r->buffered) {
		p->buffer = tmpfile();
		if (p->buffer)
			out = p->buffer;
	}
	if (p->announce)
		fprintf(out, "%s\n", p->announce);
	if (tree_is_built(&c->paths, j->module, j->version, j->kernel, j->arch)) {
		if (p->for_install) {
			j->exit_code = 0;
			return 1;
		}
		if (!c->req->force) {
			fprintf(out, "Module %s/%s already built for kernel %s (%s), skip. You may override by specifying --force.\n",
				j->module, j->version, j->kernel, j->arch);
			j->exit_code = 0;
			return 1;
		}
		unbuild_run(c->paths.dkms_tree, j->module, j->version, j->kernel, j->arch);
	}
	if (!jobserver_acquire(&r->js)) {
		if (p->buffer) {
			fclose(p->buffer);
			p->buffer = NULL;
		}
		return SCHED_NO_SLOT;
	}
	int code = build_precheck(r, j, p, out);
	if (code) {
		jobserver_release(&r->js);
		j->exit_code = code;
		return 1;
	}
	if (sets_jobs(p->conf->make))
		fprintf(c->err, "Warning: the MAKE of %s/%s passes -j: that make runs its own jobs, outside modforge's -j budget\n",
			j->module, j->version);
	struct build_worker w;
	struct build_record *recs = xcalloc(p->conf->n_records, sizeof(*recs));
	struct strv env = STRV_INIT;
	int fds[2] = { r->js.rfd, r->js.wfd };
	strv_pushf(&env, "MAKEFLAGS=%s", r->js.makeflags);
	fill_build_job(r, j, p, &w, recs, &env, out);
	if (r->js.rfd >= 0) {
		w.job.keep_fds = fds;
		w.job.n_keep_fds = 2;
	}
	int ret;
	if (try_cache(r, j, p, &w.job, out)) {
		jobserver_release(&r->js);
		j->exit_code = 0;
		ret = SCHED_DONE;
	} else {
		ret = proc_fork_worker(build_worker_main, &w, pid);
		if (ret == 0) {
			p->holds_slot = true;
			r->builds_running++;
		} else {
			jobserver_release(&r->js);
		}
	}
	for (size_t i = 0; i < w.job.n_records; i++)
		free((char *)recs[i].dest_dir);
	free(recs);
	free((char *)w.job.make_command);
	strv_release(&env);
	return ret < 0 ? ret : ret == SCHED_DONE ? SCHED_DONE : SCHED_STARTED;
}

static void fill_install_job(struct run *r, struct job *j, struct job_payload *p, struct install_job *ij,
			     struct install_record *recs, char **src)
{
	const struct module_conf *conf = p->conf;
	_cleanup_free_ char *kcfg = read_kernel_config(p->target);
	size_t n = 0;
	for (size_t i = 0; i < conf->n_records; i++)
		if (record_wanted(j, conf, i, kcfg))
			recs[n++] = (struct install_record){ conf->records[i].dest_name, conf->records[i].dest_location,
							     conf->records[i].conf_dest_location };
	*src = tree_source_link(&r->c->paths, j->module, j->version);
	*ij = (struct install_job){
		.dkms_tree = r->c->paths.dkms_tree, .install_tree = r->c->paths.install_tree,
		.module = j->module, .version = j->version, .kernel = j->kernel, .arch = j->arch,
		.records = recs, .n_records = n, .source_dir = *src,
		.pre_install = conf->pre_install, .post_install = conf->post_install,
		.post_remove = conf->post_remove, .force = r->c->req->force,
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
	int code = 0;
	if (install) {
		if (is_installed(c, j)) {
			if (!c->req->force) {
				fprintf(c->out, "Module %s/%s already installed on kernel %s (%s), skip. You may override by specifying --force.\n",
					j->module, j->version, j->kernel, j->arch);
				free(recs);
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
	return depmod_run(r->c->paths.install_tree, r->c->paths.dkms_tree, j->kernel, r->c->req->no_depmod,
			  r->c->out, r->c->err) ? 6 : 0;
}

static int job_start_kind(struct run *r, struct job *j, struct job_payload *p, pid_t *pid)
{
	switch (j->kind) {
	case JOB_BUILD:
		return start_build(r, j, p, pid);
	case JOB_INSTALL:
		j->exit_code = run_install_like(r, j, p, true);
		return 1;
	case JOB_UNINSTALL:
		j->exit_code = run_uninstall(r, j, p);
		return 1;
	case JOB_UNBUILD:
		j->exit_code = run_unbuild(r, j, p);
		return 1;
	case JOB_DEPMOD:
		j->exit_code = run_depmod(r, j);
		return 1;
	default:
		j->exit_code = 0;
		return 1;
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

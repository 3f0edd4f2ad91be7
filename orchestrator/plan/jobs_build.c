/* jobs_build.c - starting one build job: what the plan decided is said, then the build is
 * restored from the cache or forked as an executor worker under the run's jobserver. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/build.h"
#include "executor/cache.h"
#include "executor/install.h"
#include "executor/proc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/sandbox_policy.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/jobs_internal.h"
#include "orchestrator/plan/signing.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

struct build_worker {
	struct build_job job;
};

static int build_worker_main(void *data)
{
	struct build_worker *w = data;
	return build_run(&w->job);
}

static void say(const struct ctx *c, const struct build_decision *d, FILE *out)
{
	if (!d->message)
		return;
	if (d->message_is_error) {
		fflush(out);
		ctx_error(c, "%s", d->message);
		return;
	}
	fflush(out);
	fputs(d->message, c->err);
	fflush(c->err);
}

/* dkms's signing prologue. A key pair made by this run's keygen job is announced by the
 * first build that uses it; one that could not be made, by every build (dkms tries again
 * for each), with the reason. Returns false then: the modules go unsigned, as in dkms. */
static bool signing_prologue(struct run *r, const struct job_payload *p, FILE *out)
{
	fputs(p->build.sign->prologue, out);
	bool ok = true;
	if (p->keygen_job >= 0) {
		struct job_payload *kp = r->set->payloads[p->keygen_job];
		ok = kp->keygen_result >= 0;
		if (!ok || (kp->keygen_result > 0 && !kp->keygen_told))
			fputs(SIGNING_GENERATED_LINE, out);
		kp->keygen_told = true;
		if (!ok) {
			/* dkms's words (openssl writes the key first: where its directory takes it,
			 * the certificate is what could not be made); as modforge, also why */
			const struct signing *sg = p->build.sign;
			_cleanup_free_ char *key_dir = parent_dir(sg->key);
			if (!is_regular(sg->key) && access(key_dir, W_OK) != 0)
				fprintf(out, "Key file %s not found and can't be generated, modules won't be signed\n",
					sg->key);
			else
				fprintf(out,
					"Certificate file %s not found and can't be generated, modules won't be signed\n",
					sg->cert);
			fflush(out);
			if (strcmp(r->c->prog, "dkms") != 0) {
				fprintf(r->c->err, "Warning: %s\n", kp->keygen_warning ? kp->keygen_warning : "");
				fflush(r->c->err);
			}
		}
	}
	fputs("\n", out);
	fflush(out);
	return ok;
}

/* BUILD_DEPENDS installed by jobs of this plan that ended excluded by BUILD_EXCLUSIVE:
 * missing after all (dkms checks the tree when the build starts). Returns 0 or 13. */
static int excluded_dependencies(struct run *r, const struct job *j, FILE *out)
{
	_cleanup_buf_ struct buf missing = BUF_INIT;
	for (size_t d = 0; d < j->n_deps; d++) {
		const struct job *on = &r->set->plan.jobs[j->deps[d]];
		if (j->dep_kind[d] == DEP_OR_EXCLUDED && on->exit_code == 77)
			buf_addf(&missing, " %s", on->module);
	}
	if (!missing.len)
		return 0;
	fflush(out);
	if (r->c->req->force) {
		fprintf(r->c->err,
			"Warning: Trying to build module %s/%s for kernel %s (%s) despite of missing BUILD_DEPENDS:%s.\n",
			j->module, j->version, j->kernel, j->arch, missing.data);
		return 0;
	}
	ctx_error(r->c,
		  "Aborting build of module %s/%s for kernel %s (%s) due to missing BUILD_DEPENDS:%s.\n"
		  "You may override by specifying --force.",
		  j->module, j->version, j->kernel, j->arch, missing.data);
	return 13;
}

/* How many builds of j's module/version the plan has: they share build/make.log. */
static size_t builds_of(const struct run *r, const struct job *j)
{
	size_t n = 0;
	for (size_t i = 0; i < r->set->plan.n; i++) {
		const struct job *o = &r->set->plan.jobs[i];
		n += o->kind == JOB_BUILD && strcmp(o->module, j->module) == 0 && strcmp(o->version, j->version) == 0;
	}
	return n;
}

/* The decided build as the executor's job; fds and the sandbox's view of dependency
 * results (which exist only now) are added here. */
static void fill_build_job(struct run *r, const struct job *j, const struct job_payload *p, bool signs,
			   struct build_job *b, FILE *out)
{
	const struct ctx *c = r->c;
	const struct build_decision *d = &p->build;
	*b = (struct build_job){
		.dkms_tree = c->paths.dkms_tree,
		.source_tree = c->paths.source_tree,
		.module = j->module,
		.version = j->version,
		.kernel = j->kernel,
		.arch = j->arch,
		.make_command = d->make_command,
		.patches = p->conf->patches,
		.n_patches = p->conf->n_patches,
		.pre_build = p->conf->pre_build,
		.post_build = p->conf->post_build,
		.records = d->records,
		.n_records = d->n_records,
		.compression = d->compression,
		.compress_opts = &d->copts,
		.own_log = builds_of(r, j) > 1,
		.release = c->release,
		.verbose = c->req->verbose,
		.out = out,
		.err = p->err_buffer ? p->err_buffer : c->err,
	};
	if (signs && d->sign->hash) {
		b->sign_hash = d->sign->hash;
		b->sign_key = d->sign->key;
		b->sign_cert = d->sign->cert;
		b->sign_file = d->sign->sign_file;
	}
	if (c->sandbox && c->is_root) {
		b->build_uid = c->build_uid;
		b->build_gid = c->build_gid;
	}
}

/* A build the plan found in the cache: restored instead of made, saying what the build
 * it stands for says (its modules were signed then). False when it was evicted since
 * (then it is built). */
static bool restore(struct run *r, const struct job *j, struct job_payload *p, bool signs, FILE *out)
{
	if (!p->build.cached)
		return false;
	_cleanup_free_ char *base = tree_result_dir(&r->c->paths, j->module, j->version, j->kernel, j->arch);
	if (cache_restore(r->c->paths.dkms_tree, p->build.cache_key, base) != 1)
		return false;
	const struct build_decision *d = &p->build;
	/* The steps before make, as the build it stands for said them (make.log has their output). */
	for (size_t i = 0; i < p->conf->n_patches; i++)
		fprintf(out, "Applying patch %s... done.\n", p->conf->patches[i]);
	const char *pre = p->conf->pre_build;
	if (pre && *pre) {
		_cleanup_free_ char *prog = xasprintf("%s/%.*s", d->source_dir, (int)strcspn(pre, " "), pre);
		if (script_override_dir(d->etc_module_dir, pre) || (is_plain_file(prog) && access(prog, X_OK) == 0)) {
			fputs("Running the pre_build script... done.\n", out);
		} else {
			fputs("\n", out);
			fflush(out);
			fputs("Warning: The pre_build script is not executable.\n",
			      p->err_buffer ? p->err_buffer : r->c->err);
		}
	}
	fputs(r->c->req->verbose ? "Building module(s)... done (restored from the build cache).\n"
				 : "Building module(s)... done.\n",
	      out);
	_cleanup_free_ char *area = tree_build_area(&r->c->paths, j->module, j->version);
	for (size_t i = 0; signs && d->sign->hash && i < d->n_records; i++)
		fprintf(out, "Signing module %s/%s%s.ko\n", area, d->records[i].built_location,
			d->records[i].built_name);
	p->cache_hit = true;
	return true;
}

/* BUILD_DEPENDS_REBUILD (not with --force, as dkms): the version of each dependency
 * installed now goes into the result as .dep_<dependency>, so that a later install of
 * another version rebuilds this one (plan/rebuild.c). notes has room for every
 * BUILD_DEPENDS; texts holds their strings. Returns how many. */
static size_t dependency_notes(const struct ctx *c, const struct job *j, const struct module_conf *conf,
			       struct build_note *notes, struct strv *texts)
{
	if (!conf->build_depends_rebuild || c->req->force)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < conf->n_build_depends; i++) {
		const char *d = conf->build_depends[i];
		char *v = tree_installed_version(&c->paths, d, j->kernel, j->arch);
		if (!v || strchr(d, '/')) {
			free(v);
			continue;
		}
		strv_pushf(texts, LAYOUT_DEP_RECORD_PREFIX "%s", d);
		strv_pushf(texts, "%s\n", v);
		free(v);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		notes[i] = (struct build_note){ texts->items[2 * i], texts->items[2 * i + 1] };
	return n;
}

/* Forks the worker (the slot is held). Returns 0 or -errno. */
static int fork_build(struct run *r, const struct job *j, struct job_payload *p, bool signs, FILE *out, pid_t *pid)
{
	const struct ctx *c = r->c;
	const char *t = c->paths.dkms_tree;
	/* Confined, each build has a private area (seen at <m>/<v>/build), so one
	 * module/version builds for several kernels at once. */
	_cleanup_free_ char *work = layout_private_area(t, j->module, j->version, j->kernel, j->arch);
	_cleanup_free_ char *src_view = layout_source_view(t, j->module, j->version, j->kernel, j->arch);
	struct job_box box;
	box_for_build(c, j->module, j->version, p->target, p->conf, work, c->sandbox ? src_view : NULL, &box);
	/* every kernel's own signing pair (framework paths may name the kernel), not only ctx's */
	for (size_t i = 0; i < r->set->plan.n; i++) {
		const struct job_payload *o = r->set->payloads[i];
		if (o && o->target && o->target->sign.hash) {
			box_hide(&box, o->target->sign.key);
			box_hide(&box, o->target->sign.cert);
		}
	}
	struct build_worker w;
	fill_build_job(r, j, p, signs, &w.job, out);
	w.job.etc_module_dir = p->build.etc_module_dir;
	/* (Debian's dkms keeps --config's file, or the kernel's .config) */
	_cleanup_free_ char *config = c->req->kernel_config ? xstrdup(c->req->kernel_config)
							    : path_join(p->target->kernel_source_dir, ".config");
	w.job.kernel_config = config;
	/* A budget of one slot runs make as dkms does with parallel_jobs=1: `make -j1 ...`
	 * (with more, make takes its slots from the run's jobserver and gets no -j). */
	_cleanup_free_ char *serial = NULL;
	if (r->js.slots == 1 && strncmp(w.job.make_command, "make ", 5) == 0)
		serial = xasprintf("make -j1 %s", w.job.make_command + 5);
	if (serial)
		w.job.make_command = serial;
	struct strv env = STRV_INIT;
	for (size_t i = 0; i < p->build.env.n; i++)
		strv_push(&env, p->build.env.items[i]);
	strv_pushf(&env, "MAKEFLAGS=%s", r->js.makeflags);
	w.job.build_env = strv_array(&env);
	int fds[2] = { r->js.rfd, r->js.wfd };
	if (r->js.rfd >= 0) {
		w.job.keep_fds = fds;
		w.job.n_keep_fds = 2;
	}
	w.job.box = &box.box;
	_cleanup_strv_ struct strv texts = STRV_INIT;
	_cleanup_free_ struct build_note *notes = xcalloc(p->conf->n_build_depends + 1, sizeof(*notes));
	w.job.notes = notes;
	w.job.n_notes = dependency_notes(c, j, p->conf, notes, &texts);
	if (c->sandbox) {
		w.job.work_dir = work;
		w.job.source_view = src_view;
	}
	int ret = proc_fork_worker(build_worker_main, &w, pid);
	strv_release(&env);
	job_box_release(&box);
	return ret;
}

/* A plan's decision that another run made stale (it unbuilt the module meanwhile) is made
 * again, now. */
static void redecide_if_stale(const struct ctx *c, const struct job *j, struct job_payload *p)
{
	if (p->build.verdict != BUILD_SKIP_BUILT || tree_is_built(&c->paths, j->module, j->version, j->kernel, j->arch))
		return;
	_cleanup_free_ char *src = xstrdup(p->build.source_dir);
	build_decision_release(&p->build);
	decide_build(c, j, p->target, p->conf, src, NULL, p->for_install ? BUILD_FOR_INSTALL : BUILD_ASKED, &p->build);
}

/* A build that ends before its signing prologue: already built (also by another run
 * meanwhile), or refused early. Returns true when it ended (j->exit_code set). */
static bool ends_early(const struct ctx *c, struct job *j, struct job_payload *p, FILE *out)
{
	const struct build_decision *d = &p->build;
	bool built_now = d->verdict == BUILD_GO && !d->unbuild_first &&
		tree_is_built(&c->paths, j->module, j->version, j->kernel, j->arch);
	if (d->verdict == BUILD_SKIP_BUILT || built_now) {
		p->skip_reason = "already built";
		if (!p->for_install)
			fprintf(out,
				"Module %s/%s already built for kernel %s (%s), skip. You may override by specifying --force.\n",
				j->module, j->version, j->kernel, j->arch);
		j->exit_code = 0;
		return true;
	}
	/* dkms reads the conf after its result-dir check (3), before the others */
	if (p->says_conf_warnings && !(d->verdict == BUILD_REFUSE && d->code == 3)) {
		fflush(out);
		_cleanup_free_ char *link = tree_source_link(&c->paths, j->module, j->version);
		_cleanup_free_ char *read_as = path_join(link, "dkms.conf");
		confload_print_step_warnings(p->err_buffer ? p->err_buffer : c->err, p->conf, true, read_as);
		p->conf_read = true;
	}
	if (d->verdict == BUILD_REFUSE && !d->after_prologue) {
		say(c, d, out);
		j->exit_code = d->code;
		return true;
	}
	return false;
}

/* Says the prologue and what comes after it; returns 0 to build, else the exit code. */
static int prologue(struct run *r, const struct job *j, const struct job_payload *p, FILE *out, bool *signs)
{
	const struct build_decision *d = &p->build;
	_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
	/* autoinstall says it once for the kernel; a BUILD_DEPENDS_REBUILD rebuild says it
	 * only when no build of the run has said it for the kernel (dkms's prepared kernel) */
	if (p->prologue_said_before || (p->rebuild && strv_contains(&r->prologue_said, ka))) {
		*signs = p->keygen_job < 0 || r->set->payloads[p->keygen_job]->keygen_result >= 0;
	} else {
		*signs = signing_prologue(r, p, out);
		if (!strv_contains(&r->prologue_said, ka))
			strv_push(&r->prologue_said, ka);
	}
	say(r->c, d, out);
	int code = d->verdict == BUILD_REFUSE ? d->code : excluded_dependencies(r, j, out);
	if (code == 0 && d->make_warning) {
		fflush(out);
		fputs(d->make_warning, r->c->err);
		fflush(r->c->err);
	}
	return code;
}

int start_build(struct run *r, struct job *j, struct job_payload *p, pid_t *pid)
{
	struct ctx *c = r->c;
	redecide_if_stale(c, j, p);
	bool go = p->build.verdict == BUILD_GO;
	FILE *out = c->out;
	if (r->buffered && go) {
		p->buffer = tmpfile();
		if (p->buffer)
			out = p->buffer;
		/* With the status line on the terminal, the worker's stderr waits too. */
		if (r->progress.tty)
			p->err_buffer = tmpfile();
	}
	if (go && !jobserver_acquire(&r->js)) {
		if (p->buffer) {
			fclose(p->buffer);
			p->buffer = NULL;
		}
		if (p->err_buffer) {
			fclose(p->err_buffer);
			p->err_buffer = NULL;
		}
		return SCHED_NO_SLOT;
	}
	if (p->kernel_prologue && p->build.verdict != BUILD_SKIP_BUILT) {
		/* dkms's autoinstall signs up once per kernel, before its first module that is not
		 * built: said on the terminal at once (the blocks of builds come when they end) */
		_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
		if (!strv_contains(&r->prologue_said, ka)) {
			signing_prologue(r, p, c->out);
			strv_push(&r->prologue_said, ka);
		}
		p->prologue_said_before = true;
	}
	if (p->announce)
		fprintf(out, "%s\n", p->announce);
	if (ends_early(c, j, p, out)) {
		if (go)
			jobserver_release(&r->js);
		return SCHED_DONE;
	}
	bool signs;
	int code = prologue(r, j, p, out, &signs);
	if (code || restore(r, j, p, signs, out)) {
		if (go)
			jobserver_release(&r->js);
		j->exit_code = code;
		return SCHED_DONE;
	}
	int ret = fork_build(r, j, p, signs, out, pid);
	if (ret < 0) {
		jobserver_release(&r->js);
		return ret;
	}
	p->holds_slot = true;
	p->made = true;
	r->builds_running++;
	return SCHED_STARTED;
}

/* jobs_build.c - starting one build job: dkms's per-kernel checks before a build, the
 * build cache, and the executor worker that runs the build under the run's jobserver. */
#include <dirent.h>
#include <errno.h>
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
#include "executor/compress.h"
#include "executor/install.h"
#include "executor/proc.h"
#include "orchestrator/conf.h"
#include "orchestrator/confine.h"
#include "orchestrator/signing.h"
#include "orchestrator/context.h"
#include "orchestrator/framework.h"
#include "orchestrator/jobs_internal.h"
#include "orchestrator/targets.h"
#include "orchestrator/tree.h"

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

/* CC/KERNEL_CC from the kernel's CONFIG_CC_VERSION_TEXT (its first word), as dkms does. */
static void kernel_cc_env(const struct target *t, struct strv *env)
{
	_cleanup_free_ char *text = target_config_value(t, "CONFIG_CC_VERSION_TEXT");
	if (!text)
		return;
	_cleanup_free_ char *cc = xstrndup(text, strcspn(text, " "));
	_cleanup_free_ char *exe = find_in_path(cc, getenv("PATH"));
	if (exe) {
		strv_pushf(env, "CC=%s", cc);
		strv_pushf(env, "KERNEL_CC=%s", cc);
	}
}

/* Record i is built and installed unless its own BUILD_EXCLUSIVE_*[i] exclude it. */
bool record_wanted(const struct job *j, const struct module_conf *conf, size_t i, const char *kcfg)
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
static int build_precheck(struct run *r, struct job *j, struct job_payload *p, FILE *out, struct signing *sig)
{
	struct ctx *c = r->c;
	const struct tree_paths *tp = &c->paths;
	_cleanup_free_ char *base = tree_result_dir(tp, j->module, j->version, j->kernel, j->arch);
	if (is_dir(base)) {
		ctx_error(c, "This module/version has already been built on: %s\nDirectory %s already exists. "
			  "Use the dkms remove function before trying to build again.", j->kernel, base);
		return 3;
	}
	struct conf_target ct = { j->kernel, j->arch };
	char *why = conf_exclusive(p->conf, &ct, p->target->config_text);
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
	signing_prepare(c, p->target, sig, out);
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
	size_t n = 0;
	for (size_t i = 0; i < conf->n_records; i++) {
		if (!record_wanted(j, conf, i, p->target->config_text))
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
	/* What happens to the modules after make is part of the result too. */
	buf_addf(&t, "\nsign %s %s\n", b->sign_hash ? b->sign_hash : "-", b->sign_file ? b->sign_file : "-");
	const struct compress_opts *o = b->compress_opts;
	buf_addf(&t, "compress %d %s|%s|%s\n", b->compression, o && o->gzip ? o->gzip : "-",
		 o && o->xz ? o->xz : "-", o && o->zstd ? o->zstd : "-");
	_cleanup_buf_ struct buf cert = BUF_INIT;
	if (b->sign_cert && buf_read_file(&cert, b->sign_cert) == 0)
		buf_add(&t, cert.data, cert.len);
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

int start_build(struct run *r, struct job *j, struct job_payload *p, pid_t *pid)
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
			return SCHED_DONE;
		}
		if (!c->req->force) {
			fprintf(out, "Module %s/%s already built for kernel %s (%s), skip. You may override by specifying --force.\n",
				j->module, j->version, j->kernel, j->arch);
			j->exit_code = 0;
			return SCHED_DONE;
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
	struct signing sig;
	memset(&sig, 0, sizeof(sig));
	int code = build_precheck(r, j, p, out, &sig);
	if (code) {
		signing_release(&sig);
		jobserver_release(&r->js);
		j->exit_code = code;
		return SCHED_DONE;
	}
	if (sets_jobs(p->conf->make))
		fprintf(c->err, "Warning: the MAKE of %s/%s passes -j: that make runs its own jobs, outside modforge's -j budget\n",
			j->module, j->version);
	struct build_worker w;
	/* Confined, each build has a private area (seen at <m>/<v>/build), so one
	 * module/version builds for several kernels at once. */
	const char *t = c->paths.dkms_tree;
	_cleanup_free_ char *work = layout_private_area(t, j->module, j->version, j->kernel, j->arch);
	_cleanup_free_ char *src_view = layout_source_view(t, j->module, j->version, j->kernel, j->arch);
	struct job_box box;
	box_for_build(c, j->module, j->version, p->target, p->conf, work, c->sandbox ? src_view : NULL, &box);
	struct build_record *recs = xcalloc(p->conf->n_records, sizeof(*recs));
	struct strv env = STRV_INIT;
	int fds[2] = { r->js.rfd, r->js.wfd };
	strv_pushf(&env, "MAKEFLAGS=%s", r->js.makeflags);
	fill_build_job(r, j, p, &w, recs, &env, out);
	if (r->js.rfd >= 0) {
		w.job.keep_fds = fds;
		w.job.n_keep_fds = 2;
	}
	w.job.box = &box.box;
	if (c->sandbox) {
		w.job.work_dir = work;
		w.job.source_view = src_view;
	}
	if (c->sandbox && c->is_root) {
		w.job.build_uid = c->build_uid;
		w.job.build_gid = c->build_gid;
	}
	w.job.sign_hash = sig.hash;
	w.job.sign_key = sig.key;
	w.job.sign_cert = sig.cert;
	w.job.sign_file = sig.sign_file;
	/* Compressed as the kernel's own modules are (dkms scans its module tree). */
	const struct framework *fw = c->fw;
	struct compress_opts copts = {
		fw ? framework_value(fw, fw->compress_gzip_opts, "compress_gzip_opts") : NULL,
		fw ? framework_value(fw, fw->compress_xz_opts, "compress_xz_opts") : NULL,
		fw ? framework_value(fw, fw->compress_zstd_opts, "compress_zstd_opts") : NULL,
	};
	w.job.compression = compress_for_kernel(c->paths.install_tree, j->kernel);
	w.job.compress_opts = &copts;
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
	job_box_release(&box);
	signing_release(&sig);
	return ret < 0 ? ret : ret == SCHED_DONE ? SCHED_DONE : SCHED_STARTED;
}


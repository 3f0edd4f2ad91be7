/* jobs_tree.c - the jobs that change the tree in this process (everything but a build's
 * make): add, keygen, store, install, uninstall, unbuild, depmod, remove and
 * post_transaction, each under the dkms tree's exclusive lock (status waits for it). */
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
#include "executor/cache.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/modalias.h"
#include "executor/treelock.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/sandbox_policy.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"
#include "orchestrator/plan/jobs_internal.h"
#include "orchestrator/plan/signing.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

/* The build cache's size bound (LRU beyond it). */
#define CACHE_MAX_BYTES (1024LL * 1024 * 1024)

static void touch_kernel(struct run *r, const struct job *j)
{
	_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
	if (!strv_contains(&r->kernels_touched, ka))
		strv_push(&r->kernels_touched, ka);
}

/* A package script (POST_ADD, ...): privileged as in dkms, confined with --sandbox-scripts. */
static void package_script(const struct ctx *c, const char *module, const char *src, const char *type,
			   const char *script)
{
	struct job_box box;
	bool boxed = c->req->sandbox_scripts && c->sandbox;
	if (boxed)
		box_for_script(c, src, &box);
	_cleanup_free_ char *etc = path_join(c->etc_dkms, module);
	package_script_run(src, etc, type, script, boxed ? &box.box : NULL, c->out, c->err);
	if (boxed)
		job_box_release(&box);
}

/* dkms's add_source_tree's copy: <source_tree>/<m>-<v> from the directory given. */
static int copy_source(const struct ctx *c, const struct job *j, const char *from, const char *dst)
{
	if (c->req->force && is_dir(dst)) {
		fprintf(c->err, "\n");
		fprintf(c->out, "Forcing install of %s/%s\n", j->module, j->version);
		rm_rf(dst);
	}
	_cleanup_free_ char *real_dst = real_path(dst);
	if (real_dst && strcmp(real_dst, from) == 0)
		return 0;
	int e = mkdir_p(dst, 0755);
	if (e == 0)
		e = copy_tree(from, dst);
	if (e < 0) {
		ctx_error(c, "Cannot copy %s to %s: %s", from, dst, strerror(-e));
		return 9;
	}
	return 0;
}

/* dkms's add_module: the source link and build dir, then POST_ADD. */
static int run_add(struct run *r, struct job *j, struct job_payload *p)
{
	const struct ctx *c = r->c;
	const char *m = j->module, *v = j->version;
	_cleanup_free_ char *srcdir = xasprintf("%s/%s-%s", c->paths.source_tree, m, v);
	if (p->copy_source) {
		int e = copy_source(c, j, p->source, srcdir);
		if (e || !p->link_source)
			return e;
	}
	int lock;
	int e = tree_lock(c->paths.dkms_tree, true, c->err, &lock);
	if (e == 0 && tree_version_state(&c->paths, m, v) == TREE_V_ADDED) {
		tree_unlock(lock); /* another run added it meanwhile */
		ctx_error(
			c,
			"DKMS tree already contains: %s/%s\nYou cannot add the same module/version combo more than once.",
			m, v);
		return 3;
	}
	_cleanup_free_ char *link = tree_source_link(&c->paths, m, v);
	_cleanup_free_ char *build = tree_build_area(&c->paths, m, v);
	if (p->says_conf_warnings && p->conf) {
		fflush(c->out);
		confload_print_warnings(c->err, p->conf);
	}
	fprintf(c->out, "Creating symlink %s -> %s\n", link, srcdir);
	fflush(c->out);
	if (e == 0)
		e = mkdir_p(build, 0755);
	/* a binaries-only ldtarball's stand-in (a real source/ with its dkms.conf) gives way
	 * to the source */
	if (e == 0 && is_plain_dir(link))
		e = rm_rf(link);
	if (e == 0 && symlink(srcdir, link) < 0)
		e = -errno;
	tree_unlock(lock);
	if (e < 0) {
		ctx_error(c, "Cannot create %s: %s", link, strerror(-e));
		return 1;
	}
	package_script(c, m, link, "post_add", p->conf ? p->conf->post_add : NULL);
	if (p->blank_after)
		fputs("\n", c->out);
	return 0;
}

/* Makes the key pair, unless every build that signs with it was skipped already; for
 * generate_mok, saying what it does as dkms does. */
static int run_keygen(struct run *r, struct job *j, struct job_payload *p)
{
	if (p->keygen_says)
		return signing_generate_mok(r->c, r->c->out);
	bool needed = false;
	for (size_t i = 0; i < r->set->plan.n && !needed; i++) {
		const struct job_payload *bp = r->set->payloads[i];
		needed = bp && bp->keygen_job == (long)j->id && r->set->plan.jobs[i].state != JOB_SKIPPED;
	}
	if (!needed)
		return 0;
	_cleanup_buf_ struct buf why = BUF_INIT;
	_cleanup_free_ char *key = p->sign ? xstrdup(p->sign->key) : signing_key_path(r->c);
	_cleanup_free_ char *cert = p->sign ? xstrdup(p->sign->cert) : signing_cert_path(r->c);
	p->keygen_result = signing_make_key(r->c, key, cert, &why);
	if (p->keygen_result < 0)
		p->keygen_warning = buf_detach(&why);
	return 0;
}

/* A build's result into the cache; a full or broken cache never fails the run. */
static int run_store(struct run *r, struct job *j, struct job_payload *p)
{
	struct job_payload *bp = r->set->payloads[p->build_job];
	const struct job *bj = &r->set->plan.jobs[p->build_job];
	if (!bp->made)
		return 0; /* restored, or built by another run meanwhile: not this plan's result */
	if (bp->keygen_job >= 0 && r->set->payloads[bp->keygen_job]->keygen_result < 0)
		return 0; /* built unsigned: not what its key says */
	if (bp->build.store_after_keygen && !bp->build.cache_key[0])
		(void)decide_cache_key(bj, bp->target, bp->conf, &bp->build);
	if (bp->cache_hit || !bp->build.cache_key[0])
		return 0;
	_cleanup_free_ char *base = tree_result_dir(&r->c->paths, j->module, j->version, j->kernel, j->arch);
	(void)cache_store(r->c->paths.dkms_tree, bp->build.cache_key, base, (size_t)CACHE_MAX_BYTES);
	return 0;
}

static void fill_install_job(struct run *r, struct job *j, struct job_payload *p, struct install_job *ij,
			     struct install_record *recs, char **src, char **etc)
{
	const struct module_conf *conf = p->conf;
	size_t n = 0;
	for (size_t i = 0; i < conf->n_records; i++)
		if (record_wanted(j->kernel, j->arch, conf, i, p->target->config_text))
			recs[n++] = (struct install_record){ conf->records[i].dest_name, conf->records[i].dest_location,
							     conf->records[i].conf_dest_location };
	*src = tree_source_link(&r->c->paths, j->module, j->version);
	*ij = (struct install_job){
		.dkms_tree = r->c->paths.dkms_tree,
		.install_tree = r->c->paths.install_tree,
		.module = j->module,
		.version = j->version,
		.kernel = j->kernel,
		.arch = j->arch,
		.records = recs,
		.n_records = n,
		.source_dir = *src,
		.etc_module_dir = *etc = path_join(r->c->etc_dkms, j->module),
		.pre_install = conf->pre_install,
		.post_install = conf->post_install,
		.post_remove = conf->post_remove,
		.force = r->c->req->force,
		.force_version_override = r->c->req->force_version_override,
		.out = r->c->out,
		.err = r->c->err,
	};
}

static int depmod_now(struct run *r, const struct job *j);

enum forced { FORCED_NO, FORCED_INSTALL, FORCED_VERSION };

/* dkms's modules_to_force_install: the words of every file in the directory name modules
 * whose install is forced ("M"), or whose version check is skipped ("M_version-override"). */
static enum forced forced_install(const struct ctx *c, const char *module)
{
	enum forced f = FORCED_NO;
	struct dirent **names;
	int n = scandir(c->forced_modules_dir, &names, NULL, alphasort); /* dkms's glob order */
	_cleanup_free_ char *override = xasprintf("%s_version-override", module);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *path = path_join(c->forced_modules_dir, names[i]->d_name);
		_cleanup_buf_ struct buf text = BUF_INIT;
		if (f == FORCED_NO && names[i]->d_name[0] != '.' && is_regular(path) && buf_read_file(&text, path) == 0)
			for (char *save = NULL, *w = strtok_r(text.data, " \t\n", &save); w && f == FORCED_NO;
			     w = strtok_r(NULL, " \t\n", &save))
				f = !strcmp(w, module)         ? FORCED_INSTALL
					: !strcmp(w, override) ? FORCED_VERSION
							       : FORCED_NO;
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return f;
}

static bool is_installed(const struct ctx *c, const struct job *j)
{
	_cleanup_free_ char *v = tree_installed_version(&c->paths, j->module, j->kernel, j->arch);
	return v && strcmp(v, j->version) == 0;
}

static int run_install_like(struct run *r, struct job *j, struct job_payload *p, bool install)
{
	struct ctx *c = r->c;
	struct install_job ij;
	struct install_record *recs = xcalloc(p->conf->n_records + 1, sizeof(*recs));
	_cleanup_free_ char *src = NULL, *etc = NULL;
	fill_install_job(r, j, p, &ij, recs, &src, &etc);
	struct job_box box;
	bool boxed = c->req->sandbox_scripts && c->sandbox;
	if (boxed) {
		box_for_script(c, src, &box);
		ij.script_box = &box.box;
	}
	int code = 0;
	bool skip = false;
	if (install && is_installed(c, j)) {
		if (!c->req->force) {
			fprintf(c->out,
				"Module %s/%s already installed on kernel %s (%s), skip. You may override by specifying --force.\n",
				j->module, j->version, j->kernel, j->arch);
			skip = true;
			p->skip_reason = "already installed";
		} else if (uninstall_run(&ij) == 0) {
			/* dkms's install --force: an uninstall, with its own depmod, first */
			depmod_now(r, j);
			fputs("\n", c->out);
		}
	}
	if (!skip && install && p->says_conf_warnings) { /* dkms's do_install reads the conf here */
		const struct job_payload *bp = j->n_deps ? r->set->payloads[j->deps[0]] : NULL;
		bool read_by_build = bp && r->set->plan.jobs[j->deps[0]].kind == JOB_BUILD && bp->conf_read;
		_cleanup_free_ char *link = tree_source_link(&c->paths, j->module, j->version);
		_cleanup_free_ char *read_as = path_join(link, "dkms.conf");
		fflush(c->out);
		confload_print_step_warnings(c->err, p->conf, !read_by_build, read_as);
	}
	if (!skip && install) {
		enum forced f = forced_install(c, j->module);
		if (f == FORCED_INSTALL) {
			fprintf(c->out, "Forcing installation of %s\n", j->module);
			ij.force = true;
		} else if (f == FORCED_VERSION) {
			fprintf(c->out, "Forcing version override of %s\n", j->module);
			ij.force_version_override = true;
		}
	}
	if (!skip)
		code = install ? install_run(&ij) : uninstall_run(&ij);
	free(recs);
	if (boxed)
		job_box_release(&box);
	if (!skip)
		touch_kernel(r, j);
	return code;
}

static int run_uninstall(struct run *r, struct job *j, struct job_payload *p)
{
	struct ctx *c = r->c;
	if (p->blank_before)
		fputs("\n", c->out);
	if (!is_installed(c, j) || !tree_is_built(&c->paths, j->module, j->version, j->kernel, j->arch)) {
		bool excl = p->conf &&
			(p->conf->excl_kernel || p->conf->excl_arch || p->conf->excl_config ||
			 p->conf->excl_kernel_min || p->conf->excl_kernel_max);
		if (!excl)
			fprintf(c->out, "Module %s/%s is not installed for kernel %s (%s). Skipping...\n", j->module,
				j->version, j->kernel, j->arch);
		p->skip_reason = "not installed";
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
		fprintf(c->out, "Module %s/%s is not built for kernel %s (%s). Skipping...\n", j->module, j->version,
			j->kernel, j->arch);
		p->skip_reason = "not built";
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

/* --modprobe-on-install: after installs for the running kernel, as dkms. */
static void modprobe_if_asked(struct run *r, const struct job *j)
{
	const struct ctx *c = r->c;
	if (!c->modprobe_on_install)
		return;
	bool installed = false;
	for (size_t i = 0; i < r->set->plan.n && !installed; i++) {
		const struct job *in = &r->set->plan.jobs[i];
		installed = in->kind == JOB_INSTALL && in->state == JOB_DONE && strcmp(in->kernel, j->kernel) == 0 &&
			strcmp(in->arch, j->arch) == 0;
	}
	_cleanup_free_ char *running = host_release();
	if (!installed || strcmp(running, j->kernel) != 0)
		return;
	fflush(c->out);
	int e = modalias_load(c->sysfs_devices, "/lib/systemd/system/systemd-modules-load.service", c->err);
	if (e < 0)
		ctx_warn(c, "--modprobe-on-install: cannot read %s: %s", c->sysfs_devices, strerror(-e));
}

/* depmod for j's kernel, now: dkms's words for one kernel; with several in the plan,
 * each names its kernel. Returns 0 or depmod's failure. */
static int depmod_now(struct run *r, const struct job *j)
{
	bool several = false;
	for (size_t i = 0; i < r->set->plan.n && !several; i++) {
		const struct job *o = &r->set->plan.jobs[i];
		several = o->kind == JOB_DEPMOD && (strcmp(o->kernel, j->kernel) || strcmp(o->arch, j->arch));
	}
	int e = depmod_run(r->c->paths.install_tree, r->c->paths.dkms_tree, j->kernel, r->c->req->no_depmod, several,
			   r->c->out, r->c->err);
	if (e == 0)
		journal_depmod_done(r->c->paths.dkms_tree, j->kernel);
	return e;
}

static int run_depmod(struct run *r, struct job *j, struct job_payload *p)
{
	_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
	if (!strv_contains(&r->kernels_touched, ka)) {
		p->skip_reason = "nothing changed on this kernel";
		return 0;
	}
	if (depmod_now(r, j))
		return 6;
	modprobe_if_asked(r, j);
	return 0;
}

/* Leftover .tmp_* build dirs of m/v go, as in dkms's remove. */
static void remove_stale_tmp(const struct ctx *c, const char *m, const char *v)
{
	_cleanup_free_ char *vdir = tree_version_dir(&c->paths, m, v);
	DIR *d = opendir(vdir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "source"))
			continue;
		_cleanup_free_ char *kdir = path_join(vdir, de->d_name);
		DIR *kd = opendir(kdir);
		if (!kd)
			continue;
		struct dirent *ke;
		while ((ke = readdir(kd))) {
			if (strncmp(ke->d_name, ".tmp_", 5) == 0) {
				_cleanup_free_ char *t = path_join(kdir, ke->d_name);
				rm_rf(t);
			}
		}
		closedir(kd);
		rmdir(kdir);
	}
	closedir(d);
}

/* The leftover .tmp_* dirs; then, when every job before it succeeded, deletes <m>/<v>
 * when only build/tarball/source (and the like) remain, then <m>. */
static int run_remove(struct run *r, struct job *j)
{
	const struct ctx *c = r->c;
	const char *m = j->module, *v = j->version;
	remove_stale_tmp(c, m, v);
	for (size_t d = 0; d < j->n_deps; d++)
		if (r->set->plan.jobs[j->deps[d]].state != JOB_DONE)
			return 0; /* something of it is left: the version stays */
	_cleanup_free_ char *vdir = tree_version_dir(&c->paths, m, v);
	DIR *d = opendir(vdir);
	bool other = false;
	if (d) {
		static const char *const keep[] = { "build", "tarball", "driver_disk", "rpm", "deb", "source" };
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			_cleanup_free_ char *p = path_join(vdir, de->d_name);
			if (!is_dir(p))
				continue;
			bool k = false;
			for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
				k |= strcmp(de->d_name, keep[i]) == 0;
			other |= !k;
		}
		closedir(d);
	}
	if (!other) {
		fprintf(c->out, "Deleting module %s/%s completely from the DKMS tree.\n", m, v);
		if (journal_trash(c->paths.dkms_tree, vdir) < 0)
			rm_rf(vdir);
		/* its build locks and failed builds' logs (modforge's own state) go with it */
		char *own[] = { layout_build_locks(c->paths.dkms_tree, m, v),
				layout_failed_logs(c->paths.dkms_tree, m, v) };
		for (size_t i = 0; i < 2; i++) {
			rm_rf(own[i]);
			_cleanup_free_ char *mdir_own = parent_dir(own[i]);
			rmdir(mdir_own);
			free(own[i]);
		}
	}
	_cleanup_free_ char *mdir = tree_module_dir(&c->paths, m);
	rmdir(mdir);
	return 0;
}

static int kernel_order(const char *a, const char *b) { return strverscmp(a, b); }

/* framework.conf's post_transaction, once per kernel whose modules changed: re-read with
 * $kernelver set (as dkms re-reads it), run privileged. */
static int run_post_transaction(struct run *r)
{
	const struct ctx *c = r->c;
	_cleanup_strv_ struct strv kernels = STRV_INIT; /* in kernel order, not finishing order */
	for (size_t i = 0; i < r->kernels_touched.n; i++)
		strv_push(&kernels, r->kernels_touched.items[i]);
	strv_sort(&kernels, kernel_order);
	_cleanup_free_ char *log = path_join(c->paths.dkms_tree, "post_transaction.log");
	for (size_t i = 0; i < kernels.n; i++) {
		_cleanup_free_ char *k = xstrndup(kernels.items[i], strcspn(kernels.items[i], "\t"));
		int code = 0;
		fflush(c->out);
		if (framework_post_transaction(c->etc_dkms, k, log, i == 0, &code) < 0)
			ctx_warn(c, "post_transaction for kernel %s could not run", k);
		fflush(c->out);
	}
	return 0;
}

int run_tree_job(struct run *r, struct job *j, struct job_payload *p)
{
	/* These take the lock themselves, around their change only (POST_ADD or the
	 * post_transaction script may run dkms), or need none. */
	switch (j->kind) {
	case JOB_ADD: return run_add(r, j, p);
	case JOB_KEYGEN: return run_keygen(r, j, p);
	case JOB_STORE: return run_store(r, j, p); /* the cache is atomic on its own */
	case JOB_POST_TRANSACTION: return run_post_transaction(r);
	default: break;
	}
	if (p && p->announce) { /* a BUILD_DEPENDS_REBUILD rebuild starts here; kernel_prerm's module */
		fflush(r->c->out);
		fprintf(p->announce_on_err ? r->c->err : r->c->out, "%s", p->announce);
		fflush(p->announce_on_err ? r->c->err : r->c->out);
	}
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
	case JOB_DEPMOD: code = run_depmod(r, j, p); break;
	case JOB_REMOVE: code = run_remove(r, j); break;
	default: break;
	}
	tree_unlock(lock);
	return code;
}

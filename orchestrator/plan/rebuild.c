/* rebuild.c - BUILD_DEPENDS_REBUILD (dkms 3.2.0+), planned: a module built against one
 * version of a dependency is built again when another version of it is installed.
 *
 * The record is the result's .dep_<dependency> (written by the build, jobs_build.c),
 * holding the version installed when it was built. Reads only; adds jobs. */
#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/xalloc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

/* The version of dep that x/xv's result for t records, or NULL. */
static char *recorded_version(const struct ctx *c, const char *x, const char *xv, const struct target *t,
			      const char *dep)
{
	_cleanup_free_ char *res = tree_result_dir(&c->paths, x, xv, t->kernel, t->arch);
	_cleanup_free_ char *name = xasprintf(LAYOUT_DEP_RECORD_PREFIX "%s", dep);
	_cleanup_free_ char *path = path_join(res, name);
	_cleanup_buf_ struct buf b = BUF_INIT;
	if (buf_read_file(&b, path) < 0 || b.len == 0 || b.len > 256)
		return NULL;
	char *v = xstrndup(b.data, b.len);
	v[strcspn(v, "\n")] = '\0';
	return v;
}

static bool depends_on(const struct module_conf *conf, const char *m)
{
	for (size_t i = 0; i < conf->n_build_depends; i++)
		if (strcmp(conf->build_depends[i], m) == 0)
			return true;
	return false;
}

/* x/xv's conf for t when it asks to be rebuilt for m's new version v; else NULL. */
static struct module_conf *wants_rebuild(const struct ctx *c, const char *x, const char *xv, struct target *t,
					 const char *m, const char *v)
{
	_cleanup_free_ char *recorded = recorded_version(c, x, xv, t, m);
	if (recorded && strcmp(recorded, v) == 0)
		return NULL;
	_cleanup_free_ char *src = tree_source_link(&c->paths, x, xv);
	_cleanup_free_ char *conf_path = path_join(src, "dkms.conf");
	struct module_conf *conf = NULL;
	/* Read on the side: a conf that does not read is no dependent (its own commands say why). */
	struct conf_load l = { .module = x, .version = xv, .conf_path = conf_path, .quiet = true };
	if (confload(c, &l, t, 1, &conf) != 0)
		return NULL;
	if (conf->build_depends_rebuild && depends_on(conf, m))
		return conf;
	conf_free(conf);
	return NULL;
}

/* The first job of kind for module m (any version) on t, or -1. */
static long find_module_job(const struct job_set *s, enum job_kind kind, const char *m, const struct target *t)
{
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct job *j = &s->plan.jobs[i];
		if (j->kind == kind && j->module && strcmp(j->module, m) == 0 && j->kernel &&
		    strcmp(j->kernel, t->kernel) == 0 && strcmp(j->arch, t->arch) == 0)
			return (long)i;
	}
	return -1;
}

/* The BUILD_DEPENDS of conf this plan installs on t, or that are installed there now. */
static void provided_on(const struct ctx *c, const struct job_set *s, const struct module_conf *conf,
			const struct target *t, struct strv *out)
{
	for (size_t i = 0; i < conf->n_build_depends; i++) {
		const char *d = conf->build_depends[i];
		_cleanup_free_ char *now = tree_installed_version(&c->paths, d, t->kernel, t->arch);
		if (now || find_module_job(s, JOB_INSTALL, d, t) >= 0)
			strv_push(out, d);
	}
}

/* A depmod of t that runs right after job `after` succeeds (one per such job), for the
 * rebuilds, which dkms runs between depmods. */
static size_t depmod_after(struct job_set *s, const struct target *t, size_t after)
{
	size_t main_depmod = jobs_plan_depmod(s, t); /* (the kernel's last, which waits for all) */
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct job *j = &s->plan.jobs[i];
		if (i != main_depmod && j->kind == JOB_DEPMOD && j->n_deps == 1 && j->deps[0] == after)
			return i;
	}
	size_t dm;
	jobs_add(s, JOB_DEPMOD, NULL, NULL, t, &dm);
	plan_dep(&s->plan, dm, after);
	return dm;
}

/* After install (of its dependency) and its depmod, and after the rebuild before it
 * (prev: its install, or -1) and that one's depmod: uninstall x/xv and depmod, unbuild,
 * build again and install it, as dkms does, one dependent after the other; each waits
 * for the one before; the kernel's depmod waits for the uninstall and the install only
 * to end (a failed rebuild leaves the depmod of the dependency to run). Returns the
 * rebuild's install. */
static size_t plan_again(const struct ctx *c, struct job_set *s, const char *x, const char *xv, struct target *t,
			 struct module_conf *conf, size_t install, long prev)
{
	size_t dm = jobs_plan_depmod(s, t);
	size_t dm_install = depmod_after(s, t, install);
	size_t un;
	struct job_payload *up = jobs_add(s, JOB_UNINSTALL, x, xv, t, &un);
	up->conf = conf;
	plan_dep(&s->plan, un, install);
	plan_dep_kind(&s->plan, un, dm_install, DEP_ORDER);
	if (prev >= 0)
		plan_dep_kind(&s->plan, un, depmod_after(s, t, (size_t)prev), DEP_ORDER);
	plan_dep_kind(&s->plan, dm, un, DEP_ORDER);
	size_t dm_uninstall = depmod_after(s, t, un);
	up->announce = xasprintf("\nRebuilding module %s/%s due to updated dependencies\n\n", x, xv);
	_cleanup_free_ char *src = tree_source_link(&c->paths, x, xv);
	_cleanup_strv_ struct strv provided = STRV_INIT;
	provided_on(c, s, conf, t, &provided);
	/* after = -1: the plan's keygen job must not wait for this install (its build waits
	 * for the keygen). The unbuild goes after the uninstall. */
	size_t b = jobs_plan_build(c, s, x, xv, t, conf, src, &provided, BUILD_AGAIN, -1);
	struct job_payload *bp = s->payloads[b];
	bp->owns_conf = true;
	bp->rebuild = true;
	plan_dep(&s->plan, b, un);
	plan_dep_kind(&s->plan, b, dm_uninstall, DEP_ORDER);
	long ub = plan_find(&s->plan, JOB_UNBUILD, x, xv, t->kernel, t->arch);
	if (ub >= 0)
		plan_dep(&s->plan, (size_t)ub, un);
	return jobs_plan_install(s, x, xv, t, conf, b, DEP_ORDER);
}

void jobs_plan_rebuild_dependents(const struct ctx *c, struct job_set *s, const char *m, const char *v,
				  struct target *t, size_t install)
{
	if (c->req->force)
		return;
	struct tree *tree = NULL;
	if (tree_scan(&c->paths, &tree) < 0)
		return;
	long prev = -1; /* the last rebuild's install: the next one starts after it */
	for (size_t i = 0; i < tree->n_modules; i++) {
		const char *x = tree->modules[i].name;
		/* Only the version of x installed on t is rebuilt (and installed again). */
		_cleanup_free_ char *xv = tree_installed_version(&c->paths, x, t->kernel, t->arch);
		if (strcmp(x, m) == 0 || !xv || tree_version_state(&c->paths, x, xv) != TREE_V_ADDED)
			continue;
		long b = find_module_job(s, JOB_BUILD, x, t);
		if (b >= 0) {
			/* Rebuilt for another dependency already: it also waits for this one's
			 * install to end (a failed one leaves it rebuilt against the other, as
			 * dkms). Built by the plan for another reason: left to it. */
			if (s->payloads[b]->rebuild && s->payloads[b]->conf && depends_on(s->payloads[b]->conf, m))
				plan_dep_kind(&s->plan, (size_t)b, install, DEP_ORDER);
			continue;
		}
		struct module_conf *conf = wants_rebuild(c, x, xv, t, m, v);
		if (conf)
			prev = (long)plan_again(c, s, x, xv, t, conf, install, prev);
	}
	tree_free(tree);
}

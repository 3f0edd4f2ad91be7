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
	struct conf_load l = { .module = x, .version = xv, .conf_path = conf_path };
	if (confload(c, &l, t, 1, &conf) != 0)
		return NULL;
	if (conf->build_depends_rebuild && depends_on(conf, m))
		return conf;
	conf_free(conf);
	return NULL;
}

static void plan_again(const struct ctx *c, struct job_set *s, const char *x, const char *xv, struct target *t,
		       struct module_conf *conf, size_t install)
{
	const struct tree_paths *tp = &c->paths;
	_cleanup_free_ char *installed = tree_installed_version(tp, x, t->kernel, t->arch);
	long first = -1;
	if (installed && strcmp(installed, xv) == 0) {
		size_t un = jobs_plan_uninstall(s, x, xv, t, conf);
		plan_dep(&s->plan, un, install);
		first = (long)un;
	}
	_cleanup_free_ char *src = tree_source_link(tp, x, xv);
	struct strv provided = STRV_INIT;
	for (size_t i = 0; i < conf->n_build_depends; i++)
		strv_push(&provided, conf->build_depends[i]);
	size_t b = jobs_plan_build(c, s, x, xv, t, conf, src, &provided, BUILD_AGAIN,
				   first >= 0 ? first : (long)install);
	strv_release(&provided);
	plan_dep(&s->plan, b, install);
	/* A failed rebuild leaves the kernel's depmod (of m's install) to run. */
	jobs_plan_install(s, x, xv, t, conf, b, DEP_ORDER);
	s->payloads[b]->owns_conf = true;
	/* The first job of the rebuild (its uninstall, or the unbuild the build needs) says
	 * why it runs, in dkms's words. */
	if (first < 0)
		first = plan_find(&s->plan, JOB_UNBUILD, x, xv, t->kernel, t->arch);
	struct job_payload *op = s->payloads[first >= 0 ? (size_t)first : b];
	free(op->announce);
	op->announce = xasprintf("\nRebuilding module %s/%s due to updated dependencies\n\n", x, xv);
}

void jobs_plan_rebuild_dependents(const struct ctx *c, struct job_set *s, const char *m, const char *v,
				  struct target *t, size_t install)
{
	if (c->req->force)
		return;
	struct tree *tree = NULL;
	if (tree_scan(&c->paths, &tree) < 0)
		return;
	for (size_t i = 0; i < tree->n_modules; i++) {
		const struct tree_module *tm = &tree->modules[i];
		if (strcmp(tm->name, m) == 0)
			continue;
		for (size_t j = 0; j < tm->n_versions; j++) {
			const char *xv = tm->versions[j].version;
			if (tm->versions[j].state != TREE_V_ADDED ||
			    !tree_is_built(&c->paths, tm->name, xv, t->kernel, t->arch) ||
			    plan_find(&s->plan, JOB_BUILD, tm->name, xv, t->kernel, t->arch) >= 0)
				continue;
			struct module_conf *conf = wants_rebuild(c, tm->name, xv, t, m, v);
			if (conf)
				plan_again(c, s, tm->name, xv, t, conf, install);
		}
	}
	tree_free(tree);
}

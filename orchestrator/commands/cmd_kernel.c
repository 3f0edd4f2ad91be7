/* cmd_kernel.c - kernel_prerm and kernel_preinst (dkms 3.4.3): before a kernel goes away
 * (or is replaced by a package of the same version), every module built for it is
 * uninstalled and unbuilt, with one depmod for the kernel; kernel_preinst only touches
 * AUTOINSTALL modules. Exit 14 if any of them failed.
 */
#include "orchestrator/commands/commands.h"

#include <string.h>

#include "common/macro.h"
#include "common/xalloc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

struct picked {
	const char *m, *v;
	struct module_conf *conf;
};

/* The conf of m/v for t (lenient: a broken one still lets the unbuild go on). */
static struct module_conf *conf_for(struct ctx *c, const char *m, const char *v, const struct target *t)
{
	_cleanup_free_ char *src = tree_source_link(&c->paths, m, v);
	_cleanup_free_ char *path = xasprintf("%s/dkms.conf", src);
	struct module_conf *mc = NULL;
	struct conf_load l = { .module = m, .version = v, .conf_path = path, .strict = false };
	if (confload(c, &l, t, 1, &mc) != 0)
		return NULL;
	return mc;
}

static bool built_for(const struct tree_version *tv, const struct target *t)
{
	for (size_t b = 0; b < tv->n_builds; b++)
		if (tv->builds[b].built && !strcmp(tv->builds[b].kernel, t->kernel) &&
		    !strcmp(tv->builds[b].arch, t->arch))
			return true;
	return false;
}

/* Every module/version built for t (only AUTOINSTALL ones with autoinstall_only), with
 * its conf; *n of them, newly allocated. */
static struct picked *pick(struct ctx *c, const struct tree *tree, const struct target *t, bool autoinstall_only,
			   size_t *n)
{
	struct picked *picked = xcalloc(1, sizeof(*picked));
	for (size_t i = 0; i < tree->n_modules; i++) {
		const struct tree_module *tm = &tree->modules[i];
		for (size_t k = 0; k < tm->n_versions; k++) {
			const struct tree_version *tv = &tm->versions[k];
			if (!built_for(tv, t))
				continue;
			struct module_conf *mc = conf_for(c, tm->name, tv->version, t);
			if (autoinstall_only && !(mc && mc->autoinstall)) {
				if (mc)
					conf_free(mc);
				continue;
			}
			picked = xrealloc(picked, (*n + 1) * sizeof(*picked));
			picked[(*n)++] = (struct picked){ tm->name, tv->version, mc };
		}
	}
	return picked;
}

static int kernel_removal(struct ctx *c, const char *action, bool autoinstall_only)
{
	int e = check_root(c);
	if (e)
		return e;
	if (c->req->kernels.n != 1) {
		ctx_error(c, "The action %s requires exactly one kernel version parameter on the command line.",
			  action);
		return 4;
	}
	struct target_list tl = { 0 };
	e = targets_from_request(c, &tl);
	if (e)
		return e;
	const struct target *t = &tl.items[0];
	struct tree *tree = NULL;
	e = tree_scan(&c->paths, &tree);
	if (e < 0) {
		ctx_error(c, "Cannot read the DKMS tree at %s: %s", c->paths.dkms_tree, strerror(-e));
		targets_release(&tl);
		return 1;
	}
	size_t n = 0;
	struct picked *picked = pick(c, tree, t, autoinstall_only, &n);
	struct job_set s = JOB_SET_INIT;
	/* As dkms: per module "dkms: removing module ..." (stderr), its uninstall and unbuild
	 * (kernel_prerm: and a blank line); one depmod after them all. */
	size_t dm = jobs_plan_depmod(&s, t);
	for (size_t i = 0; i < n; i++) {
		size_t un = jobs_plan_uninstall(&s, picked[i].m, picked[i].v, t, picked[i].conf);
		struct job_payload *up = s.payloads[un];
		up->announce = xasprintf("dkms: removing module %s/%s for kernel %s (%s)\n", picked[i].m, picked[i].v,
					 t->kernel, t->arch);
		up->announce_on_err = true;
		size_t ub;
		jobs_add(&s, JOB_UNBUILD, picked[i].m, picked[i].v, t, &ub);
		plan_dep(&s.plan, ub, un);
		plan_dep_kind(&s.plan, dm, ub, DEP_ORDER);
		s.payloads[ub]->blank_after = !autoinstall_only;
	}
	e = n || c->req->dry_run ? jobs_run_or_print(c, &s) : 0;
	jobs_release(&s);
	for (size_t i = 0; i < n; i++)
		if (picked[i].conf)
			conf_free(picked[i].conf);
	free(picked);
	tree_free(tree);
	targets_release(&tl);
	return e ? 14 : 0;
}

int cmd_kernel_prerm(struct ctx *c) { return kernel_removal(c, "kernel_prerm", false); }
int cmd_kernel_preinst(struct ctx *c) { return kernel_removal(c, "kernel_preinst", true); }

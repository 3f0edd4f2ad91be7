/* cmd_kernel.c - kernel_prerm and kernel_preinst (dkms 3.4.3): before a kernel goes away
 * (or is replaced by a package of the same version), every module built for it is
 * uninstalled and unbuilt, with one depmod for the kernel; kernel_preinst only touches
 * AUTOINSTALL modules. Exit 14 if any of them failed.
 */
#include "commands.h"

#include <string.h>

#include "common/macro.h"
#include "common/xalloc.h"
#include "orchestrator/conf.h"
#include "orchestrator/confload.h"
#include "orchestrator/context.h"
#include "orchestrator/jobs.h"
#include "orchestrator/plan.h"
#include "orchestrator/targets.h"
#include "orchestrator/tree.h"

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

static int kernel_removal(struct ctx *c, const char *action, bool autoinstall_only)
{
	int e = check_root(c);
	if (e)
		return e;
	if (c->req->kernels.n != 1) {
		ctx_error(c, "The action %s requires exactly one kernel version parameter on the command line.", action);
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
	struct picked *picked = xcalloc(1, sizeof(*picked));
	size_t n = 0;
	for (size_t i = 0; i < tree->n_modules; i++) {
		const struct tree_module *tm = &tree->modules[i];
		for (size_t k = 0; k < tm->n_versions; k++) {
			const struct tree_version *tv = &tm->versions[k];
			bool here = false;
			for (size_t b = 0; b < tv->n_builds; b++)
				here |= tv->builds[b].built && !strcmp(tv->builds[b].kernel, t->kernel) &&
					!strcmp(tv->builds[b].arch, t->arch);
			if (!here)
				continue;
			struct module_conf *mc = conf_for(c, tm->name, tv->version, t);
			if (autoinstall_only && !(mc && mc->autoinstall)) {
				if (mc)
					conf_free(mc);
				continue;
			}
			picked = xrealloc(picked, (n + 1) * sizeof(*picked));
			picked[n++] = (struct picked){ tm->name, tv->version, mc };
		}
	}
	struct job_set s = JOB_SET_INIT;
	jobs_plan_depmod(&s, t);
	for (size_t i = 0; i < n; i++)
		jobs_plan_uninstall(&s, picked[i].m, picked[i].v, t, picked[i].conf);
	for (size_t i = 0; i < n; i++)
		jobs_plan_unbuild(&s, picked[i].m, picked[i].v, t);
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

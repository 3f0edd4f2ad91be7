/* cmd_match.c - match --templatekernel T -k K [module]: what is installed on kernel T is
 * built and installed on K too (dkms 3.4.3's run_match), as ONE plan: each module's build
 * and install, the builds under the run's job budget, one depmod for K after them.
 */
#include "orchestrator/commands/commands.h"

#include <errno.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/decide.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

/* The checks dkms makes before it looks at the tree. Returns 0 or its exit code (said). */
static int check_request(struct ctx *c)
{
	const struct request *r = c->req;
	int e = check_root(c);
	if (e)
		return e;
	if (r->all) {
		ctx_error(c, "The action match does not support the --all parameter.");
		return 5;
	}
	if (r->kernels.n > 1) {
		ctx_error(c,
			  "The action match does not support multiple kernel version parameters on the command line.");
		return 4;
	}
	if (!r->template_kernel || !*r->template_kernel) {
		ctx_error(c,
			  "Invalid number of parameters passed.\n"
			  "Usage: match --templatekernel=<kernel-version> -k <kernel-version>\n"
			  "   or: match --templatekernel=<kernel-version> -k <kernel-version> <module>");
		return 1;
	}
	return 0;
}

/* One module/version installed on the template kernel, to match. */
struct match_item {
	const char *m, *v;
	struct module_conf *conf;
};

/* What `status` calls installed on template/arch, of module only (when given), in the
 * tree's order; *n of them, newly allocated. */
static struct match_item *installed_on(const struct ctx *c, const struct tree *tree, const char *template_kernel,
				       const char *arch, const char *only, size_t *n)
{
	struct match_item *items = xcalloc(tree->n_modules + 1, sizeof(*items));
	*n = 0;
	for (size_t i = 0; i < tree->n_modules; i++) {
		const struct tree_module *tm = &tree->modules[i];
		if (only && strcmp(tm->name, only) != 0)
			continue;
		_cleanup_free_ char *v = tree_installed_version(&c->paths, tm->name, template_kernel, arch);
		for (size_t k = 0; k < tm->n_versions; k++) {
			const struct tree_version *tv = &tm->versions[k];
			/* dkms reads the template's status: a broken version is said there (on
			 * stderr), and is never "installed" */
			if (tv->state == TREE_V_BROKEN)
				fprintf(c->err,
					"\nError! %s/%s: Missing the module source directory or the symbolic link "
					"pointing to it.\nManual intervention is required!\n",
					tm->name, tv->version);
			else if (v && strcmp(tv->version, v) == 0)
				items[(*n)++] = (struct match_item){ tm->name, tv->version, NULL };
		}
	}
	return items;
}

/* Plans the build and install of each item on t; one whose conf cannot be read is said
 * (with its header) and left out, as dkms goes on with the next. Returns 0, or the exit
 * code of the last such conf. */
static int plan_items(struct ctx *c, struct job_set *s, struct target *t, struct match_item *items, size_t n)
{
	int e = 0;
	for (size_t i = 0; i < n; i++) {
		struct match_item *it = &items[i];
		_cleanup_free_ char *src = tree_source_link(&c->paths, it->m, it->v);
		_cleanup_free_ char *conf = path_join(src, "dkms.conf");
		struct conf_load l = { .module = it->m, .version = it->v, .conf_path = conf, .strict = true };
		/* what the read says waits, so that a bad conf's error comes after its header */
		FILE *err = c->err;
		char *said = NULL;
		size_t said_len = 0;
		FILE *mem = open_memstream(&said, &said_len);
		if (mem)
			c->err = mem;
		int ce = confload(c, &l, t, 1, &it->conf);
		c->err = err;
		if (mem)
			fclose(mem);
		if (ce) {
			fprintf(c->out, "Module:  %s\nVersion: %s\n", it->m, it->v);
			fflush(c->out);
			e = ce;
		}
		if (said)
			fwrite(said, 1, said_len, err);
		fflush(err);
		free(said);
		if (ce)
			continue;
		size_t b = jobs_plan_build(c, s, it->m, it->v, t, it->conf, src, NULL, BUILD_ASKED, -1);
		s->payloads[b]->announce = xasprintf("Module:  %s\nVersion: %s", it->m, it->v);
		jobs_plan_install(s, it->m, it->v, t, it->conf, b,
				  DEP_ORDER); /* a failed one leaves the depmod to the others */
	}
	return e;
}

int cmd_match(struct ctx *c)
{
	int e = check_request(c);
	if (e)
		return e;
	struct target_list tl = { 0 };
	e = targets_from_request(c, &tl);
	if (e)
		return e;
	struct target *t = &tl.items[0];
	const struct request *r = c->req;
	struct tree *tree = NULL;
	size_t n = 0;
	struct match_item *items = NULL;
	struct job_set s = JOB_SET_INIT;
	char *mdir = NULL;
	if (strcmp(r->template_kernel, t->kernel) == 0) {
		ctx_error(c, "The templatekernel and the specified kernel version are the same.");
		e = 2;
		goto out;
	}
	mdir = r->module ? tree_module_dir(&c->paths, r->module) : NULL;
	if (mdir && !is_dir(mdir)) {
		ctx_error(c, "The module: %s is not located in the DKMS tree.", r->module);
		e = 3;
		goto out;
	}
	int se = tree_scan(&c->paths, &tree);
	if (se < 0) {
		ctx_error(c, "Cannot read the DKMS tree at %s: %s", c->paths.dkms_tree, strerror(-se));
		e = 1;
		goto out;
	}
	items = installed_on(c, tree, r->template_kernel, t->arch, r->module, &n);
	fprintf(c->out, "\nMatching modules in kernel: %s (%s)\nto the configuration of kernel: %s (%s)\n", t->kernel,
		t->arch, r->template_kernel, t->arch);
	if (n == 0) {
		fputs("\nThere is nothing to be done for this match.\n", c->out);
		goto out;
	}
	if (!target_has_headers(t)) {
		_cleanup_free_ char *why = decide_no_headers(c, t->kernel);
		ctx_error(c, "%s", why);
		e = 21;
		goto out;
	}
	int conf_error = plan_items(c, &s, t, items, n);
	e = jobs_run_or_print(c, &s);
	if (!e)
		e = conf_error;
out:
	free(mdir);
	jobs_release(&s);
	for (size_t i = 0; i < n; i++)
		if (items[i].conf)
			conf_free(items[i].conf);
	free(items);
	if (tree)
		tree_free(tree);
	targets_release(&tl);
	return e;
}

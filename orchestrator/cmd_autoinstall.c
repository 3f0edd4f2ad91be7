/* cmd_autoinstall.c - build and install the latest version of every AUTOINSTALL module
 * for one kernel, as one plan: BUILD_DEPENDS become edges (a dependent's build waits for
 * its dependency's install), independent modules build at the same time, depmod runs
 * once at the end. Text and exit codes as dkms 3.4.3's autoinstall.
 */
#include "commands.h"

#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "orchestrator/conf.h"
#include "orchestrator/confload.h"
#include "orchestrator/context.h"
#include "orchestrator/jobs.h"
#include "orchestrator/targets.h"
#include "orchestrator/tree.h"
#include "orchestrator/vercmp.h"

struct candidate {
	const char *module;
	const char *version;       /* latest by dkms's VER() */
	struct module_conf *conf;
	size_t build_job, install_job;
	bool planned;
	struct buf missing;        /* BUILD_DEPENDS that nothing in this run provides */
};

struct autoinstall {
	struct ctx *c;
	const struct target *t;
	struct tree *tree;
	struct candidate *cands;
	size_t n;
	struct strv installed;     /* modules already installed for the kernel */
};

/* Lists each added module once with its latest version; reports broken ones. */
static void collect_latest(struct autoinstall *a)
{
	for (size_t i = 0; i < a->tree->n_modules; i++) {
		const struct tree_module *m = &a->tree->modules[i];
		const char *latest = NULL;
		for (size_t j = 0; j < m->n_versions; j++) {
			const struct tree_version *v = &m->versions[j];
			if (v->state == TREE_V_BROKEN) {
				ctx_error(a->c, "%s/%s is broken! Missing the source directory or the symbolic link pointing to it.\n"
					  "Manual intervention is required!", m->name, v->version);
				continue;
			}
			if (v->state != TREE_V_ADDED)
				continue;
			if (!latest || dkms_vercmp(v->version, latest) > 0)
				latest = v->version;
		}
		if (!latest)
			continue;
		a->cands = xrealloc(a->cands, (a->n + 1) * sizeof(*a->cands));
		a->cands[a->n++] = (struct candidate){ .module = m->name, .version = latest };
	}
}

static struct candidate *find_cand(struct autoinstall *a, const char *m)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->cands[i].planned && strcmp(a->cands[i].module, m) == 0)
			return &a->cands[i];
	return NULL;
}

/* Decides which candidates to install and reads their confs. Returns 0 or an exit code. */
static int select_candidates(struct autoinstall *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct candidate *k = &a->cands[i];
		_cleanup_free_ char *v = tree_installed_version(&a->c->paths, k->module, a->t->kernel, a->t->arch);
		if (v && strcmp(v, k->version) == 0) {
			strv_push(&a->installed, k->module);
			continue;
		}
		_cleanup_free_ char *src = tree_source_link(&a->c->paths, k->module, k->version);
		_cleanup_free_ char *conf = path_join(src, "dkms.conf");
		struct conf_load l = { .module = k->module, .version = k->version, .conf_path = conf };
		int e = confload(a->c, &l, a->t, 1, &k->conf);
		if (e)
			return e;
		k->planned = k->conf->autoinstall;
	}
	return 0;
}

static void plan_candidates(struct autoinstall *a, struct job_set *s)
{
	size_t depmod;
	jobs_add(s, JOB_DEPMOD, NULL, NULL, a->t, &depmod);
	for (size_t i = 0; i < a->n; i++) {
		struct candidate *k = &a->cands[i];
		if (!k->planned)
			continue;
		struct job_payload *p = jobs_add(s, JOB_BUILD, k->module, k->version, a->t, &k->build_job);
		p->conf = k->conf;
		p->for_install = true;
		p->announce = xasprintf("Autoinstall of module %s/%s for kernel %s (%s)", k->module, k->version,
					a->t->kernel, a->t->arch);
		p = jobs_add(s, JOB_INSTALL, k->module, k->version, a->t, &k->install_job);
		p->conf = k->conf;
		p->blank_after = true;
		plan_dep(&s->plan, k->install_job, k->build_job);
		plan_dep_kind(&s->plan, depmod, k->install_job, DEP_ORDER);
	}
	/* BUILD_DEPENDS: wait for the dependency's install on this kernel. */
	for (size_t i = 0; i < a->n; i++) {
		struct candidate *k = &a->cands[i];
		if (!k->planned)
			continue;
		for (size_t d = 0; d < k->conf->n_build_depends; d++) {
			const char *dep = k->conf->build_depends[d];
			struct candidate *on = find_cand(a, dep);
			if (on)
				plan_dep_kind(&s->plan, k->build_job, on->install_job, DEP_OR_EXCLUDED);
			else if (!strv_contains(&a->installed, dep))
				buf_addf(&k->missing, "%s%s", k->missing.len ? " " : "", dep);
		}
	}
}

/* Orders candidates as their installs ended, which is how dkms lists them. */
static int by_install_end(const void *x, const void *y, void *set)
{
	const struct job_set *s = set;
	const struct candidate *const *a = x, *const *b = y;
	long sa = (*a)->planned ? s->plan.jobs[(*a)->install_job].end_seq : 0;
	long sb = (*b)->planned ? s->plan.jobs[(*b)->install_job].end_seq : 0;
	return (sa > sb) - (sa < sb);
}

static void summary(struct autoinstall *a, struct job_set *s, int *ret)
{
	struct buf ok = BUF_INIT, skipped = BUF_INIT, failed = BUF_INIT;
	for (size_t i = 0; i < a->installed.n; i++)
		buf_addf(&ok, "%s%s", ok.len ? " " : "", a->installed.items[i]);
	bool missing_any = false;
	struct candidate **order = xcalloc(a->n ? a->n : 1, sizeof(*order));
	for (size_t i = 0; i < a->n; i++)
		order[i] = &a->cands[i];
	qsort_r(order, a->n, sizeof(*order), by_install_end, s);
	for (size_t i = 0; i < a->n; i++) {
		struct candidate *k = order[i];
		if (!k->planned)
			continue;
		const struct job *b = &s->plan.jobs[k->build_job];
		const struct job *in = &s->plan.jobs[k->install_job];
		if (k->missing.len || (b->state == JOB_SKIPPED && b->exit_code != 77)) {
			missing_any = true;
			continue;
		}
		if (in->state == JOB_DONE)
			buf_addf(&ok, "%s%s", ok.len ? " " : "", k->module);
		else if (b->exit_code == 77 || in->exit_code == 77)
			buf_addf(&skipped, "%s%s", skipped.len ? " " : "", k->module);
		else
			buf_addf(&failed, "%s%s(%d)", failed.len ? " " : "", k->module,
				 b->state == JOB_FAILED ? b->exit_code : in->exit_code);
	}
	free(order);
	const char *kv = a->t->kernel;
	if (ok.len)
		fprintf(a->c->out, "Autoinstall on %s succeeded for module(s) %s.\n", kv, ok.data);
	if (skipped.len)
		fprintf(a->c->out, "Autoinstall on %s was skipped for module(s) %s.\n", kv, skipped.data);
	if (failed.len)
		fprintf(a->c->out, "Autoinstall on %s failed for module(s) %s.\n", kv, failed.data);
	for (size_t i = 0; i < a->n; i++) {
		struct candidate *k = &a->cands[i];
		const struct job *b = k->planned ? &s->plan.jobs[k->build_job] : NULL;
		if (!k->planned || !(k->missing.len || (b->state == JOB_SKIPPED && b->exit_code != 77)))
			continue;
		fprintf(a->c->out, "%s/%s autoinstall failed due to missing dependencies: %s.\n", k->module,
			k->version, k->missing.len ? k->missing.data : "(a dependency failed)");
	}
	if (failed.len || missing_any) {
		ctx_error(a->c, "One or more modules failed to install during autoinstall.\n"
			  "Refer to previous errors for more information.");
		*ret = 11;
	}
	buf_release(&ok);
	buf_release(&skipped);
	buf_release(&failed);
}

static int autoinstall_run(struct autoinstall *a)
{
	int e = select_candidates(a);
	if (e)
		return e;
	struct job_set s = { 0 };
	plan_candidates(a, &s);
	/* A module whose dependency nothing provides is never started, as in dkms. */
	for (size_t i = 0; i < a->n; i++)
		if (a->cands[i].planned && a->cands[i].missing.len)
			s.plan.jobs[a->cands[i].build_job].state = JOB_SKIPPED;
	bool any = false;
	for (size_t i = 0; i < a->n; i++)
		any |= a->cands[i].planned;
	int ret = 0;
	if (a->c->req->dry_run) {
		char *js = plan_json(&s.plan);
		fprintf(a->c->out, "%s\n", js);
		free(js);
	} else if (any) {
		char *cycle = NULL;
		if (plan_check_cycles(&s.plan, &cycle) < 0) {
			ctx_error(a->c, "BUILD_DEPENDS form a cycle: %s", cycle);
			free(cycle);
			ret = 11;
		} else {
			jobs_run(a->c, &s);
			summary(a, &s, &ret);
		}
	}
	for (size_t i = 0; i < s.plan.n; i++)
		if (s.payloads[i])
			free((char *)s.payloads[i]->announce);
	jobs_release(&s);
	return ret;
}

int cmd_autoinstall(struct ctx *c)
{
	_cleanup_free_ char *no = path_join(c->etc_dkms, "no-autoinstall");
	if (path_exists(no)) {
		fprintf(c->out, "Automatic installation of modules has been disabled.\n");
		return 0;
	}
	if (c->req->all) {
		ctx_error(c, "The action autoinstall does not support the --all parameter.");
		return 5;
	}
	if (c->req->kernels.n > 1) {
		ctx_error(c, "The action autoinstall does not support multiple kernel version parameters on the command line.");
		return 4;
	}
	int e = check_root(c);
	if (e)
		return e;
	struct target_list tl = { 0 };
	e = targets_from_request(c, &tl);
	if (e)
		return e;
	struct autoinstall a = { .c = c, .t = &tl.items[0] };
	e = tree_scan(&c->paths, &a.tree);
	if (e == 0) {
		collect_latest(&a);
		e = autoinstall_run(&a);
	}
	for (size_t i = 0; i < a.n; i++) {
		if (a.cands[i].conf)
			conf_free(a.cands[i].conf);
		buf_release(&a.cands[i].missing);
	}
	free(a.cands);
	strv_release(&a.installed);
	tree_free(a.tree);
	targets_release(&tl);
	return e;
}

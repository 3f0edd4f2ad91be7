/* cmd_autoinstall.c - build and install the latest version of every AUTOINSTALL module
 * for one or more kernels, as ONE plan: BUILD_DEPENDS become per-kernel edges (a
 * dependent's build waits for its dependency's install on that kernel), independent
 * builds share the run's job budget, depmod runs once per kernel after its installs.
 * Per kernel, the text and exit codes are dkms 3.4.3's autoinstall.
 */
#include "orchestrator/commands/commands.h"

#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/decide.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"
#include "common/vercmp.h"

/* One module's latest version on one kernel. */
struct slot {
	struct module_conf *conf;
	bool installed; /* already installed there: nothing to do */
	bool planned;   /* AUTOINSTALL and not installed */
	size_t build_job, install_job;
	size_t round;       /* dkms's round for the summary's order (set_rounds) */
	struct buf missing; /* BUILD_DEPENDS nothing in this run provides */
};

struct candidate {
	const char *module;
	const char *version; /* latest by dkms's VER() */
	struct slot *slots;  /* one per target */
};

struct autoinstall {
	struct ctx *c;
	const struct target_list *tl;
	struct tree *tree;
	struct candidate *cands;
	size_t n;
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
				ctx_error(
					a->c,
					"%s/%s is broken! Missing the source directory or the symbolic link pointing to it.\n"
					"Manual intervention is required!",
					m->name, v->version);
				continue;
			}
			if (v->state == TREE_V_ADDED && (!latest || dkms_vercmp(v->version, latest) > 0))
				latest = v->version;
		}
		if (!latest)
			continue;
		a->cands = xrealloc(a->cands, (a->n + 1) * sizeof(*a->cands));
		a->cands[a->n++] = (struct candidate){ m->name, latest, xcalloc(a->tl->n, sizeof(struct slot)) };
	}
}

/* Reads each candidate's conf for every kernel (one bash run per module). */
static int select_candidates(struct autoinstall *a)
{
	const struct target_list *tl = a->tl;
	struct module_conf **confs = xcalloc(tl->n, sizeof(*confs));
	int e = 0;
	for (size_t i = 0; i < a->n && !e; i++) {
		struct candidate *k = &a->cands[i];
		_cleanup_free_ char *src = tree_source_link(&a->c->paths, k->module, k->version);
		_cleanup_free_ char *conf = path_join(src, "dkms.conf");
		struct conf_load l = { .module = k->module, .version = k->version, .conf_path = conf };
		e = confload(a->c, &l, tl->items, tl->n, confs);
		for (size_t t = 0; t < tl->n && !e; t++) {
			struct slot *s = &k->slots[t];
			_cleanup_free_ char *v = tree_installed_version(&a->c->paths, k->module, tl->items[t].kernel,
									tl->items[t].arch);
			s->conf = confs[t];
			s->installed = v && strcmp(v, k->version) == 0;
			s->planned = !s->installed && s->conf->autoinstall;
		}
	}
	free(confs);
	return e;
}

static struct candidate *find_cand(struct autoinstall *a, const char *m)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->cands[i].module, m) == 0)
			return &a->cands[i];
	return NULL;
}

/* Marks in seen every candidate `from` leads to through the BUILD_DEPENDS of planned
 * candidates on t (each visited once). */
static void mark_reachable(struct autoinstall *a, size_t from, size_t t, bool *seen)
{
	const struct slot *sl = &a->cands[from].slots[t];
	for (size_t d = 0; sl->conf && d < sl->conf->n_build_depends; d++) {
		const struct candidate *on = find_cand(a, sl->conf->build_depends[d]);
		size_t k = on ? (size_t)(on - a->cands) : 0;
		if (on && on->slots[t].planned && !seen[k]) {
			seen[k] = true;
			mark_reachable(a, k, t, seen);
		}
	}
}

/* Does candidate `from` lead back to `to` on t? */
static bool reaches(struct autoinstall *a, const struct candidate *from, const struct candidate *to, size_t t)
{
	bool *seen = xcalloc(a->n ? a->n : 1, sizeof(*seen));
	mark_reachable(a, (size_t)(from - a->cands), t, seen);
	bool r = seen[to - a->cands];
	free(seen);
	return r;
}

static void plan_target(struct autoinstall *a, struct job_set *s, size_t t)
{
	struct target *tg = &a->tl->items[t];
	jobs_plan_depmod(s, tg);
	_cleanup_strv_ struct strv provided = STRV_INIT; /* installed by this plan on tg */
	for (size_t i = 0; i < a->n; i++)
		if (a->cands[i].slots[t].planned)
			strv_push(&provided, a->cands[i].module);
	for (size_t i = 0; i < a->n; i++) {
		struct candidate *k = &a->cands[i];
		struct slot *sl = &k->slots[t];
		if (!sl->planned)
			continue;
		_cleanup_free_ char *src = tree_source_link(&a->c->paths, k->module, k->version);
		sl->build_job = jobs_plan_build(a->c, s, k->module, k->version, tg, sl->conf, src, &provided,
						BUILD_FOR_INSTALL, -1);
		struct job_payload *p = s->payloads[sl->build_job];
		p->announce = xasprintf("Autoinstall of module %s/%s for kernel %s (%s)", k->module, k->version,
					tg->kernel, tg->arch);
		p->kernel_prologue = true;
		sl->install_job = jobs_plan_install(s, k->module, k->version, tg, sl->conf, sl->build_job, DEP_ORDER);
		s->payloads[sl->install_job]->blank_after = true;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct slot *sl = &a->cands[i].slots[t];
		if (!sl->planned)
			continue;
		for (size_t d = 0; d < sl->conf->n_build_depends; d++) {
			const char *dep = sl->conf->build_depends[d];
			struct candidate *on = find_cand(a, dep);
			/* a dependency in a circle with this module is never there, as in dkms */
			if (on && on->slots[t].planned && reaches(a, on, &a->cands[i], t))
				buf_addf(&sl->missing, "%s%s", sl->missing.len ? " " : "", dep);
			else if (on && on->slots[t].planned)
				plan_dep_kind(&s->plan, sl->build_job, on->slots[t].install_job, DEP_OR_EXCLUDED);
			else if (!on || !on->slots[t].installed)
				buf_addf(&sl->missing, "%s%s", sl->missing.len ? " " : "", dep);
		}
		/* A module whose dependency nothing provides is never started, as in dkms. */
		if (sl->missing.len)
			s->plan.jobs[sl->build_job].state = JOB_SKIPPED;
	}
	/* The kernel's signing prologue is said by whichever build starts first: every one of
	 * them waits for the key pair to be made, and tells its fate. */
	long keygen = tg->sign.hash && tg->sign.needs_key ? jobs_keygen_for(s, &tg->sign) : -1;
	for (size_t i = 0; keygen >= 0 && i < a->n; i++) {
		struct slot *sl = &a->cands[i].slots[t];
		if (!sl->planned || s->payloads[sl->build_job]->keygen_job >= 0)
			continue;
		s->payloads[sl->build_job]->keygen_job = keygen;
		plan_dep_kind(&s->plan, sl->build_job, (size_t)keygen, DEP_ORDER);
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->cands[i].slots[t].planned && !a->cands[i].slots[t].missing.len)
			jobs_plan_rebuild_dependents(a->c, s, a->cands[i].module, a->cands[i].version, tg,
						     a->cands[i].slots[t].install_job);
}

/* The round in which dkms's autoinstall takes each candidate on target t (slot.round):
 * 0 without planned dependencies, else one more than its deepest planned dependency
 * (dependencies in a circle with it do not count). At most n passes. */
static void set_rounds(struct autoinstall *a, size_t t)
{
	for (size_t i = 0; i < a->n; i++)
		a->cands[i].slots[t].round = 0;
	for (size_t pass = 0; pass < a->n; pass++) {
		bool changed = false;
		for (size_t i = 0; i < a->n; i++) {
			struct slot *sl = &a->cands[i].slots[t];
			for (size_t d = 0; sl->planned && sl->conf && d < sl->conf->n_build_depends; d++) {
				const struct candidate *on = find_cand(a, sl->conf->build_depends[d]);
				if (!on || on == &a->cands[i] || !on->slots[t].planned ||
				    on->slots[t].round + 1 <= sl->round || reaches(a, on, &a->cands[i], t))
					continue;
				sl->round = on->slots[t].round + 1;
				changed = true;
			}
		}
		if (!changed)
			break;
	}
}

/* Orders candidates as dkms lists them: by round (dependencies first), then in the tree's
 * order; never by when their jobs happened to end. */
struct list_order {
	const struct autoinstall *a;
	size_t t;
};

static int by_round(const void *x, const void *y, void *data)
{
	const struct list_order *o = data;
	const struct candidate *p = *(struct candidate *const *)x, *q = *(struct candidate *const *)y;
	size_t rp = p->slots[o->t].round, rq = q->slots[o->t].round;
	if (rp != rq)
		return rp < rq ? -1 : 1;
	return p < q ? -1 : p > q;
}

/* Is m registered with DKMS (a version added to the tree; broken ones do not count)? */
static bool known_module(const struct autoinstall *a, const char *m)
{
	for (size_t i = 0; i < a->tree->n_modules; i++) {
		const struct tree_module *tm = &a->tree->modules[i];
		for (size_t j = 0; strcmp(tm->name, m) == 0 && j < tm->n_versions; j++)
			if (tm->versions[j].state == TREE_V_ADDED)
				return true;
	}
	return false;
}

static bool dep_failed(const struct job_set *s, const struct slot *sl)
{
	const struct job *b = &s->plan.jobs[sl->build_job];
	return sl->missing.len || (b->state == JOB_SKIPPED && b->exit_code != 77);
}

/* dkms's closing lines for target t; returns true if something failed. */
static bool summary(struct autoinstall *a, const struct job_set *s, size_t t)
{
	struct buf ok = BUF_INIT, skipped = BUF_INIT, failed = BUF_INIT;
	struct candidate **order = xcalloc(a->n ? a->n : 1, sizeof(*order));
	bool bad = false;
	for (size_t i = 0; i < a->n; i++)
		order[i] = &a->cands[i];
	set_rounds(a, t);
	struct list_order lo = { a, t };
	qsort_r(order, a->n, sizeof(*order), by_round, &lo);
	for (size_t i = 0; i < a->n; i++) /* those installed already come first, as in dkms */
		if (a->cands[i].slots[t].installed)
			buf_addf(&ok, "%s%s", ok.len ? " " : "", a->cands[i].module);
	for (size_t i = 0; i < a->n; i++) {
		const struct slot *sl = &order[i]->slots[t];
		const char *m = order[i]->module;
		if (!sl->planned || dep_failed(s, sl))
			continue;
		const struct job *b = &s->plan.jobs[sl->build_job], *in = &s->plan.jobs[sl->install_job];
		if (in->state == JOB_DONE)
			buf_addf(&ok, "%s%s", ok.len ? " " : "", m);
		else if (b->exit_code == 77 || in->exit_code == 77)
			buf_addf(&skipped, "%s%s", skipped.len ? " " : "", m);
		else
			buf_addf(&failed, "%s%s(%d)", failed.len ? " " : "", m,
				 b->state == JOB_FAILED ? b->exit_code : in->exit_code);
	}
	free(order);
	const char *kv = a->tl->items[t].kernel;
	FILE *out = a->c->out;
	if (ok.len)
		fprintf(out, "Autoinstall on %s succeeded for module(s) %s.\n", kv, ok.data);
	if (skipped.len)
		fprintf(out, "Autoinstall on %s was skipped for module(s) %s.\n", kv, skipped.data);
	if (failed.len)
		fprintf(out, "Autoinstall on %s failed for module(s) %s.\n", kv, failed.data);
	/* dkms's classification: a dependency DKMS knows (in the tree) that is missing makes
	 * the module fail; one it does not know yet defers it (exit 0: a later trigger). */
	struct buf deferred = BUF_INIT;
	for (size_t i = 0; i < a->n; i++) {
		const struct slot *sl = &a->cands[i].slots[t];
		if (!sl->planned || !dep_failed(s, sl))
			continue;
		struct buf known = BUF_INIT, unknown = BUF_INIT;
		for (size_t d = 0; sl->conf && d < sl->conf->n_build_depends; d++) {
			const char *dep = sl->conf->build_depends[d];
			const struct candidate *on = find_cand(a, dep);
			/* installed, or excluded by BUILD_EXCLUSIVE (dkms takes skipped ones out) */
			bool there = on &&
				(on->slots[t].installed ||
				 (on->slots[t].planned &&
				  (s->plan.jobs[on->slots[t].install_job].state == JOB_DONE ||
				   s->plan.jobs[on->slots[t].build_job].exit_code == 77)));
			if (there)
				continue;
			buf_addf(known_module(a, dep) ? &known : &unknown, " %s", dep);
		}
		if (known.len || !unknown.len) {
			fprintf(out, "%s/%s autoinstall failed due to missing dependencies:%s.\n", a->cands[i].module,
				a->cands[i].version, known.len ? known.data : " (a dependency failed)");
			bad = true;
		} else {
			fprintf(out, "%s/%s autoinstall deferred: BUILD_DEPENDS not registered with DKMS:%s.\n",
				a->cands[i].module, a->cands[i].version, unknown.data);
			buf_addf(&deferred, "%s%s/%s", deferred.len ? " " : "", a->cands[i].module,
				 a->cands[i].version);
		}
		buf_release(&known);
		buf_release(&unknown);
	}
	if (deferred.len)
		fprintf(out,
			"Autoinstall on %s deferred module(s) %s due to BUILD_DEPENDS not yet registered with DKMS.\n"
			"These may be provided externally or by a package not yet configured; autoinstall will retry on the next trigger.\n",
			kv, deferred.data);
	buf_release(&deferred);
	bad |= failed.len > 0;
	buf_release(&ok);
	buf_release(&skipped);
	buf_release(&failed);
	return bad;
}

/* dkms's autoinstall stops (21) at a kernel without headers as soon as a module needs a
 * build there, before it says anything of the module. Such a kernel's modules are left
 * out of the plan, after the error; returns whether there was one. */
static bool drop_kernels_without_headers(struct autoinstall *a)
{
	bool any = false;
	for (size_t t = 0; t < a->tl->n; t++) {
		const struct target *tg = &a->tl->items[t];
		if (target_has_headers(tg))
			continue;
		bool needs = false;
		for (size_t i = 0; i < a->n && !needs; i++)
			needs = a->cands[i].slots[t].planned &&
				!tree_is_built(&a->c->paths, a->cands[i].module, a->cands[i].version, tg->kernel,
					       tg->arch);
		if (!needs)
			continue;
		_cleanup_free_ char *msg = decide_no_headers(a->c, tg->kernel);
		ctx_error(a->c, "%s", msg);
		for (size_t i = 0; i < a->n; i++)
			a->cands[i].slots[t].planned = false;
		any = true;
	}
	return any;
}

static int autoinstall_run(struct autoinstall *a)
{
	int e = select_candidates(a);
	if (e)
		return e;
	bool no_headers = drop_kernels_without_headers(a);
	struct job_set s = JOB_SET_INIT;
	bool any = false;
	for (size_t t = 0; t < a->tl->n; t++) {
		plan_target(a, &s, t);
		for (size_t i = 0; i < a->n; i++)
			any |= a->cands[i].slots[t].planned;
	}
	int ret = 0;
	char *cycle = NULL;
	if (plan_check_cycles(&s.plan, &cycle) < 0) {
		ctx_error(a->c, "BUILD_DEPENDS form a cycle: %s", cycle);
		free(cycle);
		ret = 11;
	} else if (a->c->req->dry_run) {
		jobs_print_plan(a->c, &s);
	} else if (any && jobs_check_writable(a->c, &s)) {
		ret = 1;
	} else if (any) {
		int run = jobs_run(a->c, &s);
		bool bad = false;
		bool stopped = jobs_stop_signal() != 0; /* its one line said it all */
		for (size_t t = 0; !stopped && t < a->tl->n; t++)
			bad |= summary(a, &s, t);
		if (stopped) {
			ret = run;
		} else if (bad) {
			ctx_error(a->c,
				  "One or more modules failed to install during autoinstall.\n"
				  "Refer to previous errors for more information.");
			ret = 11;
		}
	}
	jobs_release(&s);
	return ret == 0 && no_headers ? 21 : ret;
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
	/* dkms takes one kernel (kernel_postinst: named, as kernel_prerm); modforge, as
	 * modforge, a plan over several */
	if (c->req->action == ACT_KERNEL_POSTINST && c->req->kernels.n != 1) {
		ctx_error(
			c,
			"The action kernel_postinst requires exactly one kernel version parameter on the command line.");
		return 4;
	}
	if (strcmp(c->prog, "dkms") == 0 && (c->req->kernels.n > 1 || c->req->all_kernels)) {
		ctx_error(
			c,
			"The action autoinstall does not support multiple kernel version parameters on the command line.");
		return 4;
	}
	int e = check_root(c);
	if (e)
		return e;
	struct target_list tl = { 0 };
	e = c->req->all_kernels ? targets_with_headers(c, &tl) : targets_from_request(c, &tl);
	if (e)
		return e;
	struct autoinstall a = { .c = c, .tl = &tl };
	e = tree_scan(&c->paths, &a.tree);
	if (e == 0) {
		collect_latest(&a);
		e = autoinstall_run(&a);
	}
	for (size_t i = 0; i < a.n; i++) {
		for (size_t t = 0; t < tl.n; t++) {
			if (a.cands[i].slots[t].conf)
				conf_free(a.cands[i].slots[t].conf);
			buf_release(&a.cands[i].slots[t].missing);
		}
		free(a.cands[i].slots);
	}
	free(a.cands);
	tree_free(a.tree);
	targets_release(&tl);
	return e;
}

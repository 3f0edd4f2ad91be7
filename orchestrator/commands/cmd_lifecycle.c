/* cmd_lifecycle.c - add, build, install, uninstall, unbuild, remove. */
#include "orchestrator/commands/commands.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/treelock.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/plan/sandbox_policy.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

int check_root(const struct ctx *c)
{
	if (c->is_root)
		return 0;
	ctx_error(c, "You must be root to use this command.");
	return 1;
}

int check_rw_dkms_tree(const struct ctx *c) { return ctx_check_writable(c, "DKMS tree", c->paths.dkms_tree); }

int check_module_args(const struct ctx *c, const char *action)
{
	const struct request *r = c->req;
	if (r->module && *r->module && r->version && *r->version)
		return 0;
	ctx_error(c,
		  "Arguments <module> and <module-version> are not specified.\n"
		  "Usage: %s <module>/<module-version> or\n"
		  "       %s -m <module>/<module-version> or\n"
		  "       %s -m <module> -v <module-version>",
		  action, action, action);
	return 1;
}

/* dkms refuses every action on a broken module/version (exit 4); with cleanup, the hint
 * that remove/uninstall/unbuild --force clean it up (as modforge). */
static int refuse_broken(const struct ctx *c, bool cleanup)
{
	const struct request *r = c->req;
	if (!r->module || !r->version)
		return 0;
	if (tree_version_state(&c->paths, r->module, r->version) != TREE_V_BROKEN)
		return 0;
	ctx_error(c,
		  "%s/%s is broken!\nMissing the source directory or the symbolic link pointing to it.\n"
		  "Manual intervention is required!",
		  r->module, r->version);
	if (cleanup && strcmp(c->prog, "dkms") != 0)
		fprintf(c->err, "With --force, %s cleans up what is left of it (without running its scripts).\n",
			c->req->action_word ? c->req->action_word : "remove");
	return 4;
}

int check_not_broken(const struct ctx *c) { return refuse_broken(c, false); }

/* A broken version's conf for t, as far as its result tells: the modules its manifest
 * lists and where they were installed; no scripts (its source is gone). */
static struct module_conf *conf_of_result(const struct ctx *c, const char *m, const char *v, const struct target *t)
{
	_cleanup_strv_ struct strv files = STRV_INIT;
	_cleanup_strv_ struct strv dests = STRV_INIT;
	if (tree_result_modules(&c->paths, m, v, t->kernel, t->arch, &files, &dests) < 0)
		return NULL;
	struct module_conf *mc = xcalloc(1, sizeof(*mc));
	mc->package_name = xstrdup(m);
	mc->package_version = xstrdup(v);
	mc->records = xcalloc(files.n + 1, sizeof(*mc->records));
	_cleanup_free_ char *kdir = path_join(c->paths.install_tree, t->kernel);
	for (size_t i = 0; i < files.n; i++) {
		const char *dest = dests.items[i];
		const char *slash = strrchr(dest, '/');
		size_t kl = strlen(kdir);
		if (!slash || strncmp(dest, kdir, kl) != 0 || dest[kl] != '/' || strstr(dest + kl, "/.."))
			continue; /* installed elsewhere than this module tree: left alone */
		char *name = xstrdup(slash + 1);
		char *ko = NULL; /* the last ".ko", with at most a compression suffix after it */
		for (char *p = strstr(name, ".ko"); p; p = strstr(p + 1, ".ko"))
			ko = p;
		if (ko && (!ko[3] || !strcmp(ko + 3, ".gz") || !strcmp(ko + 3, ".xz") || !strcmp(ko + 3, ".zst")))
			*ko = '\0';
		struct conf_record *rec = &mc->records[mc->n_records++];
		rec->built_name = xstrdup(name);
		rec->built_location = xstrdup("");
		rec->dest_name = name;
		rec->dest_location = xstrndup(dest + kl, (size_t)(slash - dest) - kl);
		rec->conf_dest_location = xstrdup(rec->dest_location);
	}
	return mc;
}

int check_added(const struct ctx *c)
{
	const struct request *r = c->req;
	if (tree_version_state(&c->paths, r->module, r->version) == TREE_V_ADDED)
		return 0;
	ctx_error(c, "The module/version combo: %s/%s is not located in the DKMS tree.", r->module, r->version);
	return 3;
}

/* What a command acts on: module/version (from the request, or a source tree's dkms.conf),
 * where its source is while the plan is made, and whether the plan adds it first. */
struct subject {
	char *module, *version;
	char *source; /* the source directory the confs are read from */
	bool add;     /* an add job comes first ... */
	bool copy;    /* ... copying source into <source_tree>/<m>-<v> ... */
	bool link;    /* ... and adding it to the tree (not when it is there) */
};

static void subject_release(struct subject *s)
{
	free(s->module);
	free(s->version);
	free(s->source);
}

/* dkms's add_source_tree: a directory with a dkms.conf names the module/version. */
static int subject_from_tree(struct ctx *c, const char *from_arg, struct subject *sj)
{
	_cleanup_free_ char *from = real_path(from_arg);
	_cleanup_free_ char *conf = from ? path_join(from, "dkms.conf") : NULL;
	if (!from || !is_regular(conf)) {
		ctx_error(c, "%s must contain a dkms.conf file!", from_arg);
		return 9;
	}
	int e = check_root(c);
	if (e)
		return e;
	struct target_list tl = { 0 };
	e = targets_from_request(c, &tl);
	if (e)
		return e;
	struct module_conf *mc = NULL;
	struct conf_load l = { .conf_path = conf };
	e = confload(c, &l, &tl.items[0], 1, &mc);
	targets_release(&tl);
	if (e)
		return e;
	sj->module = xstrdup(mc->package_name);
	sj->version = xstrdup(mc->package_version);
	conf_free(mc);
	_cleanup_free_ char *dst = xasprintf("%s/%s-%s", c->paths.source_tree, sj->module, sj->version);
	_cleanup_free_ char *real_dst = real_path(dst);
	sj->copy = c->req->force || !real_dst || strcmp(real_dst, from) != 0;
	sj->source = sj->copy ? steal_pointer(&from) : steal_pointer(&dst);
	return 0;
}

/* dkms's add_module checks, made when the plan is made. */
static int check_addable(const struct ctx *c, struct subject *sj)
{
	/* add DIR --force copies DIR first, as dkms does, and only then finds it added (3). */
	bool copy_first = sj->copy && c->req->force;
	if (!copy_first && tree_version_state(&c->paths, sj->module, sj->version) == TREE_V_ADDED) {
		ctx_error(
			c,
			"DKMS tree already contains: %s/%s\nYou cannot add the same module/version combo more than once.",
			sj->module, sj->version);
		return 3;
	}
	if (!sj->copy && !is_dir(sj->source)) {
		ctx_error(c, "Could not find module source directory.\nDirectory: %s does not exist.", sj->source);
		return 2;
	}
	sj->add = sj->link = true;
	return 0;
}

/* Fills sj from the request (or the source tree argument); with add_if_missing, a module
 * not in the tree yet is planned to be added. */
static int subject_resolve(struct ctx *c, struct subject *sj, bool add_if_missing, const char *action)
{
	const struct request *r = c->req;
	if (r->try_source_tree && !r->module && !r->version) {
		int e = subject_from_tree(c, r->try_source_tree, sj);
		if (e)
			return e;
	} else {
		sj->module = r->module ? xstrdup(r->module) : NULL;
		sj->version = r->version ? xstrdup(r->version) : NULL;
	}
	if (!sj->module || !*sj->module || !sj->version || !*sj->version) {
		struct request tmp = *r;
		tmp.module = sj->module;
		tmp.version = sj->version;
		struct ctx c2 = *c;
		c2.req = &tmp;
		return check_module_args(&c2, action);
	}
	if (!sj->source)
		sj->source = xasprintf("%s/%s-%s", c->paths.source_tree, sj->module, sj->version);
	bool added = tree_version_state(&c->paths, sj->module, sj->version) == TREE_V_ADDED;
	if (added && !sj->copy) {
		free(sj->source);
		sj->source = tree_source_link(&c->paths, sj->module, sj->version);
	}
	if (add_if_missing && !added)
		return check_addable(c, sj);
	sj->add = sj->copy; /* in the tree already: the source tree is copied over its source */
	return 0;
}

/* Loads the conf of the subject for every target (one bash run). */
static int load_confs(struct ctx *c, const struct subject *sj, const struct target_list *tl, bool strict,
		      bool defer_warnings, struct module_conf ***out)
{
	_cleanup_free_ char *conf = c->req->conf ? xstrdup(c->req->conf) : path_join(sj->source, "dkms.conf");
	*out = xcalloc(tl->n ? tl->n : 1, sizeof(**out));
	/* add DIR: dkms reads the conf once DIR is copied, and names it there */
	_cleanup_free_ char *shown = sj->copy && !c->req->conf
		? xasprintf("%s/%s-%s/dkms.conf", c->paths.source_tree, sj->module, sj->version)
		: NULL;
	struct conf_load l = { .module = sj->module,
			       .version = sj->version,
			       .conf_path = conf,
			       .shown_path = shown,
			       .strict = strict,
			       .defer_warnings = defer_warnings };
	return confload(c, &l, tl->items, tl->n, *out);
}

/* add DIR whose dkms.conf is bad: dkms has copied DIR into the source tree before it reads
 * the conf there, and leaves the copy; so does modforge (nothing is added). */
static void copy_before_bad_conf(const struct ctx *c, const struct subject *sj, int e)
{
	if (e != 8 || !sj->copy || c->req->conf || c->req->dry_run)
		return;
	_cleanup_free_ char *dst = xasprintf("%s/%s-%s", c->paths.source_tree, sj->module, sj->version);
	if (path_exists(dst))
		return;
	if (mkdir_p(dst, 0755) < 0 || copy_tree(sj->source, dst) < 0)
		rm_rf(dst);
}

/* What a lifecycle command holds while it plans and runs. */
struct lifecycle {
	struct subject sj;
	struct target_list tl;
	struct module_conf **confs; /* one per target */
	struct job_set s;
};
/* clang-format off */
#define LIFECYCLE_INIT { .s = JOB_SET_INIT }
/* clang-format on */

static void lifecycle_release(struct lifecycle *l)
{
	jobs_release(&l->s);
	for (size_t i = 0; l->confs && i < l->tl.n; i++)
		if (l->confs[i])
			conf_free(l->confs[i]);
	free(l->confs);
	targets_release(&l->tl);
	subject_release(&l->sj);
}

int cmd_add(struct ctx *c)
{
	if (c->req->all) {
		ctx_error(c, "The action add does not support the --all parameter.");
		return 5;
	}
	int e = check_rw_dkms_tree(c);
	if (e)
		return e;
	struct lifecycle l = LIFECYCLE_INIT;
	e = subject_resolve(c, &l.sj, false, "add");
	if (!e)
		e = check_addable(c, &l.sj);
	if (!e)
		e = targets_from_request(c, &l.tl);
	if (!e)
		e = load_confs(c, &l.sj, &l.tl, true, false, &l.confs);
	copy_before_bad_conf(c, &l.sj, e);
	if (!e) {
		jobs_plan_add(&l.s, l.sj.module, l.sj.version, l.confs[0], l.sj.source, l.sj.copy, true);
		e = jobs_run_or_print(c, &l.s);
	}
	lifecycle_release(&l);
	return e;
}

/* build or install of one module/version for each target: [add ->] eval -> [unbuild ->]
 * build [-> store] -> install -> depmod, per kernel. */
static int build_or_install(struct ctx *c, bool install)
{
	const char *action = install ? "install" : "build";
	if (c->req->all) {
		ctx_error(c, "The action %s does not support the --all parameter.", action);
		return 5;
	}
	int e = check_not_broken(c);
	if (!e)
		e = install ? check_root(c) : check_rw_dkms_tree(c);
	if (e)
		return e;
	struct lifecycle l = LIFECYCLE_INIT;
	const struct subject *sj = &l.sj;
	e = subject_resolve(c, &l.sj, true, "add"); /* (dkms's usage names add: they add first) */
	if (!e)
		e = c->req->all_kernels ? targets_with_headers(c, &l.tl) : targets_from_request(c, &l.tl);
	if (!e)
		e = load_confs(c, sj, &l.tl, true, true, &l.confs);
	if (sj->add)
		copy_before_bad_conf(c, sj, e);
	if (!e) {
		struct job_set *s = &l.s;
		long add = -1;
		if (sj->add) {
			add = (long)jobs_plan_add(s, sj->module, sj->version, l.confs[0], sj->source, sj->copy,
						  sj->link);
			s->payloads[add]->blank_after = true;
			s->payloads[add]->says_conf_warnings = true;
		}
		size_t eval;
		jobs_add(s, JOB_EVAL, sj->module, sj->version, NULL, &eval);
		s->plan.jobs[eval].state = JOB_DONE;
		for (size_t i = 0; i < l.tl.n; i++) {
			struct target *t = &l.tl.items[i];
			size_t b = jobs_plan_build(c, s, sj->module, sj->version, t, l.confs[i], sj->source, NULL,
						   install ? BUILD_FOR_INSTALL : BUILD_ASKED, add);
			plan_dep(&s->plan, b, eval);
			s->payloads[b]->says_conf_warnings = true;
			if (!install)
				continue;
			/* Installed already (and not forced): the install is a skip, and dkms
			 * rebuilds nothing then. */
			_cleanup_free_ char *now = tree_installed_version(&c->paths, sj->module, t->kernel, t->arch);
			bool skip = now && strcmp(now, sj->version) == 0 && !c->req->force;
			size_t in = jobs_plan_install(s, sj->module, sj->version, t, l.confs[i], b, DEP_SUCCESS);
			s->payloads[in]->says_conf_warnings = true;
			if (!skip)
				jobs_plan_rebuild_dependents(c, s, sj->module, sj->version, t, in);
		}
		e = jobs_run_or_print(c, s);
	}
	lifecycle_release(&l);
	return e;
}

int cmd_build(struct ctx *c) { return build_or_install(c, false); }
int cmd_install(struct ctx *c) { return build_or_install(c, true); }

static int kernel_vercmp(const char *a, const char *b) { return strverscmp(a, b); }

/* Targets for uninstall/unbuild/remove: -k as given, or --all = every built k/a. */
static int removal_targets(struct ctx *c, struct target_list *tl)
{
	if (!c->req->all)
		return targets_from_request(c, tl);
	size_t n = 0;
	char **builds = tree_list_builds(&c->paths, c->req->module, c->req->version, &n);
	struct strv sorted = STRV_INIT;
	for (size_t i = 0; i < n; i++)
		strv_push(&sorted, builds[i]);
	strarray_free(builds);
	strv_sort(&sorted, kernel_vercmp);
	for (size_t i = 0; i < sorted.n; i++) {
		char *tab = strchr(sorted.items[i], '\t');
		*tab = '\0';
		if (tree_is_built(&c->paths, c->req->module, c->req->version, sorted.items[i], tab + 1))
			targets_add(c, tl, sorted.items[i], tab + 1);
	}
	strv_release(&sorted);
	return 0;
}

enum removal { RM_UNINSTALL, RM_UNBUILD, RM_REMOVE };

/* uninstall -> depmod [-> unbuild] per kernel [-> remove]. */
static int removal(struct ctx *c, enum removal what)
{
	static const char *const names[] = { "uninstall", "unbuild", "remove" };
	int e = check_module_args(c, names[what]);
	bool broken = !e && tree_version_state(&c->paths, c->req->module, c->req->version) == TREE_V_BROKEN;
	if (!e && !(broken && c->req->force))
		e = refuse_broken(c, true);
	if (!e && !broken)
		e = check_added(c);
	if (!e)
		e = what == RM_UNINSTALL ? check_root(c) : check_rw_dkms_tree(c);
	if (e)
		return e;
	const char *m = c->req->module, *v = c->req->version;
	struct lifecycle l = LIFECYCLE_INIT;
	l.sj = (struct subject){ .module = xstrdup(m),
				 .version = xstrdup(v),
				 .source = tree_source_link(&c->paths, m, v) };
	e = removal_targets(c, &l.tl);
	if (!e && l.tl.n && broken) {
		fprintf(c->out, "%s/%s is broken (its source is missing): cleaning up what is left of it.\n", m, v);
		l.confs = xcalloc(l.tl.n, sizeof(*l.confs));
		for (size_t i = 0; i < l.tl.n; i++)
			l.confs[i] = conf_of_result(c, m, v, &l.tl.items[i]);
	} else if (!e && l.tl.n) {
		/* The lenient reader: a conf that fails still lets unbuild/remove go on. */
		if (load_confs(c, &l.sj, &l.tl, false, false, &l.confs) != 0)
			fflush(c->err);
	}
	for (size_t i = 0; !e && i < l.tl.n; i++) {
		size_t un = jobs_plan_uninstall(&l.s, m, v, &l.tl.items[i], l.confs ? l.confs[i] : NULL);
		l.s.payloads[un]->blank_before = what != RM_REMOVE && i > 0;
		if (what == RM_UNINSTALL)
			continue;
		size_t ub = jobs_plan_unbuild(&l.s, m, v, &l.tl.items[i]);
		l.s.payloads[ub]->blank_after = what == RM_REMOVE;
	}
	if (!e && what == RM_REMOVE)
		jobs_plan_remove(&l.s, m, v);
	if (!e)
		e = jobs_run_or_print(c, &l.s);
	lifecycle_release(&l);
	return e;
}

int cmd_uninstall(struct ctx *c) { return removal(c, RM_UNINSTALL); }
int cmd_unbuild(struct ctx *c) { return removal(c, RM_UNBUILD); }
int cmd_remove(struct ctx *c) { return removal(c, RM_REMOVE); }

/* cmd_lifecycle.c - add, build, install, uninstall, unbuild, remove. */
#include "commands.h"

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
#include "orchestrator/conf.h"
#include "orchestrator/confine.h"
#include "orchestrator/confload.h"
#include "orchestrator/context.h"
#include "orchestrator/jobs.h"
#include "orchestrator/targets.h"
#include "orchestrator/tree.h"

int check_root(const struct ctx *c)
{
	if (c->is_root)
		return 0;
	ctx_error(c, "You must be root to use this command.");
	return 1;
}

int check_rw_dkms_tree(const struct ctx *c)
{
	if (access(c->paths.dkms_tree, W_OK) == 0)
		return 0;
	ctx_error(c, "No write access to DKMS tree at %s", c->paths.dkms_tree);
	return 1;
}

int check_module_args(const struct ctx *c, const char *action)
{
	const struct request *r = c->req;
	if (r->module && *r->module && r->version && *r->version)
		return 0;
	ctx_error(c, "Arguments <module> and <module-version> are not specified.\n"
		  "Usage: %s <module>/<module-version> or\n"
		  "       %s -m <module>/<module-version> or\n"
		  "       %s -m <module> -v <module-version>", action, action, action);
	return 1;
}

int module_is_broken_and_die(const struct ctx *c)
{
	const struct request *r = c->req;
	if (!r->module || !r->version)
		return 0;
	if (tree_version_state(&c->paths, r->module, r->version) != TREE_V_BROKEN)
		return 0;
	ctx_error(c, "%s/%s is broken!\nMissing the source directory or the symbolic link pointing to it.\n"
		  "Manual intervention is required!", r->module, r->version);
	return 4;
}

int module_is_added_or_die(const struct ctx *c)
{
	const struct request *r = c->req;
	if (tree_version_state(&c->paths, r->module, r->version) == TREE_V_ADDED)
		return 0;
	ctx_error(c, "The module/version combo: %s/%s is not located in the DKMS tree.", r->module, r->version);
	return 3;
}

/* The request's module/version, settable once a source tree told us its name. */
struct mv {
	char *module, *version;
};

static char *source_conf_path(const struct ctx *c, const char *m, const char *v)
{
	if (c->req->conf)
		return xstrdup(c->req->conf);
	return xasprintf("%s/%s-%s/dkms.conf", c->paths.source_tree, m, v);
}

/* dkms's add_source_tree: read the tree's dkms.conf, copy it to <src>/<m>-<v>. */
static int add_source_tree(struct ctx *c, const char *from_arg, struct mv *mv)
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
	mv->module = xstrdup(mc->package_name);
	mv->version = xstrdup(mc->package_version);
	conf_free(mc);
	_cleanup_free_ char *dst = xasprintf("%s/%s-%s", c->paths.source_tree, mv->module, mv->version);
	if (c->req->force && is_dir(dst)) {
		fprintf(c->err, "\n");
		fprintf(c->out, "Forcing install of %s/%s\n", mv->module, mv->version);
		rm_rf(dst);
	}
	_cleanup_free_ char *real_dst = real_path(dst);
	if (real_dst && strcmp(real_dst, from) == 0)
		return 0;
	e = mkdir_p(dst, 0755);
	if (e == 0)
		e = copy_tree(from, dst);
	if (e < 0) {
		ctx_error(c, "Cannot copy %s to %s: %s", from, dst, strerror(-e));
		return 9;
	}
	return 0;
}

/* dkms's add_module for m/v (source already in place). */
static int add_module(struct ctx *c, const char *m, const char *v)
{
	if (tree_version_state(&c->paths, m, v) == TREE_V_ADDED) {
		ctx_error(c, "DKMS tree already contains: %s/%s\nYou cannot add the same module/version combo more than once.", m, v);
		return 3;
	}
	_cleanup_free_ char *srcdir = xasprintf("%s/%s-%s", c->paths.source_tree, m, v);
	if (!is_dir(srcdir)) {
		ctx_error(c, "Could not find module source directory.\nDirectory: %s does not exist.", srcdir);
		return 2;
	}
	struct target_list tl = { 0 };
	int e = targets_from_request(c, &tl);
	if (e)
		return e;
	_cleanup_free_ char *conf = source_conf_path(c, m, v);
	struct module_conf *mc = NULL;
	struct conf_load l = { .module = m, .version = v, .conf_path = conf, .strict = true };
	e = confload(c, &l, &tl.items[0], 1, &mc);
	targets_release(&tl);
	if (e)
		return e;
	_cleanup_free_ char *link = tree_source_link(&c->paths, m, v);
	_cleanup_free_ char *build = tree_build_area(&c->paths, m, v);
	int lock;
	int le = tree_lock(c->paths.dkms_tree, true, c->err, &lock);
	if (le == 0 && tree_version_state(&c->paths, m, v) == TREE_V_ADDED) {
		tree_unlock(lock); /* another run added it meanwhile */
		ctx_error(c, "DKMS tree already contains: %s/%s\nYou cannot add the same module/version combo more than once.", m, v);
		conf_free(mc);
		return 3;
	}
	fprintf(c->out, "Creating symlink %s -> %s\n", link, srcdir);
	fflush(c->out);
	e = le < 0 ? le : mkdir_p(build, 0755);
	if (e == 0 && symlink(srcdir, link) < 0)
		e = -errno;
	tree_unlock(lock);
	if (e < 0) {
		ctx_error(c, "Cannot create %s: %s", link, strerror(-e));
		conf_free(mc);
		return 1;
	}
	struct job_box box;
	bool boxed = c->req->sandbox_scripts && c->sandbox;
	if (boxed)
		box_for_script(c, srcdir, &box);
	package_script_run(srcdir, "post_add", mc->post_add, boxed ? &box.box : NULL, c->out, c->err);
	if (boxed)
		job_box_release(&box);
	conf_free(mc);
	return 0;
}

/* Resolves m/v from the request (or a source tree argument) and adds when asked to. */
static int resolve_and_add(struct ctx *c, struct mv *mv, bool add_if_missing, const char *action)
{
	const struct request *r = c->req;
	if (r->try_source_tree && !r->module && !r->version) {
		int e = add_source_tree(c, r->try_source_tree, mv);
		if (e)
			return e;
	} else {
		mv->module = r->module ? xstrdup(r->module) : NULL;
		mv->version = r->version ? xstrdup(r->version) : NULL;
	}
	if (!mv->module || !*mv->module || !mv->version || !*mv->version) {
		struct request tmp = *r;
		tmp.module = mv->module;
		tmp.version = mv->version;
		struct ctx c2 = *c;
		c2.req = &tmp;
		return check_module_args(&c2, action);
	}
	if (add_if_missing && tree_version_state(&c->paths, mv->module, mv->version) != TREE_V_ADDED) {
		int e = add_module(c, mv->module, mv->version);
		if (e)
			return e;
		if (strcmp(action, "add") != 0)
			fputs("\n", c->out);
	}
	return 0;
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
	struct mv mv = { 0 };
	const struct request *r = c->req;
	if (r->try_source_tree && !r->module && !r->version) {
		e = add_source_tree(c, r->try_source_tree, &mv);
	} else {
		e = check_module_args(c, "add");
		if (!e) {
			mv.module = xstrdup(r->module);
			mv.version = xstrdup(r->version);
		}
	}
	if (!e)
		e = add_module(c, mv.module, mv.version);
	free(mv.module);
	free(mv.version);
	return e;
}

/* Loads the conf of m/v for every target (one bash run). */
static int load_confs(struct ctx *c, const char *m, const char *v, const struct target_list *tl,
		      bool strict, struct module_conf ***out)
{
	/* Not added yet (a --dry-run): the conf is still in the source tree. */
	_cleanup_free_ char *src = tree_version_state(&c->paths, m, v) == TREE_V_ADDED
					   ? tree_source_link(&c->paths, m, v)
					   : xasprintf("%s/%s-%s", c->paths.source_tree, m, v);
	_cleanup_free_ char *conf = c->req->conf ? xstrdup(c->req->conf) : path_join(src, "dkms.conf");
	*out = xcalloc(tl->n ? tl->n : 1, sizeof(**out));
	struct conf_load l = { .module = m, .version = v, .conf_path = conf, .strict = strict };
	return confload(c, &l, tl->items, tl->n, *out);
}

static void free_confs(struct module_conf **confs, size_t n)
{
	for (size_t i = 0; confs && i < n; i++)
		if (confs[i])
			conf_free(confs[i]);
	free(confs);
}

/* build or install of one module/version for each target. */
static int build_or_install(struct ctx *c, bool install)
{
	const char *action = install ? "install" : "build";
	if (c->req->all) {
		ctx_error(c, "The action %s does not support the --all parameter.", action);
		return 5;
	}
	int e = module_is_broken_and_die(c);
	if (!e)
		e = install ? check_root(c) : check_rw_dkms_tree(c);
	if (e)
		return e;
	struct mv mv = { 0 };
	struct target_list tl = { 0 };
	struct module_conf **confs = NULL;
	struct job_set s = { 0 };
	e = resolve_and_add(c, &mv, !c->req->dry_run, action);
	if (!e)
		e = c->req->all_kernels ? targets_with_headers(c, &tl) : targets_from_request(c, &tl);
	if (!e)
		e = load_confs(c, mv.module, mv.version, &tl, true, &confs);
	if (!e) {
		size_t eval;
		jobs_add(&s, JOB_EVAL, mv.module, mv.version, NULL, &eval);
		s.plan.jobs[eval].state = JOB_DONE;
		_cleanup_free_ char *area = tree_build_area(&c->paths, mv.module, mv.version);
		for (size_t i = 0; i < tl.n; i++) {
			size_t b, in, dm;
			struct job_payload *p = jobs_add(&s, JOB_BUILD, mv.module, mv.version, &tl.items[i], &b);
			p->conf = confs[i];
			p->for_install = install;
			plan_dep(&s.plan, b, eval);
			/* Unconfined, the one build area of a module/version makes its builds
			 * take turns; confined, each has its own. */
			if (!c->sandbox)
				plan_lock(&s.plan, b, area);
			if (!install)
				continue;
			p = jobs_add(&s, JOB_INSTALL, mv.module, mv.version, &tl.items[i], &in);
			p->conf = confs[i];
			plan_dep(&s.plan, in, b);
			jobs_add(&s, JOB_DEPMOD, NULL, NULL, &tl.items[i], &dm);
			plan_dep(&s.plan, dm, in);
		}
		e = jobs_run_or_print(c, &s);
	}
	jobs_release(&s);
	free_confs(confs, tl.n);
	targets_release(&tl);
	free(mv.module);
	free(mv.version);
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

/* Leftover .tmp_* build dirs of m/v go first, as in dkms's remove. */
static void remove_stale_tmp(const struct ctx *c)
{
	_cleanup_free_ char *vdir = tree_version_dir(&c->paths, c->req->module, c->req->version);
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

/* Deletes <m>/<v> when only build/tarball/source (and the like) remain, then <m>. */
static void remove_version_if_empty(struct ctx *c)
{
	const char *m = c->req->module, *v = c->req->version;
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
	}
	_cleanup_free_ char *mdir = tree_module_dir(&c->paths, m);
	rmdir(mdir);
}

static int removal(struct ctx *c, enum removal what)
{
	static const char *const names[] = { "uninstall", "unbuild", "remove" };
	int e = check_module_args(c, names[what]);
	if (!e)
		e = module_is_broken_and_die(c);
	if (!e)
		e = module_is_added_or_die(c);
	if (!e)
		e = what == RM_UNINSTALL ? check_root(c) : check_rw_dkms_tree(c);
	if (e)
		return e;
	const char *m = c->req->module, *v = c->req->version;
	if (what == RM_REMOVE && !c->req->dry_run) {
		int lock;
		(void)tree_lock(c->paths.dkms_tree, true, c->err, &lock); /* best effort, as before */
		remove_stale_tmp(c);
		tree_unlock(lock);
	}
	struct target_list tl = { 0 };
	struct module_conf **confs = NULL;
	struct job_set s = { 0 };
	e = removal_targets(c, &tl);
	if (!e && tl.n) {
		/* The lenient reader: a conf that fails still lets unbuild/remove go on. */
		if (load_confs(c, m, v, &tl, false, &confs) != 0)
			fflush(c->err);
	}
	for (size_t i = 0; !e && i < tl.n; i++) {
		size_t un, dm, ub;
		struct job_payload *p = jobs_add(&s, JOB_UNINSTALL, m, v, &tl.items[i], &un);
		p->conf = confs ? confs[i] : NULL;
		p->blank_before = what != RM_REMOVE && i > 0;
		jobs_add(&s, JOB_DEPMOD, NULL, NULL, &tl.items[i], &dm);
		plan_dep(&s.plan, dm, un);
		if (what == RM_UNINSTALL)
			continue;
		p = jobs_add(&s, JOB_UNBUILD, m, v, &tl.items[i], &ub);
		p->blank_after = what == RM_REMOVE;
		plan_dep(&s.plan, ub, dm);
	}
	if (!e)
		e = jobs_run_or_print(c, &s);
	if (!e && what == RM_REMOVE && !c->req->dry_run) {
		int lock;
		(void)tree_lock(c->paths.dkms_tree, true, c->err, &lock); /* best effort, as before */
		remove_version_if_empty(c);
		tree_unlock(lock);
	}
	jobs_release(&s);
	free_confs(confs, tl.n);
	targets_release(&tl);
	return e;
}

int cmd_uninstall(struct ctx *c) { return removal(c, RM_UNINSTALL); }
int cmd_unbuild(struct ctx *c) { return removal(c, RM_UNBUILD); }
int cmd_remove(struct ctx *c) { return removal(c, RM_REMOVE); }

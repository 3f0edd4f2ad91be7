/* cmd_tarball.c - mktarball and ldtarball (dkms 3.4.3): a module/version's source and
 * built results as one archive, and back, in dkms's layout so that archives go both ways
 * between modforge and dkms 3.x:
 *   ./dkms_main_tree/<k>/<a>/{module,log}/...  the results (not with --source-only)
 *   ./dkms_source_tree/...                     the source (not with --binaries-only)
 *   ./dkms_binaries_only/{PACKAGE_NAME,PACKAGE_VERSION,dkms.conf}   (--binaries-only)
 * An archive comes from anywhere: the build user unpacks it in a sandbox, root takes the
 * unpacked tree over (chown: nothing of the build user's can change it any more) and
 * copies from it without following a link; loaded results lose any .modforge/ (what an
 * archive says about itself is not modforge's record).
 */
#include "orchestrator/commands/commands.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/proc.h"
#include "executor/treelock.h"
#include "executor/untrusted.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/sandbox_policy.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

/* dkms names an archive of too many kernels "manykernels" (its list over 200 characters). */
#define KERNEL_LIST_MAX 200

/* The directories in dir, sorted (links are not directories here). */
static void subdirs(const char *dir, struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && is_plain_dir(p))
			strv_push(out, de->d_name);
	}
	if (d)
		closedir(d);
	strv_sort(out, strcmp);
}

/* ---- mktarball ----------------------------------------------------------------------- */

/* The results of every target into stage/dkms_main_tree; *list gets dkms's kernel list. */
static int stage_results(struct ctx *c, const struct target_list *tl, const char *stage, struct buf *list)
{
	const char *m = c->req->module, *v = c->req->version;
	for (size_t i = 0; i < tl->n; i++) {
		const struct target *t = &tl->items[i];
		_cleanup_free_ char *result = tree_result_dir(&c->paths, m, v, t->kernel, t->arch);
		if (!is_dir(result)) {
			ctx_error(c,
				  "No modules built for %s (%s).\n"
				  "Modules must already be in the built state before using mktarball.",
				  t->kernel, t->arch);
			return 6;
		}
		fprintf(c->out, "Marking modules for %s (%s) for archiving...\n", t->kernel, t->arch);
		buf_addf(list, "%skernel%s-%s", list->len ? "-" : "", t->kernel, t->arch);
		_cleanup_free_ char *to = xasprintf("%s/dkms_main_tree/%s/%s", stage, t->kernel, t->arch);
		_cleanup_free_ char *own = path_join(to, ".modforge");
		int e = mkdir_p(to, 0755);
		if (e == 0)
			e = copy_tree(result, to);
		if (e == 0)
			e = rm_rf(own);
		if (e < 0) {
			ctx_error(c, "Cannot copy %s: %s", result, strerror(-e));
			return 6;
		}
	}
	return 0;
}

/* The source, or with --binaries-only dkms's stand-in for it, into stage. */
static int stage_source(struct ctx *c, const char *stage)
{
	const char *m = c->req->module, *v = c->req->version;
	_cleanup_free_ char *src = tree_source_link(&c->paths, m, v);
	int e;
	if (c->req->binaries_only) {
		fputs("\nCreating tarball structure to specifically accommodate binaries.\n", c->out);
		_cleanup_free_ char *dir = path_join(stage, "dkms_binaries_only");
		_cleanup_free_ char *name = path_join(dir, "PACKAGE_NAME");
		_cleanup_free_ char *version = path_join(dir, "PACKAGE_VERSION");
		_cleanup_free_ char *nl_m = xasprintf("%s\n", m), *nl_v = xasprintf("%s\n", v);
		_cleanup_free_ char *conf = c->req->conf ? xstrdup(c->req->conf) : path_join(src, "dkms.conf");
		const char *base = strrchr(conf, '/') ? strrchr(conf, '/') + 1 : conf;
		_cleanup_free_ char *conf_to = path_join(dir, base); /* dkms copies it under its own name */
		e = mkdir_p(dir, 0755);
		if (e == 0)
			e = write_file_atomic(name, nl_m, strlen(nl_m), 0644);
		if (e == 0)
			e = write_file_atomic(version, nl_v, strlen(nl_v), 0644);
		if (e == 0 && is_regular(conf))
			e = copy_file_atomic(conf, conf_to, 0644);
	} else {
		fprintf(c->out, "\nMarking %s for archiving...\n", src);
		_cleanup_free_ char *real = real_path(src);
		_cleanup_free_ char *to = path_join(stage, "dkms_source_tree");
		e = real ? copy_tree(real, to) : -ENOENT;
	}
	if (e < 0)
		ctx_error(c, "Cannot copy the source of %s/%s: %s", m, v, strerror(-e));
	return e < 0 ? 6 : 0;
}

/* Where the archive goes, as dkms says it: <dir>/<name> (the default dir keeps dkms's
 * trailing '/'; --archive's dir is the part before its last '/', if any). */
static void archive_place(const struct ctx *c, const char *list, char **dir, char **name)
{
	const char *m = c->req->module, *v = c->req->version, *a = c->req->archive;
	const char *slash = a && *a ? strrchr(a, '/') : NULL;
	*name = a && *a ? xstrdup(slash ? slash + 1 : a) : xasprintf("%s-%s-%s.dkms.tar.gz", m, v, list);
	*dir = slash ? xstrndup(a, (size_t)(slash - a)) : xasprintf("%s/%s/%s/tarball/", c->paths.dkms_tree, m, v);
}

/* tar -C stage -caf path . : compressed as the name says, as dkms makes it. */
static int write_archive(const char *stage, const char *path)
{
	char *argv[] = { "tar", "-C", (char *)stage, "-caf", (char *)path, ".", NULL };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct proc_spec spec = { .argv = argv, .stdin_fd = -1, .stdout_fd = devnull, .stderr_fd = devnull };
	int code = 1;
	int r = proc_run(&spec, &code);
	if (devnull >= 0)
		close(devnull);
	return r == 0 && code == 0 ? 0 : -1;
}

int cmd_mktarball(struct ctx *c)
{
	const struct request *r = c->req;
	int e = check_module_args(c, "mktarball");
	if (!e)
		e = check_not_broken(c);
	if (!e)
		e = check_added(c);
	if (e)
		return e;
	struct target_list tl = { 0 };
	e = targets_from_request(c, &tl);
	if (e)
		return e;
	_cleanup_free_ char *src = tree_source_link(&c->paths, r->module, r->version);
	_cleanup_free_ char *conf_path = r->conf ? xstrdup(r->conf) : path_join(src, "dkms.conf");
	struct module_conf *mc = NULL;
	struct conf_load l = { .module = r->module, .version = r->version, .conf_path = conf_path, .strict = true };
	e = confload(c, &l, &tl.items[0], 1, &mc); /* dkms reads it first, and stops on a bad one */
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *stage = xasprintf("%s/dkms.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	bool staged = !e && mkdtemp(stage);
	if (!e && !staged) {
		ctx_error(c, "Cannot make a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
		e = 1;
	}
	_cleanup_buf_ struct buf list = BUF_INIT;
	_cleanup_free_ char *main_tree = path_join(stage, "dkms_main_tree");
	if (!e && mkdir(main_tree, 0755) < 0) /* always there, as in dkms's archives */
		e = 6;
	if (!e && r->source_only)
		buf_adds(&list, "source-only");
	else if (!e)
		e = stage_results(c, &tl, stage, &list);
	if (!e)
		e = stage_source(c, stage);
	_cleanup_free_ char *dir = NULL, *name = NULL;
	if (!e) {
		if (list.len + 1 > KERNEL_LIST_MAX) {
			buf_reset(&list);
			buf_adds(&list, "manykernels");
		}
		archive_place(c, list.data, &dir, &name);
		fprintf(c->out, "\nTarball location: %s/%s\n", dir, name);
		fflush(c->out);
		if ((!is_dir(dir) && mkdir_p(dir, 0755) < 0) || access(dir, W_OK) != 0) {
			ctx_error(c, "Missing write permissions for %s.", dir);
			e = 9;
		}
	}
	if (!e) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
		if (write_archive(stage, path) < 0) {
			ctx_error(c, "Failed to make tarball.");
			e = 6;
		}
	}
	if (staged)
		rm_rf(stage);
	if (mc)
		conf_free(mc);
	targets_release(&tl);
	return e;
}

/* ---- ldtarball ----------------------------------------------------------------------- */

/* A copy of the archive, root's: a regular file only (a FIFO or a device swapped in is
 * refused, never read), no more than its size said. */
static int copy_archive(const char *archive, const char *copy)
{
	_cleanup_close_ int fd = open(archive, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return copy_fd_atomic(fd, copy, 0644, (uint64_t)st.st_size);
}

/* The archive unpacked by the build user in a sandbox into <dir>/tree, then root's. *dir:
 * a new directory in <dkmstree>/.modforge (the sandbox's /tmp is its own). */
static int unpack(struct ctx *c, const char *archive, char **dir_out)
{
	_cleanup_free_ char *own = layout_own_dir(c->paths.dkms_tree);
	char *dir = xasprintf("%s/unpack.XXXXXX", own);
	*dir_out = dir;
	if (mkdir_p(own, 0755) < 0 || !mkdtemp(dir) || chmod(dir, 0755) < 0) {
		ctx_error(c, "Cannot make a directory in %s: %s", own, strerror(errno));
		free(dir);
		*dir_out = NULL;
		return 1;
	}
	/* dir and the copy of the archive stay root's; the build user gets tree/ only */
	_cleanup_free_ char *copy = path_join(dir, "archive");
	_cleanup_free_ char *tree = path_join(dir, "tree");
	int e = copy_archive(archive, copy);
	if (e == 0 && mkdir(tree, 0755) < 0)
		e = -errno;
	bool give = c->is_root && c->sandbox;
	if (e == 0 && give && chown(tree, c->build_uid, c->build_gid) < 0)
		e = -errno;
	if (e < 0) {
		ctx_error(c, "Cannot read %s: %s", archive, strerror(-e));
		return 1;
	}
	struct job_box box;
	box_for_unpack(c, copy, tree, &box);
	char *argv[] = { "tar", "-xaf", "../archive", "--no-same-owner", "--no-same-permissions", NULL };
	int code = 0;
	struct untrusted_cmd uc = { .argv = argv, .cwd = tree, .out_fd = -1, .box = c->sandbox ? &box.box : NULL };
	int r = untrusted_run(&uc, &code);
	job_box_release(&box);
	/* (tar's own complaints are on stderr; what it left is judged below, as dkms does) */
	(void)code;
	if (r < 0) {
		ctx_error(c, "Cannot unpack %s: %s", archive, strerror(-r));
		return 1;
	}
	/* root's now, by fd, with no set-id bits and no group or other write: nothing of the
	 * build user's can change it while root copies from it; then readable by the build
	 * user, who reads the dkms.conf in it (dkms's archives have their top directory 0700,
	 * mktemp's) */
	_cleanup_close_ int tfd = -1;
	if (take_over_tree(tree, give) < 0 || (tfd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchmod(tfd, 0755) < 0) {
		ctx_error(c, "Cannot take over what %s unpacked to", archive);
		return 1;
	}
	unlink(copy);
	return 0;
}

/* The first dkms.conf below dir (a regular file; links not followed), in name order. */
static char *first_conf(const char *dir, int depth)
{
	_cleanup_free_ char *conf = path_join(dir, "dkms.conf");
	if (is_plain_file(conf))
		return steal_pointer(&conf);
	if (depth > 32)
		return NULL;
	_cleanup_strv_ struct strv dirs = STRV_INIT;
	subdirs(dir, &dirs);
	for (size_t i = 0; i < dirs.n; i++) {
		_cleanup_free_ char *sub = path_join(dir, dirs.items[i]);
		char *found = first_conf(sub, depth + 1);
		if (found)
			return found;
	}
	return NULL;
}

/* Runs the add of `what` (a source tree, or the module/version) as `dkms add` would. */
static int add_as_dkms(struct ctx *c, const char *tree_dir, const char *m, const char *v)
{
	struct request r2 = *c->req;
	r2.action = ACT_ADD;
	r2.try_source_tree = (char *)tree_dir;
	r2.module = (char *)m;
	r2.version = (char *)v;
	r2.archive = NULL;
	struct ctx c2 = *c;
	c2.req = &r2;
	return cmd_add(&c2);
}

/* Which part of a dkms archive names the package: its dkms.conf read (a bad one stops
 * here, as dkms); *loc is "dkms_source_tree" or "dkms_binaries_only". */
static int find_package(struct ctx *c, const char *tree, const char *archive, const char **loc, char **m, char **v)
{
	static const char *const locs[] = { "dkms_source_tree", "dkms_binaries_only" };
	struct target_list tl = { 0 };
	int e = targets_from_request(c, &tl);
	for (size_t i = 0; !e && i < 2; i++) {
		_cleanup_free_ char *loc_dir = path_join(tree, locs[i]);
		_cleanup_free_ char *conf = path_join(loc_dir, "dkms.conf");
		if (!is_plain_dir(loc_dir) || !is_plain_file(conf))
			continue;
		struct module_conf *mc = NULL;
		struct conf_load l = { .conf_path = conf, .strict = true };
		e = confload(c, &l, &tl.items[0], 1, &mc);
		if (e)
			break;
		bool named = mc->package_name && *mc->package_name && mc->package_version && *mc->package_version;
		if (named) {
			*m = xstrdup(mc->package_name);
			*v = xstrdup(mc->package_version);
		}
		conf_free(mc);
		if (!named) {
			fflush(c->out);
			fputs("\nMalformed dkms.conf, refusing to load.\n", c->err);
			continue;
		}
		if (tree_version_state(&c->paths, *m, *v) == TREE_V_ADDED && !c->req->force) {
			ctx_error(c, "%s/%s is already added!\nAborting.", *m, *v);
			e = 8;
			break;
		}
		*loc = locs[i];
		break;
	}
	targets_release(&tl);
	if (!e && !*loc) {
		ctx_error(
			c,
			"No valid dkms.conf in dkms_source_tree or dkms_binaries_only.\n%s is not a valid DKMS tarball.",
			archive);
		e = 7;
	}
	return e;
}

/* The archive's results into the tree (each kept when there and not --force). */
static int load_results(struct ctx *c, const char *tree, const char *m, const char *v)
{
	_cleanup_free_ char *main_tree = path_join(tree, "dkms_main_tree");
	_cleanup_strv_ struct strv kernels = STRV_INIT;
	subdirs(main_tree, &kernels);
	for (size_t i = 0; i < kernels.n; i++) {
		_cleanup_free_ char *kdir = path_join(main_tree, kernels.items[i]);
		_cleanup_strv_ struct strv arches = STRV_INIT;
		subdirs(kdir, &arches);
		for (size_t j = 0; j < arches.n; j++) {
			/* names the tree keeps for itself (.modforge, hidden ones) are no kernel or arch */
			if (kernels.items[i][0] == '.' || arches.items[j][0] == '.')
				continue;
			_cleanup_free_ char *from = path_join(kdir, arches.items[j]);
			_cleanup_free_ char *to = tree_result_dir(&c->paths, m, v, kernels.items[i], arches.items[j]);
			if (is_dir(to) && !c->req->force) {
				fflush(c->out);
				ctx_warn(c, "%s already exists. Skipping...", to);
				continue;
			}
			fprintf(c->out, "Loading %s...\n", to);
			_cleanup_free_ char *own = path_join(to, ".modforge");
			int e = rm_rf(to);
			if (e == 0)
				e = mkdir_p(to, 0755);
			if (e == 0)
				e = copy_tree_untrusted(from, to, false); /* (an archive's links are left out) */
			if (e == 0)
				e = rm_rf(own);
			if (e < 0) {
				ctx_error(c, "Cannot load %s: %s", to, strerror(-e));
				return 6;
			}
		}
	}
	return 0;
}

/* The package's source from the archive (dkms's add_source_tree), or with a binaries-only
 * archive its dkms.conf as the tree's source/ when the source tree has none. */
static int load_source(struct ctx *c, const char *tree, const char *loc, const char *m, const char *v)
{
	_cleanup_free_ char *src = xasprintf("%s/%s-%s", c->paths.source_tree, m, v);
	_cleanup_free_ char *from = path_join(tree, loc);
	int e = 0;
	if (!strcmp(loc, "dkms_source_tree")) {
		if (c->req->force && is_dir(src)) {
			fflush(c->out);
			fputs("\n", c->err);
			fflush(c->err);
			fprintf(c->out, "Forcing install of %s/%s\n", m, v);
			e = rm_rf(src);
		}
		if (e == 0)
			e = mkdir_p(src, 0755);
		if (e == 0)
			e = copy_tree_untrusted(from, src, true);
	} else if (!is_dir(src)) {
		_cleanup_free_ char *sd = tree_source_link(&c->paths, m, v);
		_cleanup_free_ char *conf = path_join(from, "dkms.conf");
		_cleanup_free_ char *conf_to = path_join(sd, "dkms.conf");
		fprintf(c->out, "Creating %s\n", sd);
		e = mkdir_p(sd, 0755);
		fprintf(c->out, "Copying dkms.conf to %s ...\n", sd);
		if (e == 0)
			e = copy_file_atomic(conf, conf_to, 0644);
	}
	if (e < 0)
		ctx_error(c, "Cannot load the source of %s/%s: %s", m, v, strerror(-e));
	return e < 0 ? 6 : 0;
}

int cmd_ldtarball(struct ctx *c)
{
	const struct request *r = c->req;
	if (!c->is_root && r->force) {
		ctx_error(c, "You must be root to use this command with the --force option.");
		return 1;
	}
	const char *archive = r->archive ? r->archive : "";
	struct stat ast;
	if (stat(archive, &ast) < 0) { /* (a dangling link is not there either, as dkms's -e) */
		ctx_error(c, "%s does not exist.", archive);
		return 2;
	}
	size_t n = strlen(archive);
	if (n >= 4 && !strcmp(archive + n - 4, ".rpm")) {
		ctx_error(c,
			  "Unable to install %s using rpm.\nCheck to ensure that your system can install .rpm files.",
			  archive);
		return 9;
	}
	int e = check_rw_dkms_tree(c);
	if (e)
		return e;
	char *dir = NULL;
	e = unpack(c, archive, &dir);
	_cleanup_free_ char *tree = dir ? path_join(dir, "tree") : NULL;
	_cleanup_free_ char *main_tree = tree ? path_join(tree, "dkms_main_tree") : NULL;
	_cleanup_free_ char *m = NULL, *v = NULL;
	if (!e && !is_plain_dir(main_tree)) {
		/* not made by mktarball: the source tree of the first dkms.conf in it */
		_cleanup_free_ char *conf = first_conf(tree, 0);
		if (!conf) {
			ctx_error(c,
				  "Tarball does not appear to be a correctly formed DKMS archive. No dkms.conf found "
				  "within it.");
			e = 3;
		} else {
			conf[strlen(conf) - strlen("dkms.conf")] = '\0';
			e = add_as_dkms(c, conf, NULL, NULL);
		}
		goto out;
	}
	const char *loc = NULL;
	if (!e)
		e = find_package(c, tree, archive, &loc, &m, &v);
	if (!e) {
		fprintf(c->out, "\nLoading tarball for %s/%s\n", m, v);
		int lock;
		int le = tree_lock(c->paths.dkms_tree, true, c->err, &lock);
		if (le < 0) {
			ctx_error(c, "Cannot lock the DKMS tree at %s: %s", c->paths.dkms_tree, strerror(-le));
			e = 1;
		}
		if (!e)
			e = load_source(c, tree, loc, m, v);
		if (!e)
			e = load_results(c, tree, m, v);
		tree_unlock(lock);
		fflush(c->out);
	}
	if (!e) {
		_cleanup_free_ char *src = xasprintf("%s/%s-%s", c->paths.source_tree, m, v);
		/* a binaries-only archive without the source on the system is loaded, not added:
		 * dkms says so with exit 1 */
		e = !strcmp(loc, "dkms_binaries_only") && !is_dir(src) ? 1 : add_as_dkms(c, NULL, m, v);
	}
out:
	if (dir)
		rm_rf(dir);
	free(dir);
	return e;
}

#include "install.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/failure.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/journal.h"
#include "executor/modversion.h"
#include "executor/proc.h"
#include "executor/untrusted.h"

static void error_lines(FILE *err, const char *msg)
{
	fflush(stdout);
	fprintf(err, "\nError! %s\n", msg);
	fflush(err);
}

/* Returns the first of dir/name.ko, dir/name.ko.* that is a regular file (not a link to
 * one: a result loaded from somewhere must not make root copy a file elsewhere), or NULL. */
static char *module_file_in(const char *dir, const char *name)
{
	static const char *const ext[] = { "", ".xz", ".gz", ".zst" };
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		char *p = xasprintf("%s/%s.ko%s", dir, name, ext[i]);
		if (is_plain_file(p))
			return p;
		free(p);
	}
	return NULL;
}

static bool is_module_file_name(const char *fname, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(fname, name, n) != 0 || strncmp(fname + n, ".ko", 3) != 0)
		return false;
	const char *rest = fname + n + 3;
	return !*rest || !strcmp(rest, ".xz") || !strcmp(rest, ".gz") || !strcmp(rest, ".zst");
}

/* find <dir> -name NAME.ko[.ext] -type f, without following symlinks (build/ is one). */
static void find_module_files(const char *dir, const char *name, struct strv *hits)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			find_module_files(p, name, hits);
		else if (S_ISREG(st.st_mode) && is_module_file_name(de->d_name, name))
			strv_push(hits, p);
	}
	closedir(d);
}

/* Before the first install on a kernel: plan to move a same-named module aside, with
 * .origin (dkms's search order: <k>/extra, <k>/updates, <k><dest>, then a find hit). */
static int plan_archive(const struct install_job *j, struct journal *jn, const struct install_record *r,
			const char *lib_tree, const char *orig_dir, const struct strv *hits)
{
	_cleanup_free_ char *extra = path_join(lib_tree, "extra");
	_cleanup_free_ char *updates = path_join(lib_tree, "updates");
	_cleanup_free_ char *dest = xasprintf("%s%s", lib_tree, r->dest_location);
	char *prefs[4] = { module_file_in(extra, r->dest_name), module_file_in(updates, r->dest_name),
			   module_file_in(dest, r->dest_name), hits->n == 1 ? xstrdup(hits->items[0]) : NULL };
	int ret = 0;
	for (size_t i = 0; i < 4; i++) {
		if (!prefs[i])
			continue;
		fprintf(j->out, "Found pre-existing %s, archiving for uninstallation\n", prefs[i]);
		_cleanup_free_ char *to = path_join(orig_dir, strrchr(prefs[i], '/') + 1);
		ret = journal_add(jn, J_ARCHIVE, prefs[i], to, NULL, NULL);
		break;
	}
	for (size_t i = 0; i < 4; i++)
		free(prefs[i]);
	return ret;
}

const char *script_override_dir(const char *etc_module_dir, const char *script)
{
	int len = script ? (int)strcspn(script, " ") : 0;
	if (!etc_module_dir || len == 0)
		return NULL;
	/* a path below that directory only: the package's word never leads root elsewhere */
	_cleanup_free_ char *word = xasprintf("/%.*s/", len, script);
	if (strstr(word, "/../") || word[1] == '/')
		return NULL;
	_cleanup_free_ char *prog = xasprintf("%s/%.*s", etc_module_dir, len, script);
	return is_regular(prog) && access(prog, X_OK) == 0 ? etc_module_dir : NULL;
}

int package_script_run(const char *source_dir, const char *etc_module_dir, const char *type, const char *script,
		       const struct confinement *box, FILE *out, FILE *err)
{
	if (!script || !*script)
		return 0;
	/* Confined, the dkms tree (where the source link lives) is hidden: use the real dir. */
	_cleanup_free_ char *real = box ? real_path(source_dir) : NULL;
	if (real)
		source_dir = real;
	const char *over = script_override_dir(etc_module_dir, script);
	if (over)
		source_dir = over;
	_cleanup_free_ char *run = xasprintf("%s/%s", source_dir, script);
	_cleanup_free_ char *prog = xstrndup(run, strcspn(run, " "));
	if (access(prog, X_OK) != 0) {
		fprintf(out, "\n");
		fflush(out);
		fprintf(err, "Warning: The %s script is not executable.\n", type);
		return 0;
	}
	fprintf(out, "Running the %s script:\n", type);
	fflush(out);
	/* dkms runs `exec $run` from the source dir: word-split, no other shell syntax. */
	_cleanup_free_ char *cmd = xasprintf("exec %s", run);
	char *argv[] = { "bash", "-c", cmd, NULL };
	int code = 0, r;
	struct failure failed = { 0 };
	if (box) {
		struct untrusted_cmd uc = {
			.argv = argv, .cwd = source_dir, .out_fd = -1, .box = box, .failure = &failed
		};
		r = untrusted_run(&uc, &code);
	} else {
		struct proc_spec spec = { .argv = argv,
					  .cwd = source_dir,
					  .stdin_fd = -1,
					  .stdout_fd = -1,
					  .stderr_fd = -1,
					  .failure = &failed };
		r = proc_run(&spec, &code);
	}
	if (r < 0) {
		_cleanup_buf_ struct buf why = BUF_INIT;
		failure_describe(&failed, r, &why);
		_cleanup_free_ char *msg = xasprintf("Cannot start the %s script%s: %s", type,
						     box ? " in its sandbox" : "", why.data);
		error_lines(err, msg);
		return 127;
	}
	return code;
}

/* dkms 3.4.3's check_version_sanity for one module (reference §5.6): false when the
 * same-named module already in the kernel's tree (hits: every one found) is newer, or
 * the same, and --force is not given; the message says which. */
static bool version_sane(const struct install_job *j, const struct install_record *r, const char *lib_tree,
			 const char *built, const struct strv *hits)
{
	if (j->force_version_override || hits->n == 0)
		return true;
	if (hits->n > 1) {
		fprintf(j->err, "Warning: %zu modules named %s.ko in %s; not comparing versions.\n", hits->n,
			r->dest_name, lib_tree);
		return true;
	}
	const char *have_path = hits->items[0];
	enum modversion_verdict v = MODVERSION_OK;
	if (modversion_check(have_path, built, &v) < 0 || v == MODVERSION_OK || j->force)
		return true; /* a file libkmod cannot read counts as unversioned and different */
	struct modversion have = { 0 }, mine = { 0 };
	(void)modversion_read(have_path, &have);
	(void)modversion_read(built, &mine);
	if (v == MODVERSION_OLDER) {
		fflush(j->out);
		fprintf(j->err,
			"\nError! Module version %s for %s.ko\nis not newer than what is already found in kernel %s (%s).\n"
			"You may override by specifying --force.\n",
			mine.version ? mine.version : "", r->dest_name, j->kernel, have.version ? have.version : "");
	} else if (have.version || mine.version) {
		fprintf(j->out, "Module %s already installed at version %s, override by specifying --force\n",
			have_path, have.version ? have.version : "");
	} else {
		fprintf(j->out, "Module %s already installed (unversioned module), override by specifying --force\n",
			have_path);
	}
	modversion_release(&have);
	modversion_release(&mine);
	return false;
}

/* The deepest directory above path that exists: undoing a copy to path deletes the
 * directories it made below that one, and no other. */
static char *deepest_existing_dir(const char *path)
{
	char *dir = parent_dir(path);
	while (!is_dir(dir) && strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
		char *up = parent_dir(dir);
		free(dir);
		dir = up;
	}
	return dir;
}

int install_run(const struct install_job *j)
{
	_cleanup_free_ char *lib_tree = path_join(j->install_tree, j->kernel);
	_cleanup_free_ char *base_dir = layout_result_dir(j->dkms_tree, j->module, j->version, j->kernel, j->arch);
	_cleanup_free_ char *marker = layout_marker(j->dkms_tree, j->module, j->kernel, j->arch);
	_cleanup_free_ char *orig_dir = layout_original_dir(j->dkms_tree, j->module, j->kernel, j->arch);
	if (!path_exists(lib_tree)) {
		_cleanup_free_ char *m = xasprintf("The directory %s doesn't exist.\n"
						   "You cannot install a module onto a non-existant kernel.",
						   lib_tree);
		error_lines(j->err, m);
		return 6;
	}
	_cleanup_free_ char *moddir = path_join(base_dir, "module");
	for (size_t i = 0; i < j->n_records; i++) {
		_cleanup_free_ char *f = module_file_in(moddir, j->records[i].dest_name);
		if (!f) {
			_cleanup_free_ char *m = xasprintf("Missing module %s in %s", j->records[i].dest_name, moddir);
			error_lines(j->err, m);
			return 6;
		}
	}
	if (package_script_run(j->source_dir, j->etc_module_dir, "pre_install", j->pre_install, j->script_box, j->out,
			       j->err) != 0 &&
	    !j->force) {
		error_lines(j->err, "pre_install failed, aborting install.\nYou may override by specifying --force.");
		return 101;
	}
	_cleanup_free_ char *what = xasprintf("install of %s/%s for kernel %s (%s)", j->module, j->version, j->kernel,
					      j->arch);
	struct journal jn;
	journal_init(&jn, j->dkms_tree, what);
	bool first = !is_symlink(marker);
	int e = 0;
	size_t installing = 0;
	for (size_t i = 0; e == 0 && i < j->n_records; i++) {
		const struct install_record *r = &j->records[i];
		_cleanup_free_ char *src = module_file_in(moddir, r->dest_name);
		_cleanup_strv_ struct strv hits = STRV_INIT; /* same-named modules in the kernel's tree */
		find_module_files(lib_tree, r->dest_name, &hits);
		if (!version_sane(j, r, lib_tree, src, &hits))
			continue;
		installing++;
		if (first)
			e = plan_archive(j, &jn, r, lib_tree, orig_dir, &hits);
		_cleanup_free_ char *dst = xasprintf("%s%s/%s", lib_tree, r->dest_location, strrchr(src, '/') + 1);
		fprintf(j->out, "Installing %s\n", dst);
		_cleanup_free_ char *stop = deepest_existing_dir(dst);
		struct stat st; /* a directory in the way is not moved aside: the copy fails on it */
		_cleanup_free_ char *there = lstat(dst, &st) == 0 && !S_ISDIR(st.st_mode) ? journal_identity(dst)
											  : NULL;
		if (e == 0)
			e = journal_add(&jn, J_COPY, src, dst, stop, there);
	}
	if (e == 0 && installing == 0 && j->n_records > 0) {
		journal_release(&jn);
		error_lines(j->err, "Installation aborted.");
		return 6;
	}
	_cleanup_free_ char *target = layout_marker_target(j->version, j->kernel, j->arch);
	char old[PATH_MAX];
	ssize_t n = readlink(marker, old, sizeof(old) - 1);
	old[n > 0 ? n : 0] = '\0';
	if (e == 0)
		e = journal_add(&jn, J_LINK, target, marker, old, NULL);
	if (e == 0)
		e = journal_add(&jn, J_DEPMOD, j->kernel, NULL, NULL, NULL);
	fflush(j->out);
	if (e == 0)
		e = journal_run(&jn, j->err);
	else
		fprintf(j->err, "\nError! A path of %s contains a tab or a newline.\n", what);
	journal_release(&jn);
	if (e < 0) {
		fprintf(j->err, "Nothing was installed: %s/%s on %s (%s) is as it was before.\n", j->module, j->version,
			j->kernel, j->arch);
		fflush(j->err);
		return 6;
	}
	package_script_run(j->source_dir, j->etc_module_dir, "post_install", j->post_install, j->script_box, j->out,
			   j->err);
	return 0;
}

/* Plans to put back every archived original of name, as recorded in its .origin file. */
/* Plans the archived originals of module `name` back into place; returns how many. */
static size_t plan_restore(const struct install_job *j, struct journal *jn, const char *orig_dir, const char *name,
			   const char *lib_tree)
{
	size_t restored = 0;
	DIR *d = opendir(orig_dir);
	if (!d)
		return 0;
	_cleanup_free_ char *prefix = xasprintf("%s/", lib_tree);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 8 || strcmp(de->d_name + n - 7, ".origin") != 0)
			continue;
		_cleanup_free_ char *mod_name = xstrndup(de->d_name, n - 7);
		if (!is_module_file_name(mod_name, name))
			continue;
		_cleanup_free_ char *origin = path_join(orig_dir, de->d_name);
		_cleanup_free_ char *archived = path_join(orig_dir, mod_name);
		if (!is_regular(archived))
			continue;
		_cleanup_buf_ struct buf loc = BUF_INIT;
		if (buf_read_file(&loc, origin) < 0)
			continue;
		loc.data[strcspn(loc.data, "\n")] = '\0';
		if (strncmp(loc.data, prefix, strlen(prefix)) != 0 || strstr(loc.data, "/../")) {
			fprintf(j->err, "Warning: Bad original location '%s' in %s\n", loc.data, origin);
			continue;
		}
		fprintf(j->out, "Restoring archived original module %s\n", loc.data);
		(void)journal_add(jn, J_RESTORE, archived, loc.data, NULL, NULL);
		restored++;
	}
	closedir(d);
	return restored;
}

static size_t plan_uninstall_record(const struct install_job *j, struct journal *jn, const struct install_record *r,
				    const char *lib_tree, const char *orig_dir, const char *moddir)
{
	const char *locs[2] = { r->dest_location,
				r->conf_location && strcmp(r->conf_location, r->dest_location) ? r->conf_location
											       : NULL };
	bool found = false;
	for (size_t i = 0; i < 2 && !found; i++) {
		if (!locs[i])
			continue;
		_cleanup_free_ char *dir = xasprintf("%s%s", lib_tree, locs[i]);
		_cleanup_free_ char *f = module_file_in(dir, r->dest_name);
		if (!f)
			continue;
		found = true;
		fprintf(j->out, "Deleting %s/%s.ko\n", dir, r->dest_name);
		_cleanup_free_ char *built = module_file_in(moddir, r->dest_name);
		_cleanup_free_ char *id = journal_identity(f);
		(void)journal_add(jn, J_DELETE, f, built, lib_tree, id);
	}
	if (!found)
		fprintf(j->out, "Module %s.ko was not found within %s/\n", r->dest_name, lib_tree);
	return plan_restore(j, jn, orig_dir, r->dest_name, lib_tree);
}

/* Whether `dir` holds more than `skip` entries (each restored original leaves two: it and its .origin). */
static bool dir_has_more_than(const char *dir, size_t skip)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n > skip;
}

int uninstall_run(const struct install_job *j)
{
	_cleanup_free_ char *lib_tree = path_join(j->install_tree, j->kernel);
	_cleanup_free_ char *base_dir = layout_result_dir(j->dkms_tree, j->module, j->version, j->kernel, j->arch);
	_cleanup_free_ char *moddir = path_join(base_dir, "module");
	_cleanup_free_ char *marker = layout_marker(j->dkms_tree, j->module, j->kernel, j->arch);
	_cleanup_free_ char *orig_kdir = layout_original_dir(j->dkms_tree, j->module, j->kernel, NULL);
	_cleanup_free_ char *orig_dir = path_join(orig_kdir, j->arch);
	fprintf(j->out, "Module %s/%s for kernel %s (%s):\n", j->module, j->version, j->kernel, j->arch);
	_cleanup_free_ char *real_marker = real_path(marker);
	_cleanup_free_ char *real_base = real_path(base_dir);
	bool active = real_marker && real_base && strcmp(real_marker, real_base) == 0;
	bool had_originals = false;
	if (active) {
		fprintf(j->out, "Before uninstall, this module version was ACTIVE on this kernel.\n");
		_cleanup_free_ char *what = xasprintf("uninstall of %s/%s from kernel %s (%s)", j->module, j->version,
						      j->kernel, j->arch);
		struct journal jn;
		journal_init(&jn, j->dkms_tree, what);
		size_t restored = 0;
		for (size_t i = 0; i < j->n_records; i++)
			restored += plan_uninstall_record(j, &jn, &j->records[i], lib_tree, orig_dir, moddir);
		char target[PATH_MAX];
		ssize_t n = readlink(marker, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		(void)journal_add(&jn, J_UNLINK, target, marker, NULL, NULL);
		/* As dkms: the archive goes with the last install, but only an archive that
		 * still holds something once the originals are back is worth a line. */
		had_originals = dir_has_more_than(orig_dir, 2 * restored);
		if (is_dir(orig_dir))
			(void)journal_add(&jn, J_RMTREE, orig_dir, NULL, NULL, NULL);
		(void)journal_add(&jn, J_DEPMOD, j->kernel, NULL, NULL, NULL);
		fflush(j->out);
		int e = journal_run(&jn, j->err);
		journal_release(&jn);
		if (e < 0) {
			fprintf(j->err, "Nothing was uninstalled: %s/%s on %s (%s) is as it was before.\n", j->module,
				j->version, j->kernel, j->arch);
			fflush(j->err);
			return 6;
		}
		rmdir(orig_kdir);
	} else {
		fprintf(j->out, "This module version was INACTIVE for this kernel.\n");
	}
	fflush(j->out);
	package_script_run(j->source_dir, j->etc_module_dir, "post_remove", j->post_remove, j->script_box, j->out,
			   j->err);
	if (had_originals)
		fprintf(j->out, "Removing original module(s) from DKMS tree for kernel %s (%s)\n", j->kernel, j->arch);
	_cleanup_free_ char *orig_root = layout_original_dir(j->dkms_tree, j->module, NULL, NULL);
	rmdir(orig_root);
	fflush(j->out);
	return 0;
}

int unbuild_run(const char *dkms_tree, const char *m, const char *v, const char *k, const char *a)
{
	_cleanup_free_ char *kdir = layout_kernel_dir(dkms_tree, m, v, k);
	_cleanup_free_ char *adir = path_join(kdir, a);
	/* Out of sight in one rename (status never sees half a result), then deleted. */
	int r = journal_trash(dkms_tree, adir);
	if (r < 0)
		return r;
	/* Remove <k> when no arch dir is left (hidden .tmp_* dirs do not count). */
	DIR *d = opendir(kdir);
	if (!d)
		return 0;
	bool has_dir = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = path_join(kdir, de->d_name);
		if (is_dir(p))
			has_dir = true;
	}
	closedir(d);
	return has_dir ? 0 : rm_rf(kdir);
}

/* depmod -a [-b ROOT] K [-F System.map]; a moved install tree is shown to depmod as
 * ROOT/lib/modules through a private symlink. */
static int depmod_exec(const char *install_tree, const char *dkms_tree, const char *kernel)
{
	_cleanup_strv_ struct strv argv = STRV_INIT;
	_cleanup_free_ char *root = NULL;
	strv_push(&argv, "depmod");
	strv_push(&argv, "-a");
	bool moved = strcmp(install_tree, "/lib/modules") != 0;
	if (moved) {
		_cleanup_free_ char *abs = real_path(install_tree);
		root = xasprintf("%s/" LAYOUT_DEPMOD_ROOT_PREFIX "XXXXXX", dkms_tree);
		if (!abs || !mkdtemp(root)) {
			free(root);
			root = NULL;
			return -errno;
		}
		_cleanup_free_ char *lib = path_join(root, "lib");
		_cleanup_free_ char *link = path_join(lib, "modules");
		if (mkdir(lib, 0755) < 0 || symlink(abs, link) < 0) {
			int e = -errno;
			rm_rf(root);
			return e;
		}
		strv_push(&argv, "-b");
		strv_push(&argv, root);
	}
	strv_push(&argv, kernel);
	_cleanup_free_ char *map = xasprintf("/boot/System.map-%s", kernel);
	if (!moved && is_regular(map)) {
		strv_push(&argv, "-F");
		strv_push(&argv, map);
	}
	struct proc_spec spec = { .argv = strv_array(&argv), .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	spec.stdout_fd = devnull;
	spec.stderr_fd = -2;
	int code = 0;
	int r = proc_run(&spec, &code);
	close(devnull);
	if (root)
		rm_rf(root);
	return r < 0 ? r : code;
}

/* dkms: an empty modules.dep means the last module of a kernel that is no longer
 * installed went away, so depmod's files and the then-empty kernel dir go too. */
static void drop_empty_depmod_files(const char *install_tree, const char *kernel, const char *dep)
{
	struct stat st;
	if (stat(dep, &st) < 0 || st.st_size != 0)
		return;
	_cleanup_free_ char *kdir = path_join(install_tree, kernel);
	DIR *d = opendir(kdir);
	if (!d)
		return;
	static const char *const names[] = { "modules.alias",   "modules.dep",     "modules.devname",
					     "modules.softdep", "modules.symbols", "modules.weakdep" };
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		bool drop = strncmp(de->d_name, "modules.", 8) == 0 && n > 4 && !strcmp(de->d_name + n - 4, ".bin");
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			drop |= strcmp(de->d_name, names[i]) == 0;
		if (drop) {
			_cleanup_free_ char *p = path_join(kdir, de->d_name);
			unlink(p);
		}
	}
	closedir(d);
	rmdir(kdir);
}

int depmod_run(const char *install_tree, const char *dkms_tree, const char *kernel, bool skip, bool name_kernel,
	       FILE *out, FILE *err)
{
	if (name_kernel)
		fprintf(out, "Running depmod for %s...", kernel);
	else
		fputs("Running depmod...", out);
	fflush(out);
	int code = 0;
	_cleanup_free_ char *dep = xasprintf("%s/%s/modules.dep", install_tree, kernel);
	if (!skip && is_regular(dep)) {
		code = depmod_exec(install_tree, dkms_tree, kernel);
		if (code < 0)
			code = 1;
	}
	if (code != 0) {
		fprintf(out, "(bad exit status: %d)\nFailed command:\ndo_depmod %s\n", code, kernel);
		fflush(out);
		return code;
	}
	fputs(" done.\n", out);
	fflush(out);
	drop_empty_depmod_files(install_tree, kernel, dep);
	return 0;
}

/* tree.c - reads the dkms tree (reference §4.1) with dkms 3.4.3's predicates.
 *
 * What is admitted mirrors dkms's globs (extglob on, no dotglob, bash sorts the whole
 * expanded path, C collation here):
 *   modules  = entries of $dkms_tree that are directories (following symlinks);
 *   versions = directories in <m> except kernel-*-* (the installed markers) and
 *              original_module; dkms's glob admits original_module too, but it never
 *              prints a line for it (it is neither added nor, in practice, broken);
 *   kernels  = directories in <m>/<v> matching +([0-9]).* (a run of digits, then a dot);
 *   arches   = directories in <m>/<v>/<k>;
 * hidden names are never admitted (so .tmp_<a>_XXXXXX is skipped).
 * Because bash sorts "m/v" and "k/a" as whole strings, a name is ordered as if it ended
 * in '/': "a-b" sorts before "a", "6.1.0-56" before "6.1.0".
 */
#include "orchestrator/tree/tree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/strv.h"
#include "common/xalloc.h"

typedef bool (*name_ok_fn)(const char *name);
typedef int (*name_cmp_fn)(const char *a, const char *b);

/* Returns <0, 0, >0 comparing a + "/" with b + "/" (names hold no '/'). */
static int slash_cmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	unsigned char ca = *a ? (unsigned char)*a : '/';
	unsigned char cb = *b ? (unsigned char)*b : '/';
	return (ca > cb) - (ca < cb);
}

/* Returns true if path exists, following symlinks (bash's -e). */
static bool exists_follow(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Returns true for kernel-*-*, the installed markers dkms skips. */
static bool is_marker_name(const char *name)
{
	return strncmp(name, "kernel-", 7) == 0 && strchr(name + 7, '-') != NULL;
}

static bool version_name_ok(const char *name) { return strcmp(name, LAYOUT_ORIGINALS) != 0 && !is_marker_name(name); }

/* Returns true if name matches the extglob +([0-9]).* */
static bool kernel_name_ok(const char *name)
{
	if (!isdigit((unsigned char)*name))
		return false;
	while (isdigit((unsigned char)*name))
		name++;
	return *name == '.';
}

/* Lists the non-hidden directories in dir that pass ok (NULL = all), sorted by cmp.
 * A missing dir is empty. Returns 0 or -errno. */
static int list_dirs(const char *dir, name_ok_fn ok, name_cmp_fn cmp, struct strv *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (ok && !ok(de->d_name)))
			continue;
		_cleanup_free_ char *path = path_join(dir, de->d_name);
		if (is_dir(path))
			strv_push(out, de->d_name);
		errno = 0;
	}
	int r = errno ? -errno : 0;
	closedir(d);
	strv_sort(out, cmp);
	return r;
}

/* The paths themselves are common/layout's; these take the roots the command was given. */
char *tree_module_dir(const struct tree_paths *p, const char *m) { return layout_module_dir(p->dkms_tree, m); }

char *tree_version_dir(const struct tree_paths *p, const char *m, const char *v)
{
	return layout_version_dir(p->dkms_tree, m, v);
}

char *tree_source_link(const struct tree_paths *p, const char *m, const char *v)
{
	return layout_source_link(p->dkms_tree, m, v);
}

char *tree_build_area(const struct tree_paths *p, const char *m, const char *v)
{
	return layout_build_area(p->dkms_tree, m, v);
}

char *tree_result_dir(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a)
{
	return layout_result_dir(p->dkms_tree, m, v, k, a);
}

char *tree_marker(const struct tree_paths *p, const char *m, const char *k, const char *a)
{
	return layout_marker(p->dkms_tree, m, k, a);
}

char *tree_original_dir(const struct tree_paths *p, const char *m, const char *k, const char *a)
{
	return layout_original_dir(p->dkms_tree, m, k, a);
}

/* dkms's is_module_broken, then is_module_added. */
enum tree_vstate tree_version_state(const struct tree_paths *p, const char *m, const char *v)
{
	_cleanup_free_ char *vdir = tree_version_dir(p, m, v);
	if (!is_dir(vdir))
		return TREE_V_NONE;
	_cleanup_free_ char *src = tree_source_link(p, m, v);
	bool link = is_symlink(src);
	if (link && !is_dir(src))
		return TREE_V_BROKEN;
	if (!link) {
		_cleanup_free_ char *orig = xasprintf("%s/%s-%s", p->source_tree, m, v);
		return is_dir(orig) ? TREE_V_BROKEN : TREE_V_NONE;
	}
	return TREE_V_ADDED;
}

bool tree_is_built(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a)
{
	_cleanup_free_ char *res = tree_result_dir(p, m, v, k, a);
	_cleanup_free_ char *mod = path_join(res, "module");
	return is_dir(mod);
}

/* Returns true if kernel-<k>-<a> resolves to <m>/<v>/<k>/<a> (which must be built). */
static bool marker_points_here(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a)
{
	_cleanup_free_ char *marker = tree_marker(p, m, k, a);
	if (!is_symlink(marker))
		return false;
	_cleanup_free_ char *res = tree_result_dir(p, m, v, k, a);
	_cleanup_free_ char *rm = real_path(marker);
	_cleanup_free_ char *rr = real_path(res);
	return rm && rr && strcmp(rm, rr) == 0;
}

char *tree_installed_version(const struct tree_paths *p, const char *m, const char *k, const char *a)
{
	_cleanup_free_ char *marker = tree_marker(p, m, k, a);
	_cleanup_free_ char *mdir = tree_module_dir(p, m);
	char target[4096];
	ssize_t n = readlink(marker, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	const char *rel = target;
	size_t ml = strlen(mdir);
	if (target[0] == '/') { /* tolerate an absolute link into this module dir */
		if (strncmp(target, mdir, ml) != 0 || target[ml] != '/')
			return NULL;
		rel = target + ml + 1;
	}
	const char *slash = strchr(rel, '/');
	if (!slash || slash == rel)
		return NULL;
	_cleanup_free_ char *v = xstrndup(rel, (size_t)(slash - rel));
	if (!tree_is_built(p, m, v, k, a) || !marker_points_here(p, m, v, k, a))
		return NULL;
	return steal_pointer(&v);
}

void strarray_free(char **a)
{
	if (!a)
		return;
	for (char **s = a; *s; s++)
		free(*s);
	free(a);
}

/* Hands the strings of v out as a NULL-terminated array and sets *n. */
static char **strv_hand_out(struct strv *v, size_t *n)
{
	char **a = strv_array(v);
	if (n)
		*n = v->n;
	*v = (struct strv)STRV_INIT;
	return a;
}

char **tree_list_versions(const struct tree_paths *p, const char *m, size_t *n)
{
	_cleanup_strv_ struct strv v = STRV_INIT;
	_cleanup_free_ char *mdir = tree_module_dir(p, m);
	int r = list_dirs(mdir, version_name_ok, strcmp, &v);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return strv_hand_out(&v, n);
}

typedef int (*result_fn)(const char *k, const char *a, void *ctx);

/* Calls fn for every <k>/<a> directory of vdir, in glob order. Returns 0 or -errno. */
static int walk_results(const char *vdir, result_fn fn, void *ctx)
{
	_cleanup_strv_ struct strv kernels = STRV_INIT;
	int r = list_dirs(vdir, kernel_name_ok, slash_cmp, &kernels);
	for (size_t i = 0; r == 0 && i < kernels.n; i++) {
		_cleanup_strv_ struct strv arches = STRV_INIT;
		_cleanup_free_ char *kdir = path_join(vdir, kernels.items[i]);
		r = list_dirs(kdir, NULL, strcmp, &arches);
		for (size_t j = 0; r == 0 && j < arches.n; j++)
			r = fn(kernels.items[i], arches.items[j], ctx);
	}
	return r;
}

struct list_builds_ctx {
	const struct tree_paths *p;
	const char *m, *v;
	struct strv out;
};

static int list_builds_one(const char *k, const char *a, void *ctx)
{
	struct list_builds_ctx *c = ctx;
	if (tree_is_built(c->p, c->m, c->v, k, a))
		strv_pushf(&c->out, "%s\t%s", k, a);
	return 0;
}

char **tree_list_builds(const struct tree_paths *p, const char *m, const char *v, size_t *n)
{
	struct list_builds_ctx c = { .p = p, .m = m, .v = v, .out = STRV_INIT };
	_cleanup_free_ char *vdir = tree_version_dir(p, m, v);
	int r = walk_results(vdir, list_builds_one, &c);
	if (r < 0) {
		strv_release(&c.out);
		errno = -r;
		return NULL;
	}
	return strv_hand_out(&c.out, n);
}

/* Fills files (names inside module/) and dests (installed paths) from the build's
 * .modforge/manifest, in its order. Returns 0, -ENOENT without a manifest, or -errno. */
static int read_manifest(const char *res, struct strv *files, struct strv *dests)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	_cleanup_free_ char *path = path_join(res, LAYOUT_MANIFEST);
	buf_init(&b);
	int r = buf_read_file(&b, path);
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2 || !t2[1] || strchr(t2 + 1, '\t'))
			continue; /* not "dest_name<TAB>dest_dir<TAB>file" */
		*t2 = '\0';
		strv_push(files, t2 + 1);
		strv_pushf(dests, "%s/%s", t1 + 1, t2 + 1);
	}
	return 0;
}

/* For a tree made by dkms: every *.ko* in module/, installed in Debian's updates/dkms. */
static int guess_modules(const struct tree_paths *p, const char *k, const char *res, struct strv *files,
			 struct strv *dests)
{
	_cleanup_free_ char *moddir = path_join(res, "module");
	DIR *d = opendir(moddir);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && fnmatch("*.ko*", de->d_name, 0) == 0)
			strv_push(files, de->d_name);
	closedir(d);
	strv_sort(files, strcmp);
	for (size_t i = 0; i < files->n; i++)
		strv_pushf(dests, "%s/%s/updates/dkms/%s", p->install_tree, k, files->items[i]);
	return 0;
}

int tree_result_modules(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a,
			struct strv *files, struct strv *dests)
{
	_cleanup_free_ char *res = tree_result_dir(p, m, v, k, a);
	int r = read_manifest(res, files, dests);
	return r == -ENOENT ? guess_modules(p, k, res, files, dests) : r;
}

/* Sets the "missing" and "differs" extras as module_status_built_extra does: the first
 * module missing from module/, or (installed only) the first whose installed copy is
 * absent or has other bytes, ends the check. Returns 0 or -errno. */
static int check_extras(const struct tree_paths *p, const char *k, const char *res, struct tree_build *b)
{
	struct strv files = STRV_INIT;
	struct strv dests = STRV_INIT;
	int r = read_manifest(res, &files, &dests);
	if (r == -ENOENT)
		r = guess_modules(p, k, res, &files, &dests);
	if (r < 0) {
		strv_release(&files);
		strv_release(&dests);
		return r;
	}
	for (size_t i = 0; i < files.n; i++) {
		_cleanup_free_ char *tree_mod = xasprintf("%s/module/%s", res, files.items[i]);
		if (!exists_follow(tree_mod)) {
			b->missing_built = true;
			break;
		}
		if (b->installed && files_equal(tree_mod, dests.items[i]) != 1) {
			b->differs_installed = true;
			break;
		}
	}
	b->n_files = files.n;
	b->files = strv_array(&files);
	b->dests = strv_array(&dests);
	return 0;
}

/* Fills b for <m>/<v>/<k>/<a>. Returns 0 or -errno. */
static int scan_build(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a,
		      struct tree_build *b)
{
	b->kernel = xstrdup(k);
	b->arch = xstrdup(a);
	b->built = tree_is_built(p, m, v, k, a);
	if (!b->built)
		return 0;
	b->installed = marker_points_here(p, m, v, k, a);
	_cleanup_free_ char *orig = tree_original_dir(p, m, k, a);
	b->original_exists = is_dir(orig);
	_cleanup_free_ char *res = tree_result_dir(p, m, v, k, a);
	return check_extras(p, k, res, b);
}

struct scan_version_ctx {
	const struct tree_paths *p;
	const char *m;
	struct tree_version *tv;
	size_t cap;
};

static int scan_version_build(const char *k, const char *a, void *ctx)
{
	struct scan_version_ctx *c = ctx;
	struct tree_version *tv = c->tv;
	if (tv->n_builds == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4;
		tv->builds = xrealloc(tv->builds, c->cap * sizeof(*tv->builds));
	}
	struct tree_build *b = &tv->builds[tv->n_builds++];
	*b = (struct tree_build){ 0 };
	return scan_build(c->p, c->m, tv->version, k, a, b);
}

static int scan_version(const struct tree_paths *p, const char *m, const char *v, struct tree_version *tv)
{
	tv->version = xstrdup(v);
	tv->state = tree_version_state(p, m, v);
	_cleanup_free_ char *src = tree_source_link(p, m, v);
	tv->binaries_only = is_plain_dir(src);
	tv->source = read_link(src);
	if (tv->state == TREE_V_BROKEN)
		tv->broken_reason = tv->source
			? xasprintf("its source link %s points to %s, which does not exist", src, tv->source)
			: xasprintf("it has no source link %s, but %s/%s-%s exists", src, p->source_tree, m, v);
	_cleanup_free_ char *vdir = tree_version_dir(p, m, v);
	struct scan_version_ctx c = { .p = p, .m = m, .tv = tv };
	return walk_results(vdir, scan_version_build, &c);
}

static void free_version(struct tree_version *tv)
{
	for (size_t i = 0; i < tv->n_builds; i++) {
		free(tv->builds[i].kernel);
		free(tv->builds[i].arch);
		strarray_free(tv->builds[i].files);
		strarray_free(tv->builds[i].dests);
	}
	free(tv->builds);
	free(tv->version);
	free(tv->source);
	free(tv->broken_reason);
}

static void free_module(struct tree_module *tm)
{
	for (size_t i = 0; i < tm->n_versions; i++)
		free_version(&tm->versions[i]);
	free(tm->versions);
	free(tm->name);
}

/* Fills tm for <m>; a module without versions has n_versions == 0. Returns 0 or -errno. */
static int scan_module(const struct tree_paths *p, const char *m, struct tree_module *tm)
{
	_cleanup_strv_ struct strv versions = STRV_INIT;
	_cleanup_free_ char *mdir = tree_module_dir(p, m);
	tm->name = xstrdup(m);
	int r = list_dirs(mdir, version_name_ok, strcmp, &versions);
	if (r < 0 || versions.n == 0)
		return r;
	tm->versions = xcalloc(versions.n, sizeof(*tm->versions));
	for (size_t i = 0; r == 0 && i < versions.n; i++)
		r = scan_version(p, m, versions.items[i], &tm->versions[tm->n_versions++]);
	return r;
}

int tree_scan(const struct tree_paths *p, struct tree **out)
{
	_cleanup_strv_ struct strv mods = STRV_INIT;
	struct tree *t = xcalloc(1, sizeof(*t));
	int r = list_dirs(p->dkms_tree, NULL, slash_cmp, &mods);
	if (mods.n)
		t->modules = xcalloc(mods.n, sizeof(*t->modules));
	for (size_t i = 0; r == 0 && i < mods.n; i++) {
		struct tree_module *tm = &t->modules[t->n_modules];
		r = scan_module(p, mods.items[i], tm);
		if (r == 0 && tm->n_versions == 0) {
			free_module(tm);
			*tm = (struct tree_module){ 0 };
		} else {
			t->n_modules++;
		}
	}
	if (r < 0) {
		tree_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_modules; i++)
		free_module(&t->modules[i]);
	free(t->modules);
	free(t);
}

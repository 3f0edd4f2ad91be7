/* test_tree_status.c - tree_scan, the tree point queries, status text and JSON, over fake
 * dkms trees built in a mkdtemp directory (3.4.3 layout, and Debian 3.0.10's).
 *
 * `test_tree_status --dump-json FILE` writes the JSON of the main fixture to FILE instead
 * (used by the unit.status_schema test to validate it against schema/status.schema.json).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/xalloc.h"
#include "orchestrator/tree/status.h"
#include "orchestrator/tree/tree.h"
#include "fixture.h"
#include "tap.h"

#define K1 "6.1.0-56-amd64"
#define K2 "6.1.0-57-amd64"
#define A  "x86_64"

struct fx {
	char *root;
	char *dkms, *src, *lib;
	struct tree_paths p;
};

static void fx_init(struct fx *x)
{
	x->root = fixture_tmpdir("tree");
	x->dkms = path_join(x->root, "dkms");
	x->src = path_join(x->root, "src");
	x->lib = path_join(x->root, "lib");
	x->p = (struct tree_paths){ .dkms_tree = x->dkms, .source_tree = x->src, .install_tree = x->lib };
}

static void fx_fini(struct fx *x)
{
	rm_rf(x->root);
	free(x->root);
	free(x->dkms);
	free(x->src);
	free(x->lib);
}

/* Returns root/<formatted rel>, newly allocated. */
static char *fx_vpath(const struct fx *x, const char *fmt, va_list ap)
{
	char *rel;
	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	char *p = path_join(x->root, rel);
	free(rel);
	return p;
}

static void must(int r, const char *what, const char *path)
{
	if (r < 0) {
		fprintf(stderr, "fixture: %s %s: %s\n", what, path, strerror(-r));
		exit(2);
	}
}

_printf_(2, 3) static void mkd(const struct fx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = fx_vpath(x, fmt, ap);
	va_end(ap);
	must(mkdir_p(p, 0755), "mkdir", p);
	free(p);
}

_printf_(3, 4) static void put(const struct fx *x, const char *content, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = fx_vpath(x, fmt, ap);
	va_end(ap);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	must(mkdir_p(dir, 0755), "mkdir", dir);
	must(write_file_atomic(p, content, strlen(content), 0644), "write", p);
	free(dir);
	free(p);
}

/* Makes root/<rel> a symlink to target; a target starting with '@' is root/<rest>. */
_printf_(3, 4) static void lnk(const struct fx *x, const char *target, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = fx_vpath(x, fmt, ap);
	va_end(ap);
	char *t = target[0] == '@' ? path_join(x->root, target + 1) : xstrdup(target);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	must(mkdir_p(dir, 0755), "mkdir", dir);
	must(symlink(t, p) < 0 ? -errno : 0, "symlink", p);
	free(dir);
	free(t);
	free(p);
}

/* src/<m>-<v>/dkms.conf and dkms/<m>/<v>/source -> it (absolute, as dkms add does). */
static void add(const struct fx *x, const char *m, const char *v)
{
	char target[300];
	put(x, "PACKAGE_NAME=x\n", "src/%s-%s/dkms.conf", m, v);
	snprintf(target, sizeof(target), "@src/%s-%s", m, v);
	lnk(x, target, "dkms/%s/%s/source", m, v);
}

/* A build result with one file in module/ (no manifest: a tree made by dkms). */
static void built(const struct fx *x, const char *m, const char *v, const char *k, const char *a, const char *ko,
		  const char *bytes)
{
	put(x, "make.log\n", "dkms/%s/%s/%s/%s/log/make.log", m, v, k, a);
	if (ko)
		put(x, bytes, "dkms/%s/%s/%s/%s/module/%s", m, v, k, a, ko);
	else
		mkd(x, "dkms/%s/%s/%s/%s/module", m, v, k, a);
}

/* kernel-<k>-<a> -> <v>/<k>/<a>, the relative link dkms install makes. */
static void mark(const struct fx *x, const char *m, const char *v, const char *k, const char *a)
{
	char target[300];
	snprintf(target, sizeof(target), "%s/%s/%s", v, k, a);
	lnk(x, target, "dkms/%s/kernel-%s-%s", m, k, a);
}

/* Writes dkms/<m>/<v>/<k>/<a>/.modforge/manifest from "name<TAB>reldir<TAB>file" lines,
 * reldir relative to the install tree's <k>. */
static void manifest(const struct fx *x, const char *m, const char *v, const char *k, const char *a,
		     const char *const *lines)
{
	char body[2048] = "";
	for (size_t i = 0; lines[i]; i++) {
		char name[64], dir[128], file[128];
		if (sscanf(lines[i], "%63[^\t]\t%127[^\t]\t%127s", name, dir, file) != 3)
			abort();
		size_t len = strlen(body);
		snprintf(body + len, sizeof(body) - len, "%s\t%s/%s%s\t%s\n", name, x->lib, k, dir, file);
	}
	put(x, body, "dkms/%s/%s/%s/%s/.modforge/manifest", m, v, k, a);
}

static void fixture_added_built(const struct fx *x)
{
	/* Order: "a-b" sorts before "a" (bash sorts whole paths "a-b/1" < "a/1"). */
	add(x, "a", "1");
	add(x, "a-b", "1");

	/* alpha: added only; a marker to an unbuilt result does not make it installed. */
	add(x, "alpha", "1.0");
	mkd(x, "dkms/alpha/1.0/build");
	put(x, "failed\n", "dkms/alpha/1.0/6.2.0/" A "/log/make.log");
	mark(x, "alpha", "1.0", "6.2.0", A);

	/* beta: installed on K1, built elsewhere; kernel/arch glob order and filtering. */
	add(x, "beta", "2.0");
	built(x, "beta", "2.0", K1, A, "beta.ko", "BETA");
	manifest(x, "beta", "2.0", K1, A, (const char *const[]){ "beta\t/updates/dkms\tbeta.ko", NULL });
	put(x, "BETA", "lib/" K1 "/updates/dkms/beta.ko");
	mark(x, "beta", "2.0", K1, A);
	built(x, "beta", "2.0", K2, A, "beta.ko", "BETA2");
	put(x, "other bytes", "lib/" K2 "/updates/dkms/beta.ko"); /* not installed: no diff */
	mkd(x, "dkms/beta/2.0/" K2 "/.tmp_x86_64_aBc123/module");
	built(x, "beta", "2.0", "10.1", A, NULL, NULL);
	built(x, "beta", "2.0", "6.1.0", A, NULL, NULL);
	built(x, "beta", "2.0", "6.1.0", "i686", NULL, NULL);
	mkd(x, "dkms/beta/original_module/6.1.0/" A);
	put(x, "failed\n", "dkms/beta/2.0/6.2.0/" A "/log/make.log");
	built(x, "beta", "2.0", "6a.1", A, NULL, NULL); /* not +([0-9]).* */
	built(x, "beta", "2.0", "v6.1", A, NULL, NULL);
}

static void fixture_broken_extras(const struct fx *x)
{
	/* gamma: broken both ways (dangling link; no link while the source exists). */
	lnk(x, "@src/gamma-1", "dkms/gamma/1/source");
	mkd(x, "src/gamma-2");
	built(x, "gamma", "2", K1, A, NULL, NULL);

	/* delta: originals archived, a second module's installed copy differs. */
	add(x, "delta", "3.0");
	built(x, "delta", "3.0", K1, A, "delta.ko", "D");
	put(x, "H", "dkms/delta/3.0/" K1 "/" A "/module/delta_helper.ko.xz");
	manifest(x, "delta", "3.0", K1, A,
		 (const char *const[]){ "delta\t/updates/dkms\tdelta.ko", "delta_helper\t/extra\tdelta_helper.ko.xz",
					NULL });
	put(x, "D", "lib/" K1 "/updates/dkms/delta.ko");
	put(x, "h", "lib/" K1 "/extra/delta_helper.ko.xz");
	mark(x, "delta", "3.0", K1, A);
	put(x, "orig", "dkms/delta/original_module/" K1 "/" A "/delta.ko");

	/* eps/1: the first listed module is missing (wins over a later difference).
	 * eps/2: the first listed module differs (wins over a later missing one);
	 * its marker is an absolute link. */
	add(x, "eps", "1");
	built(x, "eps", "1", K1, A, "eps_b.ko", "B");
	manifest(x, "eps", "1", K1, A,
		 (const char *const[]){ "eps_a\t/updates/dkms\teps_a.ko", "eps_b\t/updates/dkms\teps_b.ko", NULL });
	put(x, "b", "lib/" K1 "/updates/dkms/eps_b.ko");
	mark(x, "eps", "1", K1, A);
	built(x, "eps", "1", K2, A, NULL, NULL);
	manifest(x, "eps", "1", K2, A, (const char *const[]){ "eps_a\t/updates/dkms\teps_a.ko", NULL });
	add(x, "eps", "2");
	built(x, "eps", "2", K2, A, "eps_a.ko", "A");
	manifest(x, "eps", "2", K2, A,
		 (const char *const[]){ "eps_a\t/updates/dkms\teps_a.ko", "eps_b\t/updates/dkms\teps_b.ko", NULL });
	put(x, "a", "lib/" K2 "/updates/dkms/eps_a.ko");
	lnk(x, "@dkms/eps/2/" K2 "/" A, "dkms/eps/kernel-" K2 "-" A);

	/* fb: made by dkms (no manifest), installed copy gone: dkms's diff fails. */
	add(x, "fb", "1");
	built(x, "fb", "1", K1, A, "fb.ko", "F");
	mark(x, "fb", "1", K1, A);
}

static void fixture_odd_names(const struct fx *x)
{
	/* Neither added nor broken: no source link; binaries-only real source dir. */
	built(x, "none", "1", K1, A, NULL, NULL);
	put(x, "PACKAGE_NAME=bin\n", "dkms/bin/1/source/dkms.conf");
	built(x, "bin", "1", K1, A, "bin.ko", "X");
	put(x, "PACKAGE_NAME=binb\n", "dkms/binb/1/source/dkms.conf");
	mkd(x, "src/binb-1");

	/* Version names: kernel-*-* and original_module and hidden names are not versions. */
	add(x, "vn", "kernel-x");
	add(x, "vn", "kernel-1-x");
	add(x, "vn", ".hidden");
	mkd(x, "dkms/vn/original_module/" K1 "/" A);

	/* Not modules: files, hidden dirs, a dir without versions. */
	put(x, "", "dkms/depmod-pending-" K1 "-" A);
	put(x, "", "dkms/post_transaction.log");
	add(x, ".modforge", "1");
	mkd(x, "dkms/empty");
}

static void build_main_fixture(const struct fx *x)
{
	fixture_added_built(x);
	fixture_broken_extras(x);
	fixture_odd_names(x);
}

static const char main_text[] = "a-b/1: added\n"
				"a/1: added\n"
				"alpha/1.0: added\n"
				"beta/2.0, 10.1, x86_64: built\n"
				"beta/2.0, 6.1.0-56-amd64, x86_64: installed\n"
				"beta/2.0, 6.1.0-57-amd64, x86_64: built\n"
				"beta/2.0, 6.1.0, i686: built\n"
				"beta/2.0, 6.1.0, x86_64: built (Original modules exist)\n"
				"binb/1: broken\n"
				"delta/3.0, 6.1.0-56-amd64, x86_64: installed (Original modules exist)"
				" (Differences between built and installed modules)\n"
				"eps/1, 6.1.0-56-amd64, x86_64: installed"
				" (Built modules are missing in the kernel modules folder)\n"
				"eps/1, 6.1.0-57-amd64, x86_64: built"
				" (Built modules are missing in the kernel modules folder)\n"
				"eps/2, 6.1.0-57-amd64, x86_64: installed"
				" (Differences between built and installed modules)\n"
				"fb/1, 6.1.0-56-amd64, x86_64: installed"
				" (Differences between built and installed modules)\n"
				"gamma/1: broken\n"
				"gamma/2: broken\n"
				"vn/kernel-x: added\n";

#define BROKEN_ERR(mv) \
	"\nError! " mv ": Missing the module source directory or the symbolic link pointing " \
	"to it.\nManual intervention is required!\n"

/* Runs status_print_text; *out and *err are newly allocated. */
static void render(const struct tree *t, const struct status_filter *f, char **out, char **err)
{
	size_t no, ne;
	FILE *fo = open_memstream(out, &no);
	FILE *fe = open_memstream(err, &ne);
	status_print_text(t, f, fo, fe);
	fclose(fo);
	fclose(fe);
}

/* As dkms prints it (dkms_text): the contract these tests pin. */
static void check_text(const struct tree *t, const struct status_filter *f, const char *want_out, const char *want_err)
{
	char *out, *err;
	struct status_filter as_dkms = f ? *f : (struct status_filter){ 0 };
	as_dkms.dkms_text = true;
	render(t, &as_dkms, &out, &err);
	CHECK_STR(out, want_out);
	if (want_err)
		CHECK_STR(err, want_err);
	free(out);
	free(err);
}

static void test_main_text(const struct tree *t)
{
	check_text(t, NULL, main_text, BROKEN_ERR("binb/1") BROKEN_ERR("gamma/1") BROKEN_ERR("gamma/2"));
	/* As modforge: what a broken version left follows its line, and the error says why
	 * and how to clean it up. */
	char *out, *err;
	render(t, &(struct status_filter){ .module = "gamma" }, &out, &err);
	CHECK_STR(out,
		  "gamma/1: broken\ngamma/2: broken\ngamma/2, " K1 ", " A ": built (broken: its source is missing)\n");
	CHECK(strstr(err, "gamma/2 is broken: it has no source link ") != NULL);
	CHECK(strstr(err,
		     "src/gamma-2 exists.\n`modforge remove gamma/2 --all --force` removes what is left of it.\n") !=
	      NULL);
	CHECK(strstr(err, "gamma/1 is broken: its source link ") != NULL);
	free(out);
	free(err);
}

static void test_filters(const struct tree *t)
{
	check_text(t, &(struct status_filter){ .module = "beta" },
		   "beta/2.0, 10.1, x86_64: built\n"
		   "beta/2.0, 6.1.0-56-amd64, x86_64: installed\n"
		   "beta/2.0, 6.1.0-57-amd64, x86_64: built\n"
		   "beta/2.0, 6.1.0, i686: built\n"
		   "beta/2.0, 6.1.0, x86_64: built (Original modules exist)\n",
		   "");
	check_text(t, &(struct status_filter){ .module = "beta", .version = "2.0", .kernel = K1 },
		   "beta/2.0, 6.1.0-56-amd64, x86_64: installed\n", "");
	check_text(t, &(struct status_filter){ .module = "beta", .version = "9" }, "", "");
	/* glob patterns, as dkms's status (bash globs, extglob on) */
	check_text(t, &(struct status_filter){ .module = "be*", .version = "2.?", .kernel = "6.1.0-5[6]-*" },
		   "beta/2.0, 6.1.0-56-amd64, x86_64: installed\n", "");
	check_text(t, &(struct status_filter){ .module = "beta", .kernel = "+([0-9]).1", .arch = "x86_*" },
		   "beta/2.0, 10.1, x86_64: built\n", "");
	/* -k: broken whatever the kernel; "added" when no build passes the filter. */
	check_text(t, &(struct status_filter){ .kernel = K1 },
		   "a-b/1: added\na/1: added\nalpha/1.0: added\n"
		   "beta/2.0, 6.1.0-56-amd64, x86_64: installed\n"
		   "binb/1: broken\n"
		   "delta/3.0, 6.1.0-56-amd64, x86_64: installed (Original modules exist)"
		   " (Differences between built and installed modules)\n"
		   "eps/1, 6.1.0-56-amd64, x86_64: installed"
		   " (Built modules are missing in the kernel modules folder)\n"
		   "eps/2: added\n"
		   "fb/1, 6.1.0-56-amd64, x86_64: installed"
		   " (Differences between built and installed modules)\n"
		   "gamma/1: broken\ngamma/2: broken\nvn/kernel-x: added\n",
		   BROKEN_ERR("binb/1") BROKEN_ERR("gamma/1") BROKEN_ERR("gamma/2"));
	check_text(t, &(struct status_filter){ .module = "beta", .arch = "i686" }, "beta/2.0, 6.1.0, i686: built\n",
		   "");
	check_text(t, &(struct status_filter){ .module = "beta", .kernel = "6.1.0", .arch = A },
		   "beta/2.0, 6.1.0, x86_64: built (Original modules exist)\n", "");
	/* the unbuilt 6.2.0 result does not count: alpha stays "added" with -k 6.2.0 */
	check_text(t, &(struct status_filter){ .module = "alpha", .kernel = "6.2.0" }, "alpha/1.0: added\n", "");
	check_text(t, &(struct status_filter){ .version = "1", .kernel = "none" },
		   "a-b/1: added\na/1: added\nbinb/1: broken\neps/1: added\nfb/1: added\n"
		   "gamma/1: broken\n",
		   BROKEN_ERR("binb/1") BROKEN_ERR("gamma/1"));
	check_text(t, &(struct status_filter){ .module = "none" }, "", "");
	check_text(t, &(struct status_filter){ .module = "bin" }, "", "");
}

static const struct tree_module *find_module(const struct tree *t, const char *m)
{
	for (size_t i = 0; i < t->n_modules; i++)
		if (strcmp(t->modules[i].name, m) == 0)
			return &t->modules[i];
	return NULL;
}

static void test_scan_struct(const struct tree *t)
{
	CHECK(t->n_modules == 12);
	CHECK(find_module(t, "empty") == NULL);
	CHECK(find_module(t, ".modforge") == NULL);
	CHECK_STR(t->modules[0].name, "a-b");
	CHECK_STR(t->modules[1].name, "a");
	const struct tree_module *beta = find_module(t, "beta");
	CHECK(beta && beta->n_versions == 1 && beta->versions[0].n_builds == 6);
	if (beta && beta->n_versions == 1 && beta->versions[0].n_builds == 6) {
		const struct tree_build *b = beta->versions[0].builds;
		CHECK_STR(b[0].kernel, "10.1");
		CHECK_STR(b[3].kernel, "6.1.0");
		CHECK_STR(b[3].arch, "i686");
		CHECK_STR(b[5].kernel, "6.2.0");
		CHECK(!b[5].built && !b[5].installed);
		CHECK(b[1].built && b[1].installed && !b[1].original_exists);
		CHECK(b[2].built && !b[2].installed && !b[2].differs_installed);
	}
	const struct tree_module *bin = find_module(t, "bin");
	CHECK(bin && bin->versions[0].binaries_only && bin->versions[0].state == TREE_V_NONE);
	CHECK(bin && bin->versions[0].n_builds == 1 && bin->versions[0].builds[0].built);
	const struct tree_module *none = find_module(t, "none");
	CHECK(none && none->versions[0].state == TREE_V_NONE && !none->versions[0].binaries_only);
	const struct tree_module *vn = find_module(t, "vn");
	CHECK(vn && vn->n_versions == 1);
	const struct tree_module *delta = find_module(t, "delta");
	if (delta) {
		const struct tree_build *d = &delta->versions[0].builds[0];
		CHECK(d->original_exists && d->differs_installed && !d->missing_built);
	}
}

static void test_paths(const struct fx *x)
{
	const struct tree_paths *p = &x->p;
	char *s, want[512];
	s = tree_result_dir(p, "m", "v", "k", "a");
	snprintf(want, sizeof(want), "%s/m/v/k/a", x->dkms);
	CHECK_STR(s, want);
	free(s);
	s = tree_marker(p, "m", "k", "a");
	snprintf(want, sizeof(want), "%s/m/kernel-k-a", x->dkms);
	CHECK_STR(s, want);
	free(s);
	s = tree_original_dir(p, "m", "k", "a");
	snprintf(want, sizeof(want), "%s/m/original_module/k/a", x->dkms);
	CHECK_STR(s, want);
	free(s);
	s = tree_source_link(p, "m", "v");
	snprintf(want, sizeof(want), "%s/m/v/source", x->dkms);
	CHECK_STR(s, want);
	free(s);
	s = tree_build_area(p, "m", "v");
	snprintf(want, sizeof(want), "%s/m/v/build", x->dkms);
	CHECK_STR(s, want);
	free(s);
	s = tree_module_dir(p, "m");
	snprintf(want, sizeof(want), "%s/m", x->dkms);
	CHECK_STR(s, want);
	free(s);
	s = tree_version_dir(p, "m", "v");
	snprintf(want, sizeof(want), "%s/m/v", x->dkms);
	CHECK_STR(s, want);
	free(s);
}

static void test_point_states(const struct tree_paths *p)
{
	CHECK(tree_version_state(p, "alpha", "1.0") == TREE_V_ADDED);
	CHECK(tree_version_state(p, "gamma", "1") == TREE_V_BROKEN);
	CHECK(tree_version_state(p, "gamma", "2") == TREE_V_BROKEN);
	CHECK(tree_version_state(p, "binb", "1") == TREE_V_BROKEN);
	CHECK(tree_version_state(p, "bin", "1") == TREE_V_NONE);
	CHECK(tree_version_state(p, "none", "1") == TREE_V_NONE);
	CHECK(tree_version_state(p, "nosuch", "1") == TREE_V_NONE);

	CHECK(tree_is_built(p, "beta", "2.0", K1, A));
	CHECK(!tree_is_built(p, "beta", "2.0", "6.2.0", A));
	CHECK(!tree_is_built(p, "nosuch", "1", K1, A));

	char *s = tree_installed_version(p, "beta", K1, A);
	CHECK_STR(s, "2.0");
	free(s);
	s = tree_installed_version(p, "eps", K2, A); /* absolute marker */
	CHECK_STR(s, "2");
	free(s);
	CHECK(tree_installed_version(p, "beta", K2, A) == NULL);
	CHECK(tree_installed_version(p, "alpha", "6.2.0", A) == NULL); /* not built */
	CHECK(tree_installed_version(p, "nosuch", K1, A) == NULL);
}

static void test_point_lists(const struct tree_paths *p)
{
	size_t n = 99;
	char **v = tree_list_versions(p, "vn", &n);
	CHECK(v && n == 1 && v[0] && strcmp(v[0], "kernel-x") == 0 && !v[1]);
	strarray_free(v);
	v = tree_list_versions(p, "eps", &n);
	CHECK(v && n == 2 && strcmp(v[0], "1") == 0 && strcmp(v[1], "2") == 0);
	strarray_free(v);
	v = tree_list_versions(p, "nosuch", &n);
	CHECK(v && n == 0 && v[0] == NULL);
	strarray_free(v);

	v = tree_list_builds(p, "beta", "2.0", &n);
	CHECK(v && n == 5);
	if (v && n == 5) {
		CHECK_STR(v[0], "10.1\tx86_64");
		CHECK_STR(v[1], K1 "\tx86_64");
		CHECK_STR(v[2], K2 "\tx86_64");
		CHECK_STR(v[3], "6.1.0\ti686");
		CHECK_STR(v[4], "6.1.0\tx86_64");
	}
	strarray_free(v);
	v = tree_list_builds(p, "alpha", "1.0", &n);
	CHECK(v && n == 0);
	strarray_free(v);
}

static cJSON *find_entry(cJSON *entries, const char *m, const char *v, const char *k)
{
	cJSON *e;
	cJSON_ArrayForEach(e, entries)
	{
		cJSON *jk = cJSON_GetObjectItem(e, "kernel");
		if (strcmp(cJSON_GetObjectItem(e, "module")->valuestring, m) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "version")->valuestring, v) == 0 &&
		    (k ? cJSON_IsString(jk) && strcmp(jk->valuestring, k) == 0 : cJSON_IsNull(jk)))
			return e;
	}
	return NULL;
}

static const char *jstr(cJSON *o, const char *key)
{
	cJSON *i = o ? cJSON_GetObjectItem(o, key) : NULL;
	return cJSON_IsString(i) ? i->valuestring : NULL;
}

static bool jtrue(cJSON *o, const char *key) { return o && cJSON_IsTrue(cJSON_GetObjectItem(o, key)); }

static void test_json(const struct tree *t)
{
	char *s = status_json(t, NULL);
	cJSON *doc = s ? cJSON_Parse(s) : NULL;
	CHECK(doc != NULL);
	CHECK_STR(jstr(doc, "schema"), "modforge.status/1");
	cJSON *entries = cJSON_GetObjectItem(doc, "entries");
	/* one per dkms text line, and gamma/2's build (a broken version's builds follow it) */
	CHECK(cJSON_GetArraySize(entries) == 18);
	cJSON *e = cJSON_GetArrayItem(entries, 0);
	CHECK_STR(jstr(e, "module"), "a-b");
	e = find_entry(entries, "alpha", "1.0", NULL);
	CHECK_STR(jstr(e, "state"), "added");
	CHECK(e && cJSON_IsNull(cJSON_GetObjectItem(e, "arch")));
	CHECK(e && !cJSON_GetObjectItem(e, "original_modules"));
	e = find_entry(entries, "gamma", "2", NULL);
	CHECK_STR(jstr(e, "state"), "broken");
	CHECK(jstr(e, "broken") && strstr(jstr(e, "broken"), "it has no source link"));
	e = find_entry(entries, "gamma", "2", K1);
	CHECK_STR(jstr(e, "state"), "built");
	CHECK(jstr(e, "broken") && strstr(jstr(e, "broken"), "it has no source link"));
	e = find_entry(entries, "alpha", "1.0", NULL);
	CHECK(e && cJSON_IsNull(cJSON_GetObjectItem(e, "broken")));
	e = find_entry(entries, "beta", "2.0", K1);
	CHECK_STR(jstr(e, "state"), "installed");
	CHECK_STR(jstr(e, "arch"), A);
	CHECK(e && cJSON_IsFalse(cJSON_GetObjectItem(e, "original_modules")));
	CHECK(e && cJSON_IsFalse(cJSON_GetObjectItem(e, "differs_from_installed")));
	e = find_entry(entries, "delta", "3.0", K1);
	CHECK(jtrue(e, "original_modules") && jtrue(e, "differs_from_installed"));
	CHECK(e && !jtrue(e, "built_modules_missing"));
	e = find_entry(entries, "eps", "1", K2);
	CHECK_STR(jstr(e, "state"), "built");
	CHECK(jtrue(e, "built_modules_missing") && !jtrue(e, "differs_from_installed"));
	cJSON_Delete(doc);
	free(s);

	s = status_json(t, &(struct status_filter){ .module = "eps", .kernel = K1 });
	doc = s ? cJSON_Parse(s) : NULL;
	entries = cJSON_GetObjectItem(doc, "entries");
	CHECK(cJSON_GetArraySize(entries) == 2);
	CHECK_STR(jstr(cJSON_GetArrayItem(entries, 1), "state"), "added");
	cJSON_Delete(doc);
	free(s);
}

static void test_empty(void)
{
	struct tree *t = NULL;
	struct tree_paths p = { .dkms_tree = "/nonexistent/modforge/dkms",
				.source_tree = "/nonexistent/src",
				.install_tree = "/nonexistent/lib" };
	CHECK(tree_scan(&p, &t) == 0 && t && t->n_modules == 0);
	check_text(t, NULL, "", "");
	char *s = status_json(t, NULL);
	CHECK_STR(s, "{\"schema\":\"modforge.status/1\",\"entries\":[]}");
	free(s);
	tree_free(t);
}

/* The tree Debian's dkms 3.0.10 leaves: build/ kept, log/ with the kernel .config,
 * originals archived, modules installed in updates/dkms, no manifest. */
static void test_debian_3010(void)
{
	struct fx x;
	fx_init(&x);
	const char *k2 = "6.1.0-56-cloud-amd64";
	add(&x, "debmod", "1.2.3");
	put(&x, "obj-m := debmod.o\n", "src/debmod-1.2.3/Makefile");
	put(&x, "obj-m := debmod.o\n", "dkms/debmod/1.2.3/build/Makefile");
	put(&x, "ELF", "dkms/debmod/1.2.3/build/debmod.ko");
	built(&x, "debmod", "1.2.3", K1, A, "debmod.ko", "ELF");
	put(&x, "CONFIG_X=y\n", "dkms/debmod/1.2.3/" K1 "/" A "/log/.config");
	built(&x, "debmod", "1.2.3", k2, A, "debmod.ko", "ELF2");
	put(&x, "ELF", "lib/" K1 "/updates/dkms/debmod.ko");
	put(&x, "ORIG", "dkms/debmod/original_module/" K1 "/" A "/debmod.ko");
	mark(&x, "debmod", "1.2.3", K1, A);

	struct tree *t = NULL;
	CHECK(tree_scan(&x.p, &t) == 0);
	check_text(t, NULL,
		   "debmod/1.2.3, 6.1.0-56-amd64, x86_64: installed (Original modules exist)\n"
		   "debmod/1.2.3, 6.1.0-56-cloud-amd64, x86_64: built\n",
		   "");
	tree_free(t);

	put(&x, "ELF-changed", "lib/" K1 "/updates/dkms/debmod.ko");
	CHECK(tree_scan(&x.p, &t) == 0);
	check_text(t, &(struct status_filter){ .kernel = K1 },
		   "debmod/1.2.3, 6.1.0-56-amd64, x86_64: installed (Original modules exist)"
		   " (Differences between built and installed modules)\n",
		   "");
	tree_free(t);

	char *link = tree_source_link(&x.p, "debmod", "1.2.3");
	unlink(link);
	free(link);
	CHECK(tree_scan(&x.p, &t) == 0);
	check_text(t, NULL, "debmod/1.2.3: broken\n", BROKEN_ERR("debmod/1.2.3"));
	tree_free(t);
	fx_fini(&x);
}

static int dump_json(const char *path)
{
	struct fx x;
	struct tree *t = NULL;
	fx_init(&x);
	build_main_fixture(&x);
	int r = tree_scan(&x.p, &t);
	char *s = r == 0 ? status_json(t, NULL) : NULL;
	FILE *f = s ? fopen(path, "w") : NULL;
	if (f) {
		fprintf(f, "%s\n", s);
		r = fclose(f) == 0 ? 0 : -1;
	}
	free(s);
	tree_free(t);
	fx_fini(&x);
	return f && r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--dump-json") == 0)
		return dump_json(argv[2]);
	struct fx x;
	struct tree *t = NULL;
	fx_init(&x);
	build_main_fixture(&x);
	CHECK(tree_scan(&x.p, &t) == 0);
	if (t) {
		test_main_text(t);
		test_filters(t);
		test_scan_struct(t);
		test_json(t);
	}
	test_paths(&x);
	test_point_states(&x.p);
	test_point_lists(&x.p);
	tree_free(t);
	fx_fini(&x);
	test_empty();
	test_debian_3010();
	return tap_done();
}

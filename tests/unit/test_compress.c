/* test_compress.c - module compression in a temporary directory: which suffix a kernel's
 * tree asks for (symlinked build/ dirs ignored), compressing a fake module with gzip, xz and
 * zstd (round trip, libkmod's view, byte-equal to the tool run by hand with the same
 * options), custom options, a missing tool, a failing tool, COMPRESS_NONE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkmod.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/compress.h"
#include "executor/proc.h"
#include "tap.h"

struct fx {
	char dir[64];
	char *mod;                       /* the plain fake module */
	struct buf mod_data;             /* its bytes */
	bool kmod_has[COMPRESS_ZST + 1]; /* libkmod reads this compression */
};

static char *at(const struct fx *f, const char *rel) { return path_join(f->dir, rel); }

/* Runs argv (NULL-terminated) with its stdout appended to out (or sent to stderr when out is
 * NULL, away from the TAP stream). Returns the exit status, or -1 when it cannot run. */
static int run(struct buf *out, const char *const *argv)
{
	struct proc_spec spec = {
		.argv = (char *const *)argv, .stdin_fd = -1, .stdout_fd = out ? -1 : 2, .stderr_fd = 2
	};
	int code = -1;
	int r = out ? proc_capture(&spec, out, &code) : proc_run(&spec, &code);
	return r < 0 ? -1 : code;
}

static void touch(const struct fx *f, const char *rel)
{
	char *p = at(f, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	CHECK(mkdir_p(p, 0755) == 0);
	*slash = '/';
	CHECK(write_file_atomic(p, "", 0, 0644) == 0);
	free(p);
}

static void link_at(const struct fx *f, const char *target, const char *rel)
{
	char *p = at(f, rel);
	CHECK(symlink(target, p) == 0);
	free(p);
}

static enum module_compression for_kernel(const struct fx *f, const char *kernel)
{
	char *tree = at(f, "tree");
	enum module_compression c = compress_for_kernel(tree, kernel);
	free(tree);
	return c;
}

static void test_for_kernel(struct fx *f)
{
	touch(f, "tree/k-none/kernel/drivers/a/x.ko");
	touch(f, "tree/k-none/modules.dep");
	touch(f, "tree/k-gz/kernel/a/x.ko");
	touch(f, "tree/k-gz/kernel/b/y.ko.gz");
	touch(f, "tree/k-xz/kernel/a/y.ko.gz");
	touch(f, "tree/k-xz/updates/dkms/z.ko.xz");
	touch(f, "tree/k-zst/kernel/a/y.ko.gz");
	touch(f, "tree/k-zst/kernel/b/c/z.ko.xz");
	touch(f, "tree/k-zst/extra/w.ko.zst");
	touch(f, "tree/k-zst/kernel/d/y2.ko.gz");
	touch(f, "tree/k-top/w.ko.zst");
	touch(f, "tree/k-gzxz/kernel/x.ko.xz");
	touch(f, "tree/k-gzxz/kernel/x2.ko.gz");
	/* The headers: full of .ko.zst, reached only through build/ and source/ symlinks. */
	touch(f, "headers/a.ko.zst");
	touch(f, "headers/sub/b.ko.xz");
	touch(f, "tree/k-link/kernel/x.ko");
	link_at(f, "../../headers", "tree/k-link/build");
	link_at(f, "../../headers", "tree/k-link/source");
	touch(f, "tree/k-linkgz/kernel/y.ko.gz");
	link_at(f, "../../headers", "tree/k-linkgz/build");
	/* Names must end in exactly .ko.<ext>. */
	touch(f, "tree/k-decoy/kernel/x.ko.zst.orig");
	touch(f, "tree/k-decoy/kernel/y.ko.gzip");
	touch(f, "tree/k-decoy/kernel/z.xz");
	touch(f, "tree/k-decoy/kernel/zst/w.ko");
	/* A symlink named *.ko.zst is a match (find -name lists it) but is not followed. */
	touch(f, "tree/k-filelink/kernel/x.ko");
	link_at(f, "x.ko", "tree/k-filelink/kernel/w.ko.zst");
	/* The kernel dir itself may be a symlink (find "<dir>/" follows it). */
	link_at(f, "k-xz", "tree/k-dirlink");

	CHECK(for_kernel(f, "k-none") == COMPRESS_NONE);
	CHECK(for_kernel(f, "k-gz") == COMPRESS_GZ);
	CHECK(for_kernel(f, "k-xz") == COMPRESS_XZ);
	CHECK(for_kernel(f, "k-zst") == COMPRESS_ZST);
	CHECK(for_kernel(f, "k-top") == COMPRESS_ZST);
	CHECK(for_kernel(f, "k-gzxz") == COMPRESS_XZ);
	CHECK(for_kernel(f, "k-link") == COMPRESS_NONE);
	CHECK(for_kernel(f, "k-linkgz") == COMPRESS_GZ);
	CHECK(for_kernel(f, "k-decoy") == COMPRESS_NONE);
	CHECK(for_kernel(f, "k-filelink") == COMPRESS_ZST);
	CHECK(for_kernel(f, "k-dirlink") == COMPRESS_XZ);
	CHECK(for_kernel(f, "k-missing") == COMPRESS_NONE);
	char *tree = at(f, "tree");
	CHECK(compress_for_kernel(tree, "k-none/modules.dep") == COMPRESS_NONE); /* not a dir */
	free(tree);

	CHECK_STR(compress_suffix(COMPRESS_NONE), "");
	CHECK_STR(compress_suffix(COMPRESS_GZ), ".gz");
	CHECK_STR(compress_suffix(COMPRESS_XZ), ".xz");
	CHECK_STR(compress_suffix(COMPRESS_ZST), ".zst");
}

/* A small ET_REL object with a .modinfo section, as a module has. */
static bool make_module(struct fx *f)
{
	char *src = at(f, "mfcomp.c");
	f->mod = at(f, "mfcomp.ko");
	static const char text[] = "const char mf_modinfo[] __attribute__((section(\".modinfo\"), used)) =\n"
				   "\t\"license=GPL\\0name=mfcomp\\0vermagic=6.1.0 SMP mod_unload modversions \";\n"
				   "int mf_pad[512] = { 1, 2, 3 }; /* something to compress */\n";
	CHECK(write_file_atomic(src, text, sizeof(text) - 1, 0644) == 0);
	const char *argv[] = { "cc", "-c", "-o", f->mod, src, NULL };
	bool ok = run(NULL, argv) == 0;
	free(src);
	buf_init(&f->mod_data);
	CHECK(ok && buf_read_file(&f->mod_data, f->mod) == 0 && f->mod_data.len > 0);
	return ok;
}

/* Which compressions `kmod --version` says this libkmod reads. */
static void probe_kmod(struct fx *f)
{
	struct buf out;
	buf_init(&out);
	const char *argv[] = { "kmod", "--version", NULL };
	if (run(&out, argv) != 0)
		printf("# kmod --version failed: libkmod checked on what it reads\n");
	f->kmod_has[COMPRESS_NONE] = true;
	f->kmod_has[COMPRESS_GZ] = strstr(out.data, "+ZLIB") != NULL;
	f->kmod_has[COMPRESS_XZ] = strstr(out.data, "+XZ") != NULL;
	f->kmod_has[COMPRESS_ZST] = strstr(out.data, "+ZSTD") != NULL;
	buf_release(&out);
}

/* Returns libkmod's "name" of the module at path (newly allocated), or NULL. */
static char *kmod_name(const char *path)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	struct kmod_module *m = NULL;
	struct kmod_list *info = NULL, *l;
	char *name = NULL;
	if (ctx && kmod_module_new_from_path(ctx, path, &m) == 0 && kmod_module_get_info(m, &info) > 0) {
		kmod_list_foreach(l, info) if (strcmp(kmod_module_info_get_key(l), "name") == 0)
			name = xstrdup(kmod_module_info_get_value(l));
	}
	kmod_module_info_free_list(info);
	kmod_module_unref(m);
	kmod_unref(ctx);
	return name;
}

static const char *tool_of(enum module_compression c)
{
	return c == COMPRESS_GZ ? "gzip" : c == COMPRESS_XZ ? "xz" : "zstd";
}

/* Copies the fake module to rel and compresses it; returns the compressed path (or NULL). */
static char *compress_copy(struct fx *f, const char *rel, enum module_compression c, const struct compress_opts *opts)
{
	char *plain = at(f, rel);
	CHECK(copy_file_atomic(f->mod, plain, 0644) == 0);
	struct buf err;
	buf_init(&err);
	int r = compress_module(plain, c, opts, &err);
	CHECK(r == 0);
	if (r != 0)
		printf("# %s\n", err.data);
	CHECK_STR(err.data, "");
	char *packed = xasprintf("%s%s", plain, compress_suffix(c));
	CHECK(is_regular(packed));
	CHECK(!path_exists(plain));
	buf_release(&err);
	free(plain);
	return packed;
}

/* Checks the compressed file against what the tool itself writes for the same options. */
static void check_same_as_tool(const char *packed, const char *const *tool_argv)
{
	struct buf ours, theirs;
	buf_init(&ours);
	buf_init(&theirs);
	CHECK(buf_read_file(&ours, packed) == 0);
	CHECK(run(&theirs, tool_argv) == 0);
	CHECK(ours.len > 0 && ours.len == theirs.len && memcmp(ours.data, theirs.data, ours.len) == 0);
	buf_release(&ours);
	buf_release(&theirs);
}

static void test_round_trip(struct fx *f, enum module_compression c)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "rt-%s.ko", tool_of(c));
	char *packed = compress_copy(f, rel, c, NULL);
	struct buf plain;
	buf_init(&plain);
	const char *argv[] = { tool_of(c), "-dc", packed, NULL };
	CHECK(run(&plain, argv) == 0);
	CHECK(plain.len == f->mod_data.len && memcmp(plain.data, f->mod_data.data, plain.len) == 0);
	buf_reset(&plain);
	CHECK(compress_read_plain(packed, &plain, NULL) == 0);
	CHECK(plain.len == f->mod_data.len && memcmp(plain.data, f->mod_data.data, plain.len) == 0);
	enum module_compression got = COMPRESS_NONE;
	CHECK(compress_detect(packed, &got) == 0 && got == c);
	if (f->kmod_has[c]) {
		char *name = kmod_name(packed);
		CHECK_STR(name, "mfcomp");
		free(name);
	} else {
		printf("# libkmod here has no %s support: %s checked with %s only\n", tool_of(c), packed, tool_of(c));
	}
	buf_release(&plain);
	free(packed);
}

/* The defaults are dkms 3.4.3's: the output equals the tool run with them by hand. */
static void test_default_opts(struct fx *f)
{
	char *xz = compress_copy(f, "def-xz.ko", COMPRESS_XZ, NULL);
	const char *xz_argv[] = { "xz", "--check=crc32", "--lzma2=dict=1MiB", "-c", f->mod, NULL };
	check_same_as_tool(xz, xz_argv);
	char *zst = compress_copy(f, "def-zst.ko", COMPRESS_ZST, NULL);
	const char *zst_argv[] = { "zstd", "-q", "-T0", "-c", f->mod, NULL };
	check_same_as_tool(zst, zst_argv);
	struct compress_opts empty = { .gzip = "", .xz = "", .zstd = "" };
	char *xz0 = compress_copy(f, "empty-xz.ko", COMPRESS_XZ, &empty); /* "" = no options */
	const char *xz0_argv[] = { "xz", "-c", f->mod, NULL };
	check_same_as_tool(xz0, xz0_argv);
	free(xz);
	free(zst);
	free(xz0);
}

static void test_custom_opts(struct fx *f)
{
	struct compress_opts o = { .gzip = " -n\t-9 ", .xz = "-9", .zstd = "-q -19" };
	char *gz = compress_copy(f, "opt-gz.ko", COMPRESS_GZ, &o);
	const char *gz_argv[] = { "gzip", "-n", "-9", "-c", f->mod, NULL };
	check_same_as_tool(gz, gz_argv);
	char *xz = compress_copy(f, "opt-xz.ko", COMPRESS_XZ, &o);
	const char *xz_argv[] = { "xz", "-9", "-c", f->mod, NULL };
	check_same_as_tool(xz, xz_argv);
	/* -9 keeps xz's crc64, so the file differs from one made with the defaults. */
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	char *def = at(f, "def-xz.ko.xz");
	CHECK(buf_read_file(&a, xz) == 0 && buf_read_file(&b, def) == 0);
	CHECK(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
	/* zstd without --rm keeps the plain file: compress_copy checks it is gone anyway. */
	char *zst = compress_copy(f, "opt-zst.ko", COMPRESS_ZST, &o);
	const char *zst_argv[] = { "zstd", "-q", "-19", "-c", f->mod, NULL };
	check_same_as_tool(zst, zst_argv);
	/* gzip -k keeps it too. */
	struct compress_opts keep = { .gzip = "-k" };
	char *gzk = compress_copy(f, "keep-gz.ko", COMPRESS_GZ, &keep);
	free(gzk);
	buf_release(&a);
	buf_release(&b);
	free(def);
	free(gz);
	free(xz);
	free(zst);
}

static void test_errors(struct fx *f)
{
	char *plain = at(f, "err.ko");
	char *nopath = at(f, "empty-bin");
	CHECK(copy_file_atomic(f->mod, plain, 0644) == 0);
	CHECK(mkdir_p(nopath, 0755) == 0);
	struct buf err;
	buf_init(&err);

	/* No xz in PATH: -ENOENT naming the tool; nothing touched. */
	char *old_path = xstrdup(getenv("PATH"));
	setenv("PATH", nopath, 1);
	int r = compress_module(plain, COMPRESS_XZ, NULL, &err);
	setenv("PATH", old_path, 1);
	CHECK(r == -ENOENT);
	CHECK(strstr(err.data, "xz") != NULL && strstr(err.data, plain) != NULL);
	printf("# missing tool: %s\n", err.data);
	CHECK(is_regular(plain));

	/* The tool fails: -EIO with its output; the plain file stays. */
	buf_reset(&err);
	struct compress_opts bad = { .zstd = "--no-such-option" };
	CHECK(compress_module(plain, COMPRESS_ZST, &bad, &err) == -EIO);
	CHECK(strstr(err.data, "zstd") != NULL && strstr(err.data, "exit status 1") != NULL);
	CHECK(strstr(err.data, "Incorrect parameters") != NULL); /* zstd's own stderr */
	printf("# failing tool: %.*s\n", (int)strcspn(err.data, "\n"), err.data);
	CHECK(is_regular(plain));

	/* A missing input file. */
	char *missing = at(f, "missing.ko");
	buf_reset(&err);
	CHECK(compress_module(missing, COMPRESS_GZ, NULL, &err) == -ENOENT);
	CHECK(strstr(err.data, missing) != NULL);
	CHECK(compress_module(missing, COMPRESS_GZ, NULL, NULL) == -ENOENT); /* err may be NULL */
	CHECK(compress_read_plain(missing, &err, NULL) == -ENOENT);
	enum module_compression c;
	CHECK(compress_detect(missing, &c) == -ENOENT);

	/* COMPRESS_NONE: a no-op. */
	buf_reset(&err);
	CHECK(compress_module(plain, COMPRESS_NONE, NULL, &err) == 0);
	CHECK_STR(err.data, "");
	struct buf now;
	buf_init(&now);
	CHECK(buf_read_file(&now, plain) == 0);
	CHECK(now.len == f->mod_data.len && memcmp(now.data, f->mod_data.data, now.len) == 0);
	CHECK(compress_detect(plain, &c) == 0 && c == COMPRESS_NONE);
	buf_reset(&now);
	CHECK(compress_read_plain(plain, &now, NULL) == 0 && now.len == f->mod_data.len);
	static const char *const suffixes[] = { ".gz", ".xz", ".zst" };
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", plain, suffixes[i]);
		CHECK(!path_exists(p));
		free(p);
	}
	buf_release(&now);
	buf_release(&err);
	free(old_path);
	free(missing);
	free(nopath);
	free(plain);
}

int main(void)
{
	struct fx f = { .dir = "/tmp/mf-compress-XXXXXX" };
	if (!mkdtemp(f.dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_for_kernel(&f);
	if (make_module(&f)) {
		probe_kmod(&f);
		test_round_trip(&f, COMPRESS_GZ);
		test_round_trip(&f, COMPRESS_XZ);
		test_round_trip(&f, COMPRESS_ZST);
		test_default_opts(&f);
		test_custom_opts(&f);
		test_errors(&f);
	} else {
		printf("# no cc: compression of a module not tested\n");
	}
	rm_rf(f.dir);
	buf_release(&f.mod_data);
	free(f.mod);
	return tap_done();
}

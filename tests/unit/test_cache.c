/* test_cache.c - the build cache on a fake source tree, kernel dir, compiler and result dir
 * in a temporary directory: what changes the key, store/restore, LRU eviction, corruption. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/cache.h"
#include "tap.h"

/* The temporary directory every path below lives in. */
struct fx {
	char dir[64];
	char *tree; /* the dkms tree */
	struct cache_key_input in;
};

static char *at(const struct fx *f, const char *rel) { return path_join(f->dir, rel); }

static void write_text(const struct fx *f, const char *rel, const char *text, mode_t mode)
{
	char *p = at(f, rel);
	char *d = xstrdup(p);
	*strrchr(d, '/') = '\0';
	mkdir_p(d, 0755);
	CHECK(write_file_atomic(p, text, strlen(text), mode) == 0);
	free(d);
	free(p);
}

static void write_filled(const struct fx *f, const char *rel, size_t n, char c)
{
	char *data = xmalloc(n + 1);
	memset(data, c, n);
	data[n] = '\0';
	write_text(f, rel, data, 0644);
	free(data);
}

static void set_cc(const struct fx *f, const char *version)
{
	char *script = xasprintf("#!/bin/sh\necho '%s'\necho noise >&2\n", version);
	write_text(f, "cc", script, 0755);
	free(script);
}

static void setup(struct fx *f)
{
	strcpy(f->dir, "/tmp/test_cache.XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	write_text(f, "src/Makefile", "obj-m += x.o\n", 0644);
	write_text(f, "src/x.c", "int x;\n", 0644);
	write_text(f, "src/sub/y.h", "#define Y 1\n", 0644);
	char *link = at(f, "src/link");
	CHECK(symlink("x.c", link) == 0);
	free(link);
	write_text(f, "ksrc/include/config/kernel.release", "6.1.0-test\n", 0644);
	write_text(f, "ksrc/.config", "CONFIG_X=y\n", 0644);
	write_text(f, "ksrc/Module.symvers", "0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\n", 0644);
	set_cc(f, "fakecc 1.0");
	f->tree = at(f, "tree");
	f->in = (struct cache_key_input){ .source_dir = at(f, "src"),
					  .conf_text = "MAKE=make",
					  .conf_len = 9,
					  .kernel_source_dir = at(f, "ksrc"),
					  .cc = at(f, "cc") };
}

static void teardown(struct fx *f)
{
	rm_rf(f->dir);
	free(f->tree);
	free((char *)f->in.source_dir);
	free((char *)f->in.kernel_source_dir);
	free((char *)f->in.cc);
}

/* Returns 1 if the key of f->in equals base, 0 if not, -1 if it could not be computed. */
static int same_key(const struct fx *f, const char *base)
{
	char hex[65];
	if (cache_key(&f->in, hex) != 0)
		return -1;
	return strcmp(hex, base) == 0;
}

static void test_key_sources(struct fx *f, const char *base)
{
	char *x = at(f, "src/x.c"), *z = at(f, "src/z.c"), *link = at(f, "src/link");
	write_text(f, "src/x.c", "int y;\n", 0644);
	CHECK(same_key(f, base) == 0); /* one byte */
	write_text(f, "src/x.c", "int x;\n", 0644);
	CHECK(same_key(f, base) == 1);
	chmod(x, 0755);
	CHECK(same_key(f, base) == 0); /* mode */
	chmod(x, 0644);
	CHECK(same_key(f, base) == 1);
	write_text(f, "src/sub/new.h", "", 0644);
	CHECK(same_key(f, base) == 0); /* new (empty) file */
	char *n = at(f, "src/sub/new.h");
	unlink(n);
	free(n);
	CHECK(rename(x, z) == 0);
	CHECK(same_key(f, base) == 0); /* renamed */
	CHECK(rename(z, x) == 0);
	unlink(link);
	CHECK(symlink("sub/y.h", link) == 0);
	CHECK(same_key(f, base) == 0); /* symlink target */
	unlink(link);
	CHECK(symlink("x.c", link) == 0);
	CHECK(utimensat(AT_FDCWD, x, (struct timespec[]){ { 5, 0 }, { 5, 0 } }, 0) == 0);
	CHECK(same_key(f, base) == 1); /* timestamps do not matter */
	free(x);
	free(z);
	free(link);
}

static void test_key_kernel(struct fx *f, const char *base)
{
	write_text(f, "ksrc/include/config/kernel.release", "6.1.0-other\n", 0644);
	CHECK(same_key(f, base) == 0);
	write_text(f, "ksrc/include/config/kernel.release", "6.1.0-test\n", 0644);
	write_text(f, "ksrc/.config", "CONFIG_X=m\n", 0644);
	CHECK(same_key(f, base) == 0);
	write_text(f, "ksrc/.config", "CONFIG_X=y\n", 0644);
	CHECK(same_key(f, base) == 1);

	char *symvers = at(f, "ksrc/Module.symvers");
	char missing[65], empty[65];
	unlink(symvers);
	CHECK(cache_key(&f->in, missing) == 0);
	CHECK(strcmp(missing, base) != 0);
	write_text(f, "ksrc/Module.symvers", "", 0644);
	CHECK(cache_key(&f->in, empty) == 0);
	CHECK(strcmp(empty, missing) != 0 && strcmp(empty, base) != 0);
	write_text(f, "ksrc/Module.symvers", "0x2\tsym\tvmlinux\tEXPORT_SYMBOL\t\n", 0644);
	CHECK(same_key(f, base) == 0);
	write_text(f, "ksrc/Module.symvers", "0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\n", 0644);
	CHECK(same_key(f, base) == 1);
	free(symvers);
}

static void test_key_conf_cc(struct fx *f, const char *base)
{
	f->in.conf_text = "MAKE=mak";
	f->in.conf_len = 8;
	CHECK(same_key(f, base) == 0);
	f->in.conf_text = "MAKE=make";
	f->in.conf_len = 9;
	CHECK(same_key(f, base) == 1);

	set_cc(f, "fakecc 1.1");
	CHECK(same_key(f, base) == 0);
	set_cc(f, "fakecc 1.0");
	CHECK(same_key(f, base) == 1);

	char hex[65];
	const char *cc = f->in.cc;
	f->in.cc = "/nonexistent/cc";
	CHECK(cache_key(&f->in, hex) == -ENOENT);
	f->in.cc = "modforge-no-such-compiler";
	CHECK(cache_key(&f->in, hex) == -ENOENT);
	f->in.cc = cc;
}

static void test_key(struct fx *f)
{
	char base[65], again[65];
	CHECK(cache_key(&f->in, base) == 0);
	CHECK(strlen(base) == 64 && strspn(base, "0123456789abcdef") == 64);
	CHECK(cache_key(&f->in, again) == 0);
	CHECK_STR(again, base);

	/* the top source dir may be a symlink: it is followed */
	const char *src = f->in.source_dir;
	char *alias = at(f, "srclink");
	CHECK(symlink(src, alias) == 0);
	f->in.source_dir = alias;
	CHECK(same_key(f, base) == 1);
	f->in.source_dir = src;
	free(alias);

	test_key_sources(f, base);
	test_key_kernel(f, base);
	test_key_conf_cc(f, base);
	CHECK(same_key(f, base) == 1);
}

/* A result dir <name>/ with module/x.ko of ko_bytes bytes of c and log/make.log. */
static void make_result(struct fx *f, const char *name, size_t ko_bytes, char c)
{
	char *ko = xasprintf("%s/module/x.ko", name), *log = xasprintf("%s/log/make.log", name);
	write_filled(f, ko, ko_bytes, c);
	write_text(f, log, "built\n", 0644);
	free(ko);
	free(log);
}

/* Returns 1 if result dirs a and b hold identical module/x.ko and log/make.log. */
static int same_result(const struct fx *f, const char *a, const char *b)
{
	int ok = 1;
	for (const char *const *rel = (const char *const[]){ "module/x.ko", "log/make.log", NULL }; *rel; rel++) {
		char *pa = xasprintf("%s/%s/%s", f->dir, a, *rel);
		char *pb = xasprintf("%s/%s/%s", f->dir, b, *rel);
		ok = ok && files_equal(pa, pb) == 1;
		free(pa);
		free(pb);
	}
	return ok;
}

static char *entry_path(const struct fx *f, const char *key)
{
	return xasprintf("%s/.modforge/cache/%s", f->tree, key);
}

static void test_store_restore(struct fx *f)
{
	char key[65];
	CHECK(cache_key(&f->in, key) == 0);
	make_result(f, "res", 100, 'k');
	char *res = at(f, "res"), *out1 = at(f, "out/1"), *out2 = at(f, "out/2");
	CHECK(cache_restore(f->tree, key, out1) == 0); /* miss */
	CHECK(!path_exists(out1));
	CHECK(cache_store(f->tree, key, res, 1 << 20) == 0);
	CHECK(cache_restore(f->tree, key, out2) == 1);
	CHECK(same_result(f, "res", "out/2"));
	CHECK(cache_size(f->tree) == 100 + 6);
	CHECK(cache_store(f->tree, key, res, (size_t)-1) == 0); /* no budget: nothing evicted */
	CHECK(cache_size(f->tree) == 100 + 6);

	/* an existing entry is kept */
	make_result(f, "res", 100, 'z');
	CHECK(cache_store(f->tree, key, res, 1 << 20) == 0);
	CHECK(cache_restore(f->tree, key, out1) == 1);
	CHECK(same_result(f, "out/1", "out/2"));
	CHECK(!same_result(f, "out/1", "res"));

	/* restore into an existing dir fails and leaves it (and nothing else) behind */
	char *out3 = at(f, "out/3"), *out3_ko = at(f, "out/3/module/x.ko");
	CHECK(mkdir(out3, 0755) == 0);
	CHECK(cache_restore(f->tree, key, out3) == -EEXIST);
	CHECK(!path_exists(out3_ko));
	char *outdir = at(f, "out");
	int n = 0;
	for (DIR *d = opendir(outdir); d; d = (closedir(d), NULL))
		for (struct dirent *de; (de = readdir(d));)
			n += de->d_name[0] != '.';
	CHECK(n == 3);

	CHECK(cache_restore(f->tree, "not-a-key", out3_ko) == -EINVAL);
	char *bad = at(f, "bad");
	write_text(f, "bad/log/make.log", "failed\n", 0644);
	CHECK(cache_store(f->tree, key, bad, 1 << 20) == -EINVAL); /* no module/ */
	free(bad);
	free(outdir);
	free(out3);
	free(out3_ko);
	free(res);
	free(out1);
	free(out2);
	rm_rf(f->tree);
}

/* Stores result dir res under key with mtime t (seconds) and a large budget. */
static void store_at(struct fx *f, const char *key, time_t t)
{
	char *res = at(f, "res"), *entry = entry_path(f, key);
	CHECK(cache_store(f->tree, key, res, 1 << 20) == 0);
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	CHECK(utimensat(AT_FDCWD, entry, ts, 0) == 0);
	free(res);
	free(entry);
}

static bool has_entry(const struct fx *f, const char *key)
{
	char *p = entry_path(f, key);
	bool r = path_exists(p);
	free(p);
	return r;
}

static void test_eviction(struct fx *f)
{
	char k[5][65];
	for (int i = 0; i < 5; i++) {
		memset(k[i], "abcde"[i], 64);
		k[i][64] = '\0';
	}
	make_result(f, "res", 994, 'e'); /* 994 + 6 = 1000 bytes an entry */
	store_at(f, k[0], 1000);
	store_at(f, k[1], 2000);
	store_at(f, k[2], 3000);
	CHECK(cache_size(f->tree) == 3000);

	char *cache = xasprintf("%s/.modforge/cache", f->tree);
	char *stale = xasprintf("%s/.tmp-stale", cache), *fresh = xasprintf("%s/.tmp-fresh", cache);
	CHECK(mkdir(stale, 0700) == 0 && mkdir(fresh, 0700) == 0);
	CHECK(utimensat(AT_FDCWD, stale, (struct timespec[]){ { 1, 0 }, { 1, 0 } }, 0) == 0);

	char *out = at(f, "evict-out"), *res = at(f, "res");
	CHECK(cache_restore(f->tree, k[0], out) == 1); /* a is now the most recently used */
	CHECK(cache_store(f->tree, k[3], res, 2000) == 0);
	CHECK(has_entry(f, k[0]) && has_entry(f, k[3]));
	CHECK(!has_entry(f, k[1]) && !has_entry(f, k[2]));
	CHECK(cache_size(f->tree) == 2000);
	CHECK(!path_exists(stale) && path_exists(fresh));

	/* an entry that alone exceeds the budget is evicted too, and the store succeeds */
	CHECK(cache_store(f->tree, k[4], res, 999) == 0);
	CHECK(!has_entry(f, k[4]) && !has_entry(f, k[0]) && !has_entry(f, k[3]));
	CHECK(cache_size(f->tree) == 0);
	free(cache);
	free(stale);
	free(fresh);
	free(out);
	free(res);
	rm_rf(f->tree);
}

static void test_corrupt(struct fx *f)
{
	char key[65];
	memset(key, 'f', 64);
	key[64] = '\0';
	char *entry = entry_path(f, key), *log = xasprintf("%s/log/make.log", entry);
	char *logdir = xasprintf("%s/log", entry), *out = at(f, "corrupt-out");
	CHECK(mkdir_p(logdir, 0755) == 0);
	CHECK(write_file_atomic(log, "x\n", 2, 0644) == 0);
	CHECK(cache_restore(f->tree, key, out) == 0);
	CHECK(!path_exists(entry));
	CHECK(!path_exists(out));
	CHECK(cache_size(f->tree) == 0);
	free(entry);
	free(log);
	free(logdir);
	free(out);
	rm_rf(f->tree);
}

int main(void)
{
	struct fx f;
	setup(&f);
	test_key(&f);
	test_store_restore(&f);
	test_eviction(&f);
	test_corrupt(&f);
	teardown(&f);
	return tap_done();
}

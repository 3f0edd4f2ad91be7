/* test_modversion.c - dkms 3.4.3's version sanity check on fake modules built with cc in a
 * temporary directory (plain, xz- and gzip-compressed), and dkms's VER() ordering, checked
 * against orchestrator/vercmp and, when Debian's dkms is installed, against its own VER(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/compress.h"
#include "executor/modversion.h"
#include "executor/proc.h"
#include "common/vercmp.h"
#include "tap.h"

struct fx {
	char dir[64];
};

static char *at(const struct fx *f, const char *rel) { return path_join(f->dir, rel); }

/* Runs argv with stdout appended to out (or sent to stderr when NULL). Returns the exit
 * status, or -1 when it cannot run. */
static int run(struct buf *out, const char *const *argv)
{
	struct proc_spec spec = {
		.argv = (char *const *)argv, .stdin_fd = -1, .stdout_fd = out ? -1 : 2, .stderr_fd = 2
	};
	int code = -1;
	int r = out ? proc_capture(&spec, out, &code) : proc_run(&spec, &code);
	return r < 0 ? -1 : code;
}

/* Builds <dir>/<name>.ko whose .modinfo holds the given entries ('|' separates them). */
static bool make_module(const struct fx *f, const char *name, const char *entries)
{
	struct buf text;
	buf_init(&text);
	buf_adds(&text, "const char mf_modinfo[] __attribute__((section(\".modinfo\"), used)) = \"");
	for (const char *p = entries; *p; p++) {
		if (*p == '|')
			buf_adds(&text, "\\0");
		else
			buf_addc(&text, *p);
	}
	buf_adds(&text, "\";\n");
	char *src = xasprintf("%s/%s.c", f->dir, name);
	char *ko = xasprintf("%s/%s.ko", f->dir, name);
	CHECK(write_file_atomic(src, text.data, text.len, 0644) == 0);
	const char *argv[] = { "cc", "-c", "-o", ko, src, NULL };
	bool ok = run(NULL, argv) == 0;
	CHECK(ok);
	buf_release(&text);
	free(src);
	free(ko);
	return ok;
}

/* Copies <name>.ko to <copy>.ko and compresses the copy; returns false on failure. */
static bool compressed_copy(const struct fx *f, const char *name, const char *copy, enum module_compression c)
{
	char *from = xasprintf("%s/%s.ko", f->dir, name);
	char *to = xasprintf("%s/%s.ko", f->dir, copy);
	struct buf err;
	buf_init(&err);
	bool ok = copy_file_atomic(from, to, 0644) == 0 && compress_module(to, c, NULL, &err) == 0;
	if (!ok)
		printf("# compressing %s: %s\n", to, err.data);
	CHECK(ok);
	buf_release(&err);
	free(from);
	free(to);
	return ok;
}

/* modversion_check(<existing>, <built>) with file names relative to the scratch dir. */
static int check(const struct fx *f, const char *existing, const char *built, enum modversion_verdict *v)
{
	char *e = at(f, existing), *b = at(f, built);
	*v = (enum modversion_verdict) - 1;
	int r = modversion_check(e, b, v);
	free(e);
	free(b);
	return r;
}

static void expect(const struct fx *f, const char *existing, const char *built, enum modversion_verdict want)
{
	enum modversion_verdict v;
	int r = check(f, existing, built, &v);
	CHECK(r == 0 && v == want);
	if (r != 0 || v != want)
		printf("#   %s vs %s: r=%d verdict=%d, expected %d\n", existing, built, r, (int)v, (int)want);
}

static void expect_info(const struct fx *f, const char *rel, const char *version, const char *srcversion)
{
	char *p = at(f, rel);
	struct modversion v;
	CHECK(modversion_read(p, &v) == 0);
	CHECK_STR(v.version, version);
	CHECK_STR(v.srcversion, srcversion);
	modversion_release(&v);
	CHECK(v.version == NULL && v.srcversion == NULL);
	free(p);
}

#define BASE "license=GPL|name=mfver|vermagic=6.1.0 SMP mod_unload modversions |"

static bool make_modules(const struct fx *f)
{
	return make_module(f, "v1210a", BASE "version=1.2.10|srcversion=AAAA1111") &&
		make_module(f, "v1210a-other", BASE "version=1.2.10|description=rebuilt|srcversion=AAAA1111") &&
		make_module(f, "v1210c", BASE "version=1.2.10|srcversion=CCCC3333") &&
		make_module(f, "v129", BASE "version=1.2.9|srcversion=BBBB2222") &&
		make_module(f, "v20rc", BASE "version=2.0-rc1|srcversion=DDDD") &&
		make_module(f, "v20", BASE "version=2.0|srcversion=EEEE") &&
		make_module(f, "old-checksum", BASE "version=3.1 0123ABCDEF") &&
		make_module(f, "srcver-only", BASE "srcversion=FFFF") &&
		make_module(f, "last-wins", BASE "version=0.1|srcversion=S1|version=0.2 X|srcversion=S2") &&
		make_module(f, "empty-srcver", BASE "version=4.0 CHK|srcversion=") &&
		make_module(f, "unver", BASE "description=plain") &&
		make_module(f, "unver-other", BASE "description=different");
}

static void test_read(const struct fx *f)
{
	expect_info(f, "v1210a.ko", "1.2.10", "AAAA1111");
	expect_info(f, "v20rc.ko", "2.0-rc1", "DDDD");
	expect_info(f, "old-checksum.ko", "3.1", "0123ABCDEF"); /* the old "version checksum" form */
	expect_info(f, "srcver-only.ko", NULL, "FFFF");
	expect_info(f, "last-wins.ko", "0.2", "S2");
	expect_info(f, "empty-srcver.ko", "4.0", "CHK"); /* ${srcver:-$checksum} */
	expect_info(f, "unver.ko", NULL, NULL);
	expect_info(f, "v1210a-xz.ko.xz", "1.2.10", "AAAA1111");
	expect_info(f, "v129-zst.ko.zst", "1.2.9", "BBBB2222");
	expect_info(f, "v1210a-gz.ko.gz", "1.2.10", "AAAA1111"); /* tool fallback without zlib */

	struct modversion v;
	char *missing = at(f, "missing.ko");
	CHECK(modversion_read(missing, &v) == -ENOENT);
	CHECK(v.version == NULL && v.srcversion == NULL);
	char *junk = at(f, "junk.ko");
	CHECK(write_file_atomic(junk, "not an ELF file\n", 16, 0644) == 0);
	int r = modversion_read(junk, &v);
	CHECK(r < 0);
	printf("# not a module: %s\n", strerror(-r));
	char *badxz = at(f, "bad.ko.xz");
	static const char fake_xz[] = "\xfd"
				      "7zXZ\0garbage";
	CHECK(write_file_atomic(badxz, fake_xz, sizeof(fake_xz) - 1, 0644) == 0);
	CHECK(modversion_read(badxz, &v) < 0);
	enum modversion_verdict verdict;
	CHECK(check(f, "missing.ko", "v1210a.ko", &verdict) == -ENOENT);
	CHECK(check(f, "v1210a.ko", "missing.ko", &verdict) == -ENOENT);
	free(missing);
	free(junk);
	free(badxz);
}

static void test_check(const struct fx *f)
{
	expect(f, "v1210a.ko", "v129.ko", MODVERSION_OLDER);        /* existing newer */
	expect(f, "v129.ko", "v1210a.ko", MODVERSION_OK);           /* existing older */
	expect(f, "v1210a.ko", "v1210a-other.ko", MODVERSION_SAME); /* version + srcversion */
	expect(f, "v1210a.ko", "v1210a.ko", MODVERSION_SAME);
	expect(f, "v1210a.ko", "v1210c.ko", MODVERSION_OK);      /* srcversion differs (3.4.3) */
	expect(f, "unver.ko", "unver-copy.ko", MODVERSION_SAME); /* identical binaries */
	expect(f, "unver.ko", "unver-other.ko", MODVERSION_OK);  /* different binaries */
	expect(f, "v20rc.ko", "v20.ko", MODVERSION_OLDER);       /* VER("2.0-rc1") > VER("2.0") */
	expect(f, "v20.ko", "v20rc.ko", MODVERSION_OK);
	expect(f, "v1210a.ko", "unver.ko", MODVERSION_OLDER);           /* only existing versioned */
	expect(f, "unver.ko", "v1210a.ko", MODVERSION_OK);              /* only built versioned */
	expect(f, "srcver-only.ko", "srcver-only.ko", MODVERSION_SAME); /* srcversion counts */
	/* Compressed existing modules, as a kernel's tree has them. */
	expect(f, "v1210a-xz.ko.xz", "v129.ko", MODVERSION_OLDER);
	expect(f, "v129-zst.ko.zst", "v1210a.ko", MODVERSION_OK);
	expect(f, "v1210a-xz.ko.xz", "v1210a-other.ko", MODVERSION_SAME);
	expect(f, "v1210a-gz.ko.gz", "v1210c.ko", MODVERSION_OK);
	expect(f, "unver-xz.ko.xz", "unver.ko", MODVERSION_SAME); /* decompressed contents */
	expect(f, "unver-xz.ko.xz", "unver-gz.ko.gz", MODVERSION_SAME);
	expect(f, "unver-xz.ko.xz", "unver-other.ko", MODVERSION_OK);
}

struct order {
	const char *a, *b;
	int sign;
};

static const struct order orders[] = {
	{ "1.2.10", "1.2.9", 1 },
	{ "2.0", "2.0", 0 },
	{ "0.12.7", "0.12.10", -1 },
	{ "1.10", "1.9", 1 },
	{ "2.0-rc1", "2.0", 1 }, /* a longer string with the same prefix is newer */
	{ "1.0a", "1.0b", -1 },
	{ "2.0-1", "2.0.1", -1 }, /* '-' sorts before '.' */
	{ "v2", "1.0", 1 },       /* letters sort after digits */
	{ "1000", "999", -1 },    /* runs of 3+ digits are not padded */
	{ "1.2.3", "1.2.3-1", -1 },
	{ "6.1.0-56-amd64", "6.1.0-56-cloud-amd64", -1 },
	{ "2.6.9-1cvs200409091247", "2.6.9-1cvs200409091248", -1 },
	{ "1.0.0", "1.0", 1 },
	{ "01.2", "1.2", 0 }, /* "01" pads to "001" */
	{ "1.0 ", "1.0", 0 }, /* spaces are dropped */
	{ "", "0", -1 },
	{ "", "", 0 },
};

static int sign(int x) { return (x > 0) - (x < 0); }

static void test_cmp(void)
{
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		const struct order *o = &orders[i];
		int got = sign(modversion_cmp(o->a, o->b));
		CHECK(got == o->sign);
		CHECK(sign(modversion_cmp(o->b, o->a)) == -o->sign);
		CHECK(got == sign(dkms_vercmp(o->a, o->b))); /* the orchestrator's VER() agrees */
		if (got != o->sign)
			printf("#   \"%s\" vs \"%s\": %d, expected %d\n", o->a, o->b, got, o->sign);
	}
}

/* Compares modversion_cmp with dkms's own VER() from Debian's /usr/sbin/dkms, when present
 * (strings without spaces: Debian's 3.0.10 VER() word-splits, 3.4.3's does not). */
static void test_cmp_against_dkms(void)
{
	if (access("/usr/sbin/dkms", R_OK) != 0) {
		printf("# /usr/sbin/dkms not installed: VER() not compared with dkms\n");
		return;
	}
	const char *argv[64] = { "bash", "-c",
				 "eval \"$(sed -n '/^VER()/,/^}/p' /usr/sbin/dkms)\"; "
				 "for v; do printf '%s\\n' \"$(VER \"$v\")\"; done",
				 "ver" };
	size_t n = 4, first = n;
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		if (strchr(orders[i].a, ' ') || !*orders[i].a || !*orders[i].b)
			continue;
		argv[n++] = orders[i].a;
		argv[n++] = orders[i].b;
	}
	argv[n] = NULL;
	struct buf out;
	buf_init(&out);
	CHECK(run(&out, argv) == 0);
	char *save = NULL, *keys[64] = { 0 };
	size_t k = first;
	for (char *l = strtok_r(out.data, "\n", &save); l && k < n; l = strtok_r(NULL, "\n", &save))
		keys[k++] = l;
	CHECK(k == n);
	for (size_t i = first; i + 1 < k; i += 2) {
		int want = sign(strcmp(keys[i], keys[i + 1]));
		CHECK(sign(modversion_cmp(argv[i], argv[i + 1])) == want);
	}
	buf_release(&out);
}

int main(void)
{
	struct fx f = { .dir = "/tmp/mf-modversion-XXXXXX" };
	if (!mkdtemp(f.dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_cmp();
	test_cmp_against_dkms();
	if (make_modules(&f)) {
		char *a = at(&f, "unver.ko"), *b = at(&f, "unver-copy.ko");
		CHECK(copy_file_atomic(a, b, 0644) == 0);
		free(a);
		free(b);
		if (compressed_copy(&f, "v1210a", "v1210a-xz", COMPRESS_XZ) &&
		    compressed_copy(&f, "v1210a", "v1210a-gz", COMPRESS_GZ) &&
		    compressed_copy(&f, "v129", "v129-zst", COMPRESS_ZST) &&
		    compressed_copy(&f, "unver", "unver-xz", COMPRESS_XZ) &&
		    compressed_copy(&f, "unver", "unver-gz", COMPRESS_GZ)) {
			test_read(&f);
			test_check(&f);
		}
	} else {
		printf("# no cc: modules not built, check not tested\n");
	}
	rm_rf(f.dir);
	return tap_done();
}

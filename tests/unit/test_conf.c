/* test_conf.c - hand-written evaluator dumps -> struct module_conf (dkms 3.4.3 semantics),
 * BUILD_EXCLUSIVE decisions, strict checks and the distro from os-release. Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/conf/confdump.h"
#include "tap.h"

static const struct conf_target K61 = { "6.1.0-56-amd64", "x86_64" };
static const struct conf_target K510 = { "5.10.0-30-amd64", "x86_64" };

/* Builds dump bytes: fields separated by NUL (the format of executor/confeval.sh). */
static void field(struct buf *b, const char *s) { buf_add(b, s, strlen(s) + 1); }

static void begin(struct buf *b, const struct conf_target *t)
{
	buf_reset(b);
	field(b, "T");
	field(b, t->kernelver);
	field(b, t->arch);
}

static void var(struct buf *b, const char *name, const char *idx, const char *value)
{
	field(b, "V");
	field(b, name);
	field(b, idx);
	field(b, value);
}

static void file(struct buf *b, const char *path, const char *kind, const char *status)
{
	field(b, "F");
	field(b, path);
	field(b, kind);
	field(b, status);
}

static void dep(struct buf *b, const char *name, const char *value)
{
	field(b, "D");
	field(b, name);
	field(b, value);
}

/* A valid one-module conf for t. */
static void basic(struct buf *b, const struct conf_target *t)
{
	begin(b, t);
	file(b, "/src/dkms.conf", "ok", "0");
	var(b, "PACKAGE_NAME", "0", "foo");
	var(b, "PACKAGE_VERSION", "0", "1.0");
	var(b, "DEST_MODULE_LOCATION", "0", "/kernel/extra");
}

/* Ends the record and parses it; returns conf_from_dump's result, *c and *err set. */
static int parse(struct buf *b, const struct conf_target *t, enum conf_distro d, struct module_conf **c, char **err)
{
	field(b, "E");
	return conf_from_dump(b->data, b->len, t, d, c, err);
}

/* Parses and returns the error text (NULL if it parsed), freeing everything else. */
static char *error_of(struct buf *b, const struct conf_target *t)
{
	struct module_conf *c = NULL;
	char *err = NULL;
	if (parse(b, t, DISTRO_OTHER, &c, &err) == 0)
		conf_free(c);
	return err;
}

static void check_error(struct buf *b, const char *want)
{
	char *err = error_of(b, &K61);
	CHECK_STR(err, want);
	free(err);
}

static void test_minimal(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(err == NULL);
	CHECK_STR(c->package_name, "foo");
	CHECK_STR(c->package_version, "1.0");
	CHECK(c->n_records == 1);
	CHECK_STR(c->records[0].built_name, "foo");
	CHECK_STR(c->records[0].dest_name, "foo");
	CHECK_STR(c->records[0].built_location, "");
	CHECK_STR(c->records[0].dest_location, "/kernel/extra");
	CHECK_STR(c->records[0].conf_dest_location, "/kernel/extra");
	CHECK(c->records[0].strip);
	CHECK(c->make_is_default && c->make == NULL);
	CHECK(!c->autoinstall && !c->build_depends_rebuild && !c->no_weak_modules);
	CHECK(c->n_patches == 0 && c->n_build_depends == 0 && c->n_warnings == 0);
	CHECK(c->clean == NULL && c->pre_build == NULL && c->obsolete_by == NULL);
	conf_free(c);
	buf_release(&b);
}

static void check_distro_dest(enum conf_distro d, const char *want)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	CHECK(parse(&b, &K61, d, &c, &err) == 0);
	CHECK_STR(c->records[0].dest_location, want);
	CHECK_STR(c->records[0].conf_dest_location, "/kernel/extra");
	conf_free(c);
	buf_release(&b);
}

static void test_distro_override(void)
{
	check_distro_dest(DISTRO_DEBIAN, "/updates/dkms");
	check_distro_dest(DISTRO_FEDORA, "/extra");
	check_distro_dest(DISTRO_SUSE, "/updates");
	check_distro_dest(DISTRO_OTHER, "/kernel/extra");
}

static void test_records(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_NAME", "0", "a");
	var(&b, "BUILT_MODULE_NAME", "1", "b");
	var(&b, "BUILT_MODULE_LOCATION", "1", "src");
	var(&b, "DEST_MODULE_NAME", "1", "b2");
	var(&b, "DEST_MODULE_LOCATION", "1", "/updates/x");
	var(&b, "STRIP", "0", "No");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(c->n_records == 2);
	CHECK_STR(c->records[0].dest_name, "a");
	CHECK_STR(c->records[1].built_location, "src/");
	CHECK_STR(c->records[1].dest_name, "b2");
	CHECK_STR(c->records[1].dest_location, "/updates/x");
	CHECK(!c->records[0].strip && !c->records[1].strip);
	conf_free(c);
	buf_release(&b);
}

static bool strip_of(const char *strip0, const char *strip1, const char *lower0, size_t i)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_NAME", "0", "a");
	var(&b, "BUILT_MODULE_NAME", "1", "b");
	var(&b, "DEST_MODULE_LOCATION", "1", "/updates");
	if (strip0)
		var(&b, "STRIP", "0", strip0);
	if (strip1)
		var(&b, "STRIP", "1", strip1);
	if (lower0)
		var(&b, "strip", "0", lower0);
	bool s = parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0 && c->records[i].strip;
	conf_free(c);
	buf_release(&b);
	return s;
}

static void test_strip(void)
{
	CHECK(strip_of(NULL, NULL, NULL, 1));
	CHECK(!strip_of("n", NULL, NULL, 1));
	CHECK(strip_of("n", "yes", NULL, 1));
	CHECK(!strip_of("yes", "NO", NULL, 1));
	CHECK(strip_of("0", NULL, NULL, 0));   /* neither y nor n: dkms still strips */
	CHECK(!strip_of(NULL, NULL, "no", 0)); /* dkms's own strip[0] set by the file */
	CHECK(!strip_of(NULL, NULL, "no", 1));
}

static void test_default_built_name(void)
{
	struct buf b = BUF_INIT;
	/* Two records: no default for a missing BUILT_MODULE_NAME. */
	basic(&b, &K61);
	var(&b, "DEST_MODULE_LOCATION", "1", "/updates");
	var(&b, "BUILT_MODULE_NAME", "1", "b");
	check_error(&b, "No 'BUILT_MODULE_NAME' directive specified for record #0.");
	/* Zero records are allowed (the caller warns). */
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", "foo");
	var(&b, "PACKAGE_VERSION", "0", "1");
	struct module_conf *c;
	char *err;
	CHECK(parse(&b, &K61, DISTRO_DEBIAN, &c, &err) == 0 && c->n_records == 0);
	conf_free(c);
	buf_release(&b);
}

static void test_dkms_errors(void)
{
	struct buf b = BUF_INIT;
	begin(&b, &K61);
	check_error(&b,
		    "No 'PACKAGE_NAME' directive specified.\n"
		    "dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.");
	/* dkms's test/dkms_conf_test_invalid */
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", "dkms_conf_test");
	var(&b, "PACKAGE_VERSION", "0", "1.0");
	var(&b, "BUILT_MODULE_NAME", "1", "dkms_conf_test.o");
	var(&b, "DEST_MODULE_NAME", "0", "dkms_conf_test.ko");
	var(&b, "DEST_MODULE_NAME", "1", "dkms_conf_test");
	var(&b, "DEST_MODULE_LOCATION", "0", "/opt");
	var(&b, "AUTOINSTALL", "0", "maybe");
	check_error(&b,
		    "No 'BUILT_MODULE_NAME' directive specified for record #0.\n"
		    "dkms.conf: Error! 'DEST_MODULE_NAME' directive ends in '.o' or '.ko' in record #0.\n"
		    "dkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with\n"
		    "'/kernel', '/updates', or '/extra' in record #0.\n"
		    "dkms.conf: Error! 'BUILT_MODULE_NAME' directive ends in '.o' or '.ko' in record #1.\n"
		    "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #1.\n"
		    "dkms.conf: Error! Unsupported AUTOINSTALL value 'maybe'");
	/* dkms's test/dkms_conf_test_sparse_arrays: num_modules = max index + 1 */
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", "p");
	var(&b, "PACKAGE_VERSION", "0", "1");
	var(&b, "BUILT_MODULE_NAME", "1", "a");
	var(&b, "BUILT_MODULE_NAME", "3", "b");
	var(&b, "DEST_MODULE_LOCATION", "1", "/updates");
	var(&b, "DEST_MODULE_LOCATION", "3", "/updates");
	var(&b, "DEST_MODULE_LOCATION", "4", "/nowhere");
	check_error(&b,
		    "No 'BUILT_MODULE_NAME' directive specified for record #0.\n"
		    "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #0.\n"
		    "dkms.conf: Error! No 'BUILT_MODULE_NAME' directive specified for record #2.\n"
		    "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #2.\n"
		    "dkms.conf: Error! No 'BUILT_MODULE_NAME' directive specified for record #4.\n"
		    "dkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with\n"
		    "'/kernel', '/updates', or '/extra' in record #4.");
	/* dkms accepts any location that merely starts with /kernel, /updates or /extra */
	basic(&b, &K61);
	var(&b, "DEST_MODULE_LOCATION", "0", "/extrastuff");
	check_error(&b, NULL);
	/* a file that sets dkms's own lowercase arrays beyond the records */
	basic(&b, &K61);
	var(&b, "dest_module_name", "3", "x");
	check_error(&b, "Module name/location array length mismatch.");
	buf_release(&b);
}

static void test_modforge_checks(void)
{
	struct buf b = BUF_INIT;
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_NAME", "0", "sub/foo");
	check_error(&b, "'BUILT_MODULE_NAME' directive 'sub/foo' is not a plain file name in record #0.");
	basic(&b, &K61);
	var(&b, "DEST_MODULE_NAME", "0", "..");
	check_error(&b, "'DEST_MODULE_NAME' directive '..' is not a plain file name in record #0.");
	basic(&b, &K61);
	var(&b, "DEST_MODULE_LOCATION", "0", "/kernel/../../etc");
	check_error(&b,
		    "'DEST_MODULE_LOCATION' directive '/kernel/../../etc' contains a '..' "
		    "component in record #0.");
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_LOCATION", "0", "/abs");
	check_error(&b,
		    "'BUILT_MODULE_LOCATION' directive '/abs/' is not relative to the build "
		    "directory in record #0.");
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_LOCATION", "0", "src/../..");
	check_error(&b,
		    "'BUILT_MODULE_LOCATION' directive 'src/../../' contains a '..' component "
		    "in record #0.");
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_LOCATION", "0", "src/...x/..y");
	check_error(&b, NULL);
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", "my mod");
	var(&b, "PACKAGE_VERSION", "0", "..");
	check_error(&b,
		    "'PACKAGE_NAME' directive 'my mod' is not usable as a directory name (no "
		    "'/', no whitespace, not starting with '.').\n"
		    "dkms.conf: Error! 'PACKAGE_VERSION' directive '..' is not usable as a "
		    "directory name (no '/', no whitespace, not starting with '.').");
	/* names the tree keeps for itself: .modforge (its own state), original_module and
	 * kernel-<k>-<a> (beside the versions of a module) */
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", ".modforge");
	var(&b, "PACKAGE_VERSION", "0", "original_module");
	check_error(&b,
		    "'PACKAGE_NAME' directive '.modforge' is not usable as a directory name (no "
		    "'/', no whitespace, not starting with '.').\n"
		    "dkms.conf: Error! 'PACKAGE_VERSION' directive 'original_module' is a name the DKMS tree "
		    "keeps for itself.");
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", "m");
	var(&b, "PACKAGE_VERSION", "0", "kernel-6.1-x86_64");
	check_error(&b, "'PACKAGE_VERSION' directive 'kernel-6.1-x86_64' is a name the DKMS tree keeps for itself.");
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_NAME", "5000000", "x");
	check_error(&b, "The dkms.conf evaluator's output is malformed.");
	buf_release(&b);
}

/* Like parse(), but drops the "E" again so that more values can follow. */
static int parse_again(struct buf *b, const struct conf_target *t, struct module_conf **c, char **err)
{
	int r = parse(b, t, DISTRO_OTHER, c, err);
	b->len -= 2;
	b->data[b->len] = '\0';
	return r;
}

static char *make_of(struct buf *b, const struct conf_target *t)
{
	struct module_conf *c;
	char *err, *m = NULL;
	if (parse_again(b, t, &c, &err) == 0) {
		m = c->make ? strdup(c->make) : strdup(c->make_is_default ? "(default)" : "?");
		conf_free(c);
	}
	free(err);
	return m;
}

static void check_make(struct buf *b, const struct conf_target *t, const char *want)
{
	char *m = make_of(b, t);
	CHECK_STR(m, want);
	free(m);
}

static void test_make(void)
{
	struct buf b = BUF_INIT;
	basic(&b, &K61);
	check_make(&b, &K61, "(default)");
	var(&b, "MAKE", "0", "make all");
	check_make(&b, &K61, "make all");
	var(&b, "MAKE", "1", "make six");
	var(&b, "MAKE_MATCH", "1", "^6\\.");
	check_make(&b, &K61, "make six");
	check_make(&b, &K510, NULL); /* record is for 6.1: a mismatching target is refused */
	basic(&b, &K510);
	var(&b, "MAKE", "0", "make all");
	var(&b, "MAKE", "1", "make six");
	var(&b, "MAKE_MATCH", "1", "^6\\.");
	check_make(&b, &K510, "make all");
	/* MAKE_MATCH[0] set and not matching: no MAKE[0], the default */
	var(&b, "MAKE_MATCH", "0", "^4");
	check_make(&b, &K510, "(default)");
	/* last match wins */
	basic(&b, &K61);
	var(&b, "MAKE", "0", "m0");
	var(&b, "MAKE", "1", "m1");
	var(&b, "MAKE", "2", "m2");
	var(&b, "MAKE_MATCH", "1", "amd64$");
	var(&b, "MAKE_MATCH", "2", "^6");
	check_make(&b, &K61, "m2");
	/* dkms loops i < ${#MAKE[@]}: a sparse MAKE[5] is never considered */
	basic(&b, &K61);
	var(&b, "MAKE", "0", "m0");
	var(&b, "MAKE", "5", "m5");
	var(&b, "MAKE_MATCH", "5", ".");
	check_make(&b, &K61, "m0");
	basic(&b, &K61);
	var(&b, "MAKE", "0", "m0");
	var(&b, "MAKE", "1", "m1");
	var(&b, "MAKE_MATCH", "1", "(");
	check_error(&b, "Invalid regular expression '(' in 'MAKE_MATCH[1]'.");
	buf_release(&b);
}

static void test_patches(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	var(&b, "PATCH", "0", "all.patch");
	var(&b, "PATCH", "1", "five.patch");
	var(&b, "PATCH_MATCH", "1", "^5\\.");
	var(&b, "PATCH", "2", "six.patch");
	var(&b, "PATCH_MATCH", "2", "^6\\.1");
	var(&b, "patch_array", "0", "overwritten.patch");
	var(&b, "patch_array", "7", "extra.patch");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(c->n_patches == 3);
	CHECK_STR(c->patches[0], "all.patch");
	CHECK_STR(c->patches[1], "six.patch");
	CHECK_STR(c->patches[2], "extra.patch");
	conf_free(c);
	basic(&b, &K61);
	var(&b, "PATCH", "0", "a.patch");
	var(&b, "PATCH_MATCH", "0", "[");
	check_error(&b, "Invalid regular expression '[' in 'PATCH_MATCH[0]'.");
	buf_release(&b);
}

static int yes_no_of(const char *name, const char *value)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	var(&b, name, "0", value);
	int r = -1;
	if (parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0) {
		r = strcmp(name, "AUTOINSTALL") == 0           ? c->autoinstall
			: strcmp(name, "NO_WEAK_MODULES") == 0 ? c->no_weak_modules
							       : c->build_depends_rebuild;
		conf_free(c);
	}
	free(err);
	buf_release(&b);
	return r;
}

static void test_yes_no(void)
{
	CHECK(yes_no_of("AUTOINSTALL", "yes") == 1);
	CHECK(yes_no_of("AUTOINSTALL", "YeS") == 1);
	CHECK(yes_no_of("AUTOINSTALL", "No") == 0);
	CHECK(yes_no_of("AUTOINSTALL", "") == 0);
	CHECK(yes_no_of("AUTOINSTALL", "y") == -1);
	CHECK(yes_no_of("NO_WEAK_MODULES", "yes") == 1);
	CHECK(yes_no_of("BUILD_DEPENDS_REBUILD", "YES") == 1);
	CHECK(yes_no_of("BUILD_DEPENDS_REBUILD", "true") == -1);
	struct buf b = BUF_INIT;
	basic(&b, &K61);
	var(&b, "NO_WEAK_MODULES", "0", "1");
	check_error(&b, "Unsupported NO_WEAK_MODULES value '1'");
	buf_release(&b);
}

static void test_lists_and_scripts(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	var(&b, "BUILD_DEPENDS", "0", "dep1");
	var(&b, "BUILD_DEPENDS", "2", "dep2");
	var(&b, "PRE_BUILD", "0", "pre.sh arg");
	var(&b, "POST_BUILD", "0", "post.sh");
	var(&b, "POST_ADD", "0", "add.sh");
	var(&b, "PRE_INSTALL", "0", "");
	var(&b, "POST_INSTALL", "0", "inst.sh");
	var(&b, "POST_REMOVE", "0", "rm.sh");
	var(&b, "CLEAN", "0", "make clean");
	var(&b, "OBSOLETE_BY", "0", "6.5");
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "0", "^6");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(c->n_build_depends == 2);
	CHECK_STR(c->build_depends[1], "dep2");
	CHECK_STR(c->pre_build, "pre.sh arg");
	CHECK_STR(c->post_build, "post.sh");
	CHECK_STR(c->post_add, "add.sh");
	CHECK(c->pre_install == NULL);
	CHECK_STR(c->post_install, "inst.sh");
	CHECK_STR(c->post_remove, "rm.sh");
	CHECK_STR(c->clean, "make clean");
	CHECK_STR(c->obsolete_by, "6.5");
	CHECK_STR(c->excl_kernel, "^6");
	CHECK_STR(c->records[0].excl_kernel, "^6");
	conf_free(c);
	buf_release(&b);
}

static void test_warnings_and_files(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	begin(&b, &K61);
	file(&b, "/src/dkms.conf", "ok", "1");
	dep(&b, "CLEAN", "true");
	dep(&b, "REMAKE_INITRD", "yes");
	dep(&b, "OBSOLETE_BY", "99.0");
	file(&b, "/etc/dkms/foo.conf", "ok", "0");
	dep(&b, "CLEAN", "make clean");
	var(&b, "PACKAGE_NAME", "0", "foo");
	var(&b, "PACKAGE_VERSION", "0", "1");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(c->n_warnings == 3);
	if (c->n_warnings == 3) {
		CHECK_STR(c->warnings[0], "Deprecated feature: REMAKE_INITRD (/src/dkms.conf)");
		CHECK_STR(c->warnings[1],
			  "Deprecated feature: OBSOLETE_BY (/src/dkms.conf): use "
			  "BUILD_EXCLUSIVE_KERNEL_MAX instead");
		CHECK_STR(c->warnings[2], "Deprecated feature: CLEAN (/etc/dkms/foo.conf)");
	}
	conf_free(c);
	begin(&b, &K61);
	file(&b, "/src/dkms.conf", "syntax", "2");
	file(&b, "/etc/dkms/foo.conf", "exit", "3");
	field(&b, "A");
	field(&b, "139");
	check_error(&b,
		    "Syntax error in '/src/dkms.conf'; the file was not read.\n"
		    "dkms.conf: Error! '/etc/dkms/foo.conf' exited with status 3 while being "
		    "read; none of its values were used.\n"
		    "dkms.conf: Error! The dkms.conf evaluator died with status 139 while reading "
		    "kernel 6.1.0-56-amd64.\n"
		    "dkms.conf: Error! No 'PACKAGE_NAME' directive specified.\n"
		    "dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.");
	buf_release(&b);
}

static void test_split(void)
{
	struct buf b = BUF_INIT;
	const char **recs;
	size_t *lens, n;
	field(&b, "MFCONF1");
	size_t start0 = b.len;
	field(&b, "T");
	field(&b, "6.1");
	field(&b, "x86_64");
	var(&b, "PACKAGE_NAME", "0", "E"); /* a value that looks like a tag */
	field(&b, "E");
	size_t start1 = b.len;
	field(&b, "T");
	field(&b, "5.10");
	field(&b, "arm64");
	field(&b, "A");
	field(&b, "1");
	field(&b, "E");
	size_t body = b.len;
	field(&b, "Z");
	CHECK(conf_split_dump(b.data, b.len, &recs, &lens, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(recs[0] == b.data + start0 && lens[0] == start1 - start0);
		CHECK(recs[1] == b.data + start1 && lens[1] == body - start1);
	}
	free(recs);
	free(lens);
	CHECK(conf_split_dump(b.data, body, &recs, &lens, &n) == -EINVAL); /* no "Z" */
	CHECK(conf_split_dump(b.data, body - 2, &recs, &lens, &n) == -EINVAL && n == 0);
	CHECK(conf_split_dump("MFCONF9\0Z", 10, &recs, &lens, &n) == -EINVAL);
	CHECK(conf_split_dump("MFCONF1\0Z", 10, &recs, &lens, &n) == 0 && n == 0);
	free(recs);
	free(lens);
	CHECK(conf_split_dump("MFCONF1\0T\0k\0a\0Q\0E\0Z", 20, &recs, &lens, &n) == -EINVAL);
	buf_release(&b);
}

static void test_malformed(void)
{
	struct module_conf *c;
	char *err;
	CHECK(conf_from_dump("T\0k\0a\0V\0X\0", 11, &K61, DISTRO_OTHER, &c, &err) == -EINVAL);
	CHECK_STR(err, "The dkms.conf evaluator's output is malformed.");
	CHECK(c == NULL);
	free(err);
	struct buf b = BUF_INIT;
	basic(&b, &K61);
	field(&b, "E");
	field(&b, "junk");
	CHECK(conf_from_dump(b.data, b.len, &K61, DISTRO_OTHER, &c, &err) == -EINVAL);
	free(err);
	buf_release(&b);
}

/* Parses b (one record, "E" appended) and returns conf_exclusive's reason for t. */
static char *excl(struct buf *b, const struct conf_target *t, const char *kconfig)
{
	struct module_conf *c;
	char *err, *why = strdup("(parse error)");
	if (parse_again(b, t, &c, &err) == 0) {
		free(why);
		why = conf_exclusive(c, t, kconfig);
		conf_free(c);
	}
	free(err);
	return why;
}

static void check_excl(struct buf *b, const struct conf_target *t, const char *kconfig, const char *want)
{
	char *why = excl(b, t, kconfig);
	CHECK_STR(why, want);
	free(why);
}

static void test_exclusive(void)
{
	struct buf b = BUF_INIT;
	const char *cfg = "# comment\nCONFIG_PCI=y\nCONFIG_USB=m\nCONFIG_RT=n\nCONFIG_PCIE=y\n";
	basic(&b, &K61);
	check_excl(&b, &K61, cfg, NULL);
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "0", "^5\\.");
	check_excl(&b, &K61, cfg, "BUILD_EXCLUSIVE_KERNEL '^5\\.' does not match kernel 6.1.0-56-amd64");
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "0", "^6\\.");
	var(&b, "BUILD_EXCLUSIVE_ARCH", "0", "i.86");
	check_excl(&b, &K61, cfg, "BUILD_EXCLUSIVE_ARCH 'i.86' does not match arch x86_64");
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_KERNEL_MIN", "0", "6.2");
	check_excl(&b, &K61, cfg, "kernel 6.1.0-56-amd64 is older than BUILD_EXCLUSIVE_KERNEL_MIN 6.2");
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_KERNEL_MIN", "0", "6.1");
	var(&b, "BUILD_EXCLUSIVE_KERNEL_MAX", "0", "6.1.0-56-amd64");
	check_excl(&b, &K61, cfg, NULL);
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_KERNEL_MAX", "0", "6.0.99");
	check_excl(&b, &K61, cfg, "kernel 6.1.0-56-amd64 is newer than BUILD_EXCLUSIVE_KERNEL_MAX 6.0.99");
	basic(&b, &K61);
	var(&b, "OBSOLETE_BY", "0", "6.1");
	check_excl(&b, &K61, cfg, "kernel 6.1.0-56-amd64 is newer than OBSOLETE_BY 6.1");
	/* OBSOLETE_BY is ignored when a KERNEL_MAX is set */
	basic(&b, &K61);
	var(&b, "OBSOLETE_BY", "0", "6.1");
	var(&b, "BUILD_EXCLUSIVE_KERNEL_MAX", "0", "7");
	check_excl(&b, &K61, cfg, NULL);
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_CONFIG", "0", "CONFIG_PCI  CONFIG_USB !CONFIG_RT");
	check_excl(&b, &K61, cfg, NULL);
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_CONFIG", "0", "CONFIG_PCI !CONFIG_PCIE");
	check_excl(&b, &K61, cfg,
		   "BUILD_EXCLUSIVE_CONFIG excludes CONFIG_PCIE, which this kernel's "
		   "config enables");
	check_excl(&b, &K61, NULL, NULL); /* no kernel config: dkms skips the check */
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_CONFIG", "0", "CONFIG_RT");
	check_excl(&b, &K61, cfg,
		   "BUILD_EXCLUSIVE_CONFIG requires CONFIG_RT, which this kernel's "
		   "config does not enable");
	basic(&b, &K61);
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "0", "(");
	check_excl(&b, &K61, cfg, "(parse error)");
	buf_release(&b);
}

/* Two records; the second only for arm. */
static void two_records(struct buf *b)
{
	basic(b, &K61);
	var(b, "BUILT_MODULE_NAME", "1", "two");
	var(b, "DEST_MODULE_LOCATION", "1", "/updates");
	var(b, "BUILT_MODULE_NAME", "0", "one");
	var(b, "BUILD_EXCLUSIVE_ARCH", "1", "^arm");
}

static void test_exclusive_per_record(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	two_records(&b);
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	char *r0 = conf_record_exclusive(c, 0, &K61, NULL);
	char *r1 = conf_record_exclusive(c, 1, &K61, NULL);
	char *all = conf_exclusive(c, &K61, NULL);
	CHECK(r0 == NULL);
	CHECK_STR(r1, "BUILD_EXCLUSIVE_ARCH[1] '^arm' does not match arch x86_64");
	CHECK(all == NULL); /* one module is still buildable */
	free(r1);
	conf_free(c);
	two_records(&b);
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "0", "^5");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	all = conf_exclusive(c, &K61, NULL);
	CHECK_STR(all, "BUILD_EXCLUSIVE_KERNEL '^5' does not match kernel 6.1.0-56-amd64");
	free(all);
	conf_free(c);
	/* record 0's own constraints are the global ones */
	two_records(&b);
	var(&b, "BUILD_EXCLUSIVE_KERNEL_MAX", "0", "5");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	all = conf_exclusive(c, &K61, NULL);
	CHECK_STR(all, "kernel 6.1.0-56-amd64 is newer than BUILD_EXCLUSIVE_KERNEL_MAX 5");
	free(all);
	conf_free(c);
	two_records(&b);
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "1", "^6");
	var(&b, "BUILD_EXCLUSIVE_CONFIG", "0", "CONFIG_X");
	var(&b, "BUILD_EXCLUSIVE_CONFIG", "1", "");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	all = conf_exclusive(c, &K61, "CONFIG_Y=y\n");
	CHECK_STR(all,
		  "BUILD_EXCLUSIVE_CONFIG requires CONFIG_X, which this kernel's config does "
		  "not enable");
	free(all);
	conf_free(c);
	/* zero records: never excluded */
	begin(&b, &K61);
	var(&b, "PACKAGE_NAME", "0", "p");
	var(&b, "PACKAGE_VERSION", "0", "1");
	var(&b, "BUILD_EXCLUSIVE_KERNEL", "0", "^5");
	check_excl(&b, &K61, NULL, NULL);
	buf_release(&b);
}

static void test_strict(void)
{
	struct buf b = BUF_INIT;
	struct module_conf *c;
	char *err;
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_NAME", "0", "dkms_duplicate_test");
	var(&b, "BUILT_MODULE_NAME", "1", "dkms_duplicate_test");
	var(&b, "DEST_MODULE_LOCATION", "1", "/kernel/extra");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(conf_check_strict(c, &err) == -EINVAL);
	CHECK_STR(err,
		  "Duplicate module 'dkms_duplicate_test' in 'BUILT_MODULE_NAME[1]'.\n"
		  "dkms.conf: Error! Duplicate module 'dkms_duplicate_test' in "
		  "'DEST_MODULE_NAME[1]'.");
	free(err);
	conf_free(c);
	basic(&b, &K61);
	var(&b, "BUILT_MODULE_NAME", "0", "a");
	var(&b, "BUILT_MODULE_NAME", "1", "a");
	var(&b, "BUILT_MODULE_LOCATION", "1", "sub");
	var(&b, "DEST_MODULE_NAME", "1", "b");
	var(&b, "DEST_MODULE_LOCATION", "1", "/kernel/extra");
	CHECK(parse(&b, &K61, DISTRO_OTHER, &c, &err) == 0);
	CHECK(conf_check_strict(c, &err) == 0 && err == NULL);
	conf_free(c);
	buf_release(&b);
}

static void test_distro(void)
{
	CHECK(conf_distro_from_os_release(NULL) == DISTRO_OTHER);
	CHECK(conf_distro_from_os_release("PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n") == DISTRO_DEBIAN);
	CHECK(conf_distro_from_os_release("ID=ubuntu\nID_LIKE=debian\n") == DISTRO_DEBIAN);
	CHECK(conf_distro_from_os_release("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n") == DISTRO_DEBIAN);
	CHECK(conf_distro_from_os_release("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n") == DISTRO_FEDORA);
	CHECK(conf_distro_from_os_release("ID=fedora\n") == DISTRO_FEDORA);
	CHECK(conf_distro_from_os_release("ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n") == DISTRO_SUSE);
	CHECK(conf_distro_from_os_release("ID='sles'\n") == DISTRO_SUSE);
	CHECK(conf_distro_from_os_release("ID=arch\n") == DISTRO_DEBIAN);
	CHECK(conf_distro_from_os_release("ID=manjaro\nID_LIKE=arch\n") == DISTRO_DEBIAN);
	CHECK(conf_distro_from_os_release("ID=alpine\n") == DISTRO_OTHER);
	CHECK(conf_distro_from_os_release("ID=gentoo\n") == DISTRO_OTHER);
	/* ID_LIKE present but empty wins over ID, as with dkms's ${#ID_LIKE[@]} */
	CHECK(conf_distro_from_os_release("ID=debian\nID_LIKE=\n") == DISTRO_OTHER);
	CHECK(conf_distro_from_os_release("ID=centos\nID=debian\n") == DISTRO_DEBIAN);
}

int main(void)
{
	test_minimal();
	test_distro_override();
	test_records();
	test_strip();
	test_default_built_name();
	test_dkms_errors();
	test_modforge_checks();
	test_make();
	test_patches();
	test_yes_no();
	test_lists_and_scripts();
	test_warnings_and_files();
	test_split();
	test_malformed();
	test_exclusive();
	test_exclusive_per_record();
	test_strict();
	test_distro();
	return tap_done();
}

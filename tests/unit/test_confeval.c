/* test_confeval.c - the real evaluator (bash + executor/confeval.sh) on small dkms.conf
 * fixtures written into a temporary directory, checked through conf_from_dump. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/confeval.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/conf/confdump.h"
#include "tap.h"

#define MAX_T 4

static char tmp[64];

/* The result of one evaluator run over MAX_T targets at most. */
struct run {
	struct buf out, err;
	int code;
	size_t n;
	struct module_conf *conf[MAX_T];
	char *error[MAX_T]; /* conf_from_dump's message, if it failed */
};

static char *path_in(const char *name) { return xasprintf("%s/%s", tmp, name); }

static void write_text(const char *name, const char *text)
{
	char *p = path_in(name);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir, 0755);
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
	free(dir);
	free(p);
}

static const struct confeval_target T61 = { "6.1.0-56-amd64",           "x86_64", "/nonexistent/6.1",
					    "/nonexistent/6.1/.config", NULL,     0 };
static const struct confeval_target T510 = { "5.10.0-30-amd64",           "aarch64", "/nonexistent/5.10",
					     "/nonexistent/5.10/.config", NULL,      0 };

/* Runs the evaluator on tmp/dkms.conf (plus extra files) for targets; fills r. */
static void run_with(struct run *r, const struct confeval_target *targets, size_t n, const char *const *extra,
		     size_t n_extra, const char *const *dirs, size_t n_dirs)
{
	char *conf = path_in("dkms.conf");
	const char *files[4] = { conf };
	for (size_t i = 0; i < n_extra && i < 3; i++)
		files[i + 1] = extra[i];
	struct confeval_request req = {
		.module = "foo",
		.module_version = "1.0",
		.dkms_tree = "/var/lib/dkms",
		.source_tree = "/usr/src",
		.install_tree = "/lib/modules",
		.conf_files = files,
		.n_conf_files = 1 + n_extra,
		.directives = dirs,
		.n_directives = n_dirs,
		.targets = targets,
		.n_targets = n,
		.cwd = tmp,
		.parallel_jobs = "7",
		.running_distribution = "debian",
	};
	memset(r, 0, sizeof(*r));
	buf_init(&r->out);
	buf_init(&r->err);
	CHECK(confeval_run(&req, &r->out, &r->err, &r->code) == 0);
	CHECK(r->code == 0);
	const char **recs = NULL;
	size_t *lens = NULL;
	CHECK(conf_split_dump(r->out.data, r->out.len, &recs, &lens, &r->n) == 0);
	CHECK(r->n == n);
	for (size_t i = 0; i < r->n && i < MAX_T; i++) {
		struct conf_target t = { targets[i].kernelver, targets[i].arch };
		conf_from_dump(recs[i], lens[i], &t, DISTRO_OTHER, &r->conf[i], &r->error[i]);
	}
	free(recs);
	free(lens);
	free(conf);
}

static void run(struct run *r, const char *conf_text, const struct confeval_target *targets, size_t n)
{
	write_text("dkms.conf", conf_text);
	run_with(r, targets, n, NULL, 0, NULL, 0);
}

static void run_release(struct run *r)
{
	for (size_t i = 0; i < MAX_T; i++) {
		conf_free(r->conf[i]);
		free(r->error[i]);
	}
	buf_release(&r->out);
	buf_release(&r->err);
}

#define BASE "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\nDEST_MODULE_LOCATION[0]=/updates\n"

static void test_double_expansion(void)
{
	struct run r;
	const struct confeval_target t[] = { T61, T510 };
	run(&r,
	    BASE "KV=$kernelver\n"
		 "MAKE[0]='make -C $kernel_source_dir KERNELRELEASE=$kernelver KV=$KV "
		 "M=$dkms_tree/$module/$module_version/build ARCH=$arch J=$parallel_jobs "
		 "D=$running_distribution'\n"
		 "BUILT_MODULE_NAME[0]='${PACKAGE_NAME}_mod'\n",
	    t, 2);
	CHECK(r.conf[0] && r.conf[1]);
	if (r.conf[0] && r.conf[1]) {
		CHECK_STR(r.conf[0]->make,
			  "make -C /nonexistent/6.1 KERNELRELEASE=6.1.0-56-amd64 KV= "
			  "M=/var/lib/dkms/foo/1.0/build ARCH=x86_64 J=7 D=debian");
		CHECK_STR(r.conf[1]->make,
			  "make -C /nonexistent/5.10 KERNELRELEASE=5.10.0-30-amd64 KV= "
			  "M=/var/lib/dkms/foo/1.0/build ARCH=aarch64 J=7 D=debian");
		CHECK_STR(r.conf[0]->records[0].built_name, "foo_mod");
	}
	run_release(&r);
}

static void test_shell_code(void)
{
	struct run r;
	const struct confeval_target t[] = { T61, T510 };
	run(&r,
	    "PACKAGE_NAME=$(basename \"$(dirname \"$BASH_SOURCE\")\")\n"
	    "PACKAGE_VERSION=$(echo 1.$((2 + 3)))\n"
	    "DEST_MODULE_LOCATION[0]=/updates\nBUILT_MODULE_NAME[0]=foo\n"
	    "if [[ $kernelver == 6.* ]]; then\n  AUTOINSTALL=yes\nelse\n  AUTOINSTALL=no\nfi\n"
	    "i=0\nfor p in a b c; do PATCH[$i]=$p.patch; i=$((i + 1)); done\n"
	    "POST_INSTALL='x$(cat)y'\n"
	    "false\n",
	    t, 2);
	CHECK(r.conf[0] && r.conf[1]);
	if (r.conf[0] && r.conf[1]) {
		CHECK_STR(r.conf[0]->package_name, strrchr(tmp, '/') + 1);
		CHECK_STR(r.conf[0]->package_version, "1.5");
		CHECK(r.conf[0]->autoinstall && !r.conf[1]->autoinstall);
		CHECK(r.conf[0]->n_patches == 3);
		CHECK_STR(r.conf[0]->patches[2], "c.patch");
		CHECK_STR(r.conf[0]->post_install, "xy"); /* $(cat) reads /dev/null */
	}
	run_release(&r);
}

static void test_kernel_config(void)
{
	struct run r;
	char *k1 = path_in("k1"), *k2 = path_in("k2");
	char *c1 = path_in("k1/.config"), *c2 = path_in("k2/.config");
	write_text("k1/.config", "CONFIG_FOO=y\nCONFIG_BAR=m\n");
	write_text("k2/.config", "# CONFIG_FOO is not set\n");
	const struct confeval_target t[] = { { "6.1.0-56-amd64", "x86_64", k1, c1, NULL, 0 },
					     { "6.1.0-56-cloud-amd64", "x86_64", k2, c2, NULL, 0 } };
	run(&r,
	    BASE "BUILT_MODULE_NAME[0]=foo\n"
		 "[ -f \"$kernel_source_dir/.config\" ] && . \"$kernel_source_dir/.config\"\n"
		 "if [ \"$CONFIG_FOO\" = y ]; then\n"
		 "  BUILT_MODULE_NAME[1]=foo_extra\n  DEST_MODULE_LOCATION[1]=/updates\nfi\n"
		 "BUILD_EXCLUSIVE_CONFIG=\"CONFIG_BAR\"\n",
	    t, 2);
	CHECK(r.conf[0] && r.conf[1]);
	if (r.conf[0] && r.conf[1]) {
		CHECK(r.conf[0]->n_records == 2 && r.conf[1]->n_records == 1);
		char *why = conf_exclusive(r.conf[1], &(struct conf_target){ t[1].kernelver, "x86_64" },
					   "# CONFIG_FOO is not set\n");
		CHECK_STR(why,
			  "BUILD_EXCLUSIVE_CONFIG requires CONFIG_BAR, which this kernel's config "
			  "does not enable");
		free(why);
	}
	run_release(&r);
	free(k1);
	free(k2);
	free(c1);
	free(c2);
}

static void test_syntax_error(void)
{
	struct run r;
	run(&r, BASE "BUILT_MODULE_NAME[0]=foo\nif then\n", &T61, 1);
	CHECK(r.conf[0] == NULL);
	char *want = xasprintf("Syntax error in '%s/dkms.conf'; the file was not read.\n"
			       "dkms.conf: Error! No 'PACKAGE_NAME' directive specified.\n"
			       "dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.",
			       tmp);
	CHECK_STR(r.error[0], want);
	CHECK(strstr(r.err.data, "syntax error") != NULL);
	free(want);
	run_release(&r);
}

static void test_noise_and_clean_env(void)
{
	struct run r;
	setenv("MAKEFLAGS", "-j99", 1);
	setenv("KBUILD_OUTPUT", "/evil", 1);
	run(&r,
	    BASE "BUILT_MODULE_NAME[0]=foo\n"
		 "printf 'V\\0PACKAGE_NAME\\0000\\0evil\\0E\\0Z\\0'\n"
		 "echo to stdout\necho to stderr >&2\n"
		 "read -r line\n"
		 "MAKE[0]=\"make F=$MAKEFLAGS O=$KBUILD_OUTPUT H=$HOME L=$LC_ALL\"\n",
	    &T61, 1);
	unsetenv("MAKEFLAGS");
	unsetenv("KBUILD_OUTPUT");
	CHECK(r.conf[0] != NULL);
	if (r.conf[0]) {
		CHECK_STR(r.conf[0]->package_name, "foo");
		CHECK_STR(r.conf[0]->make, "make F= O= H=/nonexistent L=C");
	}
	CHECK(strstr(r.err.data, "to stderr") != NULL);
	CHECK(strstr(r.out.data, "to stdout") == NULL);
	run_release(&r);
}

static void test_directives(void)
{
	struct run r;
	const char *dirs[] = { "POST_BUILD=post-$kernelver.sh", "PACKAGE_VERSION=9.9", "bad name=x" };
	setenv("DKMS_DIRECTIVE_ENV", "NO_WEAK_MODULES=yes", 1);
	write_text("dkms.conf",
		   BASE "BUILT_MODULE_NAME[0]=foo\n"
			"DKMS_DIRECTIVE_A='PRE_BUILD=pre-$kernelver.sh'\n"
			"DKMS_DIRECTIVE_B='BUILT_MODULE_NAME[1]=bar'\n"
			"DKMS_DIRECTIVE_C='__mf_x=1'\n"
			"DEST_MODULE_LOCATION[1]=/extra\n");
	run_with(&r, &T61, 1, NULL, 0, dirs, 3);
	unsetenv("DKMS_DIRECTIVE_ENV");
	CHECK(r.conf[0] != NULL);
	if (r.conf[0]) {
		CHECK_STR(r.conf[0]->pre_build, "pre-6.1.0-56-amd64.sh");
		CHECK_STR(r.conf[0]->post_build, "post-$kernelver.sh"); /* not expanded again */
		CHECK_STR(r.conf[0]->package_version, "9.9");
		CHECK(r.conf[0]->no_weak_modules);
		CHECK(r.conf[0]->n_records == 2);
		if (r.conf[0]->n_records == 2)
			CHECK_STR(r.conf[0]->records[1].built_name, "bar");
	}
	CHECK(strstr(r.err.data, "bad name: not a valid identifier") != NULL);
	CHECK(strstr(r.err.data, "invalid name __mf_x") != NULL);
	run_release(&r);
}

static void test_crlf_and_blanks(void)
{
	struct run r;
	run(&r,
	    "PACKAGE_NAME=\"foo\"\r\nPACKAGE_VERSION=\"1.0\"\r\n"
	    "BUILT_MODULE_NAME[0]=\"foo\"\r\nDEST_MODULE_LOCATION[0]=\"/updates\"\r\n"
	    "MAKE[0]=\"make  -C   $kernel_source_dir\n\tM=x \"\r\n",
	    &T61, 1);
	CHECK(r.conf[0] != NULL);
	if (r.conf[0]) {
		CHECK_STR(r.conf[0]->package_name, "foo");
		CHECK_STR(r.conf[0]->records[0].dest_location, "/updates");
		CHECK_STR(r.conf[0]->make, "make -C /nonexistent/6.1 M=x ");
	}
	run_release(&r);
}

static void test_quotes_do_not_run_code(void)
{
	struct run r;
	char *mark = path_in("pwned");
	char *conf = xasprintf(BASE "BUILT_MODULE_NAME[0]=foo\n"
				    "MAKE[0]='make CFLAGS=\"-O2 -g\" X=\\\"y\\\"'\n"
				    "POST_ADD='\"; touch %s; \"'\n"
				    "PRE_INSTALL='tail\\'\n",
			       mark);
	run(&r, conf, &T61, 1);
	CHECK(r.conf[0] != NULL);
	if (r.conf[0]) {
		CHECK_STR(r.conf[0]->make, "make CFLAGS=\"-O2 -g\" X=\"y\"");
		char *want = xasprintf("\"; touch %s; \"", mark);
		CHECK_STR(r.conf[0]->post_add, want);
		free(want);
		CHECK_STR(r.conf[0]->pre_install, "tail\\");
	}
	CHECK(!path_exists(mark));
	free(conf);
	free(mark);
	run_release(&r);
}

static void test_overrides_and_exit(void)
{
	struct run r;
	char *common = path_in("etc/foo.conf"), *per = path_in("etc/foo--5.10.0-30-amd64.conf");
	char *gone = path_in("etc/missing.conf");
	write_text("dkms.conf", BASE "BUILT_MODULE_NAME[0]=foo\nMAKE[0]='make K=$kernelver'\n");
	write_text("etc/foo.conf", "PRE_BUILD=common.sh\nREMAKE_INITRD=yes\n");
	write_text("etc/foo--5.10.0-30-amd64.conf", "PRE_BUILD=old-kernel.sh\n");
	struct confeval_target t[] = { T61, T510 };
	const char *tf[] = { per, gone };
	t[1].conf_files = tf;
	t[1].n_conf_files = 2;
	const char *extra[] = { common };
	run_with(&r, t, 2, extra, 1, NULL, 0);
	CHECK(r.conf[0] && r.conf[1]);
	if (r.conf[0] && r.conf[1]) {
		CHECK_STR(r.conf[0]->pre_build, "common.sh");
		CHECK_STR(r.conf[1]->pre_build, "old-kernel.sh");
		CHECK_STR(r.conf[1]->make, "make K=5.10.0-30-amd64");
		CHECK(r.conf[0]->n_warnings == 1);
		char *w = xasprintf("Deprecated feature: REMAKE_INITRD (%s)", common);
		CHECK_STR(r.conf[0]->warnings[0], w);
		free(w);
		CHECK(r.conf[1]->n_warnings == 2); /* still set after the per-kernel file */
	}
	run_release(&r);
	write_text("etc/foo.conf", "PRE_BUILD=never.sh\nexit 3\n");
	run_with(&r, t, 1, extra, 1, NULL, 0);
	char *want = xasprintf("'%s' exited with status 3 while being read; none of its values "
			       "were used.",
			       common);
	CHECK_STR(r.error[0], want);
	free(want);
	run_release(&r);
	free(common);
	free(per);
	free(gone);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A job the file leaves running must not hold the evaluator's output open. */
static void test_background_job(void)
{
	struct run r;
	double t0 = now();
	run(&r, BASE "BUILT_MODULE_NAME[0]=foo\n{ sleep 4; } &\n", &T61, 1);
	CHECK(now() - t0 < 3.0);
	CHECK(r.conf[0] != NULL);
	run_release(&r);
}

/* Removes the fixture directory. */
static void cleanup(void) { CHECK(rm_rf(tmp) == 0); }

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/modforge-confeval-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_double_expansion();
	test_shell_code();
	test_kernel_config();
	test_syntax_error();
	test_noise_and_clean_env();
	test_directives();
	test_crlf_and_blanks();
	test_quotes_do_not_run_code();
	test_overrides_and_exit();
	test_background_job();
	cleanup();
	return tap_done();
}

/* test_plan_shapes.c - the plan shapes every command is made of (orchestrator/plan/jobs_plan.c)
 * and what a plan decides for a build (orchestrator/plan/decide.c), over a fake root in a temp
 * dir: no process runs, nothing is forked, nothing in the root changes.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/targets.h"
#include "fixture.h"
#include "tap.h"

#define K      "6.1.0-57-amd64"
#define K_BARE "6.1.0-58-amd64" /* a kernel dir without headers */
#define A      "x86_64"

struct fx {
	char *root;
	char *dkms, *src, *lib;
	struct request req;
	struct ctx c;
	struct target_list tl;
	struct module_conf conf;
	struct conf_record rec;
	char *build_depends[1];
};

static void put(const char *path, const char *text)
{
	_cleanup_free_ char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	if (mkdir_p(dir, 0755) < 0 || write_file_atomic(path, text, strlen(text), 0644) < 0) {
		perror(path);
		exit(2);
	}
}

static void fx_init(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	x->root = fixture_tmpdir("shapes");
	x->dkms = path_join(x->root, "dkms");
	x->src = path_join(x->root, "src");
	x->lib = path_join(x->root, "lib");
	_cleanup_free_ char *cfg = xasprintf("%s/%s/build/.config", x->lib, K);
	put(cfg, "CONFIG_MODULES=y\nCONFIG_MODULE_SIG_HASH=\"sha256\"\n");
	_cleanup_free_ char *inc = xasprintf("%s/%s/build/include", x->lib, K);
	mkdir_p(inc, 0755);
	_cleanup_free_ char *bare = xasprintf("%s/%s", x->lib, K_BARE);
	mkdir_p(bare, 0755);
	_cleanup_free_ char *c1 = xasprintf("%s/m-1.0/dkms.conf", x->src);
	_cleanup_free_ char *c2 = xasprintf("%s/m-1.0/m.c", x->src);
	put(c1, "PACKAGE_NAME=m\n");
	put(c2, "int x;\n");
	mkdir_p(x->dkms, 0755);
	unsetenv("mok_signing_key");
	unsetenv("mok_certificate");
	unsetenv("sign_file");
	x->c = (struct ctx){
		.req = &x->req,
		.paths = { x->dkms, x->src, x->lib },
		.etc_dkms = x->root,
		.prog = "modforge",
		.release = "modforge-test",
		.running_distribution = "debian",
		.max_jobs = 2,
		.is_root = false,
		.sandbox = true,
		.out = stdout,
		.err = stderr,
	};
	x->rec = (struct conf_record){ .built_name = "m",
				       .built_location = "",
				       .dest_name = "m",
				       .dest_location = "/updates/dkms",
				       .conf_dest_location = "/updates/dkms",
				       .strip = true };
	x->conf = (struct module_conf){ .package_name = "m",
					.package_version = "1.0",
					.make_is_default = true,
					.records = &x->rec,
					.n_records = 1,
					.autoinstall = true };
}

static void fx_targets(struct fx *x, const char *k)
{
	targets_release(&x->tl);
	targets_add(&x->c, &x->tl, k, A);
}

static void fx_release(struct fx *x)
{
	targets_release(&x->tl);
	rm_rf(x->root);
	free(x->root);
	free(x->dkms);
	free(x->src);
	free(x->lib);
}

static char *src_dir(const struct fx *x) { return xasprintf("%s/m-1.0", x->src); }

static bool has_dep(const struct job_set *s, size_t job, size_t on, enum dep_kind kind)
{
	const struct job *j = &s->plan.jobs[job];
	for (size_t d = 0; d < j->n_deps; d++)
		if (j->deps[d] == on)
			return j->dep_kind[d] == kind;
	return false;
}

static size_t count_kind(const struct job_set *s, enum job_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < s->plan.n; i++)
		n += s->plan.jobs[i].kind == kind;
	return n;
}

static void make_key(const struct fx *x)
{
	_cleanup_free_ char *key = path_join(x->dkms, "mok.key");
	_cleanup_free_ char *pub = path_join(x->dkms, "mok.pub");
	put(key, "key\n");
	put(pub, "cert\n");
}

static void mark_built(const struct fx *x)
{
	_cleanup_free_ char *mod = xasprintf("%s/m/1.0/%s/%s/module", x->dkms, K, A);
	mkdir_p(mod, 0755);
}

static void test_build_fresh(void)
{
	struct fx x;
	fx_init(&x);
	/* a second kernel, with headers but no .config */
	_cleanup_free_ char *inc = xasprintf("%s/6.1.0-59-amd64/build/include", x.lib);
	mkdir_p(inc, 0755);
	fx_targets(&x, K);
	targets_add(&x.c, &x.tl, "6.1.0-59-amd64", A);
	_cleanup_free_ char *src = src_dir(&x);
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	fixture_snapshot(x.root, &before);
	struct job_set s = JOB_SET_INIT;
	size_t b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	const struct build_decision *d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_GO);
	CHECK(d->n_records == 1);
	CHECK_STR(d->records[0].dest_name, "m");
	_cleanup_free_ char *want_make = xasprintf("make KERNELRELEASE=%s -C %s/%s/build M=%s/m/1.0/build", K, x.lib, K,
						   x.dkms);
	CHECK_STR(d->make_command, want_make);
	CHECK_STR(d->sign->hash, "sha256");
	CHECK(d->sign->needs_key);
	CHECK(d->sign->sign_file == NULL); /* built in */
	CHECK(strstr(d->sign->prologue, "Sign command: built in") != NULL);
	/* the key is made by a job of the plan, before the build; nothing to look up in the
	 * cache (the certificate is new), the store job computes the key once it exists */
	CHECK(count_kind(&s, JOB_KEYGEN) == 1);
	long keygen = jobs_keygen_for(&s, d->sign);
	CHECK(keygen >= 0 && has_dep(&s, b, (size_t)keygen, DEP_ORDER));
	CHECK(d->cache_key[0] == '\0' && !d->cached);
	CHECK_STR(d->no_cache, "the signing key is made in this run");
	CHECK(d->store_after_keygen);
	long st = plan_find(&s.plan, JOB_STORE, "m", "1.0", K, A);
	CHECK(st >= 0 && has_dep(&s, (size_t)st, b, DEP_SUCCESS));
	CHECK(s.plan.jobs[b].lock == NULL); /* confined: a private area */
	/* the second kernel signs nothing: no wait for the keygen job, and a cache key */
	size_t b2 = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[1], &x.conf, src, NULL, BUILD_ASKED, -1);
	const struct build_decision *d2 = &s.payloads[b2]->build;
	CHECK(d2->sign->hash == NULL && !has_dep(&s, b2, (size_t)keygen, DEP_ORDER));
	_cleanup_free_ char *no_config = xasprintf(
		"Kernel config %s/6.1.0-59-amd64/build/.config not found, modules won't be signed\n", x.lib);
	CHECK_STR(d2->sign->prologue, no_config);
	CHECK(strlen(d2->cache_key) == 64);
	/* a second build for the signing kernel (another module) shares the keygen job */
	size_t b3 = jobs_plan_build(&x.c, &s, "n", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	CHECK(count_kind(&s, JOB_KEYGEN) == 1 && has_dep(&s, b3, (size_t)keygen, DEP_ORDER));
	fixture_snapshot(x.root, &after);
	CHECK_STR(after.data, before.data); /* making a plan changes nothing */
	jobs_release(&s);
	fx_release(&x);
}

static void test_build_cache_and_lock(void)
{
	struct fx x;
	fx_init(&x);
	make_key(&x);
	x.c.sandbox = false;
	fx_targets(&x, K);
	_cleanup_free_ char *src = src_dir(&x);
	struct job_set s = JOB_SET_INIT;
	size_t b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	const struct build_decision *d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_GO && !d->sign->needs_key);
	CHECK(count_kind(&s, JOB_KEYGEN) == 0);
	CHECK(strlen(d->cache_key) == 64 && !d->cached);
	long st = plan_find(&s.plan, JOB_STORE, "m", "1.0", K, A);
	CHECK(st >= 0 && has_dep(&s, (size_t)st, b, DEP_SUCCESS));
	_cleanup_free_ char *area = xasprintf("%s/m/1.0/build", x.dkms);
	CHECK_STR(s.plan.jobs[b].lock, area); /* unconfined: builds of m/v take turns */
	/* the same build again: the same key (it is a function of the inputs) */
	char key[65];
	memcpy(key, d->cache_key, sizeof(key));
	struct job_set s2 = JOB_SET_INIT;
	size_t b2 = jobs_plan_build(&x.c, &s2, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	CHECK_STR(s2.payloads[b2]->build.cache_key, key);
	jobs_release(&s2);
	/* a cache entry for it: cached, no store */
	_cleanup_free_ char *entry = xasprintf("%s/.modforge/cache/%s/module", x.dkms, key);
	mkdir_p(entry, 0755);
	struct job_set s3 = JOB_SET_INIT;
	size_t b3 = jobs_plan_build(&x.c, &s3, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	CHECK(s3.payloads[b3]->build.cached);
	CHECK(count_kind(&s3, JOB_STORE) == 0);
	jobs_release(&s3);
	/* --force: built for real though the cache holds it, and stored */
	x.req.force = true;
	struct job_set s3f = JOB_SET_INIT;
	size_t b3f = jobs_plan_build(&x.c, &s3f, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	CHECK(!s3f.payloads[b3f]->build.cached && count_kind(&s3f, JOB_STORE) == 1);
	jobs_release(&s3f);
	/* ... but an install's build (never redone by --force) is still taken from it */
	s3f = (struct job_set)JOB_SET_INIT;
	b3f = jobs_plan_build(&x.c, &s3f, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_FOR_INSTALL, -1);
	CHECK(s3f.payloads[b3f]->build.cached);
	jobs_release(&s3f);
	x.req.force = false;
	/* --no-cache, and a POST_BUILD: neither looked up nor stored, and why */
	x.req.no_cache = true;
	struct job_set s4 = JOB_SET_INIT;
	size_t b4 = jobs_plan_build(&x.c, &s4, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	CHECK_STR(s4.payloads[b4]->build.no_cache, "--no-cache");
	CHECK(count_kind(&s4, JOB_STORE) == 0);
	jobs_release(&s4);
	x.req.no_cache = false;
	x.conf.post_build = "post.sh";
	struct job_set s5 = JOB_SET_INIT;
	size_t b5 = jobs_plan_build(&x.c, &s5, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	CHECK(s5.payloads[b5]->build.cache_key[0] == '\0' && count_kind(&s5, JOB_STORE) == 0);
	jobs_release(&s5);
	/* BUILD_DEPENDS: what it is built against is not in the key, so never cached */
	x.conf.post_build = NULL;
	char *deps[] = { "dep" };
	x.conf.build_depends = deps;
	x.conf.n_build_depends = 1;
	struct job_set s6 = JOB_SET_INIT;
	_cleanup_strv_ struct strv dep_provided = STRV_INIT;
	strv_push(&dep_provided, "dep");
	size_t b6 = jobs_plan_build(&x.c, &s6, "m", "1.0", &x.tl.items[0], &x.conf, src, &dep_provided, BUILD_ASKED,
				    -1);
	CHECK(s6.payloads[b6]->build.verdict == BUILD_GO);
	CHECK(s6.payloads[b6]->build.cache_key[0] == '\0' && count_kind(&s6, JOB_STORE) == 0);
	CHECK(s6.payloads[b6]->build.no_cache && strstr(s6.payloads[b6]->build.no_cache, "BUILD_DEPENDS"));
	x.conf.build_depends = NULL;
	x.conf.n_build_depends = 0;
	jobs_release(&s6);
	jobs_release(&s);
	fx_release(&x);
}

static void test_build_built(void)
{
	struct fx x;
	fx_init(&x);
	make_key(&x);
	mark_built(&x);
	fx_targets(&x, K);
	_cleanup_free_ char *src = src_dir(&x);
	struct job_set s = JOB_SET_INIT;
	size_t b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	const struct build_decision *d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_SKIP_BUILT);
	CHECK(d->message && strstr(d->message, "already built for kernel " K " (" A "), skip.") != NULL);
	CHECK(s.plan.n == 1);
	jobs_release(&s);
	/* an install's build: silent */
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_FOR_INSTALL, -1);
	CHECK(s.payloads[b]->build.verdict == BUILD_SKIP_BUILT && s.payloads[b]->build.message == NULL);
	jobs_release(&s);
	/* --force: an unbuild job first, after what the build waits for */
	x.req.force = true;
	s = (struct job_set)JOB_SET_INIT;
	size_t add = jobs_plan_add(&s, "m", "1.0", &x.conf, src, false, true);
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, (long)add);
	long ub = plan_find(&s.plan, JOB_UNBUILD, "m", "1.0", K, A);
	CHECK(s.payloads[b]->build.verdict == BUILD_GO && s.payloads[b]->build.unbuild_first);
	CHECK(ub >= 0 && has_dep(&s, b, (size_t)ub, DEP_SUCCESS) && has_dep(&s, (size_t)ub, add, DEP_SUCCESS));
	CHECK(has_dep(&s, b, add, DEP_SUCCESS));
	jobs_release(&s);
	/* --force of an install's build: never redone */
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_FOR_INSTALL, -1);
	CHECK(s.payloads[b]->build.verdict == BUILD_SKIP_BUILT && count_kind(&s, JOB_UNBUILD) == 0);
	jobs_release(&s);
	x.req.force = false;
	/* BUILD_DEPENDS_REBUILD's build again: unbuilt first, then built for the install */
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_AGAIN, -1);
	CHECK(s.payloads[b]->build.verdict == BUILD_GO && s.payloads[b]->build.unbuild_first);
	CHECK(s.payloads[b]->for_install && s.payloads[b]->build.message == NULL && count_kind(&s, JOB_UNBUILD) == 1);
	jobs_release(&s);
	fx_release(&x);
}

static void test_build_refused(void)
{
	struct fx x;
	fx_init(&x);
	make_key(&x);
	_cleanup_free_ char *src = src_dir(&x);
	/* BUILD_EXCLUSIVE: 77 with the rule, before anything else */
	fx_targets(&x, K);
	x.conf.excl_kernel = "^5\\.";
	x.rec.excl_kernel = "^5\\.";
	struct job_set s = JOB_SET_INIT;
	size_t b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	const struct build_decision *d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_REFUSE && d->code == 77 && !d->message_is_error && !d->after_prologue);
	CHECK(d->excluded && strstr(d->excluded, "BUILD_EXCLUSIVE_KERNEL") != NULL);
	CHECK(d->message && strstr(d->message, "includes BUILD_EXCLUSIVE directives") != NULL);
	CHECK(s.plan.n == 1); /* no keygen, no store */
	jobs_release(&s);
	x.conf.excl_kernel = x.rec.excl_kernel = NULL;
	/* no headers: 21 */
	fx_targets(&x, K_BARE);
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_REFUSE && d->code == 21 && d->message_is_error);
	CHECK(d->message && strstr(d->message, "Your kernel headers for kernel " K_BARE " cannot be found") != NULL);
	jobs_release(&s);
	/* no source: 8 */
	fx_targets(&x, K);
	_cleanup_free_ char *empty = path_join(x.root, "empty");
	mkdir_p(empty, 0755);
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, empty, NULL, BUILD_ASKED, -1);
	CHECK(s.payloads[b]->build.verdict == BUILD_REFUSE && s.payloads[b]->build.code == 8);
	jobs_release(&s);
	/* a missing BUILD_DEPENDS: 13, said after the signing prologue */
	x.build_depends[0] = "dep";
	x.conf.build_depends = x.build_depends;
	x.conf.n_build_depends = 1;
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_REFUSE && d->code == 13 && d->after_prologue);
	CHECK(d->message && strstr(d->message, "missing BUILD_DEPENDS: dep.") != NULL);
	jobs_release(&s);
	/* ... not missing when a job of the plan installs it first */
	struct strv provided = STRV_INIT;
	strv_push(&provided, "dep");
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, &provided, BUILD_FOR_INSTALL, -1);
	CHECK(s.payloads[b]->build.verdict == BUILD_GO && s.payloads[b]->build.message == NULL);
	jobs_release(&s);
	strv_release(&provided);
	/* ... and with --force, a warning */
	x.req.force = true;
	s = (struct job_set)JOB_SET_INIT;
	b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	d = &s.payloads[b]->build;
	CHECK(d->verdict == BUILD_GO && d->message && strstr(d->message, "Warning: Trying to build module") != NULL);
	jobs_release(&s);
	fx_release(&x);
}

static void test_install_and_removal_shapes(void)
{
	struct fx x;
	fx_init(&x);
	make_key(&x);
	fx_targets(&x, K);
	_cleanup_free_ char *src = src_dir(&x);
	const struct target *t = &x.tl.items[0];
	struct job_set s = JOB_SET_INIT;
	size_t b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_FOR_INSTALL, -1);
	size_t in = jobs_plan_install(&s, "m", "1.0", t, &x.conf, b, DEP_SUCCESS);
	size_t dm = jobs_plan_depmod(&s, t);
	CHECK(has_dep(&s, in, b, DEP_SUCCESS) && has_dep(&s, dm, in, DEP_SUCCESS));
	/* a second module on the kernel shares its one depmod (autoinstall: order only) */
	size_t in2 = jobs_plan_install(&s, "n", "2.0", t, &x.conf, b, DEP_ORDER);
	CHECK(jobs_plan_depmod(&s, t) == dm && has_dep(&s, dm, in2, DEP_ORDER));
	CHECK(count_kind(&s, JOB_DEPMOD) == 1);
	jobs_release(&s);

	s = (struct job_set)JOB_SET_INIT;
	size_t un = jobs_plan_uninstall(&s, "m", "1.0", t, &x.conf);
	size_t ub = jobs_plan_unbuild(&s, "m", "1.0", t);
	dm = jobs_plan_depmod(&s, t);
	size_t rm = jobs_plan_remove(&s, "m", "1.0");
	CHECK(has_dep(&s, dm, un, DEP_SUCCESS) && has_dep(&s, ub, dm, DEP_SUCCESS));
	CHECK(has_dep(&s, rm, un, DEP_ORDER) && has_dep(&s, rm, dm, DEP_ORDER) && has_dep(&s, rm, ub, DEP_ORDER));
	/* no post_transaction configured: nothing added */
	jobs_plan_finish(&x.c, &s);
	CHECK(count_kind(&s, JOB_POST_TRANSACTION) == 0);
	struct framework fw = { .post_transaction = "true" };
	x.c.fw = &fw;
	jobs_plan_finish(&x.c, &s);
	jobs_plan_finish(&x.c, &s); /* once */
	long pt = plan_find(&s.plan, JOB_POST_TRANSACTION, NULL, NULL, NULL, NULL);
	CHECK(count_kind(&s, JOB_POST_TRANSACTION) == 1);
	for (size_t i = 0; i < s.plan.n; i++)
		CHECK((long)i == pt || has_dep(&s, (size_t)pt, i, DEP_ORDER));
	char *cycle = NULL;
	CHECK(plan_check_cycles(&s.plan, &cycle) == 0);
	jobs_release(&s);
	fx_release(&x);
}

/* A target's compiler and linker, as dkms sets CC/KERNEL_CC and LD/KERNEL_LD. */
static void check_tools(struct fx *x, const char *config, const char *want_cc, const char *want_ld)
{
	_cleanup_free_ char *cfg = xasprintf("%s/%s/build/.config", x->lib, K);
	put(cfg, config);
	fx_targets(x, K);
	decide_target(&x->c, &x->tl.items[0]);
	CHECK_STR(x->tl.items[0].cc, want_cc);
	CHECK_STR(x->tl.items[0].ld, want_ld);
}

static void test_compiler(void)
{
	struct fx x;
	fx_init(&x);
	_cleanup_free_ char *bin = path_join(x.root, "bin");
	_cleanup_free_ char *old_path = xstrdup(getenv("PATH"));
	setenv("PATH", bin, 1);
	static const char *const tools[] = { "x86_64-linux-gnu-gcc-12", "clang", "ld.lld" };
	const char *cc_text = "CONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14) 12.2.0\"\n";
	check_tools(&x, cc_text, NULL, NULL); /* not on PATH: make's default */
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *p = path_join(bin, tools[i]);
		put(p, "#!/bin/sh\n");
		chmod(p, 0755);
	}
	check_tools(&x, cc_text, "x86_64-linux-gnu-gcc-12", NULL);
	check_tools(&x, "CONFIG_CC_VERSION_TEXT=\"gcc\"\n", NULL, NULL); /* one word: dkms's sed takes nothing */
	_cleanup_free_ char *clang = xasprintf("%sCONFIG_CC_IS_CLANG=y\nCONFIG_LD_IS_LLD=y\n", cc_text);
	check_tools(&x, clang, "clang", "ld.lld");
	/* the build's environment carries them */
	_cleanup_free_ char *src = src_dir(&x);
	struct job_set s = JOB_SET_INIT;
	size_t b = jobs_plan_build(&x.c, &s, "m", "1.0", &x.tl.items[0], &x.conf, src, NULL, BUILD_ASKED, -1);
	const struct strv *env = &s.payloads[b]->build.env;
	CHECK(env->n == 4 && strv_contains(env, "CC=clang") && strv_contains(env, "KERNEL_CC=clang") &&
	      strv_contains(env, "LD=ld.lld") && strv_contains(env, "KERNEL_LD=ld.lld"));
	jobs_release(&s);
	setenv("PATH", old_path, 1);
	fx_release(&x);
}

int main(void)
{
	test_compiler();
	test_build_fresh();
	test_build_cache_and_lock();
	test_build_built();
	test_build_refused();
	test_install_and_removal_shapes();
	return tap_done();
}

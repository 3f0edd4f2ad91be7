/* decide.c - a build resolved when the plan is made (see decide.h). Reads the tree, the
 * kernel's files and the cache; changes nothing. */
#include "orchestrator/plan/decide.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/cache.h"
#include "executor/install.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/signing.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

static bool on_path(const char *name)
{
	_cleanup_free_ char *exe = find_in_path(name, getenv("PATH"));
	return exe != NULL;
}

void decide_target(const struct ctx *c, struct target *t)
{
	if (t->resolved)
		return;
	t->resolved = true;
	/* Compressed as the kernel's own modules are (dkms scans its module tree). */
	t->compression = (int)compress_for_kernel(c->paths.install_tree, t->kernel);
	/* CC/KERNEL_CC: the first word of CONFIG_CC_VERSION_TEXT, or clang for a kernel built
	 * with it; LD/KERNEL_LD: ld.lld for one linked with it; each only when on PATH (dkms). */
	_cleanup_free_ char *text = target_config_value(t, "CONFIG_CC_VERSION_TEXT");
	_cleanup_free_ char *clang = target_config_value(t, "CONFIG_CC_IS_CLANG");
	_cleanup_free_ char *lld = target_config_value(t, "CONFIG_LD_IS_LLD");
	_cleanup_free_ char *cc = text && strchr(text, ' ') ? xstrndup(text, strcspn(text, " ")) : NULL;
	if (clang && strcmp(clang, "y") == 0 && on_path("clang"))
		t->cc = xstrdup("clang");
	else if (cc && on_path(cc))
		t->cc = steal_pointer(&cc);
	if (lld && strcmp(lld, "y") == 0 && on_path("ld.lld"))
		t->ld = xstrdup("ld.lld");
	_cleanup_free_ char *hash = target_config_value(t, "CONFIG_MODULE_SIG_HASH");
	signing_decide(c, t->kernel, t->arch, t->config_text ? NULL : t->kernel_config, hash, &t->sign);
}

bool record_wanted(const char *kernel, const char *arch, const struct module_conf *conf, size_t i, const char *kcfg)
{
	struct conf_target ct = { kernel, arch };
	char *why = conf_record_exclusive(conf, i, &ct, kcfg);
	bool wanted = why == NULL;
	free(why);
	return wanted;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* dkms turns a leading "make" into "make -j<N> KERNELRELEASE=<k>"; modforge leaves -j
 * out, since a -j on make's command line makes it leave the jobserver. */
static char *final_make_command(const struct ctx *c, const struct job *j, const struct target *t,
				const struct module_conf *conf)
{
	_cleanup_free_ char *cmd = NULL;
	if (conf->make_is_default || !conf->make)
		cmd = xasprintf("make -C %s M=%s/%s/%s/build", t->kernel_source_dir, c->paths.dkms_tree, j->module,
				j->version);
	else
		cmd = xstrdup(conf->make);
	if (strncmp(cmd, "make", 4) == 0)
		return xasprintf("make KERNELRELEASE=%s%s", j->kernel, cmd + 4);
	return steal_pointer(&cmd);
}

/* A MAKE that passes -j itself runs its own job pool, outside the run's budget. */
static bool sets_jobs(const char *make)
{
	for (const char *t = make; t && (t = strstr(t, "-j")); t += 2)
		if (t == make || t[-1] == ' ' || t[-1] == '\t')
			return true;
	return make && strstr(make, "--jobs") != NULL;
}

static void refuse(struct build_decision *d, int code, bool error, char *message)
{
	d->verdict = BUILD_REFUSE;
	d->code = code;
	d->message_is_error = error;
	d->message = message;
}

/* BUILD_DEPENDS not installed (nor installed first by a job of this plan): 13, said after
 * the signing prologue; with --force a warning there. */
static void check_depends(const struct ctx *c, const struct job *j, const struct module_conf *conf,
			  const struct strv *provided, struct build_decision *d)
{
	_cleanup_buf_ struct buf missing = BUF_INIT;
	for (size_t i = 0; i < conf->n_build_depends; i++) {
		const char *bd = conf->build_depends[i];
		if (provided && strv_contains(provided, bd))
			continue;
		_cleanup_free_ char *v = tree_installed_version(&c->paths, bd, j->kernel, j->arch);
		if (!v)
			buf_addf(&missing, " %s", bd);
	}
	d->after_prologue = true;
	if (missing.len && !c->req->force)
		refuse(d, 13, true,
		       xasprintf("Aborting build of module %s/%s for kernel %s (%s) due to missing BUILD_DEPENDS:%s.\n"
				 "You may override by specifying --force.",
				 j->module, j->version, j->kernel, j->arch, missing.data));
	else if (missing.len)
		d->message = xasprintf(
			"Warning: Trying to build module %s/%s for kernel %s (%s) despite of missing BUILD_DEPENDS:%s.\n",
			j->module, j->version, j->kernel, j->arch, missing.data);
}

char *decide_no_headers(const struct ctx *c, const char *kernel)
{
	const char *it = c->paths.install_tree;
	return xasprintf(
		"Your kernel headers for kernel %s cannot be found at %s/%s/build or %s/%s/source.\n"
		"Please install your distribution's kernel headers package matching %s, or use the --kernelsourcedir option to tell DKMS where it's located.",
		kernel, it, kernel, it, kernel, kernel);
}

/* dkms's checks before a build, in its order; leaves d->verdict BUILD_GO when it builds. */
static void check(const struct ctx *c, const struct job *j, const struct target *t, const struct module_conf *conf,
		  const char *source_dir, const struct strv *provided, enum build_purpose why, struct build_decision *d)
{
	const struct tree_paths *tp = &c->paths;
	bool for_install = why != BUILD_ASKED;
	if (tree_is_built(tp, j->module, j->version, j->kernel, j->arch)) {
		if (why != BUILD_AGAIN && (for_install || !c->req->force)) {
			d->verdict = BUILD_SKIP_BUILT;
			if (!for_install)
				d->message = xasprintf("Module %s/%s already built for kernel %s (%s), skip. "
						       "You may override by specifying --force.\n",
						       j->module, j->version, j->kernel, j->arch);
			return;
		}
		d->unbuild_first = true;
	}
	_cleanup_free_ char *base = tree_result_dir(tp, j->module, j->version, j->kernel, j->arch);
	if (!d->unbuild_first && is_dir(base)) {
		refuse(d, 3, true,
		       xasprintf("This module/version has already been built on: %s\nDirectory %s already exists. "
				 "Use the dkms remove function before trying to build again.",
				 j->kernel, base));
		return;
	}
	struct conf_target ct = { j->kernel, j->arch };
	d->excluded = conf_exclusive(conf, &ct, t->config_text);
	if (d->excluded) {
		refuse(d, 77, false,
		       xasprintf("Warning: The %s/dkms.conf\nfor module %s/%s includes BUILD_EXCLUSIVE directives\n"
				 "which do not match this kernel/arch/config for any modules.\n"
				 "This indicates that it should not be built.\n",
				 base, j->module, j->version));
		return;
	}
	if (count_entries(source_dir) < 2) {
		_cleanup_free_ char *src = tree_source_link(tp, j->module, j->version);
		refuse(d, 8, true,
		       xasprintf("The directory %s does not appear to have module source located within it.\n"
				 "Build halted.",
				 src));
		return;
	}
	if (!target_has_headers(t)) {
		refuse(d, 21, true, decide_no_headers(c, j->kernel));
		return;
	}
	check_depends(c, j, conf, provided, d);
	if (d->verdict == BUILD_GO && sets_jobs(conf->make))
		d->make_warning = xasprintf(
			"Warning: the MAKE of %s/%s passes -j: that make runs its own jobs, outside modforge's -j budget\n",
			j->module, j->version);
}

/* Everything that decides the build's output, as text, for the cache key. */
static void cache_text(const struct job *j, const struct module_conf *conf, const struct build_decision *d,
		       struct buf *t)
{
	buf_addf(t, "make=%s\npre=%s\npost=%s\n", d->make_command, conf->pre_build ? conf->pre_build : "",
		 conf->post_build ? conf->post_build : "");
	for (size_t i = 0; i < conf->n_patches; i++)
		buf_addf(t, "patch=%s\n", conf->patches[i]);
	for (size_t i = 0; i < d->n_records; i++) {
		const struct build_record *r = &d->records[i];
		buf_addf(t, "rec=%s|%s|%s|%s|%d\n", r->built_name, r->built_location, r->dest_name,
			 r->dest_dir ? r->dest_dir : "", r->strip);
	}
	for (size_t i = 0; i < d->env.n; i++)
		buf_addf(t, "env=%s\n", d->env.items[i]);
	buf_addf(t, "module=%s/%s kernel=%s arch=%s\n", j->module, j->version, j->kernel, j->arch);
	/* What happens to the modules after make is part of the result too. */
	const struct signing *s = d->sign;
	buf_addf(t, "\nsign %s %s\n", s->hash ? s->hash : "-", s->sign_file ? s->sign_file : "-");
	const struct compress_opts *o = &d->copts;
	buf_addf(t, "compress %d %s|%s|%s\n", (int)d->compression, o->gzip ? o->gzip : "-", o->xz ? o->xz : "-",
		 o->zstd ? o->zstd : "-");
	_cleanup_buf_ struct buf cert = BUF_INIT;
	if (s->hash && s->cert && buf_read_file(&cert, s->cert) == 0)
		buf_add(t, cert.data, cert.len);
	/* The admin's PRE_BUILD in /etc/dkms/<module> instead of the package's (its patches/
	 * overlay is hashed with the source: cache_key_input.overlay_dir). */
	const char *over = script_override_dir(d->etc_module_dir, conf->pre_build);
	if (over) {
		_cleanup_free_ char *prog = xasprintf("%s/%.*s", over, (int)strcspn(conf->pre_build, " "),
						      conf->pre_build);
		_cleanup_buf_ struct buf body = BUF_INIT;
		if (buf_read_file(&body, prog) == 0) {
			buf_addf(t, "\npre_build override %zu\n", body.len);
			buf_add(t, body.data, body.len);
		}
	}
}

/* The cache key (of the build's source_dir), and whether the cache holds it. Builds with a POST_BUILD script are
 * never taken from the cache (it may do more than leave files in the result). */
static void decide_cache(const struct ctx *c, const struct job *j, const struct target *t,
			 const struct module_conf *conf, bool for_install, struct build_decision *d)
{
	if (c->req->no_cache) {
		d->no_cache = "--no-cache";
		return;
	}
	if (conf->n_build_depends) {
		/* What it is built against (another module's result) is not in the key. */
		d->no_cache = "built against its BUILD_DEPENDS' results";
		return;
	}
	if (conf->post_build && *conf->post_build) {
		d->no_cache = "POST_BUILD may do more than leave files";
		return;
	}
	if (d->sign->hash && d->sign->needs_key) {
		/* The certificate is part of the key: stored under the key it makes. */
		d->no_cache = "the signing key is made in this run";
		d->store_after_keygen = true;
		return;
	}
	if (decide_cache_key(j, t, conf, d) < 0) {
		d->no_cache = "the source cannot be read";
		return;
	}
	/* A forced build is built for real (and stored): --force is asked for a new build. */
	d->cached = !(c->req->force && !for_install) && cache_has(c->paths.dkms_tree, d->cache_key);
	if (c->req->force && !for_install)
		d->no_cache = "--force: built, not looked up";
}

int decide_cache_key(const struct job *j, const struct target *t, const struct module_conf *conf,
		     struct build_decision *d)
{
	struct buf text = BUF_INIT;
	cache_text(j, conf, d, &text);
	_cleanup_free_ char *overlay = path_join(d->etc_module_dir, "patches");
	struct cache_key_input in = { .source_dir = d->source_dir,
				      .overlay_dir = overlay,
				      .conf_text = text.data,
				      .conf_len = text.len,
				      .kernel_source_dir = t->kernel_source_dir,
				      .cc = t->cc };
	int e = cache_key(&in, d->cache_key);
	buf_release(&text);
	if (e < 0)
		d->cache_key[0] = '\0';
	return e;
}

void decide_build(const struct ctx *c, const struct job *j, const struct target *t, const struct module_conf *conf,
		  const char *source_dir, const struct strv *provided, enum build_purpose why, struct build_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->env = (struct strv)STRV_INIT;
	d->sign = &t->sign;
	d->source_dir = xstrdup(source_dir);
	d->etc_module_dir = path_join(c->etc_dkms, j->module);
	check(c, j, t, conf, source_dir, provided, why, d);
	if (d->verdict != BUILD_GO)
		return;
	d->records = xcalloc(conf->n_records ? conf->n_records : 1, sizeof(*d->records));
	for (size_t i = 0; i < conf->n_records; i++) {
		if (!record_wanted(j->kernel, j->arch, conf, i, t->config_text))
			continue;
		d->records[d->n_records++] = (struct build_record){
			.built_name = conf->records[i].built_name,
			.built_location = conf->records[i].built_location,
			.dest_name = conf->records[i].dest_name,
			.dest_dir = xasprintf("%s/%s%s", c->paths.install_tree, j->kernel,
					      conf->records[i].dest_location),
			.strip = conf->records[i].strip,
		};
	}
	d->make_command = final_make_command(c, j, t, conf);
	if (t->cc) {
		strv_pushf(&d->env, "CC=%s", t->cc);
		strv_pushf(&d->env, "KERNEL_CC=%s", t->cc);
	}
	if (t->ld) {
		strv_pushf(&d->env, "LD=%s", t->ld);
		strv_pushf(&d->env, "KERNEL_LD=%s", t->ld);
	}
	d->compression = (enum module_compression)t->compression;
	const struct framework *fw = c->fw;
	if (fw)
		d->copts = (struct compress_opts){
			framework_value(fw, fw->compress_gzip_opts, "compress_gzip_opts"),
			framework_value(fw, fw->compress_xz_opts, "compress_xz_opts"),
			framework_value(fw, fw->compress_zstd_opts, "compress_zstd_opts"),
		};
	decide_cache(c, j, t, conf, why != BUILD_ASKED, d);
}

static const char *const verdict_names[] = {
	[BUILD_GO] = "build",
	[BUILD_SKIP_BUILT] = "already-built",
	[BUILD_REFUSE] = "refused",
};

void decide_json(const struct build_decision *d, struct cJSON *o)
{
	cJSON *b = cJSON_AddObjectToObject(o, "decision");
	cJSON_AddStringToObject(b, "verdict", verdict_names[d->verdict]);
	if (d->verdict == BUILD_REFUSE)
		cJSON_AddNumberToObject(b, "exit_code", d->code);
	if (d->excluded)
		cJSON_AddStringToObject(b, "excluded", d->excluded);
	if (d->verdict != BUILD_GO)
		return;
	cJSON *mods = cJSON_AddArrayToObject(b, "modules");
	for (size_t i = 0; i < d->n_records; i++)
		cJSON_AddItemToArray(mods, cJSON_CreateString(d->records[i].dest_name));
	cJSON_AddStringToObject(b, "make", d->make_command);
	if (d->sign->hash)
		cJSON_AddStringToObject(b, "sign", d->sign->hash);
	else
		cJSON_AddNullToObject(b, "sign");
	const char *comp = compress_suffix(d->compression);
	cJSON_AddStringToObject(b, "compress", *comp ? comp + 1 : "none");
	if (d->cache_key[0]) {
		cJSON_AddStringToObject(b, "cache_key", d->cache_key);
		cJSON_AddBoolToObject(b, "cached", d->cached);
		if (d->no_cache)
			cJSON_AddStringToObject(b, "no_cache", d->no_cache);
	} else {
		cJSON_AddNullToObject(b, "cache_key");
		cJSON_AddStringToObject(b, "no_cache", d->no_cache ? d->no_cache : "");
	}
}

void build_decision_release(struct build_decision *d)
{
	free(d->message);
	free(d->make_warning);
	free(d->excluded);
	for (size_t i = 0; i < d->n_records; i++)
		free((char *)d->records[i].dest_dir);
	free(d->records);
	free(d->make_command);
	free(d->source_dir);
	free(d->etc_module_dir);
	strv_release(&d->env);
	memset(d, 0, sizeof(*d));
}

#include "orchestrator/plan/sandbox_policy.h"

#include <string.h>

#include "common/fsutil.h"
#include "common/xalloc.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/signing.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

/* Adds path if it exists. A symlink is shown as itself (its directory is added, so
 * relative links below its target still resolve as outside) plus what it points to. */
static void add_existing(struct strv *l, const char *path)
{
	if (!path || !path_exists(path))
		return;
	_cleanup_free_ char *real = real_path(path);
	if (is_symlink(path)) {
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			_cleanup_free_ char *real_dir = real_path(dir);
			if (real_dir && !strv_contains(l, real_dir))
				strv_push(l, real_dir);
		}
	} else if (!strv_contains(l, path)) {
		strv_push(l, path);
	}
	if (real && strcmp(real, path) != 0 && !strv_contains(l, real))
		strv_push(l, real);
}

static void common_hidden(const struct ctx *c, struct strv *hidden)
{
	_cleanup_free_ char *tree = real_path(c->paths.dkms_tree);
	if (tree)
		strv_push(hidden, tree);
	/* The signing key and certificate, wherever framework.conf puts them. */
	char *keys[] = { signing_key_path(c), signing_cert_path(c) };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *real = strncmp(keys[i], "pkcs11:", 7) ? real_path(keys[i]) : NULL;
		if (real && !strv_contains(hidden, real))
			strv_push(hidden, real);
		free(keys[i]);
	}
	static const char *const private_dirs[] = { "/root", "/home", "/run" };
	for (size_t i = 0; i < sizeof(private_dirs) / sizeof(private_dirs[0]); i++)
		if (is_dir(private_dirs[i]))
			strv_push(hidden, private_dirs[i]);
}

static void finish(const struct ctx *c, struct job_box *b)
{
	b->box = (struct confinement){ .policy = {
					       .confine = c->sandbox,
					       .hidden = (const char *const *)strv_array(&b->hidden),
					       .readonly = (const char *const *)strv_array(&b->readonly),
					       .writable = (const char *const *)strv_array(&b->writable),
					       .writable_at = (const char *const *)strv_array(&b->writable_at),
					       .build_uid = c->build_uid,
					       .build_gid = c->build_gid,
					       .filter = c->filter,
				       } };
}

void box_for_build(const struct ctx *c, const char *m, const char *v, const struct target *t,
		   const struct module_conf *conf, const char *work_dir, const char *source_view, struct job_box *out)
{
	memset(out, 0, sizeof(*out));
	common_hidden(c, &out->hidden);
	_cleanup_free_ char *src = tree_source_link(&c->paths, m, v);
	_cleanup_free_ char *real_src = real_path(src);
	if (!source_view || !real_src)
		add_existing(&out->readonly, real_src);
	add_existing(&out->readonly, t->kernel_source_dir);
	for (size_t i = 0; conf && i < conf->n_build_depends; i++) {
		const char *d = conf->build_depends[i];
		_cleanup_free_ char *dv = tree_installed_version(&c->paths, d, t->kernel, t->arch);
		if (!dv)
			continue;
		_cleanup_free_ char *res = tree_result_dir(&c->paths, d, dv, t->kernel, t->arch);
		_cleanup_free_ char *real = real_path(res);
		add_existing(&out->readonly, real);
	}
	_cleanup_free_ char *area = tree_build_area(&c->paths, m, v);
	_cleanup_free_ char *vdir = tree_version_dir(&c->paths, m, v);
	_cleanup_free_ char *real_vdir = real_path(vdir);
	_cleanup_free_ char *seen = real_vdir ? path_join(real_vdir, "build") : xstrdup(area);
	strv_push(&out->writable_at, work_dir);
	strv_push(&out->writable_at, seen);
	if (source_view && real_src) {
		strv_push(&out->writable_at, source_view);
		strv_push(&out->writable_at, real_src);
	}
	finish(c, out);
	out->guard_dir = xstrdup(work_dir);
	out->box.guard_dir = out->guard_dir;
}

void box_for_confeval(const struct ctx *c, const char *conf_path, const struct target *targets, size_t n,
		      struct job_box *out)
{
	memset(out, 0, sizeof(*out));
	common_hidden(c, &out->hidden);
	_cleanup_free_ char *real = real_path(conf_path);
	if (real) {
		char *slash = strrchr(real, '/');
		if (slash && slash != real)
			*slash = '\0';
		add_existing(&out->readonly, real);
	}
	add_existing(&out->readonly, c->etc_dkms);
	for (size_t i = 0; i < n; i++)
		add_existing(&out->readonly, targets[i].kernel_source_dir);
	finish(c, out);
}

void box_for_script(const struct ctx *c, const char *source_dir, struct job_box *out)
{
	memset(out, 0, sizeof(*out));
	common_hidden(c, &out->hidden);
	_cleanup_free_ char *real = real_path(source_dir);
	add_existing(&out->readonly, real);
	finish(c, out);
}

void box_for_unpack(const struct ctx *c, const char *archive, const char *dir, struct job_box *out)
{
	memset(out, 0, sizeof(*out));
	common_hidden(c, &out->hidden);
	strv_push(&out->readonly, archive);
	strv_push(&out->writable, dir);
	finish(c, out);
	out->guard_dir = xstrdup(dir);
	out->box.guard_dir = out->guard_dir;
}

void box_hide(struct job_box *b, const char *path)
{
	_cleanup_free_ char *real = path && strncmp(path, "pkcs11:", 7) ? real_path(path) : NULL;
	if (!real || strv_contains(&b->hidden, real))
		return;
	strv_push(&b->hidden, real);
	b->box.policy.hidden = (const char *const *)strv_array(&b->hidden);
}

void job_box_release(struct job_box *b)
{
	strv_release(&b->hidden);
	strv_release(&b->readonly);
	strv_release(&b->writable);
	strv_release(&b->writable_at);
	free(b->guard_dir);
	b->guard_dir = NULL;
}

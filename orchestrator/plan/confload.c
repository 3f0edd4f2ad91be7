#include "orchestrator/plan/confload.h"

#include <errno.h>
#include <string.h>

#include "common/buf.h"
#include "common/failure.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/confeval.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/conf/confdump.h"
#include "orchestrator/plan/sandbox_policy.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/targets.h"

/* The dkms.conf then the /etc/dkms overrides that apply to every target. The conf is
 * named by its real path: the dkms tree its source link lives in is hidden from bash. */
static void conf_files(const struct ctx *c, const struct conf_load *l, struct strv *files)
{
	_cleanup_free_ char *real = real_path(l->conf_path);
	strv_push(files, real ? real : l->conf_path);
	if (!l->module)
		return;
	strv_pushf(files, "%s/%s.conf", c->etc_dkms, l->module);
	if (l->version)
		strv_pushf(files, "%s/%s-%s.conf", c->etc_dkms, l->module, l->version);
}

static int bad_conf(const struct ctx *c, const struct conf_load *l)
{
	ctx_error(c, "Bad conf file.\nFile: %s does not represent a valid dkms.conf file.",
		  l->shown_path ? l->shown_path : l->conf_path);
	return 8;
}

void confload_print_warnings(FILE *err, const struct module_conf *m)
{
	confload_print_step_warnings(err, m, true, NULL);
}

void confload_print_step_warnings(FILE *err, const struct module_conf *m, bool deprecations, const char *read_as)
{
	for (size_t i = 0; deprecations && i < m->n_warnings; i++) {
		/* "Deprecated feature: NAME (PATH)[: ...]": the path as read at this step */
		const char *w = m->warnings[i];
		const char *open = read_as ? strchr(w, '(') : NULL;
		const char *close = open ? strchr(open, ')') : NULL;
		if (close)
			fprintf(err, "%.*s(%s)%s\n", (int)(open - w), w, read_as, close + 1);
		else
			fprintf(err, "%s\n", w);
	}
	if (m->n_records == 0)
		fprintf(err, "dkms.conf: Warning! Zero modules specified.\n");
	fflush(err);
}

/* The per-kernel override files of each target (/etc/dkms/<m>-<v>-<k>.conf and the like). */
static void target_overrides(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
			     struct strv *per, struct confeval_target *et)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = targets[i].kernel, *a = targets[i].arch;
		if (l->module && l->version) {
			strv_pushf(&per[i], "%s/%s-%s-%s.conf", c->etc_dkms, l->module, l->version, k);
			strv_pushf(&per[i], "%s/%s-%s-%s-%s.conf", c->etc_dkms, l->module, l->version, k, a);
		}
		if (l->module) {
			strv_pushf(&per[i], "%s/%s--%s.conf", c->etc_dkms, l->module, k);
			strv_pushf(&per[i], "%s/%s--%s-%s.conf", c->etc_dkms, l->module, k, a);
		}
		et[i] = (struct confeval_target){ k,
						  a,
						  targets[i].kernel_source_dir,
						  targets[i].kernel_config,
						  (const char *const *)per[i].items,
						  per[i].n };
	}
}

/* Runs the evaluator (bash, in its sandbox) over the conf for every target; its records
 * in out. Returns 0, or dkms's exit code with the error printed. */
static int evaluate(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
		    struct buf *out)
{
	_cleanup_strv_ struct strv files = STRV_INIT;
	conf_files(c, l, &files);
	struct confeval_target *et = xcalloc(n ? n : 1, sizeof(*et));
	struct strv *per = xcalloc(n ? n : 1, sizeof(*per));
	target_overrides(c, l, targets, n, per, et);
	_cleanup_free_ char *dir = real_path(l->conf_path);
	if (!dir)
		dir = xstrdup(l->conf_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	struct job_box box;
	box_for_confeval(c, l->conf_path, targets, n, &box);
	struct failure failed = { 0 };
	struct confeval_request req = {
		.module = l->module,
		.module_version = l->version,
		.dkms_tree = c->paths.dkms_tree,
		.source_tree = c->paths.source_tree,
		.install_tree = c->paths.install_tree,
		.conf_files = (const char *const *)files.items,
		.n_conf_files = files.n,
		.directives = (const char *const *)c->req->directives.items,
		.n_directives = c->req->directives.n,
		.targets = et,
		.n_targets = n,
		.cwd = slash ? dir : ".",
		.parallel_jobs = c->parallel_jobs,
		.running_distribution = c->running_distribution,
		.box = &box.box,
		.failure = &failed,
	};
	_cleanup_buf_ struct buf err = BUF_INIT;
	int code = 0;
	int r = confeval_run(&req, out, &err, &code);
	job_box_release(&box);
	for (size_t i = 0; i < n; i++)
		strv_release(&per[i]);
	free(per);
	free(et);
	if (err.len) {
		fputs(err.data, c->err);
		fflush(c->err);
	}
	if (r >= 0)
		return 0;
	_cleanup_buf_ struct buf why = BUF_INIT;
	failure_describe(&failed, r, &why);
	if (r == -EACCES && c->sandbox && c->is_root)
		ctx_error(
			c,
			"Cannot run bash to read %s: %s\nThe sandbox's build user (uid %u) must be able to reach every path it is shown\n"
			"(dkms.conf, the source, the kernel headers, the trees): is one of their parent directories mode 0700?",
			l->conf_path, why.data, (unsigned)c->build_uid);
	else
		ctx_error(c, "Cannot run bash to read %s: %s", l->conf_path, why.data);
	return bad_conf(c, l);
}

/* The warnings name the conf where messages say it is (struct conf_load.shown_path). */
static void show_path_in_warnings(struct module_conf *m, const char *path, const char *shown)
{
	_cleanup_free_ char *from = xasprintf("(%s)", path);
	for (size_t i = 0; i < m->n_warnings; i++) {
		char *at = strstr(m->warnings[i], from);
		if (!at)
			continue;
		char *w = xasprintf("%.*s(%s)%s", (int)(at - m->warnings[i]), m->warnings[i], shown, at + strlen(from));
		free(m->warnings[i]);
		m->warnings[i] = w;
	}
}

/* The evaluator's records as one validated conf per target. Returns 0 or dkms's code. */
static int typed_confs(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
		       const struct buf *out, struct module_conf **confs)
{
	const char **recs = NULL;
	size_t *lens = NULL, nrec = 0;
	if (conf_split_dump(out->data, out->len, &recs, &lens, &nrec) < 0 || nrec != n) {
		free(recs);
		free(lens);
		return bad_conf(c, l);
	}
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		char *msg = NULL;
		struct conf_target t = { targets[i].kernel, targets[i].arch };
		int r = conf_from_dump(recs[i], lens[i], &t, c->distro, &confs[i], &msg);
		if (r == 0 && l->shown_path)
			show_path_in_warnings(confs[i], l->conf_path, l->shown_path);

		if (r < 0) {
			if (msg)
				fprintf(c->err, "dkms.conf: Error! %s\n", msg);
			free(msg);
			ret = bad_conf(c, l);
		} else if (l->strict && conf_check_strict(confs[i], &msg) < 0) {
			fprintf(c->err, "dkms.conf: Error! %s\n", msg);
			free(msg);
			ret = bad_conf(c, l);
		} else if (l->strict && i == 0 && !l->defer_warnings) {
			confload_print_warnings(c->err, confs[i]);
		}
	}
	free(recs);
	free(lens);
	return ret;
}

static int load(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
		struct module_conf **confs);

int confload(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
	     struct module_conf **confs)
{
	if (!l->quiet)
		return load(c, l, targets, n, confs);
	struct ctx quiet = *c;
	quiet.err = fopen("/dev/null", "we");
	if (!quiet.err)
		quiet.err = c->err;
	int e = load(&quiet, l, targets, n, confs);
	if (quiet.err != c->err)
		fclose(quiet.err);
	return e;
}

static int load(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
		struct module_conf **confs)
{
	for (size_t i = 0; i < n; i++)
		confs[i] = NULL;
	if (!is_regular(l->conf_path)) {
		ctx_error(c, "Could not locate dkms.conf file.\nFile: %s does not exist.", l->conf_path);
		return 4;
	}
	_cleanup_buf_ struct buf out = BUF_INIT;
	int ret = evaluate(c, l, targets, n, &out);
	if (ret == 0)
		ret = typed_confs(c, l, targets, n, &out, confs);
	if (ret) {
		for (size_t i = 0; i < n; i++) {
			if (confs[i])
				conf_free(confs[i]);
			confs[i] = NULL;
		}
	}
	return ret;
}

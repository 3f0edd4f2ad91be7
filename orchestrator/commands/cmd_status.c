/* cmd_status.c - `status` (text or --json): a plan of nothing, just the tree. */
#include "orchestrator/commands/commands.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/compress.h"
#include "executor/modsign.h"
#include "executor/treelock.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/confload.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/status.h"
#include "orchestrator/tree/tree.h"

/* Is the module file signed? (read through its compression) */
static cJSON *signed_or_null(const char *path)
{
	_cleanup_buf_ struct buf plain = BUF_INIT;
	_cleanup_buf_ struct buf why = BUF_INIT;
	if (compress_read_plain(path, &plain, &why) < 0)
		return cJSON_CreateNull();
	return cJSON_CreateBool(modsign_is_signed(plain.data, plain.len));
}

/* AUTOINSTALL of m/v's dkms.conf (read for the running kernel), or null when it cannot
 * be read (a broken version). */
static cJSON *autoinstall_of(const struct ctx *c, const char *m, const char *v)
{
	_cleanup_free_ char *src = tree_source_link(&c->paths, m, v);
	_cleanup_free_ char *conf = path_join(src, "dkms.conf");
	if (!is_regular(conf))
		return cJSON_CreateNull();
	struct target_list tl = { 0 };
	_cleanup_free_ char *k = host_release();
	_cleanup_free_ char *a = host_arch();
	targets_add(c, &tl, k, a);
	struct module_conf *mc = NULL;
	struct conf_load l = { .module = m, .version = v, .conf_path = conf, .quiet = true };
	int e = confload(c, &l, tl.items, 1, &mc);
	targets_release(&tl);
	cJSON *ret = e ? cJSON_CreateNull() : cJSON_CreateBool(mc->autoinstall);
	conf_free(mc);
	return ret;
}

/* What status --json tells beyond the tree's own facts: whether each module file is
 * signed, and the version's AUTOINSTALL (read once per module/version). */
static void add_file_facts(const struct ctx *c, cJSON *entries)
{
	cJSON *e, *seen = cJSON_CreateObject();
	cJSON_ArrayForEach(e, entries)
	{
		const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(e, "module"));
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(e, "version"));
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(e, "kernel"));
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(e, "arch"));
		_cleanup_free_ char *mv = xasprintf("%s/%s", m, v);
		cJSON *ai = cJSON_GetObjectItem(seen, mv);
		if (!ai)
			cJSON_AddItemToObject(seen, mv, ai = autoinstall_of(c, m, v));
		cJSON_AddItemToObject(e, "autoinstall", cJSON_Duplicate(ai, 1));
		cJSON *f;
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "modules"))
		{
			_cleanup_free_ char *res = tree_result_dir(&c->paths, m, v, k, a);
			_cleanup_free_ char *path = xasprintf("%s/module/%s", res,
							      cJSON_GetStringValue(cJSON_GetObjectItem(f, "file")));
			cJSON_ReplaceItemInObject(f, "file", cJSON_CreateString(path));
			cJSON_AddItemToObject(f, "signed", signed_or_null(path));
		}
	}
	cJSON_Delete(seen);
}

/* Merges the entries of several status documents (one per -k) into the first. */
static char *merge_json(const struct ctx *c, char **docs, size_t n)
{
	cJSON *root = cJSON_Parse(docs[0]);
	cJSON *entries = cJSON_GetObjectItem(root, "entries");
	for (size_t i = 1; i < n; i++) {
		cJSON *other = cJSON_Parse(docs[i]);
		cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(other, "entries"))
			cJSON_AddItemToArray(entries, cJSON_Duplicate(e, 1));
		cJSON_Delete(other);
	}
	add_file_facts(c, entries);
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	char *ret = xstrdup(s);
	cJSON_free(s);
	return ret;
}

int cmd_status(struct ctx *c)
{
	const struct request *r = c->req;
	struct tree *t = NULL;
	/* Shared: a change in progress (an install of many modules) is seen whole or not at all. */
	int lock;
	(void)tree_lock(c->paths.dkms_tree, false, c->err, &lock); /* unlocked, tree_scan says why */
	int e = tree_scan(&c->paths, &t);
	tree_unlock(lock);
	if (e < 0) {
		ctx_error(c, "Cannot read the DKMS tree at %s: %s", c->paths.dkms_tree, strerror(-e));
		return 1;
	}
	/* dkms prints nothing for a tree that is not there; a mistyped --dkmstree says so. */
	if (!is_dir(c->paths.dkms_tree) && strcmp(c->prog, "dkms") != 0)
		ctx_warn(c, "There is no DKMS tree at %s.", c->paths.dkms_tree);
	size_t n = r->kernels.n ? r->kernels.n : 1;
	char **docs = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *arch = r->arches.n == 0 ? NULL : r->arches.n == 1 ? r->arches.items[0] : r->arches.items[i];
		struct status_filter f = { r->module, r->version, r->kernels.n ? r->kernels.items[i] : NULL, arch,
					   strcmp(c->prog, "dkms") == 0 };
		if (r->json)
			docs[i] = status_json(t, &f);
		else
			status_print_text(t, &f, c->out, c->err);
	}
	if (r->json) {
		char *merged = merge_json(c, docs, n);
		fprintf(c->out, "%s\n", merged);
		free(merged);
	}
	for (size_t i = 0; i < n; i++)
		free(docs[i]);
	free(docs);
	tree_free(t);
	return 0;
}

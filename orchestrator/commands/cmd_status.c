/* cmd_status.c - `status` (text or --json): a plan of nothing, just the tree. */
#include "orchestrator/commands/commands.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/treelock.h"
#include "orchestrator/context.h"
#include "orchestrator/tree/status.h"
#include "orchestrator/tree/tree.h"

/* Merges the entries of several status documents (one per -k) into the first. */
static char *merge_json(char **docs, size_t n)
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
		struct status_filter f = { r->module, r->version, r->kernels.n ? r->kernels.items[i] : NULL, arch };
		if (r->json)
			docs[i] = status_json(t, &f);
		else
			status_print_text(t, &f, c->out, c->err);
	}
	if (r->json) {
		char *merged = merge_json(docs, n);
		fprintf(c->out, "%s\n", merged);
		free(merged);
	}
	for (size_t i = 0; i < n; i++)
		free(docs[i]);
	free(docs);
	tree_free(t);
	return 0;
}

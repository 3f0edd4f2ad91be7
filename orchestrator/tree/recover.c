#include "orchestrator/tree/recover.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/treelock.h"
#include "orchestrator/context.h"

/* True if dir has an entry whose name starts with prefix (added to found, if given). */
static bool has_entry(const char *dir, const char *prefix, struct strv *found)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool any = false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !strncmp(de->d_name, prefix, strlen(prefix))) {
			any = true;
			if (found)
				strv_push(found, de->d_name);
		}
	closedir(d);
	return any;
}

/* A journal (or the temp of one being written when a run was killed), a depmod still
 * owed, or the private root of a killed depmod. */
static bool has_work(const char *dkms_tree)
{
	_cleanup_free_ char *mf = layout_own_dir(dkms_tree);
	_cleanup_strv_ struct strv k = STRV_INIT;
	journal_pending_depmod(dkms_tree, &k);
	_cleanup_free_ char *trash = layout_trash(dkms_tree);
	return k.n > 0 || has_entry(mf, LAYOUT_JOURNAL, NULL) ||
		has_entry(dkms_tree, LAYOUT_DEPMOD_ROOT_PREFIX, NULL) || has_entry(trash, "", NULL);
}

int tree_recover(const struct ctx *c)
{
	const char *tree = c->paths.dkms_tree;
	if (access(tree, W_OK) != 0 || !has_work(tree))
		return 0;
	int lock;
	int le = tree_lock(tree, true, c->err, &lock);
	if (le < 0) {
		ctx_error(c, "Cannot lock the dkms tree %s: %s", tree, strerror(-le));
		return 1;
	}
	/* On stderr: stdout may be a machine's (status --json). */
	int r = journal_recover(tree, c->err, c->err);
	if (r < 0) {
		_cleanup_free_ char *journal = layout_journal(tree);
		ctx_error(c, "Cannot finish the interrupted change recorded in %s: %s", journal, strerror(-r));
		tree_unlock(lock);
		return 1;
	}
	journal_empty_trash(tree);
	_cleanup_strv_ struct strv stale = STRV_INIT; /* no depmod runs: we hold the lock */
	has_entry(tree, LAYOUT_DEPMOD_ROOT_PREFIX, &stale);
	for (size_t i = 0; i < stale.n; i++) {
		_cleanup_free_ char *p = path_join(tree, stale.items[i]);
		rm_rf(p);
	}
	_cleanup_strv_ struct strv kernels = STRV_INIT;
	journal_pending_depmod(tree, &kernels);
	for (size_t i = 0; i < kernels.n; i++) {
		_cleanup_free_ char *kdir = path_join(c->paths.install_tree, kernels.items[i]);
		if (is_dir(kdir) &&
		    depmod_run(c->paths.install_tree, tree, kernels.items[i], c->req->no_depmod, true, c->err,
			       c->err) != 0)
			continue; /* kept: the next command tries again */
		journal_depmod_done(tree, kernels.items[i]);
	}
	tree_unlock(lock);
	return 0;
}

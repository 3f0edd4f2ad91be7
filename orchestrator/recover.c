#include "recover.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/macro.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/treelock.h"
#include "orchestrator/context.h"

static bool has_work(const char *dkms_tree)
{
	_cleanup_free_ char *journal = xasprintf("%s/.modforge/journal", dkms_tree);
	_cleanup_free_ char *pending = xasprintf("%s/.modforge/depmod-pending", dkms_tree);
	_cleanup_strv_ struct strv k = STRV_INIT;
	if (path_exists(journal))
		return true;
	journal_pending_depmod(dkms_tree, &k);
	return k.n > 0;
}

int tree_recover(const struct ctx *c)
{
	const char *tree = c->paths.dkms_tree;
	if (access(tree, W_OK) != 0 || !has_work(tree))
		return 0;
	int lock = tree_lock(tree, true, c->err);
	if (lock < 0 && lock != -2) {
		ctx_error(c, "Cannot lock the dkms tree %s: %s", tree, strerror(-lock));
		return 1;
	}
	/* On stderr: stdout may be a machine's (status --json). */
	int r = journal_recover(tree, c->err, c->err);
	if (r < 0) {
		ctx_error(c, "Cannot finish the interrupted change recorded in %s/.modforge/journal: %s",
			  tree, strerror(-r));
		tree_unlock(lock);
		return 1;
	}
	_cleanup_strv_ struct strv kernels = STRV_INIT;
	journal_pending_depmod(tree, &kernels);
	for (size_t i = 0; i < kernels.n; i++) {
		_cleanup_free_ char *kdir = path_join(c->paths.install_tree, kernels.items[i]);
		if (is_dir(kdir) && depmod_run(c->paths.install_tree, tree, kernels.items[i], c->req->no_depmod,
					       c->err, c->err) != 0)
			continue; /* kept: the next command tries again */
		journal_depmod_done(tree, kernels.items[i]);
	}
	tree_unlock(lock);
	return 0;
}

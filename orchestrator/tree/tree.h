/* tree.h - the dkms tree on disk (reference §4.1), read into a typed snapshot.
 *
 * The layout (every path below a dkms tree) is common/layout.h's; the tree_*_dir helpers
 * here take the roots a command was given. A build counts as built when its module/
 * directory exists; its .modforge/manifest lists what install puts where (one line
 * "dest_name<TAB>dest_dir<TAB>file" per module, dest_dir absolute below the install tree)
 * and is never needed to read the state.
 *
 * Ownership: a struct tree owns everything below it; tree_free frees it. Scans only read.
 * Ordering: modules, versions, kernels and arches are sorted as bash's glob would list
 * them in the C locale (strcmp order), which is what dkms status prints.
 */
#ifndef MODFORGE_TREE_H
#define MODFORGE_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/layout.h"

enum tree_vstate {
	TREE_V_NONE = 0, /* a <m>/<v> dir with neither source link nor source dir */
	TREE_V_ADDED,    /* source is a symlink to a directory; a real source dir (binaries-only
			   * ldtarball) is not added at 3.4.3: see tree_version.binaries_only */
	TREE_V_BROKEN,   /* dangling source link, or no link while <src>/<m>-<v> exists */
};

struct tree_build { /* one <m>/<v>/<k>/<a> */
	char *kernel;
	char *arch;
	bool built;             /* module/ is a directory */
	bool installed;         /* kernel-<k>-<a> resolves to this dir */
	bool original_exists;   /* original_module/<k>/<a> exists */
	bool missing_built;     /* a module listed in the manifest/expected is missing from module/ */
	bool differs_installed; /* an installed file differs from the tree's copy */
	char **files;           /* its modules: file names inside module/ (manifest order) */
	char **dests;           /* where install puts each (absolute) */
	size_t n_files;
};

struct tree_version {
	char *version;
	enum tree_vstate state;
	bool binaries_only;        /* source is a real directory (ldtarball --binaries-only) */
	char *source;              /* what the source link points to, or NULL */
	char *broken_reason;       /* TREE_V_BROKEN: why, in words */
	struct tree_build *builds; /* every <k>/<a> dir in glob order, built or not */
	size_t n_builds;
};

struct tree_module {
	char *name;
	struct tree_version *versions;
	size_t n_versions;
};

struct tree {
	struct tree_module *modules;
	size_t n_modules;
};

/* Reads the whole tree. A missing dkms tree is an empty tree. Returns 0 or -errno. */
int tree_scan(const struct tree_paths *p, struct tree **out);
void tree_free(struct tree *t);

/* Paths, newly allocated. */
char *tree_module_dir(const struct tree_paths *p, const char *m);
char *tree_version_dir(const struct tree_paths *p, const char *m, const char *v);
char *tree_source_link(const struct tree_paths *p, const char *m, const char *v);
char *tree_build_area(const struct tree_paths *p, const char *m, const char *v);
char *tree_result_dir(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a);
char *tree_marker(const struct tree_paths *p, const char *m, const char *k, const char *a);
char *tree_original_dir(const struct tree_paths *p, const char *m, const char *k, const char *a);

/* Point queries, without a full scan. */
enum tree_vstate tree_version_state(const struct tree_paths *p, const char *m, const char *v);
bool tree_is_built(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a);
/* The modules of m/v's result for (k, a): their file names inside module/ and where
 * install puts them, from its manifest (or, for a result dkms made, Debian's
 * updates/dkms). Returns 0 or -errno. */
struct strv;
int tree_result_modules(const struct tree_paths *p, const char *m, const char *v, const char *k, const char *a,
			struct strv *files, struct strv *dests);
/* Returns the newly allocated version installed for (m, k, a), or NULL. */
char *tree_installed_version(const struct tree_paths *p, const char *m, const char *k, const char *a);
/* Lists the versions of m (sorted), into a NULL-terminated newly allocated array. */
char **tree_list_versions(const struct tree_paths *p, const char *m, size_t *n);
/* Lists "<k>\t<a>" pairs m/v is built for, in glob order (kernel dirs must match the
 * extglob +([0-9]).*: a run of digits, then a dot). */
char **tree_list_builds(const struct tree_paths *p, const char *m, const char *v, size_t *n);
void strarray_free(char **a);

#endif

/* layout.h - every path below a dkms tree, in one place, for every room that builds one
 * (the tree reader, the builder, the installer, the journal, the cache, the lock).
 *
 * dkms 3.x's layout, shared with Debian's dkms:
 *   <t>/<m>/<v>/source -> <src>/<m>-<v>      added
 *   <t>/<m>/<v>/build/                       dkms's build area (a failed build is left here)
 *   <t>/<m>/<v>/<k>/<a>/{module,log}/        built
 *   <t>/<m>/kernel-<k>-<a> -> <v>/<k>/<a>    installed marker (relative link)
 *   <t>/<m>/original_module/<k>/<a>/         archived originals
 * modforge's own, under names dkms ignores (never needed to read the state):
 *   <t>/<m>/<v>/.build-<k>-<a>/, .source-<k>-<a>/   a confined build's private area and
 *                                                    source copy
 *   <t>/<m>/<v>/.lock-<k>-<a>, .lock-build          a build area's lock
 *   <t>/<m>/<v>/.make-<k>-<a>.log                   the make.log of its last failed build
 *   <t>/<m>/<v>/<k>/.tmp_<a>_XXXXXX/                a result being staged
 *   <t>/<m>/<v>/<k>/<a>/.modforge/manifest          what install puts where
 *   <t>/.modforge/{lock,journal,trash/,depmod-pending/<k>,cache/<key>/,durations/}
 *   <t>/.modforge-depmod-XXXXXX/                    a private root for depmod -b
 * Every function returns a newly allocated path (the caller frees it); none touches the
 * disk. Names are not checked here: callers pass validated module/version/kernel names.
 */
#ifndef MODFORGE_LAYOUT_H
#define MODFORGE_LAYOUT_H

/* The roots a command works on (moved by --dkmstree, --sourcetree, --installtree). */
struct tree_paths {
	const char *dkms_tree;    /* default /var/lib/dkms */
	const char *source_tree;  /* default /usr/src */
	const char *install_tree; /* default /lib/modules */
};

/* The prefix of a depmod root's name in the dkms tree (a killed depmod's is deleted). */
#define LAYOUT_DEPMOD_ROOT_PREFIX ".modforge-depmod-"
/* The file name in <t>/.modforge of the journal. */
#define LAYOUT_JOURNAL "journal"
/* A result dir's (or a staged result's) manifest, relative to it. */
#define LAYOUT_MANIFEST ".modforge/manifest"
/* In a result dir, BUILD_DEPENDS_REBUILD's record of the version of dependency D it was
 * built against: .dep_D (dkms's name). */
#define LAYOUT_DEP_RECORD_PREFIX ".dep_"
/* The directory in <t>/<m> that holds archived originals. */
#define LAYOUT_ORIGINALS "original_module"

char *layout_module_dir(const char *t, const char *m);
char *layout_version_dir(const char *t, const char *m, const char *v);
char *layout_source_link(const char *t, const char *m, const char *v);
char *layout_build_area(const char *t, const char *m, const char *v);
/* A confined build's private area, and its private copy of the source. */
char *layout_private_area(const char *t, const char *m, const char *v, const char *k, const char *a);
char *layout_source_view(const char *t, const char *m, const char *v, const char *k, const char *a);
/* The make.log of m/v's last failed build for k/a (build/ holds only the last failure's),
 * in <t>/.modforge/logs/<m>/<v>/ (layout_failed_logs). */
char *layout_failed_log(const char *t, const char *m, const char *v, const char *k, const char *a);
char *layout_failed_logs(const char *t, const char *m, const char *v);
/* The lock of the build of m/v for k/a; k NULL: of dkms's one build area ("build"). They
 * live in <t>/.modforge/locks/<m>/<v>/ (layout_build_locks), not in the tree dkms shows. */
char *layout_build_lock(const char *t, const char *m, const char *v, const char *k, const char *a);
char *layout_build_locks(const char *t, const char *m, const char *v);
char *layout_kernel_dir(const char *t, const char *m, const char *v, const char *k);
char *layout_result_dir(const char *t, const char *m, const char *v, const char *k, const char *a);
/* <result>/.modforge/manifest */
char *layout_manifest(const char *t, const char *m, const char *v, const char *k, const char *a);
char *layout_marker(const char *t, const char *m, const char *k, const char *a);
/* What the marker points to, relative to <t>/<m>: <v>/<k>/<a>. */
char *layout_marker_target(const char *v, const char *k, const char *a);
/* <t>/<m>/original_module[/<k>[/<a>]] (k, a may be NULL). */
char *layout_original_dir(const char *t, const char *m, const char *k, const char *a);
/* <t>/.modforge and what modforge keeps there. */
char *layout_own_dir(const char *t);
char *layout_lock(const char *t);
char *layout_journal(const char *t);
char *layout_trash(const char *t);
char *layout_depmod_pending(const char *t, const char *k); /* k NULL: the directory */
char *layout_cache_dir(const char *t);
char *layout_durations_dir(const char *t);

#endif

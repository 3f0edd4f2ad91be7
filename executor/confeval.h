/* confeval.h - evaluate a module's dkms.conf with bash for many targets in one process.
 *
 * This is the one executor entry point for dkms.conf evaluation; today it runs bash as a
 * plain child with a clean environment, and the sandbox issue moves it into the sandbox
 * without touching its callers. The bash program is executor/confeval.sh, compiled into
 * the binary. Output: for each target, one record (format in confeval.sh) that
 * orchestrator/conf/conf.c parses.
 */
#ifndef MODFORGE_CONFEVAL_H
#define MODFORGE_CONFEVAL_H

#include <stddef.h>

struct buf;
struct confinement;

struct confeval_target {
	const char *kernelver;
	const char *arch;
	const char *kernel_source_dir; /* may not exist (add with no headers) */
	const char *kernel_config;     /* path, may not exist */
	/* Added: overrides for this target only (/etc/dkms/<m>-<v>-<k>.conf, ...-<k>-<a>.conf,
	 * <m>--<k>.conf, <m>--<k>-<a>.conf), sourced after the request's conf_files;
	 * missing ones skipped. May be NULL/0. */
	const char *const *conf_files;
	size_t n_conf_files;
};

struct failure;

struct confeval_request {
	const char *module;         /* may be NULL when adding from a directory */
	const char *module_version; /* may be NULL likewise */
	const char *dkms_tree, *source_tree, *install_tree;
	const char *const *conf_files; /* dkms.conf then the /etc/dkms overrides; missing ones skipped */
	size_t n_conf_files;
	const char *const *directives; /* --directive "NAME=value", exported after the files */
	size_t n_directives;
	const struct confeval_target *targets;
	size_t n_targets;
	const char *cwd; /* directory to run in (the conf's own dir) */
	/* Added: the values of dkms's $parallel_jobs and $running_distribution while the
	 * files are read; NULL = online CPUs / "". */
	const char *parallel_jobs;
	const char *running_distribution;
	const struct confinement *box; /* the sandbox of the evaluation (NULL: none) */
	struct failure *failure;       /* when bash could not be started: the call and path
					* that failed (NULL: not wanted) */
};

/* Runs the evaluator. Fills out with the NUL-separated records, err with bash's stderr.
 * Returns 0 when bash ran (see *exit_code), or -errno when it could not be started.
 * bash gets a clean environment: PATH (fixed), LANG=C, LC_ALL=C, HOME=/nonexistent,
 * and the caller's DKMS_DIRECTIVE* variables (dkms honours those from its environment);
 * stdin is /dev/null, and it runs in a new session. */
int confeval_run(const struct confeval_request *req, struct buf *out, struct buf *err, int *exit_code);

#endif

/* build.h - run one build job: one module/version for one kernel/arch.
 *
 * The orchestrator has already decided that the job should run (not built yet, not
 * excluded, headers present, BUILD_DEPENDS met) and resolved every string: this room only
 * performs dkms's build steps, in dkms's order and with its text:
 *   fresh copy of source/ into <m>/<v>/build (or into the job's private area, which
 *   the steps see at that path; and, confined, a second private copy they see at the
 *   source's own path), /etc/dkms/<module>/patches/ over its patches/, make.log
 *   header, patches, PRE_BUILD,
 *   make, check every built module, strip, copy into <k>/.tmp_<a>_XXXXXX/module,
 *   atomic rename to <k>/<a>, POST_BUILD, move make.log, delete the build area.
 * Untrusted steps go through executor/untrusted. Progress text goes to job->out, errors
 * to job->err, exactly as dkms 3.4.3 words them.
 */
#ifndef MODFORGE_BUILD_H
#define MODFORGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct confinement;

struct build_record {
	const char *built_name;     /* without .ko */
	const char *built_location; /* relative to the build dir, "" or ending in '/' */
	const char *dest_name;      /* without .ko */
	const char *dest_dir;       /* absolute install dir, for the manifest */
	bool strip;
};

/* A small file the result gets besides the modules: a BUILD_DEPENDS_REBUILD record,
 * .dep_<dependency> holding the version built against. name has no '/'. */
struct build_note {
	const char *name, *text;
};

struct build_job {
	const char *dkms_tree, *source_tree;
	const char *module, *version, *kernel, *arch;
	const char *make_command; /* final command line, run by bash in the build dir */
	char *const *patches;     /* file names below patches/ */
	size_t n_patches;
	const char *pre_build, *post_build; /* "script args" relative to the build dir, or NULL */
	const char *kernel_config;          /* kept in the result's log/ under its own name, as
					     * Debian's dkms keeps the kernel's .config; NULL: none */
	const char *etc_module_dir;         /* /etc/dkms/<module>: its patches/ is laid over the
					     * build's, its scripts run instead (NULL: none) */
	const struct build_record *records;
	size_t n_records;
	const struct build_note *notes;
	size_t n_notes;
	char *const *build_env; /* NAME=value for every step (CC, KERNEL_CC, MAKEFLAGS) */
	const int *keep_fds;    /* fds every step inherits: the jobserver pipe */
	int n_keep_fds;
	const struct confinement *box; /* the sandbox of every untrusted step (NULL: none) */
	const char *work_dir;          /* the job's private build area, which the sandbox binds
					  * at <m>/<v>/build for the steps; NULL: build there */
	const char *source_view;       /* a private copy of source/, which the sandbox binds
					  * writable at the source's own path, for packages that
					  * write into their source tree; deleted when the job
					  * ends, so the real tree never changes. NULL: none */
	const char *sign_hash;         /* sign each module with this hash; NULL: unsigned */
	const char *sign_key, *sign_cert;
	const char *sign_file;                     /* external signer; NULL: executor/modsign */
	int compression;                           /* enum module_compression (executor/compress.h) */
	const struct compress_opts *compress_opts; /* NULL: dkms's defaults */
	uid_t build_uid;                           /* as root: owner of the build area (0: leave it) */
	gid_t build_gid;
	bool own_log;        /* several builds in the run: messages name this kernel's own
					  * make.log (common/layout.h, layout_failed_log), not build/'s */
	const char *release; /* e.g. "modforge-0.1.0", for the make.log header */
	bool verbose;
	FILE *out, *err;
};

/* Runs the job. Returns dkms's exit code: 0, 5/6 (patches), 7 (module missing, final
 * rename), 10 (make), 15 (cd), or a PRE_BUILD/POST_BUILD script's own status. */
int build_run(const struct build_job *job);

#endif

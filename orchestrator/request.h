/* request.h - what a person asked for: one command line, parsed (orchestrator/commands/
 * cli.c parses it; every room reads it through struct ctx). Owned by main(); freed with
 * request_release (cli.h).
 */
#ifndef MODFORGE_REQUEST_H
#define MODFORGE_REQUEST_H

#include <stdbool.h>

#include "common/strv.h"

enum action {
	ACT_NONE = 0,
	ACT_ADD,
	ACT_BUILD,
	ACT_UNBUILD,
	ACT_INSTALL,
	ACT_UNINSTALL,
	ACT_REMOVE,
	ACT_STATUS,
	ACT_AUTOINSTALL,
	ACT_MATCH,
	ACT_MKTARBALL,
	ACT_HELP, /* modforge help [VERB] */
	ACT_LDTARBALL,
	ACT_GENERATE_MOK,
	ACT_KERNEL_PREINST,
	ACT_KERNEL_POSTINST,
	ACT_KERNEL_PRERM,
};

struct request {
	enum action action;
	char *action_word; /* as typed; NULL when none */
	char *first_word;  /* the first positional word that is not an action (a mistyped verb?) */
	char *module, *version;
	struct strv kernels;                          /* -k, in order */
	struct strv arches;                           /* -a and the /arch of -k, in order */
	char *conf;                                   /* -c */
	char *template_kernel;                        /* --templatekernel */
	char *kernel_config;                          /* --config */
	char *archive;                                /* --archive or a positional file */
	char *kernel_source_dir;                      /* --kernelsourcedir */
	char *dkms_tree, *source_tree, *install_tree; /* NULL = default */
	char *parallel_jobs;                          /* -j; NULL = default */
	char *try_source_tree;                        /* positional dir or dkms.conf path */
	struct strv directives;                       /* --directive NAME=value */
	struct strv warnings;                         /* "I do not know how to handle X." etc., printed by main */
	struct strv deprecated;                       /* "--no-initrd" etc. */
	bool all, force, force_version_override, verbose, quiet, no_depmod;
	bool binaries_only, source_only, rpm_safe_upgrade, symlink_modules, modprobe_on_install;
	bool show_version, show_help;
	/* modforge's own */
	bool json;            /* status --json; with --dry-run: the plan as JSON */
	bool dry_run;         /* print the plan, run nothing */
	bool all_kernels;     /* every kernel of the install tree that has headers */
	bool no_cache;        /* build even when the cache has the result */
	char *events;         /* --events FILE: JSON lines of job events */
	char *help_topic;     /* help VERB: the word after help */
	bool no_sandbox;      /* run untrusted steps unconfined (warned) */
	bool sandbox_scripts; /* POST_ADD/PRE_INSTALL/POST_INSTALL/POST_REMOVE confined too */
};

#endif

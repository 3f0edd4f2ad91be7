/* cli.h - the command line: dkms 3.4.3's grammar parsed into a struct request.
 *
 * Grammar (reference §1.1): options and positional words in any order. Options that take a
 * value accept "--opt=value" or "--opt value"; -m -v -k -a -c -j take the next word. A
 * positional word is the action, a dkms.conf path or a directory holding one (a source
 * tree to add), another existing file (an archive), else module[/version]. -m M/V and
 * -k K/A split on the first '/'.
 *
 * cli_parse only parses; it prints nothing. Messages and exit codes for bad input come
 * back in struct cli_error so main() reports them exactly as dkms does.
 */
#ifndef MODFORGE_CLI_H
#define MODFORGE_CLI_H

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
	ACT_LDTARBALL,
	ACT_GENERATE_MOK,
	ACT_KERNEL_PREINST,
	ACT_KERNEL_POSTINST,
	ACT_KERNEL_PRERM,
};

struct request {
	enum action action;
	char *action_word;       /* as typed; NULL when none */
	char *module, *version;
	struct strv kernels;     /* -k, in order */
	struct strv arches;      /* -a and the /arch of -k, in order */
	char *conf;              /* -c */
	char *template_kernel;   /* --templatekernel */
	char *kernel_config;     /* --config */
	char *archive;           /* --archive or a positional file */
	char *kernel_source_dir; /* --kernelsourcedir */
	char *dkms_tree, *source_tree, *install_tree; /* NULL = default */
	char *parallel_jobs;     /* -j; NULL = default */
	char *try_source_tree;   /* positional dir or dkms.conf path */
	struct strv directives;  /* --directive NAME=value */
	struct strv warnings;    /* "I do not know how to handle X." etc., printed by main */
	struct strv deprecated;  /* "--no-initrd" etc. */
	bool all, force, force_version_override, verbose, quiet, no_depmod;
	bool binaries_only, source_only, rpm_safe_upgrade, symlink_modules, modprobe_on_install;
	bool show_version, show_help;
	/* modforge's own */
	bool json;               /* status --json; with --dry-run: the plan as JSON */
	bool dry_run;            /* print the plan, run nothing */
	bool all_kernels;        /* every kernel of the install tree that has headers */
	bool no_cache;           /* build even when the cache has the result */
	char *events;            /* --events FILE: JSON lines of job events */
	bool no_sandbox;         /* run untrusted steps unconfined (warned) */
	bool sandbox_scripts;    /* POST_ADD/PRE_INSTALL/POST_INSTALL/POST_REMOVE confined too */
};

struct cli_error {
	int exit_code;           /* 0 = no error */
	char *message;           /* lines after "Error! ", newline-separated */
	bool show_usage;
};

/* Parses argv[1..]. Returns 0, or -EINVAL with *err filled. req must be zeroed. */
int cli_parse(int argc, char **argv, struct request *req, struct cli_error *err);
void request_release(struct request *req);
void cli_error_release(struct cli_error *err);
/* Returns the action's canonical word ("add", ...), or "" for ACT_NONE. */
const char *action_name(enum action a);
/* Writes dkms's usage text, with prog as $0. */
void cli_usage(const char *prog, struct strv *lines);

#endif

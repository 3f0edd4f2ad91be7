/* context.h - what one modforge invocation knows: the request, the roots, the distro,
 * the output streams. Built once in main(), passed to every command; no globals.
 */
#ifndef MODFORGE_CONTEXT_H
#define MODFORGE_CONTEXT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct sandbox_filter;
struct framework;

#include "orchestrator/request.h"
#include "orchestrator/distro.h"
#include "common/layout.h"

struct ctx {
	const struct request *req;
	struct tree_paths paths;    /* dkms, source and install roots (moved by flags) */
	const char *etc_dkms;       /* /etc/dkms, or MODFORGE_ETC_DKMS for tests */
	const struct framework *fw; /* framework.conf values (NULL fields: unset) */
	const char *prog;           /* argv[0] basename: "dkms" or "modforge" */
	const char *release;        /* "modforge-<version>", make.log header */
	enum conf_distro distro;
	const char *running_distribution; /* os-release ID as dkms computes it, e.g. "debian" */
	char *running_distribution_owned;
	char *parallel_jobs; /* make -j value; "" = plain -j */
	int max_jobs;        /* build jobs run at once */
	bool is_root;
	bool modprobe_on_install;            /* --modprobe-on-install, or framework modprobe_on_install */
	const char *sysfs_devices;           /* /sys/devices, or MODFORGE_SYSFS_DEVICES for tests */
	const char *forced_modules_dir;      /* /usr/share/dkms/modules_to_force_install, or
					      * MODFORGE_FORCED_MODULES_DIR for tests */
	bool sandbox;                        /* untrusted steps confined (off only with --no-sandbox) */
	const struct sandbox_filter *filter; /* compiled once per run */
	uid_t build_uid;                     /* as root: the user builds run as */
	gid_t build_gid;
	FILE *out, *err;
};

/* dkms's error(): "\nError! " + each line, on err. */
void ctx_error(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dkms's warn(): "Warning: " + each line, on err. */
void ctx_warn(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dkms's check_rw_dkms_tree for any directory a command changes: 0, or 1 after saying
 * "No write access to <what> at <dir>" (and why, when it is not a permission: it does not
 * exist, a read-only file system). */
int ctx_check_writable(const struct ctx *c, const char *what, const char *dir);

#endif

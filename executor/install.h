/* install.h - the privileged side: put built modules into a kernel's module tree and take
 * them out again, archive and restore same-named originals, run depmod.
 *
 * Takes only validated names and paths from the plan (dest names without '/', dest dirs
 * below <installtree>/<k>), never strings from dkms.conf that were not validated. Writes
 * every file as temp + fsync + rename. Text and exit codes as dkms 3.4.3's do_install /
 * do_uninstall / do_depmod.
 */
#ifndef MODFORGE_INSTALL_H
#define MODFORGE_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct confinement;

struct install_record {
	const char *dest_name;     /* without .ko */
	const char *dest_location; /* effective, e.g. /updates/dkms */
	const char *conf_location; /* DEST_MODULE_LOCATION as written (may equal dest_location) */
};

struct install_job {
	const char *dkms_tree, *install_tree;
	const char *module, *version, *kernel, *arch;
	const struct install_record *records;
	size_t n_records;
	const char *source_dir;     /* for PRE_INSTALL/POST_INSTALL/POST_REMOVE */
	const char *etc_module_dir; /* /etc/dkms/<module>: its scripts override the package's */
	const char *pre_install, *post_install, *post_remove;
	bool force;
	bool force_version_override;          /* skip the version sanity check */
	const struct confinement *script_box; /* --sandbox-scripts; NULL = privileged, as dkms */
	FILE *out, *err;
};

/* Installs a built module set. Returns 0 or dkms's exit code (6, 101). */
int install_run(const struct install_job *job);
/* Uninstalls m/v from k/a (prints "Module M/V for kernel K (A):" ...). Returns 0 or an
 * exit code. depmod is the caller's next job. */
int uninstall_run(const struct install_job *job);
/* Deletes <m>/<v>/<k>/<a> and <k> when empty. Returns 0 or -errno. */
int unbuild_run(const char *dkms_tree, const char *m, const char *v, const char *k, const char *a);
/* Runs depmod for kernel k of install_tree (with a private -b root when the tree is
 * moved), printing "Running depmod... done." as dkms ("Running depmod for <k>... done."
 * with name_kernel: a run that touches several kernels). skip = --no-depmod. */
int depmod_run(const char *install_tree, const char *dkms_tree, const char *kernel, bool skip, bool name_kernel,
	       FILE *out, FILE *err);
/* Runs a POST_ADD/PRE_INSTALL/... script of the package as dkms does: "Running the <type>
 * script:" then its output. Privileged (box NULL), as in dkms; with a box (modforge's
 * --sandbox-scripts) confined like a build step, from the real source directory. An
 * executable of the script's name in etc_module_dir (/etc/dkms/<module>, may be NULL)
 * runs instead, from there. Returns its exit status (0 if none). */
int package_script_run(const char *source_dir, const char *etc_module_dir, const char *type, const char *script,
		       const struct confinement *box, FILE *out, FILE *err);
/* The directory a script ("prog args") runs from: etc_module_dir when it holds an
 * executable prog (the admin's override, as dkms; a prog with a ".." component or an
 * absolute one is never looked up there), else NULL. */
const char *script_override_dir(const char *etc_module_dir, const char *script);

#endif

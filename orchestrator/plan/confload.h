/* confload.h - evaluate one module/version's dkms.conf for a list of targets and return
 * the typed ModuleConf of each (one bash process for all targets).
 *
 * Prints dkms's diagnostics for a bad conf ("dkms.conf: Error! ...", deprecations) and
 * returns dkms's exit code, so callers only decide what to do next.
 */
#ifndef MODFORGE_CONFLOAD_H
#define MODFORGE_CONFLOAD_H

#include <stdbool.h>
#include <stddef.h>

struct ctx;
struct module_conf;
struct target;

struct conf_load {
	const char *module; /* NULL when reading a source tree before it is added */
	const char *version;
	const char *conf_path; /* the dkms.conf to read */
	bool strict;           /* read_conf_strict: add/build/install */
	bool quiet;            /* print nothing (a conf read on the side: status, rebuilds) */
};

/* Fills confs[i] for targets[i]. Returns 0, or 8 ("Bad conf file.") / 4 (missing) after
 * printing dkms's text; on error every confs[i] is NULL. */
int confload(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
	     struct module_conf **confs);

#endif

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
#include <stdio.h>

struct ctx;
struct module_conf;
struct target;

struct conf_load {
	const char *module; /* NULL when reading a source tree before it is added */
	const char *version;
	const char *conf_path;  /* the dkms.conf to read */
	const char *shown_path; /* the path messages name, when not conf_path (add DIR: where
				 * dkms reads it, after copying DIR into the source tree) */
	bool strict;            /* read_conf_strict: add/build/install */
	bool quiet;             /* print nothing (a conf read on the side: status, rebuilds) */
	bool defer_warnings;    /* its warnings are said by the jobs that read it in dkms */
};

/* Fills confs[i] for targets[i]. Returns 0, or 8 ("Bad conf file.") / 4 (missing) after
 * printing dkms's text; on error every confs[i] is NULL. */
int confload(const struct ctx *c, const struct conf_load *l, const struct target *targets, size_t n,
	     struct module_conf **confs);
/* A strict read's warnings, as dkms prints them each time it reads the conf: the
 * deprecations, then "Zero modules specified" (on err). */
void confload_print_warnings(FILE *err, const struct module_conf *m);
/* The same at a later step of a command, as dkms's read there: the deprecations only
 * when deprecations (dkms does not print them again for a conf it read for the same
 * kernel just before), naming the conf as read_as (NULL: as read). */
void confload_print_step_warnings(FILE *err, const struct module_conf *m, bool deprecations, const char *read_as);

#endif

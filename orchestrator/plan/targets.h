/* targets.h - the (kernel, arch) pairs a command acts on, and what modforge knows of each
 * kernel: its build dir (headers), its config file.
 *
 * Defaults as dkms: no -k means `uname -r`; no -a means `uname -m` (Debian family); one
 * -a is replicated to every -k. --kernelsourcedir and --config override the per-kernel
 * defaults (<installtree>/<k>/build, and include/config/auto.conf else .config there).
 */
#ifndef MODFORGE_TARGETS_H
#define MODFORGE_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "orchestrator/plan/signing.h"

struct ctx;

struct target {
	char *kernel;
	char *arch;
	char *kernel_source_dir;
	char *kernel_config;
	char *config_text; /* kernel_config's text, read once by targets_add (NULL: unreadable);
			    * BUILD_EXCLUSIVE_CONFIG, the signature hash and the compiler come
			    * from it, for every job of the run */
	/* Resolved once per kernel for build plans (orchestrator/plan/decide.c, decide_target): */
	bool resolved;
	int compression; /* enum module_compression: as the kernel's own modules are */
	char *cc;        /* the compiler (CONFIG_CC_VERSION_TEXT's, clang with CONFIG_CC_IS_CLANG),
			    * when it is on PATH; else NULL (make's default) */
	char *ld;        /* ld.lld with CONFIG_LD_IS_LLD when on PATH, else NULL */
	struct signing sign;
};

struct target_list {
	struct target *items;
	size_t n;
};

/* Adds (k, a) and derives its paths from ctx. */
void targets_add(const struct ctx *c, struct target_list *l, const char *k, const char *a);
/* Fills l from -k/-a with dkms's defaults. Returns 0, or dkms's exit code with a message
 * already printed (16 for an empty kernel or arch). */
int targets_from_request(const struct ctx *c, struct target_list *l);
/* Fills l with every kernel of the install tree whose build dir has headers, in
 * version order (--all-kernels). Returns 0, or 21 with a message when there is none. */
int targets_with_headers(const struct ctx *c, struct target_list *l);
/* The value of name (e.g. "CONFIG_MODULE_SIG_HASH") in t's config, its quotes dropped,
 * newly allocated; NULL when it is not set (or empty). */
char *target_config_value(const struct target *t, const char *name);
/* The headers are there: <kernel_source_dir>/include exists. */
bool target_has_headers(const struct target *t);
void targets_release(struct target_list *l);
/* Returns `uname -m` (newly allocated). */
char *host_arch(void);
/* The running kernel (uname -r). */
char *host_release(void);

#endif

/* decide.h - what a plan decides for each build before anything runs.
 *
 * When a plan is made, each (module, version, kernel, arch) build is resolved completely:
 * dkms's checks before a build, in its order (already built, result dir in the way,
 * BUILD_EXCLUSIVE, no source, no headers, missing BUILD_DEPENDS), as a verdict with its
 * words; the records to build; the make command and its environment; signing and
 * compression (the kernel's, resolved once per kernel by decide_target); the build cache
 * key and whether the cache holds it. Starting the job then only prints what was decided,
 * takes a slot, adds what exists only then (the jobserver, the sandbox's view of
 * dependency results built earlier in the run) and forks.
 *
 * Ownership: a struct build_decision owns its strings and records; it borrows the
 * target's signing and the conf's strings.
 */
#ifndef MODFORGE_DECIDE_H
#define MODFORGE_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strv.h"
#include "executor/build.h"
#include "executor/compress.h"

struct ctx;
struct job;
struct module_conf;
struct signing;
struct target;

enum build_verdict {
	BUILD_GO,         /* build it (or restore it from the cache) */
	BUILD_SKIP_BUILT, /* already built: nothing to do (dkms's "skip" line unless an install needs it) */
	BUILD_REFUSE,     /* the job ends with code, saying message */
};

/* Why a build is planned. */
enum build_purpose {
	BUILD_ASKED,       /* build: said "already built, skip" when built; --force rebuilds */
	BUILD_FOR_INSTALL, /* an install needs it: silent when built, never redone by --force */
	BUILD_AGAIN,       /* BUILD_DEPENDS_REBUILD: built against an older dependency, so
			    * unbuilt and built again for an install */
};

struct build_decision {
	enum build_verdict verdict;
	int code;                     /* BUILD_REFUSE: 3, 77, 8, 21 or 13 */
	char *message;                /* BUILD_REFUSE's words; BUILD_GO: a warning or NULL */
	bool message_is_error;        /* shown as dkms's error() ("Error! ..."), else as is */
	bool after_prologue;          /* shown after the signing prologue (BUILD_DEPENDS) */
	char *make_warning;           /* BUILD_GO: the MAKE passes its own -j (shown last) */
	char *excluded;               /* BUILD_EXCLUSIVE's reason (code 77), for the summary */
	bool unbuild_first;           /* --force or BUILD_AGAIN on a built one: an unbuild job goes first */
	struct build_record *records; /* the records not excluded by their own BUILD_EXCLUSIVE_* */
	size_t n_records;
	char *make_command;         /* final, as dkms runs it */
	struct strv env;            /* CC/KERNEL_CC, LD/KERNEL_LD for every step */
	const struct signing *sign; /* the kernel's (owned by the target) */
	enum module_compression compression;
	struct compress_opts copts; /* framework.conf's, borrowed */
	char *source_dir;           /* the source (the cache key hashes it) */
	char *etc_module_dir;       /* /etc/dkms/<module>: patches laid over, scripts instead
				     * of the package's (the cache key holds what it has) */
	char cache_key[65];         /* "" = not looked up (nor stored, but see below) */
	const char *no_cache;       /* why not (static text), for --dry-run */
	bool store_after_keygen;    /* the certificate is made by this run's keygen job: the
				       * store job computes the key once it exists */
	bool cached;                /* the cache held the key when the plan was made */
};

/* Resolves what every build for t shares, once per kernel: compression (as the kernel's
 * own modules), the compiler and linker (CC/KERNEL_CC, LD/KERNEL_LD as dkms sets them),
 * signing. Idempotent. */
void decide_target(const struct ctx *c, struct target *t);

/* Resolves build job j (module/version/kernel/arch) of conf for target t (decide_target
 * already ran). source_dir: where the module's source is when the plan is made (a source
 * tree an add job of the plan will copy, or the tree's source link). provided: the
 * modules jobs of this plan install before this build (their BUILD_DEPENDS edges), not
 * counted missing. */
void decide_build(const struct ctx *c, const struct job *j, const struct target *t, const struct module_conf *conf,
		  const char *source_dir, const struct strv *provided, enum build_purpose why,
		  struct build_decision *d);

/* dkms's words for a kernel without headers (newly allocated; its die 21). */
char *decide_no_headers(const struct ctx *c, const char *kernel);

/* (Re)computes d->cache_key from what was decided and the certificate as it is now (the
 * store job of a build whose key pair the run made). Returns 0 or -errno ("" then). */
int decide_cache_key(const struct job *j, const struct target *t, const struct module_conf *conf,
		     struct build_decision *d);

/* Record i is built and installed for (kernel, arch) unless its own BUILD_EXCLUSIVE_*[i]
 * excludes it (kcfg: the kernel's config text). */
bool record_wanted(const char *kernel, const char *arch, const struct module_conf *conf, size_t i, const char *kcfg);

/* The decision's fields for --dry-run --json (cJSON object). */
struct cJSON;
void decide_json(const struct build_decision *d, struct cJSON *o);

void build_decision_release(struct build_decision *d);

#endif

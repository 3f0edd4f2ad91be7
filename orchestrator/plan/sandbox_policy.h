/* sandbox_policy.h - what each job's untrusted steps may see and write: the orchestrator's half
 * of the sandbox (the mechanism is sandbox/, applied by executor/untrusted).
 *
 * A build may write its build area only; it sees its source, the kernel's headers and
 * the results of the modules it BUILD_DEPENDS on read-only; the dkms tree (and with it any
 * key kept there), /root, /home and /run are hidden; /tmp is private. dkms.conf
 * evaluation writes nothing and sees the conf's directory, /etc/dkms and the headers.
 * Ownership: a struct job_box owns its path lists; box.* point into them.
 */
#ifndef MODFORGE_SANDBOX_POLICY_H
#define MODFORGE_SANDBOX_POLICY_H

#include <stddef.h>

#include "common/strv.h"
#include "executor/untrusted.h"

struct ctx;
struct module_conf;
struct target;

struct job_box {
	struct strv hidden, readonly, writable, writable_at;
	char *guard_dir;
	struct confinement box;
};

/* work_dir: the job's private build area, shown to the steps at <m>/<v>/build;
 * source_view (or NULL): a private copy of the source, shown writable at the source's
 * real path instead of the source itself (read-only otherwise). */
void box_for_build(const struct ctx *c, const char *m, const char *v, const struct target *t,
		   const struct module_conf *conf, const char *work_dir, const char *source_view, struct job_box *out);
void box_for_confeval(const struct ctx *c, const char *conf_path, const struct target *targets, size_t n,
		      struct job_box *out);
/* A package script (--sandbox-scripts): sees its source read-only, writes nothing. */
void box_for_script(const struct ctx *c, const char *source_dir, struct job_box *out);
/* Unpacking an archive (ldtarball): reads archive (root's copy), writes dir only. */
void box_for_unpack(const struct ctx *c, const char *archive, const char *dir, struct job_box *out);
/* Hides path (a signing key or certificate named per kernel) from the box's steps too. */
void box_hide(struct job_box *b, const char *path);
void job_box_release(struct job_box *b);

#endif

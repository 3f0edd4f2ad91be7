/* commands.h - one function per dkms verb. Each reads the tree, evaluates dkms.conf,
 * builds a plan, runs it (or prints it with --dry-run) and returns dkms's exit code.
 * Messages go to ctx->out / ctx->err in dkms 3.4.3's words.
 */
#ifndef MODFORGE_COMMANDS_H
#define MODFORGE_COMMANDS_H

struct ctx;

int cmd_add(struct ctx *c);
int cmd_build(struct ctx *c);
int cmd_install(struct ctx *c);
int cmd_uninstall(struct ctx *c);
int cmd_unbuild(struct ctx *c);
int cmd_remove(struct ctx *c);
int cmd_status(struct ctx *c);
int cmd_autoinstall(struct ctx *c);
int cmd_kernel_prerm(struct ctx *c);
int cmd_kernel_preinst(struct ctx *c);
int cmd_generate_mok(struct ctx *c);
int cmd_match(struct ctx *c);
int cmd_mktarball(struct ctx *c);
int cmd_ldtarball(struct ctx *c);

/* Shared checks, dkms's helpers of the same name. Each returns 0 or an exit code after
 * printing the error. */
int check_root(const struct ctx *c);
int check_rw_dkms_tree(const struct ctx *c);
int check_module_args(const struct ctx *c, const char *action);
/* 4 when the request's module/version is broken (dkms's module_is_broken_and_die). */
int check_not_broken(const struct ctx *c);
/* 3 when it is not added (dkms's module_is_added_or_die). */
int check_added(const struct ctx *c);

#endif

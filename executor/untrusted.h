/* untrusted.h - the one executor entry point for untrusted steps.
 *
 * Every step whose content comes from a package (dkms.conf evaluation, patches,
 * PRE_BUILD/POST_BUILD, make, strip) runs through untrusted_run, which applies the
 * sandbox policy (sandbox/sandbox.h) in the child. The privileged side (copy, sign,
 * depmod, POST_INSTALL-style scripts) never calls this.
 */
#ifndef MODFORGE_UNTRUSTED_H
#define MODFORGE_UNTRUSTED_H

struct buf;

struct untrusted_cmd {
	char *const *argv;         /* the program and its arguments */
	const char *cwd;
	char *const *extra_env;    /* NAME=value added to the clean environment */
	int out_fd;                /* stdout and stderr; -1 = inherit */
	const int *keep_fds;       /* fds the step inherits (the jobserver pipe) */
	int n_keep_fds;
};

/* Runs the step and waits. Returns 0 (see *exit_code) or -errno if it could not start. */
int untrusted_run(const struct untrusted_cmd *c, int *exit_code);
/* Like untrusted_run, but stdout goes to out and stderr to err_fd (-1 = inherit). */
int untrusted_capture(const struct untrusted_cmd *c, struct buf *out, int err_fd, int *exit_code);

#endif

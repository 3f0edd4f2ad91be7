/* framework.h - /etc/dkms/framework.conf and framework.conf.d/ files, read as dkms reads
 * them: bash sources the files (through the untrusted-step entry point) and only
 * whitelisted variables come back. Values a file does not set stay NULL.
 *
 * Precedence as dkms: built-in defaults < environment (parallel_jobs) < framework files
 * < command line.
 */
#ifndef MODFORGE_FRAMEWORK_H
#define MODFORGE_FRAMEWORK_H

#include <stdbool.h>

struct framework {
	char *source_tree, *dkms_tree, *install_tree;
	char *parallel_jobs;
	char *verbose;
	char *sign_file, *mok_signing_key, *mok_certificate; /* signing (reference §5.1) */
	char *compress_gzip_opts, *compress_xz_opts, *compress_zstd_opts;
	char *post_transaction;
	char *modprobe_on_install; /* non-empty: as --modprobe-on-install */
	char *try_sign_modules;    /* "false": never sign; "true": sign in a chroot too */
	/* dkms reads these; modforge does not act on them, and says so when one is set. */
	char *symlink_modules, *build_environment;
};

/* Reads the files under etc_dkms (missing ones are fine). Returns 0 or -errno. */
int framework_read(const char *etc_dkms, struct framework *fw);
/* The same, read as dkms reads its signing settings before a build for kernel/arch: with
 * $kernelver and $arch set (a path may name them). */
int framework_read_for(const char *etc_dkms, const char *kernel, const char *arch, struct framework *fw);
void framework_release(struct framework *fw);
/* Runs post_transaction as dkms does: the files re-read with $kernelver = kernel, the
 * command eval'ed, privileged; "Executing post-transaction command... done." (or its bad
 * exit status and the command) on stdout, its output in log (emptied first when
 * blank_log) between dkms's header and footer. Returns 0 (see *exit_code) or -errno if
 * bash could not start. */
int framework_post_transaction(const char *etc_dkms, const char *kernel, const char *log, bool blank_log,
			       int *exit_code);
/* value if a framework file set it, else the environment variable env_name if set and
 * non-empty, else NULL (dkms: environment < framework files). */
const char *framework_value(const struct framework *fw, const char *value, const char *env_name);

#endif

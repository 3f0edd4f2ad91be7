/* framework.h - /etc/dkms/framework.conf and framework.conf.d/ files, read as dkms reads
 * them: bash sources the files (through the untrusted-step entry point) and only
 * whitelisted variables come back. Values a file does not set stay NULL.
 *
 * Precedence as dkms: built-in defaults < environment (parallel_jobs) < framework files
 * < command line.
 */
#ifndef MODFORGE_FRAMEWORK_H
#define MODFORGE_FRAMEWORK_H

struct framework {
	char *source_tree, *dkms_tree, *install_tree;
	char *parallel_jobs;
	char *verbose;
};

/* Reads the files under etc_dkms (missing ones are fine). Returns 0 or -errno. */
int framework_read(const char *etc_dkms, struct framework *fw);
void framework_release(struct framework *fw);

#endif

/* failure.h - what a child process that could not start tells its parent: the errno, the
 * call that failed and the path it was about ("mount", "/var/lib/dkms/m/1.0/build").
 *
 * Filled in the child with async-signal-safe code only (no stdio, no allocation), sent
 * whole in one write over the process runner's exec-error pipe (it is smaller than
 * PIPE_BUF). The innermost failing call names it: failure_set keeps the first one.
 */
#ifndef MODFORGE_FAILURE_H
#define MODFORGE_FAILURE_H

struct buf;

struct failure {
	int err;        /* positive errno the call got (the text); 0: nothing recorded */
	int code;       /* what the process runner returns (-code): err, or the setup's own
			 * code for it (e.g. SANDBOX_ENOUSERNS for unshare's EPERM) */
	char call[24];  /* the system call (or step), "" if not known */
	char path[224]; /* the path it was about, "" if none; cut if longer */
};

/* Records err, call and path in f (all but err may be NULL) unless f holds a failure
 * already. Returns -err, so that `return failure_set(why, errno, "mount", path);`. */
int failure_set(struct failure *f, int err, const char *call, const char *path);
/* Appends "call(path): strerror", "call: strerror" or "strerror" to b; r (-errno) is
 * the error described when f recorded none (a failure before the child could say). */
void failure_describe(const struct failure *f, int r, struct buf *b);

#endif

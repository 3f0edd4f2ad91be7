/* jobserver.h - modforge as a GNU make jobserver: one budget of N job slots for a run.
 *
 * The pool is a pipe holding N-1 tokens (bytes); modforge itself owns the implicit Nth
 * slot. A build may start only holding a slot: the first running build uses modforge's
 * own, every further one takes a token from the pipe. Each build's make sees
 * MAKEFLAGS=" -jN --jobserver-auth=R,W" with both fds inherited (the pipe style every
 * make since 4.0 understands, the only one Debian 12's make 4.3 knows), so it and every
 * make it starts draw their extra jobs from the same pool; 8 builds on 16 slots use 16
 * slots, not 8 x 16. Tokens a killed make held are put back by jobserver_refill() when no
 * build runs. The fds are CLOEXEC here and opened to a build only through keep_fds.
 */
#ifndef MODFORGE_JOBSERVER_H
#define MODFORGE_JOBSERVER_H

#include <stdbool.h>

struct jobserver {
	int slots;    /* N */
	int rfd, wfd; /* the pipe; -1 when slots == 1 (nothing to share) */
	int nbfd;     /* modforge's own non-blocking open of the read end */
	int held;     /* tokens modforge took from the pipe for running builds */
	bool implicit_used;
	char makeflags[96];
};

/* Creates the pool. Returns 0 or -errno. */
int jobserver_init(struct jobserver *js, int slots);
/* Takes a slot for a build: 1 = got one, 0 = none free now (wait for rfd). */
int jobserver_acquire(struct jobserver *js);
/* Gives a build's slot back. */
void jobserver_release(struct jobserver *js);
/* With no build running: puts the pipe back to N-1 tokens (a killed make's are lost). */
void jobserver_refill(struct jobserver *js);
void jobserver_close(struct jobserver *js);

#endif

/* The jobserver's slot accounting: N slots in all (one implicit, N-1 tokens in the pipe),
 * MAKEFLAGS in make's pipe format, and tokens lost with a killed make come back once no
 * build runs. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "executor/jobserver.h"
#include "tap.h"

/* Counts the tokens in the pipe without taking them for good. */
static int tokens_in_pipe(const struct jobserver *js)
{
	char buf[64];
	ssize_t n = read(js->nbfd, buf, sizeof(buf));
	if (n > 0) {
		ssize_t _w = write(js->wfd, buf, (size_t)n);
		(void)_w;
	}
	return n > 0 ? (int)n : 0;
}

int main(void)
{
	struct jobserver js;
	CHECK(jobserver_init(&js, 3) == 0);
	char want[64];
	snprintf(want, sizeof(want), " -j3 --jobserver-auth=%d,%d", js.rfd, js.wfd);
	CHECK_STR(js.makeflags, want);
	CHECK(fcntl(js.rfd, F_GETFD) & FD_CLOEXEC);
	CHECK(tokens_in_pipe(&js) == 2);

	/* Three builds fit, a fourth does not. */
	CHECK(jobserver_acquire(&js) == 1); /* the implicit slot */
	CHECK(jobserver_acquire(&js) == 1);
	CHECK(jobserver_acquire(&js) == 1);
	CHECK(jobserver_acquire(&js) == 0);
	CHECK(tokens_in_pipe(&js) == 0);
	jobserver_release(&js);
	CHECK(tokens_in_pipe(&js) == 1);
	jobserver_release(&js);
	jobserver_release(&js);
	CHECK(tokens_in_pipe(&js) == 2);

	/* A make takes a token and is killed before it writes it back: the pool is short. */
	CHECK(jobserver_acquire(&js) == 1);
	char c;
	CHECK(read(js.rfd, &c, 1) == 1); /* the make's extra job */
	CHECK(tokens_in_pipe(&js) == 1);
	jobserver_refill(&js); /* a build still runs: nothing to do yet */
	CHECK(tokens_in_pipe(&js) == 1);
	jobserver_release(&js);
	jobserver_refill(&js); /* idle: back to N-1 */
	CHECK(tokens_in_pipe(&js) == 2);
	jobserver_close(&js);

	/* One slot: nothing to share, no pipe. */
	CHECK(jobserver_init(&js, 1) == 0);
	CHECK(js.rfd == -1);
	CHECK(jobserver_acquire(&js) == 1);
	CHECK(jobserver_acquire(&js) == 0);
	jobserver_release(&js);
	CHECK(jobserver_acquire(&js) == 1);
	jobserver_close(&js);
	return tap_done();
}

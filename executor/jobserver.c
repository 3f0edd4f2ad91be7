#include "jobserver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int put_tokens(int wfd, int n)
{
	char t[64];
	for (int i = 0; i < (int)sizeof(t); i++)
		t[i] = '+';
	while (n > 0) {
		ssize_t w = write(wfd, t, n < (int)sizeof(t) ? (size_t)n : sizeof(t));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n -= (int)w;
	}
	return 0;
}

int jobserver_init(struct jobserver *js, int slots)
{
	int p[2];
	*js = (struct jobserver){ .slots = slots > 0 ? slots : 1, .rfd = -1, .wfd = -1, .nbfd = -1 };
	if (js->slots > 1) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		js->rfd = p[0];
		js->wfd = p[1];
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", js->rfd);
		js->nbfd = open(self, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		int r = js->nbfd < 0 ? -errno : put_tokens(js->wfd, js->slots - 1);
		if (r < 0) {
			jobserver_close(js);
			return r;
		}
	}
	/* One slot: no pipe to hand on (a --jobserver-auth naming none makes make warn). */
	if (js->slots > 1)
		snprintf(js->makeflags, sizeof(js->makeflags), " -j%d --jobserver-auth=%d,%d", js->slots, js->rfd,
			 js->wfd);
	else
		snprintf(js->makeflags, sizeof(js->makeflags), " -j1");
	return 0;
}

/* One token if there is one: nbfd is a second, non-blocking open of the same pipe, so
 * the makes' blocking reads are unaffected. */
static int try_read_token(int nbfd)
{
	char c;
	ssize_t n;
	while ((n = read(nbfd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1;
}

int jobserver_acquire(struct jobserver *js)
{
	if (!js->implicit_used) {
		js->implicit_used = true;
		return 1;
	}
	if (js->rfd < 0)
		return 0;
	if (!try_read_token(js->nbfd))
		return 0;
	js->held++;
	return 1;
}

void jobserver_release(struct jobserver *js)
{
	if (js->held > 0) {
		js->held--;
		put_tokens(js->wfd, 1);
	} else {
		js->implicit_used = false;
	}
}

void jobserver_refill(struct jobserver *js)
{
	if (js->rfd < 0 || js->held != 0 || js->implicit_used)
		return;
	while (try_read_token(js->nbfd))
		;
	put_tokens(js->wfd, js->slots - 1);
}

void jobserver_close(struct jobserver *js)
{
	if (js->rfd >= 0)
		close(js->rfd);
	if (js->wfd >= 0)
		close(js->wfd);
	if (js->nbfd >= 0)
		close(js->nbfd);
	js->rfd = js->wfd = js->nbfd = -1;
}

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

char buf_empty[1];

void buf_init(struct buf *b)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
}

static void buf_grow(struct buf *b, size_t extra)
{
	if (b->cap == 0 || !b->data || b->data == buf_empty) {
		size_t cap = extra + 64;
		char *d = xmalloc(cap);
		if (b->data && b->len)
			memcpy(d, b->data, b->len);
		b->data = d;
		b->cap = cap;
		b->data[b->len] = '\0';
		return;
	}
	if (b->len + extra + 1 > b->cap) {
		size_t cap = b->cap * 2;
		if (cap < b->len + extra + 1)
			cap = b->len + extra + 1;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b);
}

char *buf_detach(struct buf *b)
{
	char *d;
	if (!b->cap)
		d = xstrdup(b->data ? b->data : "");
	else
		d = b->data;
	buf_init(b);
	return d;
}

void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_grow(b, n + 1);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("modforge: out of memory\n", stderr);
		abort();
	}
	buf_add(b, s, (size_t)n);
	free(s);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

int buf_read_fd(struct buf *b, int fd)
{
	for (;;) {
		buf_grow(b, 4096);
		ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	return 0;
}

int buf_read_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;
	if (fd < 0)
		return -errno;
	r = buf_read_fd(b, fd);
	close(fd);
	return r;
}

int buf_fail(struct buf *b, int r, const char *fmt, ...)
{
	if (!b)
		return r;
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	buf_reset(b);
	buf_adds(b, msg ? msg : "out of memory");
	free(msg);
	return r;
}

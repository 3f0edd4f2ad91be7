/* failure.c - see failure.h. failure_set runs in forked children: no stdio, no malloc. */
#include "failure.h"

#include <string.h>

#include "buf.h"

static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

int failure_set(struct failure *f, int err, const char *call, const char *path)
{
	if (f && !f->err) {
		f->err = err;
		f->code = err;
		copy_cut(f->call, sizeof(f->call), call);
		copy_cut(f->path, sizeof(f->path), path);
	}
	return -err;
}

void failure_describe(const struct failure *f, int r, struct buf *b)
{
	if (!f->err) {
		buf_adds(b, strerror(-r));
		return;
	}
	if (f->call[0] && f->path[0])
		buf_addf(b, "%s(%s): ", f->call, f->path);
	else if (f->call[0])
		buf_addf(b, "%s: ", f->call);
	buf_adds(b, strerror(f->err));
}

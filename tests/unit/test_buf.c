/* test_buf.c - the promise of common/buf.h: a buf's data is never NULL and always
 * NUL-terminated, from BUF_INIT on (statically too), through adds, reset, release and
 * detach; an empty buf owns no memory. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tap.h"

static struct buf kept = BUF_INIT; /* a static one, as a struct member would be */

int main(void)
{
	struct buf b = BUF_INIT;
	CHECK(b.data != NULL && b.data[0] == '\0' && b.len == 0 && b.cap == 0);
	CHECK(kept.data != NULL && kept.data[0] == '\0');
	buf_reset(&b);
	CHECK(b.data != NULL && b.data[0] == '\0');
	buf_addf(&b, "%s/%d", "m", 1);
	buf_adds(&b, "-x");
	buf_addc(&b, '!');
	CHECK_STR(b.data, "m/1-x!");
	CHECK(b.len == 6 && b.data[b.len] == '\0' && b.cap > b.len);
	buf_reset(&b);
	CHECK(b.len == 0 && b.data[0] == '\0');
	buf_release(&b);
	CHECK(b.data != NULL && b.data[0] == '\0' && b.cap == 0);
	char *d = buf_detach(&b); /* empty: a new "" the caller frees */
	CHECK(d != NULL && d[0] == '\0');
	free(d);
	buf_add(&kept, "abc", 3);
	d = buf_detach(&kept);
	CHECK_STR(d, "abc");
	CHECK(kept.data != NULL && kept.len == 0);
	free(d);
	CHECK(buf_fail(&b, -5, "%s", "why") == -5);
	CHECK_STR(b.data, "why");
	buf_release(&b);
	return tap_done();
}

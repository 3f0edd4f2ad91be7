/* fixture.c - see fixture.h. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "tap.h"

void fixture_expect(FILE *f, const char *want, struct buf *scratch)
{
	buf_reset(scratch);
	fflush(f);
	rewind(f);
	CHECK(buf_read_fd(scratch, fileno(f)) == 0 && ftruncate(fileno(f), 0) == 0);
	rewind(f);
	if (want)
		CHECK_STR(scratch->data, want);
}

void fixture_snapshot(const char *root, struct buf *b)
{
	_cleanup_free_ char *cmd = xasprintf(
		"cd %s && (find . -path ./dkms/.modforge -prune -o -printf '%%p %%y %%m %%l\\n'; "
		"find . -path ./dkms/.modforge -prune -o -type f -exec md5sum {} +) | LC_ALL=C sort",
		root);
	buf_reset(b);
	FILE *p = popen(cmd, "r");
	CHECK(p && buf_read_fd(b, fileno(p)) == 0);
	CHECK(p && pclose(p) == 0);
}

char *fixture_tmpdir(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/mf-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	return dir;
}

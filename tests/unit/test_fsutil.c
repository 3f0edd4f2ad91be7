/* test_fsutil.c - the tree walks root runs over a build user's files (common/fsutil.h):
 * rm_rf and chown_tree never follow a symlink (what it points to is left as it was),
 * copy_tree copies symlinks as links and leaves FIFOs out, copy_fd_atomic bounds its size
 * and leaves nothing behind when it refuses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "tap.h"

static char dir[64];

static char *at(const char *rel) { return path_join(dir, rel); }

static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *p = at(rel);
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
}

/* A tree with a symlink to an outside directory and to an outside file, and a FIFO. */
static void make_tree(const char *top)
{
	_cleanup_free_ char *t = at(top);
	_cleanup_free_ char *sub = xasprintf("%s/sub", t);
	CHECK(mkdir_p(sub, 0755) == 0);
	_cleanup_free_ char *f = xasprintf("%s/sub/file", top);
	put(f, "inside");
	_cleanup_free_ char *l1 = xasprintf("%s/to-outside-dir", t);
	_cleanup_free_ char *l2 = xasprintf("%s/sub/to-outside-file", t);
	_cleanup_free_ char *od = at("outside");
	_cleanup_free_ char *of = at("outside/keep");
	CHECK(symlink(od, l1) == 0 && symlink(of, l2) == 0);
	_cleanup_free_ char *fifo = xasprintf("%s/fifo", t);
	CHECK(mkfifo(fifo, 0644) == 0);
}

static void test_rm_rf(void)
{
	make_tree("victim");
	_cleanup_free_ char *t = at("victim");
	_cleanup_free_ char *keep = at("outside/keep");
	CHECK(rm_rf(t) == 0);
	CHECK(!path_exists(t));
	CHECK(path_exists(keep));
	CHECK(rm_rf(t) == 0); /* missing: success */
}

static void test_chown_tree(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP chown_tree: it needs root\n");
		return;
	}
	make_tree("owned");
	_cleanup_free_ char *t = at("owned");
	_cleanup_free_ char *f = at("owned/sub/file");
	_cleanup_free_ char *l = at("owned/to-outside-dir");
	_cleanup_free_ char *keep = at("outside/keep");
	_cleanup_free_ char *od = at("outside");
	CHECK(chown_tree(t, 4321, 4322) == 0);
	struct stat st;
	CHECK(stat(t, &st) == 0 && st.st_uid == 4321 && st.st_gid == 4322);
	CHECK(stat(f, &st) == 0 && st.st_uid == 4321);
	CHECK(lstat(l, &st) == 0 && st.st_uid == 4321); /* the link itself */
	CHECK(stat(keep, &st) == 0 && st.st_uid == 0);  /* never what it points to */
	CHECK(stat(od, &st) == 0 && st.st_uid == 0);
	CHECK(rm_rf(t) == 0);
}

static void test_copy_tree(void)
{
	make_tree("src");
	_cleanup_free_ char *s = at("src");
	_cleanup_free_ char *d = at("dst");
	CHECK(copy_tree(s, d) == 0);
	_cleanup_free_ char *l = at("dst/to-outside-dir");
	_cleanup_free_ char *f = at("dst/sub/file");
	_cleanup_free_ char *fifo = at("dst/fifo");
	CHECK(is_symlink(l));
	CHECK(is_regular(f) && !is_symlink(f));
	CHECK(!path_exists(fifo));
}

static void test_copy_fd_atomic(void)
{
	put("five", "12345");
	_cleanup_free_ char *src = at("five");
	_cleanup_free_ char *dst = at("copied");
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(copy_fd_atomic(fd, dst, 0600, 4) == -EFBIG);
	CHECK(!path_exists(dst));
	_cleanup_free_ char *cmd = xasprintf("ls -A %s | grep -q modforge-tmp", dir);
	CHECK(system(cmd) != 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && copy_fd_atomic(fd, dst, 0600, 5) == 0);
	close(fd);
	struct stat st;
	CHECK(stat(dst, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 5);
}

int main(void)
{
	strcpy(dir, "/tmp/mf-fsutil.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	_cleanup_free_ char *outside = at("outside");
	CHECK(mkdir(outside, 0755) == 0);
	put("outside/keep", "outside");
	test_rm_rf();
	test_chown_tree();
	test_copy_tree();
	test_copy_fd_atomic();
	_cleanup_free_ char *rm = xasprintf("rm -rf %s", dir);
	(void)system(rm);
	return tap_done();
}

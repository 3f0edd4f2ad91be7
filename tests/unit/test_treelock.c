/* test_treelock.c - the dkms tree's lock (executor/treelock.h) on a fake tree in a temp
 * dir: the first writer makes a missing tree and its lock file; an exclusive lock keeps
 * out every other lock, shared locks share; a writer that waits says so once (and gets
 * the lock when the reader goes); a tree the caller cannot write is read unlocked when no
 * writer ever locked it, locked shared through a read-only fd when one did, and never
 * locked exclusively; file_lock makes its file and is exclusive. No test depends on
 * speed: the other holder is a child that lets go only when told through a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "executor/treelock.h"
#include "tap.h"

static char dir[64];

/* True if another open file description of path can take the lock op right now. */
static bool can_lock(const char *path, int op)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = flock(fd, op | LOCK_NB) == 0;
	close(fd);
	return ok;
}

static int child_status(pid_t c)
{
	int st;
	if (waitpid(c, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_exclusive_and_shared(void)
{
	_cleanup_free_ char *tree = path_join(dir, "new/dkms");
	_cleanup_free_ char *lockf = path_join(tree, ".modforge/lock");
	int fd = -5;
	CHECK(tree_lock(tree, true, NULL, &fd) == 0 && fd >= 0);
	CHECK(is_dir(tree) && is_regular(lockf)); /* the first writer made both */
	CHECK(!can_lock(lockf, LOCK_SH));
	CHECK(!can_lock(lockf, LOCK_EX));
	tree_unlock(fd);
	CHECK(can_lock(lockf, LOCK_EX));
	int a = -1, b = -1;
	CHECK(tree_lock(tree, false, NULL, &a) == 0 && a >= 0);
	CHECK(tree_lock(tree, false, NULL, &b) == 0 && b >= 0); /* readers share */
	CHECK(can_lock(lockf, LOCK_SH) && !can_lock(lockf, LOCK_EX));
	tree_unlock(a);
	tree_unlock(b);
	tree_unlock(-1); /* nothing */
}

/* A reader holds the lock in a child; the writer waits, says so once on err, and gets
 * the lock once the child, having read that line, lets go. */
static void test_writer_waits(void)
{
	_cleanup_free_ char *tree = path_join(dir, "wait");
	int first = -1;
	CHECK(tree_lock(tree, true, NULL, &first) == 0); /* a writer makes the tree */
	tree_unlock(first);
	int held[2], said[2];
	CHECK(pipe(held) == 0 && pipe(said) == 0);
	fflush(NULL);
	pid_t c = fork();
	if (c == 0) {
		close(held[0]);
		close(said[1]);
		int fd = -1;
		if (tree_lock(tree, false, NULL, &fd) != 0 || fd < 0)
			_exit(2);
		if (write(held[1], "h", 1) != 1)
			_exit(3);
		char line[256];
		FILE *in = fdopen(said[0], "r");
		if (!in || !fgets(line, sizeof(line), in))
			_exit(4);
		_exit(strstr(line, "Waiting for the dkms tree") ? 0 : 5);
	}
	close(held[1]);
	close(said[0]);
	char h;
	CHECK(read(held[0], &h, 1) == 1); /* the child holds it now */
	FILE *err = fdopen(said[1], "w");
	int fd = -1;
	CHECK(tree_lock(tree, true, err, &fd) == 0 && fd >= 0);
	CHECK(child_status(c) == 0); /* it saw the waiting line before we got the lock */
	tree_unlock(fd);
	fclose(err);
	close(held[0]);
}

/* As an unprivileged user, on root's tree (root only: the user must differ from the
 * owner). */
static void test_read_only_tree(void)
{
	if (geteuid() != 0) {
		printf("# SKIP the tree of another user: needs root to be that other user\n");
		return;
	}
	_cleanup_free_ char *tree = path_join(dir, "roots");
	CHECK(mkdir_p(tree, 0755) == 0);
	fflush(NULL);
	pid_t c = fork();
	if (c == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		int fd = -5;
		if (tree_lock(tree, false, NULL, &fd) != 0 || fd != -1)
			_exit(3); /* never locked by a writer: read unlocked */
		if (tree_lock(tree, true, NULL, &fd) != -EACCES || fd != -1)
			_exit(4);
		_exit(0);
	}
	CHECK(child_status(c) == 0);
	int w = -1;
	CHECK(tree_lock(tree, true, NULL, &w) == 0 && w >= 0); /* a writer made the lock file */
	tree_unlock(w);
	c = fork();
	if (c == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		int fd = -1;
		if (tree_lock(tree, false, NULL, &fd) != 0 || fd < 0)
			_exit(3); /* shared, through a read-only fd */
		_exit(0);
	}
	CHECK(child_status(c) == 0);
}

static void test_file_lock(void)
{
	_cleanup_free_ char *f = path_join(dir, "area.lock");
	int fd = file_lock(f, "the build of m/1 for k (x86_64)", NULL);
	CHECK(fd >= 0);
	struct stat st;
	CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(!can_lock(f, LOCK_SH));
	tree_unlock(fd);
	CHECK(can_lock(f, LOCK_EX));
	/* its directory is made (the locks live in <dkmstree>/.modforge/locks/<m>/<v>/) */
	_cleanup_free_ char *nodir = path_join(dir, "missing/area.lock");
	int fd2 = file_lock(nodir, "x", NULL);
	CHECK(fd2 >= 0 && is_regular(nodir));
	/* file_lock_held: another open file description holds it, until released */
	pid_t pid = fork();
	if (pid == 0)
		_exit(file_lock_held(nodir) ? 0 : 1);
	CHECK(child_status(pid) == 0);
	tree_unlock(fd2);
	CHECK(!file_lock_held(nodir));
	_cleanup_free_ char *none = path_join(dir, "no-such.lock");
	CHECK(!file_lock_held(none));
}

int main(void)
{
	alarm(120); /* a lock that never came would hang here: fail instead */
	strcpy(dir, "/tmp/mf-treelock.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	CHECK(chmod(dir, 0755) == 0);
	test_exclusive_and_shared();
	test_writer_waits();
	test_read_only_tree();
	test_file_lock();
	rm_rf(dir);
	return tap_done();
}

#include "treelock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/xalloc.h"

/* flock, retried every 100 ms so a long wait can be reported once; -EINTR when a caught
 * signal ends the wait. */
static int lock_fd(int fd, int op, const char *what, FILE *err)
{
	for (int tries = 0;; tries++) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (tries == 20 && err) {
			fprintf(err, "Waiting for %s (another modforge run holds its lock)...\n", what);
			fflush(err);
		}
		if (poll(NULL, 0, 100) < 0 && errno == EINTR)
			return -EINTR; /* a signal the caller catches (Ctrl-C): it stops waiting */
	}
}

int file_lock(const char *path, const char *what, FILE *err)
{
	_cleanup_free_ char *dir = parent_dir(path);
	int e = mkdir_p(dir, 0755);
	if (e < 0)
		return e;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = lock_fd(fd, LOCK_EX, what, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

bool file_lock_held(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

int tree_lock(const char *dkms_tree, bool exclusive, FILE *err, int *fd_out)
{
	*fd_out = -1;
	_cleanup_free_ char *dir = layout_own_dir(dkms_tree);
	_cleanup_free_ char *path = layout_lock(dkms_tree);
	_cleanup_free_ char *what = xasprintf("the dkms tree %s", dkms_tree);
	int fd = -1;
	if (exclusive && !path_exists(dkms_tree)) {
		int r = mkdir_p(dkms_tree, 0755); /* the first writer on this system makes it */
		if (r < 0)
			return r;
	}
	if (access(dkms_tree, W_OK) == 0) {
		int r = mkdir_p(dir, 0755);
		if (r < 0)
			return r;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
	} else {
		if (exclusive)
			return -EACCES;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0; /* no writer ever locked this tree: read it unlocked */
	}
	int r = lock_fd(fd, exclusive ? LOCK_EX : LOCK_SH, what, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

void tree_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

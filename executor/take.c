/* take.c - open a build user's file without being steered by it (see take.h). */
#include "take.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/macro.h"
#include "common/xalloc.h"

#define STRICT_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int sys_openat2(int dirfd, const char *rel, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned long long)flags, .resolve = resolve };
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

/* The per-component walk for kernels without openat2: each component opened with
 * O_NOFOLLOW (a symlink on the way fails with ELOOP; as the last component, with O_PATH,
 * it is opened itself and refused by its type), ".." refused, st_dev kept. */
static int walk_open(int area_fd, const char *rel, int flags)
{
	struct stat area;
	if (fstat(area_fd, &area) < 0)
		return -errno;
	_cleanup_free_ char *copy = xstrdup(rel);
	int dir = area_fd; /* ours to close once it is not area_fd */
	int r = 0;
	char *save = NULL;
	char *comp = strtok_r(copy, "/", &save);
	while (comp && r == 0) {
		char *next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "..")) {
			r = -EXDEV;
		} else if (strcmp(comp, ".")) {
			int fd = openat(dir, comp, (next ? O_RDONLY | O_DIRECTORY | O_CLOEXEC : flags) | O_NOFOLLOW);
			struct stat st;
			if (fd < 0)
				r = -errno;
			else if (fstat(fd, &st) < 0 || st.st_dev != area.st_dev)
				r = -EXDEV;
			if (dir != area_fd)
				close(dir);
			dir = fd;
		}
		comp = next;
	}
	if (r == 0 && dir == area_fd)
		r = -EISDIR; /* rel named the area itself */
	if (r < 0 && dir >= 0 && dir != area_fd)
		close(dir);
	return r < 0 ? r : dir;
}

static int open_beneath(int area_fd, const char *rel, int flags, unsigned long long resolve, bool no_openat2)
{
	if (!*rel || rel[0] == '/')
		return -EXDEV;
	if (!no_openat2) {
		int fd;
		/* EAGAIN: a rename raced the lookup (RESOLVE_BENEATH checks for that); try again. */
		for (int i = 0; (fd = sys_openat2(area_fd, rel, flags, resolve)) < 0 && errno == EAGAIN && i < 8; i++)
			;
		if (fd >= 0)
			return fd;
		if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter without openat2 */
			return -errno;
	}
	return walk_open(area_fd, rel, flags);
}

static const char *type_name(mode_t m)
{
	return S_ISLNK(m)     ? "a symbolic link"
		: S_ISDIR(m)  ? "a directory"
		: S_ISFIFO(m) ? "a FIFO"
		: S_ISSOCK(m) ? "a socket"
		: S_ISCHR(m)  ? "a character device"
		: S_ISBLK(m)  ? "a block device"
			      : "not a regular file";
}

/* The first component of rel (as a prefix of it, newly allocated) that is a symbolic
 * link, or NULL. Only to word a message: nothing is opened. */
static char *first_link(int area_fd, const char *rel)
{
	_cleanup_free_ char *prefix = xstrdup(rel);
	for (char *p = prefix;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		struct stat st;
		if (fstatat(area_fd, prefix, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return steal_pointer(&prefix);
		if (c == '\0')
			return NULL;
		*p = c;
	}
}

/* Why an open below the area failed, in words. */
static int open_failed(int area_fd, const char *rel, int r, struct buf *why)
{
	if (r == -ELOOP || r == -ENOTDIR) {
		_cleanup_free_ char *link = first_link(area_fd, rel);
		if (link && !strcmp(link, rel))
			return buf_fail(why, -EPERM, "is a symbolic link; a build result must be a regular file");
		if (link)
			return buf_fail(why, -EPERM,
					"lies below the symbolic link %s; a build result is never taken through one",
					link);
		if (r == -ENOTDIR)
			return buf_fail(why, -ENOENT, "does not exist (a component of its path is not a directory)");
	}
	switch (r) {
	case -ENOENT: return buf_fail(why, r, "does not exist");
	case -EXDEV:
		return buf_fail(why, -EPERM,
				"is outside the build area (\"..\", an absolute path or another filesystem)");
	case -ENXIO: return buf_fail(why, -EPERM, "is a socket or FIFO; a build result must be a regular file");
	case -EAGAIN: /* a lease (O_NONBLOCK), or renames racing the lookup every time */
		return buf_fail(
			why, -EPERM,
			"cannot be opened without waiting: it is leased, or it kept changing while it was looked up");
	default: return buf_fail(why, r, "cannot be opened: %s", strerror(-r));
	}
}

static int check_fd(int fd, const struct take_rules *rules, struct buf *why)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return buf_fail(why, -errno, "cannot be examined: %s", strerror(errno));
	uint64_t max = rules->max_bytes ? rules->max_bytes : TAKE_MAX_BYTES;
	if (!S_ISREG(st.st_mode))
		return buf_fail(why, -EPERM, "is %s; a build result must be a regular file", type_name(st.st_mode));
	if (st.st_uid != rules->owner)
		return buf_fail(why, -EPERM, "belongs to uid %u, not to the build user (uid %u)", (unsigned)st.st_uid,
				(unsigned)rules->owner);
	if (st.st_nlink != 1)
		return buf_fail(why, -EPERM, "has %ju hard links; a build result must have exactly one",
				(uintmax_t)st.st_nlink);
	if ((uint64_t)st.st_size > max)
		return buf_fail(why, -EPERM, "is %ju bytes, over the %ju MiB a build result may have",
				(uintmax_t)st.st_size, (uintmax_t)(max >> 20));
	return 0;
}

/* A readable fd on the inode that pfd (O_PATH, checked) names, through /proc/self/fd:
 * that reopens the inode itself, never a path the build could change meanwhile. */
static int reopen(int pfd, int *fd_out, struct buf *why)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	int fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == EAGAIN)
			return buf_fail(why, -EPERM, "cannot be opened without waiting: the build holds a lease on it");
		return buf_fail(why, -e, "cannot be opened through %s: %s", proc, strerror(e));
	}
	struct stat a, b;
	if (fstat(pfd, &a) < 0 || fstat(fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		return buf_fail(why, -EPERM, "changed while it was opened");
	}
	*fd_out = fd;
	return 0;
}

int take_open(int area_fd, const char *rel, const struct take_rules *rules, int *fd_out, struct buf *why)
{
	*fd_out = -1;
	/* O_PATH first: looking a file up opens nothing (no device, FIFO or lease acts). */
	int pfd = open_beneath(area_fd, rel, O_PATH | O_CLOEXEC, STRICT_RESOLVE, rules->no_openat2);
	if (pfd < 0)
		return open_failed(area_fd, rel, pfd, why);
	int r = check_fd(pfd, rules, why);
	if (r == 0)
		r = reopen(pfd, fd_out, why);
	close(pfd);
	return r;
}

int take_file(int area_fd, const char *rel, const struct take_rules *rules, const char *dst, mode_t mode,
	      struct buf *why)
{
	_cleanup_close_ int fd = -1;
	int r = take_open(area_fd, rel, rules, &fd, why);
	if (r < 0)
		return r;
	uint64_t max = rules->max_bytes ? rules->max_bytes : TAKE_MAX_BYTES;
	r = copy_fd_atomic(fd, dst, mode, max);
	if (r == -EFBIG)
		return buf_fail(why, -EPERM, "grew over the %ju MiB a build result may have while it was read",
				(uintmax_t)(max >> 20));
	if (r < 0)
		return buf_fail(why, r, "cannot be copied to %s: %s", dst, strerror(-r));
	return 0;
}

int take_stat(int area_fd, const char *rel, struct stat *st)
{
	int fd = open_beneath(area_fd, rel, O_PATH | O_CLOEXEC,
			      RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, false);
	if (fd < 0)
		return fd;
	int r = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return r;
}

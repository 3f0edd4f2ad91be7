#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "xalloc.h"

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b[0] == '/' ? b + 1 : b);
	return xasprintf("%s%s%s", a, b[0] == '/' ? "" : "/", b);
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	size_t len = strlen(p);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		p[i] = c;
	}
	if (!is_dir(path))
		return -ENOTDIR;
	return 0;
}

typedef int (*walk_fn)(int dirfd, const char *name, const struct stat *st, void *data);

/* Calls leave for name in dirfd, after calling it for everything below name when that is
 * a directory (post-order). Walks by fd: each entry lstat'ed, each directory opened with
 * O_NOFOLLOW, so one swapped for a symlink meanwhile is never followed. An entry gone
 * meanwhile is skipped; keep_going: the rest is visited after an error (the first one is
 * returned). */
static int walk_post(int dirfd, const char *name, walk_fn leave, void *data, bool keep_going)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		DIR *d = fdopendir(fd);
		if (!d) {
			int e = -errno;
			close(fd);
			return e;
		}
		struct dirent *de;
		while ((r == 0 || keep_going) && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			int k = walk_post(fd, de->d_name, leave, data, keep_going);
			if (k < 0 && k != -ENOENT && r == 0)
				r = k;
		}
		closedir(d);
		if (r < 0 && !keep_going)
			return r;
	}
	int k = leave(dirfd, name, &st, data);
	return r < 0 ? r : k;
}

static int remove_entry(int dirfd, const char *name, const struct stat *st, void *data)
{
	int flags = S_ISDIR(st->st_mode) ? AT_REMOVEDIR : 0;
	return unlinkat(dirfd, name, flags) < 0 && errno != ENOENT ? -errno : 0;
}

int rm_rf(const char *path)
{
	int r = walk_post(AT_FDCWD, path, remove_entry, NULL, true);
	return r == -ENOENT ? 0 : r;
}

/* Copies in (from its current offset) to out; more than max bytes is -EFBIG. */
static int copy_fd_contents(int in, int out, uint64_t max)
{
	char buf[65536];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		total += (uint64_t)n;
		if (total > max)
			return -EFBIG;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += w;
		}
	}
}

/* Copies the regular file src (never through a symlink: the tree may hold links, and a
 * FIFO or device swapped in is refused instead of read) to the new file dst. */
static int copy_file_plain(const char *src, const char *dst, const struct stat *st, bool follow)
{
	_cleanup_close_ int in = open(src, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return -errno;
	struct stat now;
	if (fstat(in, &now) < 0)
		return -errno;
	if (!S_ISREG(now.st_mode))
		return -EINVAL;
	_cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return -errno;
	int r = copy_fd_contents(in, out, UINT64_MAX);
	if (r < 0)
		return r;
	if (fchmod(out, st->st_mode & 07777) < 0)
		return -errno;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	(void)futimens(out, ts);
	return 0;
}

/* How copy_tree_in copies (COPY_* bits). Whatever the mode, an entry of dst in the way (a
 * link or a file where a directory goes, a link or anything not a plain file where a file
 * goes) is replaced, never written through. */
enum {
	COPY_OVER = 1,      /* src is the admin's overlay: its links are followed */
	COPY_NO_LINKS = 2,  /* src's links are left out (an archive's results) */
	COPY_SAFE_MODES = 4 /* no set-id bits, no group or other write (an untrusted tree) */
};
#define COPY_MAX_DEPTH 64

static mode_t copy_mode(mode_t m, int how)
{
	m &= 07777;
	return how & COPY_SAFE_MODES ? m & ~(mode_t)(S_ISUID | S_ISGID | S_IWGRP | S_IWOTH) : m;
}

static int copy_tree_in(const char *src, const char *dst, int how, int depth)
{
	if (depth > COPY_MAX_DEPTH)
		return -ELOOP;
	struct stat st, dst_st;
	if (stat(src, &st) < 0)
		return -errno;
	if (lstat(dst, &dst_st) == 0 && !S_ISDIR(dst_st.st_mode)) {
		int e = rm_rf(dst);
		if (e < 0)
			return e;
	}
	if (mkdir(dst, copy_mode(st.st_mode, how)) < 0 && errno != EEXIST)
		return -errno;
	DIR *d = opendir(src);
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *s = path_join(src, de->d_name);
		_cleanup_free_ char *t = path_join(dst, de->d_name);
		struct stat est;
		if ((how & COPY_OVER ? stat(s, &est) : lstat(s, &est)) < 0) {
			if (how & COPY_OVER)
				continue; /* a dangling link of the admin's: nothing to lay over */
			r = -errno;
			break;
		}
		if (!S_ISDIR(est.st_mode) && !S_ISREG(est.st_mode) && !S_ISLNK(est.st_mode))
			continue; /* FIFOs, sockets, devices: left out (and nothing replaced) */
		if (S_ISLNK(est.st_mode) && (how & COPY_NO_LINKS))
			continue;
		struct stat tst;
		bool in_the_way = lstat(t, &tst) == 0 &&
			(S_ISDIR(est.st_mode) ? !S_ISDIR(tst.st_mode) : (how & COPY_OVER) || !S_ISREG(tst.st_mode));
		if (in_the_way && (r = rm_rf(t)) < 0)
			break;
		if (S_ISDIR(est.st_mode)) {
			r = copy_tree_in(s, t, how, depth + 1);
		} else if (S_ISLNK(est.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(s, target, sizeof(target) - 1);
			if (n < 0) {
				r = -errno;
				break;
			}
			target[n] = '\0';
			(void)unlink(t);
			if (symlink(target, t) < 0)
				r = -errno;
		} else {
			struct stat safe = est;
			safe.st_mode = (est.st_mode & S_IFMT) | copy_mode(est.st_mode, how);
			r = copy_file_plain(s, t, &safe, how & COPY_OVER);
		}
	}
	closedir(d);
	if (r == 0 && (how & COPY_SAFE_MODES))
		(void)chmod(dst, copy_mode(st.st_mode, how)); /* (a dst that was there keeps none of its bits) */
	return r;
}

int copy_tree(const char *src, const char *dst) { return copy_tree_in(src, dst, 0, 0); }

int copy_tree_over(const char *src, const char *dst) { return copy_tree_in(src, dst, COPY_OVER, 0); }

int copy_tree_untrusted(const char *src, const char *dst, bool links)
{
	return copy_tree_in(src, dst, COPY_SAFE_MODES | (links ? 0 : COPY_NO_LINKS), 0);
}

struct owner {
	bool chown;
	uid_t uid;
	gid_t gid;
	bool writable;
};

static int chown_entry(int dirfd, const char *name, const struct stat *st, void *data)
{
	const struct owner *o = data;
	if (o->chown && fchownat(dirfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* (chown dropped a file's set-id bits: they stay dropped) */
	mode_t mode = (st->st_mode & 07777 & ~(S_ISDIR(st->st_mode) ? 0 : S_ISUID | S_ISGID)) | S_IWUSR;
	if (o->writable && !S_ISLNK(st->st_mode) && !(st->st_mode & S_IWUSR) && fchmodat(dirfd, name, mode, 0) < 0)
		return -errno;
	return 0;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct owner o = { true, uid, gid, false };
	return walk_post(AT_FDCWD, path, chown_entry, &o, false);
}

static int take_entry(int dirfd, const char *name, const struct stat *st, void *data)
{
	bool chown = *(const bool *)data;
	if (chown && fchownat(dirfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return 0; /* links (lchown'd), and what is no file to keep */
	/* by fd: an entry swapped for a link meanwhile is never followed */
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat now;
	if (fd < 0 || fstat(fd, &now) < 0 || now.st_ino != st->st_ino || now.st_dev != st->st_dev)
		return fd < 0 && errno == ELOOP ? 0 : -EAGAIN;
	mode_t mode = now.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID | S_IWGRP | S_IWOTH);
	return fchmod(fd, mode) < 0 ? -errno : 0;
}

int take_over_tree(const char *path, bool chown) { return walk_post(AT_FDCWD, path, take_entry, &chown, false); }

int hand_over_tree(const char *path, bool chown, uid_t uid, gid_t gid)
{
	struct owner o = { chown, uid, gid, true };
	return walk_post(AT_FDCWD, path, chown_entry, &o, false);
}

static char *temp_name_for(const char *path) { return xasprintf("%s.modforge-tmp.%ld", path, (long)getpid()); }

char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	return xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
}

void remove_stale_temps(const char *path)
{
	if (!*path)
		return;
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = parent_dir(path);
	_cleanup_free_ char *prefix = xasprintf("%s.modforge-tmp.", slash ? slash + 1 : path);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			_cleanup_free_ char *t = path_join(dir, de->d_name);
			unlink(t);
		}
	closedir(d);
}

int fsync_parent(const char *path)
{
	_cleanup_free_ char *dir = parent_dir(path);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

int copy_fd_atomic(int in, const char *dst, mode_t mode, uint64_t max)
{
	_cleanup_free_ char *tmp = temp_name_for(dst);
	(void)unlink(tmp);
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (out < 0)
		return -errno;
	int r = copy_fd_contents(in, out, max);
	if (r == 0 && fchmod(out, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (close(out) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_parent(dst);
}

int copy_file_atomic(const char *src, const char *dst, mode_t mode)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	return copy_fd_atomic(in, dst, mode, UINT64_MAX);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *tmp = temp_name_for(path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = 0;
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_parent(path);
}

int symlink_atomic(const char *target, const char *linkpath)
{
	_cleanup_free_ char *tmp = temp_name_for(linkpath);
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -errno;
	if (rename(tmp, linkpath) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return fsync_parent(linkpath);
}

bool path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_symlink(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

bool is_regular(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool is_plain_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool is_plain_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int files_equal(const char *a, const char *b)
{
	_cleanup_close_ int fa = open(a, O_RDONLY | O_CLOEXEC);
	if (fa < 0)
		return -errno;
	_cleanup_close_ int fb = open(b, O_RDONLY | O_CLOEXEC);
	if (fb < 0)
		return -errno;
	char ba[65536], bb[65536];
	for (;;) {
		ssize_t na = read(fa, ba, sizeof(ba));
		if (na < 0)
			return -errno;
		ssize_t got = 0;
		while (got < na) {
			ssize_t nb = read(fb, bb + got, (size_t)(na - got));
			if (nb < 0)
				return -errno;
			if (nb == 0)
				return 0;
			got += nb;
		}
		if (na == 0) {
			ssize_t nb = read(fb, bb, 1);
			return nb == 0 ? 1 : 0;
		}
		if (memcmp(ba, bb, (size_t)na) != 0)
			return 0;
	}
}

void rmdir_empty_upto(const char *dir, const char *stop)
{
	_cleanup_free_ char *p = xstrdup(dir);
	size_t stoplen = strlen(stop);
	while (strlen(p) > stoplen && strncmp(p, stop, stoplen) == 0) {
		if (rmdir(p) < 0)
			return;
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			return;
		*slash = '\0';
	}
}

char *real_path(const char *path) { return realpath(path, NULL); }

char *read_link(const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	return xstrdup(target);
}

char *find_in_path(const char *name, const char *search_path)
{
	if (!*name || strchr(name, '/') || !search_path)
		return NULL;
	_cleanup_free_ char *dirs = xstrdup(search_path);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = path_join(d, name);
		if (is_regular(p) && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* mounts.c - read-only root, private /tmp, minimal /dev, hidden paths, binds, /proc.
 *
 * The order matters: sources are opened (O_PATH) before anything is covered, so a path
 * under a hidden dir or under /tmp can still be bound back; the whole tree turns
 * read-only before the writable binds, which are then the only rw host mounts.
 */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/failure.h"
#include "common/macro.h"
#include "policy.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

/* The first version of the kernel's struct mount_attr. */
struct mount_attr_v0 {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define MAX_PATHS 64

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom" };

/* A path to show again after the tree is covered, held open by fd. */
struct bind {
	const char *path;
	int fd;
	bool dir;
	bool rw;
};

/* Everything opened before the first mount; owned by mounts_setup, closed at its end. */
struct sources {
	int dev[ARRAY_SIZE(dev_nodes)]; /* -1 where the host has no such node */
	struct bind binds[MAX_PATHS];
	size_t n_binds;
};

static void sources_close(struct sources *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->dev); i++)
		if (s->dev[i] >= 0)
			close(s->dev[i]);
	for (size_t i = 0; i < s->n_binds; i++)
		close(s->binds[i].fd);
}

/* Opens src (O_PATH) to be bound at target later. Returns 0 or -errno (named in why). */
static int open_bind(struct sources *s, const char *src, const char *target, bool rw, struct failure *why)
{
	struct stat st;
	if (s->n_binds == MAX_PATHS)
		return failure_set(why, E2BIG, "bind", src);
	int fd = open(src, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return failure_set(why, errno, "open", src);
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return failure_set(why, e, "fstat", src);
	}
	s->binds[s->n_binds++] = (struct bind){ target, fd, S_ISDIR(st.st_mode), rw };
	return 0;
}

/* Adds each path of list (may be NULL) as a bind at its own path. Returns 0 or -errno. */
static int open_binds(struct sources *s, const char *const *list, bool rw, struct failure *why)
{
	int r = 0;
	for (const char *const *p = list; r == 0 && p && *p; p++)
		r = open_bind(s, *p, *p, rw, why);
	return r;
}

/* Adds the (source, target) pairs of list as read-write binds at the targets. */
static int open_binds_at(struct sources *s, const char *const *list, struct failure *why)
{
	int r = 0;
	for (const char *const *p = list; r == 0 && p && p[0] && p[1]; p += 2)
		r = open_bind(s, p[0], p[1], true, why);
	return r;
}

static int open_sources(struct sources *s, const struct sandbox_policy *p, struct failure *why)
{
	char path[32];
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		s->dev[i] = open(path, O_PATH | O_CLOEXEC);
		if (s->dev[i] < 0 && (i == 0 || errno != ENOENT))
			return failure_set(why, errno, "open", path); /* /dev/null is needed, the others are optional */
	}
	int r = open_binds(s, p->readonly, false, why);
	if (r == 0)
		r = open_binds(s, p->writable, true, why);
	return r < 0 ? r : open_binds_at(s, p->writable_at, why);
}

/* Returns the MS_* flags a bind remount of path must keep (those the kernel locks in a
 * user namespace: nosuid, nodev, noexec, atime), plus MS_RDONLY if it is read-only. */
static int kept_flags(const char *path, unsigned long *flags, struct failure *why)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return failure_set(why, errno, "statvfs", path);
	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (sv.f_flag & map[i].st)
			*flags |= map[i].ms;
	if (!(sv.f_flag & (ST_NOATIME | ST_RELATIME)))
		*flags |= MS_STRICTATIME;
	return 0;
}

/* Remounts the mount at path read-only (ro) or read-write, adding the flags in add. */
static int remount(const char *path, bool ro, unsigned long add, struct failure *why)
{
	unsigned long f = 0;
	int r = kept_flags(path, &f, why);
	if (r < 0)
		return r;
	f = ro ? f | MS_RDONLY : f & ~MS_RDONLY;
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | f | add, NULL) < 0)
		return failure_set(why, errno, "mount", path);
	return 0;
}

/* Turns the octal escapes of a mountinfo field (\040 for a space ...) back into bytes. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int mounts_remount_each_ro(struct failure *why)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return failure_set(why, errno, "open", "/proc/self/mountinfo");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint options ... */
		char *field = line;
		for (int i = 0; i < 4 && field; i++) {
			field = strchr(field, ' ');
			field = field ? field + 1 : NULL;
		}
		char *end = field ? strchr(field, ' ') : NULL;
		if (!end)
			continue;
		*end = '\0';
		unescape(field);
		struct failure one = { 0 };
		r = remount(field, true, 0, &one);
		if (r == -ENOENT || r == -EACCES || r == -ENOTDIR)
			r = 0; /* covered or unreachable: the build cannot reach it either */
		else if (r < 0)
			failure_set(why, one.err, one.call, one.path);
	}
	free(line);
	fclose(f);
	return r;
}

/* Makes the whole tree read-only, in one call where the kernel has mount_setattr. */
static int make_all_ro(struct failure *why)
{
	struct mount_attr_v0 a = { .attr_set = MOUNT_ATTR_RDONLY };
	if (syscall(__NR_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &a, sizeof(a)) == 0)
		return 0;
	if (errno != ENOSYS)
		return failure_set(why, errno, "mount_setattr", "/");
	return mounts_remount_each_ro(why);
}

/* Creates path (a dir, or an empty file) and missing parents where it does not exist.
 * Only succeeds inside the sandbox's own tmpfs mounts; the rest is read-only. */
static int make_mountpoint(const char *path, bool dir, struct failure *why)
{
	struct stat st;
	char buf[4096];
	if (stat(path, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return failure_set(why, errno, "stat", path);
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return failure_set(why, ENAMETOOLONG, "mkdir", path);
	memcpy(buf, path, n + 1);
	for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return failure_set(why, errno, "mkdir", buf);
		*s = '/';
	}
	if (dir)
		return mkdir(path, 0755) < 0 && errno != EEXIST ? failure_set(why, errno, "mkdir", path) : 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return failure_set(why, errno, "open", path);
	close(fd);
	return 0;
}

/* Bind-mounts what fd refers to onto path (flags: MS_REC or 0). */
static int bind_fd(int fd, const char *path, unsigned long flags, struct failure *why)
{
	char src[32];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	return mount(src, path, NULL, MS_BIND | flags, NULL) < 0 ? failure_set(why, errno, "mount", path) : 0;
}

/* A read-only tmpfs /dev holding binds of the host's harmless device nodes. */
static int setup_dev(const struct sources *s, struct failure *why)
{
	static const char *const links[][2] = {
		{ "/dev/fd", "/proc/self/fd" },
		{ "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" },
		{ "/dev/stderr", "/proc/self/fd/2" },
	};
	char path[32];
	int r = 0;
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return failure_set(why, errno, "mount", "/dev");
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dev_nodes); i++) {
		if (s->dev[i] < 0)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		r = make_mountpoint(path, false, why);
		if (r == 0)
			r = bind_fd(s->dev[i], path, 0, why);
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(links); i++)
		if (symlink(links[i][1], links[i][0]) < 0)
			r = failure_set(why, errno, "symlink", links[i][0]);
	if (r == 0 && mkdir("/dev/shm", 01777) < 0)
		r = failure_set(why, errno, "mkdir", "/dev/shm");
	return r < 0 ? r : remount("/dev", true, 0, why);
}

/* Covers each hidden path with an empty tmpfs (a dir) or /dev/null (a file); sets
 * covered[i] for the tmpfs ones. Missing or unreachable paths are skipped. */
static int hide(const char *const *hidden, const struct sources *s, bool *covered, struct failure *why)
{
	size_t i = 0;
	for (const char *const *p = hidden; p && *p; p++, i++) {
		struct stat st;
		if (i == MAX_PATHS)
			return failure_set(why, E2BIG, "hide", *p);
		if (stat(*p, &st) < 0) {
			if (errno == ENOENT || errno == EACCES || errno == ENOTDIR)
				continue;
			return failure_set(why, errno, "stat", *p);
		}
		if (!S_ISDIR(st.st_mode)) {
			int r = bind_fd(s->dev[0], *p, 0, why);
			if (r < 0)
				return r;
			continue;
		}
		if (mount("tmpfs", *p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") < 0)
			return failure_set(why, errno, "mount", *p);
		covered[i] = true;
	}
	return 0;
}

/* Turns the hidden tmpfs mounts read-only, once the mountpoints below them exist. */
static int seal_hidden(const char *const *hidden, const bool *covered, struct failure *why)
{
	size_t i = 0;
	for (const char *const *p = hidden; p && *p; p++, i++) {
		if (!covered[i])
			continue;
		int r = remount(*p, true, MS_NOSUID | MS_NODEV | MS_NOEXEC, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int bind_all(const struct sources *s, struct failure *why)
{
	for (size_t i = 0; i < s->n_binds; i++) {
		const struct bind *b = &s->binds[i];
		int r = bind_fd(b->fd, b->path, MS_REC, why);
		if (r == 0)
			r = remount(b->path, !b->rw, MS_NOSUID | MS_NODEV, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int setup(const struct sandbox_policy *p, const struct sources *s, struct failure *why)
{
	bool covered[MAX_PATHS] = { false };
	/* The first mount: refused only when the namespace was given no capabilities
	 * (AppArmor's userns restriction), which is the same as having none. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		int r = failure_set(why, errno, "mount", "/");
		return r == -EPERM || r == -EACCES ? -SANDBOX_ENOUSERNS : r;
	}
	int r = make_all_ro(why);
	if (r == 0)
		r = setup_dev(s, why);
	char tmp_opts[64];
	snprintf(tmp_opts, sizeof(tmp_opts), "mode=1777,size=%llu",
		 p->limits.tmp_size ? p->limits.tmp_size : 1ULL << 30);
	if (r == 0 && mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_opts) < 0)
		r = failure_set(why, errno, "mount", "/tmp");
	if (r == 0)
		r = hide(p->hidden, s, covered, why);
	for (size_t i = 0; r == 0 && i < s->n_binds; i++)
		r = make_mountpoint(s->binds[i].path, s->binds[i].dir, why);
	if (r == 0)
		r = seal_hidden(p->hidden, covered, why);
	if (r == 0)
		r = bind_all(s, why);
	if (r == 0 && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		r = failure_set(why, errno, "mount", "/proc");
	/* A sysfs of the new net namespace, so the host's interfaces are not listed; EPERM
	 * (masked /sys in a container) keeps the host's, read-only: no build needs either. */
	if (r == 0 && !p->allow_net &&
	    mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EPERM)
		r = failure_set(why, errno, "mount", "/sys");
	return r;
}

int mounts_setup(const struct sandbox_policy *p, const char *cwd, struct failure *why)
{
	struct sources s = { .n_binds = 0 };
	for (size_t i = 0; i < ARRAY_SIZE(s.dev); i++)
		s.dev[i] = -1;
	int r = open_sources(&s, p, why);
	if (r == 0)
		r = setup(p, &s, why);
	sources_close(&s);
	if (r == 0 && chdir(cwd) < 0)
		r = failure_set(why, errno, "chdir", cwd);
	return r;
}

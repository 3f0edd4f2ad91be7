/* userns.c - dropping root, entering a user namespace, and saying why that failed. */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/failure.h"
#include "policy.h"

/* Writes s to path. Returns 0 or -errno (named in why). */
static int write_file(const char *path, const char *s, struct failure *why)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return failure_set(why, errno, "open", path);
	size_t n = strlen(s);
	ssize_t w = write(fd, s, n);
	int e = w < 0 ? errno : (size_t)w != n ? EIO : 0;
	close(fd);
	return e ? failure_set(why, e, "write", path) : 0;
}

/* Root becomes uid/gid for good: no way back, no supplementary groups. */
static int drop_root(uid_t uid, gid_t gid, struct failure *why)
{
	if (setgroups(0, NULL) < 0)
		return failure_set(why, errno, "setgroups", NULL);
	if (setresgid(gid, gid, gid) < 0)
		return failure_set(why, errno, "setresgid", NULL);
	if (setresuid(uid, uid, uid) < 0)
		return failure_set(why, errno, "setresuid", NULL);
	/* The uid change made us non-dumpable, which makes /proc/self/uid_map root's. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return failure_set(why, errno, "prctl", NULL);
	return 0;
}

int userns_enter(uid_t uid, gid_t gid, struct failure *why)
{
	uid_t u = geteuid();
	gid_t g = getegid();
	char map[64];
	int r;

	if (u == 0) {
		u = uid ? uid : SANDBOX_BUILD_UID_DEFAULT;
		g = gid ? gid : SANDBOX_BUILD_GID_DEFAULT;
		if (u == 0 || g == 0)
			return failure_set(why, EINVAL, "setresuid", NULL);
		r = drop_root(u, g, why);
		if (r < 0)
			return r;
	}
	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;
		failure_set(why, e, "unshare", NULL);
		/* EPERM: disabled by sysctl or LSM or a container's seccomp; EINVAL: no
		 * CONFIG_USER_NS; ENOSPC/EUSERS: user.max_user_namespaces reached. */
		if (e == EPERM || e == EINVAL || e == ENOSPC || e == EUSERS || e == ENOSYS)
			return -SANDBOX_ENOUSERNS;
		return -e;
	}
	r = write_file("/proc/self/setgroups", "deny", why);
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)u, (unsigned)u);
		r = write_file("/proc/self/uid_map", map, why);
	}
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)g, (unsigned)g);
		r = write_file("/proc/self/gid_map", map, why);
	}
	return r == -SANDBOX_ENOUSERNS ? -EIO : r;
}

/* The probe's child: enters the namespace and tries one mount, as a build would. */
static int probe_child(const struct sandbox_policy *p)
{
	int r = userns_enter(p->build_uid, p->build_gid, NULL);
	if (r < 0)
		return -r;
	if (unshare(CLONE_NEWNS) < 0)
		return errno == EPERM ? SANDBOX_ENOUSERNS : errno;
	/* An LSM (AppArmor's userns restriction) may leave the namespace without caps. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errno == EPERM || errno == EACCES ? SANDBOX_ENOUSERNS : errno;
	return 0;
}

int sandbox_probe(const struct sandbox_policy *policy)
{
	static const struct sandbox_policy none = { 0 };
	fflush(NULL);
	pid_t c = fork();
	if (c < 0)
		return -errno;
	if (c == 0)
		_exit(probe_child(policy ? policy : &none) & 0xff);
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st))
		return -EIO;
	return -WEXITSTATUS(st);
}

/* Returns the number in a one-number /proc/sys file, or -1 if it cannot be read. */
static long read_sysctl(const char *path)
{
	char b[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = '\0';
	return strtol(b, NULL, 10);
}

const char *sandbox_userns_hint(void)
{
	if (access("/proc/self/ns/user", F_OK) < 0)
		return "this kernel has no user namespaces (built without CONFIG_USER_NS)";
	if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		return "unprivileged user namespaces are off: set sysctl kernel.unprivileged_userns_clone=1";
	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		return "user namespaces are limited to none: set sysctl user.max_user_namespaces=15000 "
		       "(it is 0)";
	if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		return "AppArmor restricts unprivileged user namespaces: set sysctl "
		       "kernel.apparmor_restrict_unprivileged_userns=0 or give modforge an AppArmor "
		       "profile with the userns permission";
	return "user namespaces cannot be created here (a container whose seccomp profile denies "
	       "unshare, or user.max_user_namespaces exhausted); run on the host or allow "
	       "unshare";
}

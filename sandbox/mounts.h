/* mounts.h - the sandbox's view of the filesystem, built in its own mount namespace.
 *
 * What stays true: after mounts_setup succeeds nothing of the mount namespace propagates
 * to or from the host; every mount is read-only except the policy's writable paths
 * (nosuid, nodev) and a private /tmp (tmpfs, nosuid, nodev); /dev is a read-only tmpfs
 * with null zero full random urandom and the /proc/self/fd links; /proc belongs to the
 * caller's (new) pid namespace; each hidden path is an empty read-only tmpfs, with only
 * the readonly and writable paths below it shown again. Host paths keep their names.
 * /sys is a fresh read-only sysfs of the new net namespace (without allow_net), or, where
 * the kernel refuses that (a container that masks parts of /sys), the host's, read-only.
 */
#ifndef MODFORGE_SANDBOX_MOUNTS_H
#define MODFORGE_SANDBOX_MOUNTS_H

struct sandbox_policy;

struct failure;

/* Sets up the mounts described by policy and changes to cwd. Runs as pid 1 of a new pid
 * namespace, in a new mount namespace owned by the current user namespace, with its
 * capabilities. Returns 0 or -errno; why (may be NULL) names the failed call and path. */
int mounts_setup(const struct sandbox_policy *policy, const char *cwd, struct failure *why);
/* Makes every mount of the namespace read-only, one remount per /proc/self/mountinfo
 * line: what mounts_setup falls back to on kernels without mount_setattr (< 5.12).
 * Mounts that cannot be reached are left (nothing else can reach them). Returns 0 or
 * -errno. */
int mounts_remount_each_ro(struct failure *why);

#endif

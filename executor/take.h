/* take.h - how the privileged side takes a file that a build (an untrusted user) wrote.
 *
 * A build area belongs to the build user, who may leave anything in it: a symlink to the
 * signing key, a hard link, a FIFO, a 4 GiB sparse file, or swap one for another while
 * root looks. So a file is taken only this way:
 *   - named relative to the area's directory fd, which root opened itself;
 *   - looked up once, as an O_PATH fd (which opens nothing: no device, FIFO or lease
 *     acts on it), never through a symbolic link in any component, never out of the
 *     area nor onto another filesystem (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV; where openat2 is missing, one O_NOFOLLOW
 *     openat per component, refusing ".." and a change of st_dev);
 *   - accepted only if that fd is a regular file, owned by the expected uid, with one
 *     link, and no larger than the limit;
 *   - then opened for reading through /proc/self/fd/N (the same inode, not a path; with
 *     O_NONBLOCK, so a lease cannot stall root; device and inode compared), and read
 *     through that fd into a new root-owned file, its size bounded again while copying
 *     (the file may grow meanwhile).
 * Whatever the build user does meanwhile, what root reads is an inode the build user
 * owned and could read anyway: no other file's bytes can be steered into the result.
 *
 * Returns 0, -ENOENT (no such file), -EPERM (refused: *why says why, e.g. "is a symbolic
 * link; a build result must be a regular file"), or another -errno (*why says it too).
 */
#ifndef MODFORGE_TAKE_H
#define MODFORGE_TAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct buf;

/* The largest build result taken: far above a module's size, far below a file meant to
 * fill the disk or to keep root reading. */
#define TAKE_MAX_BYTES (512ULL << 20)

struct take_rules {
	uid_t owner;        /* the uid the file must belong to: the build user */
	uint64_t max_bytes; /* 0: TAKE_MAX_BYTES */
	bool no_openat2;    /* tests: use the per-component walk even where openat2 exists */
};

/* Opens rel below area_fd under the rules; *fd_out is a read-only fd (O_CLOEXEC) on
 * success, which the caller closes. */
int take_open(int area_fd, const char *rel, const struct take_rules *rules, int *fd_out, struct buf *why);
/* Opens rel as take_open does and copies it to dst (temp + fsync + rename) with mode. */
int take_file(int area_fd, const char *rel, const struct take_rules *rules, const char *dst, mode_t mode,
	      struct buf *why);
/* Looks rel up below area_fd without leaving the area (symlinks are followed only while
 * they stay inside it; never magic links or other filesystems) and fills *st. For the
 * checks dkms makes on a path (is the patch there, is the script executable), so that
 * root's answer never describes a file outside the area. Returns 0 or -errno. */
int take_stat(int area_fd, const char *rel, struct stat *st);

#endif

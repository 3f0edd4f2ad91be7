/* fsutil.h - file system helpers: every function returns 0 or -errno and never prints.
 *
 * Paths are absolute or relative to the cwd; nothing here follows a policy of its own
 * (the caller decides what may be touched).
 */
#ifndef MODFORGE_FSUTIL_H
#define MODFORGE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdir -p with the given mode for created dirs. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf; a missing path is success. */
int rm_rf(const char *path);
/* cp -a of the contents of src into dst (dst created if missing); symlinks copied as links,
 * regular files opened without following one; FIFOs, sockets and devices are left out;
 * what dst holds in the way (a link or file where a directory goes, a link where a file
 * goes) is replaced, never written through. */
int copy_tree(const char *src, const char *dst);
/* copy_tree over an existing dst: an entry of dst that src also has is replaced when it is
 * not a directory on both sides (a symlink there is removed, never followed); the rest of
 * dst stays. src's links are followed (it is the admin's: /etc/dkms/<module>/patches). */
int copy_tree_over(const char *src, const char *dst);
/* copy_tree of a tree that came from an archive: no set-id bits, no group or other write;
 * without links, its symlinks are left out (a loaded result). */
int copy_tree_untrusted(const char *src, const char *dst, bool links);
/* Takes a tree an unprivileged step wrote over: root's (when chown), no set-id bits, no
 * group or other write, walked by fd without following a link. */
int take_over_tree(const char *path, bool chown);
/* chown -R (symlinks themselves, never their targets; walked by fd without following a
 * link; a directory is handed over after its contents). */
int chown_tree(const char *path, uid_t uid, gid_t gid);
/* Makes a private copy its user's as root's was: chown -R (when chown) and u+w on every
 * file and directory (links left alone), walked as chown_tree. */
int hand_over_tree(const char *path, bool chown, uid_t uid, gid_t gid);
/* Copies one regular file, keeping its mode; dst written as temp + fsync + rename. */
int copy_file_atomic(const char *src, const char *dst, mode_t mode);
/* Copies what is left to read of in to dst (temp + fsync + rename, a new file of the
 * caller's uid with mode). More than max bytes: -EFBIG, and dst is not written. */
int copy_fd_atomic(int in, const char *dst, mode_t mode, uint64_t max);
/* The directory part of path, newly allocated: "." without a '/', "/" for "/x". */
char *parent_dir(const char *path);
/* Deletes the temp files (<path>.modforge-tmp.<pid>) that killed atomic writes of path
 * (copy_file_atomic, write_file_atomic, symlink_atomic) left behind. */
void remove_stale_temps(const char *path);
/* fsyncs the directory holding path (after a rename into it). Returns 0 or -errno. */
int fsync_parent(const char *path);
/* Writes data to path as temp + fsync + rename in the same directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Replaces (or creates) a symlink at linkpath pointing to target, atomically. */
int symlink_atomic(const char *target, const char *linkpath);
bool path_exists(const char *path);
bool is_dir(const char *path); /* follows symlinks */
bool is_symlink(const char *path);
bool is_regular(const char *path); /* follows symlinks */
/* A regular file, a directory, itself (not a link to one). */
bool is_plain_file(const char *path);
bool is_plain_dir(const char *path);
/* Returns 1 if both files have identical bytes, 0 if not, -errno on error. */
int files_equal(const char *a, const char *b);
/* Removes dir and then its parents up to (not including) stop while they are empty. */
void rmdir_empty_upto(const char *dir, const char *stop);
/* Returns a newly allocated absolute, symlink-resolved path, or NULL (errno set). */
char *real_path(const char *path);
/* Returns the newly allocated text of the symlink path, or NULL (not a link: errno set). */
char *read_link(const char *path);
/* Returns the executable regular file name found in the ':'-separated directories of
 * search_path (newly allocated), or NULL. A name with a '/' is not searched: NULL. */
char *find_in_path(const char *name, const char *search_path);
/* Returns a newly allocated path a/b. */
char *path_join(const char *a, const char *b);

#endif

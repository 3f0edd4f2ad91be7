/* treelock.h - one lock per dkms tree (flock on <dkms_tree>/.modforge/lock).
 *
 * Writers (every change of the tree or of the install tree: add, install, uninstall,
 * unbuild, depmod, remove, journal recovery) hold it exclusively for the change only, not
 * for builds; readers (status) hold it shared, so they never see a change half-done.
 * A build of one (module, version, kernel, arch) is serialised by its own lock instead
 * (file_lock on a file in <dkms_tree>/.modforge/locks/<m>/<v>/), so concurrent runs never
 * share a build area.
 * Waiting longer than 2 s prints one line saying what is waited for. Locks die with the
 * process (flock), so a killed run never leaves the tree locked. Debian's dkms takes no
 * lock: a dkms run beside modforge is not held off (dkms runs are not among themselves).
 */
#ifndef MODFORGE_TREELOCK_H
#define MODFORGE_TREELOCK_H

#include <stdbool.h>
#include <stdio.h>

/* Takes the tree lock (exclusive or shared), waiting, and sets *fd to the lock's fd. A
 * tree the caller cannot write (an ordinary user reading root's tree) is locked shared
 * through a read-only fd if the lock file exists, else not at all (*fd = -1). Returns 0,
 * or -errno (then *fd = -1). Messages about waiting go to err. */
int tree_lock(const char *dkms_tree, bool exclusive, FILE *err, int *fd);
/* Takes the exclusive lock of the file path (created 0644 if missing, with its directory),
 * waiting; what names the holder in the waiting message. Returns the fd or -errno. */
int file_lock(const char *path, const char *what, FILE *err);
/* Whether another process holds the lock of the file path now (never waits). */
bool file_lock_held(const char *path);
/* Releases a lock from tree_lock / file_lock (fd < 0: nothing). */
void tree_unlock(int fd);

#endif

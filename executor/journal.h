/* journal.h - the installer's record of one multi-file change, so that nothing is ever
 * left half-done.
 *
 * A change (install, uninstall, remove of one module/version on one kernel) is first
 * written as a list of steps to <dkms_tree>/.modforge/journal (temp + fsync + rename),
 * then carried out, then the journal is deleted. Every step can be done again and undone
 * again without harm (each checks the state it finds):
 *   - an error part-way undoes the steps done, in reverse: the state is as before;
 *   - a crash part-way (kill -9, power loss) leaves the journal; journal_recover, run
 *     by the next command under the tree's exclusive lock, does every step again (a
 *     step already done finds nothing to do) and deletes it: the change is finished.
 * Temp files of the atomic writes a step makes (<path>.modforge-tmp.<pid>) are deleted
 * by the recovery. Paths may not contain tabs or newlines (-EINVAL when added).
 * Callers hold the tree's exclusive lock (executor/treelock.h) throughout.
 */
#ifndef MODFORGE_JOURNAL_H
#define MODFORGE_JOURNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "common/strv.h"

enum journal_step {
	J_ARCHIVE, /* a=file in the kernel tree, b=archive path (b.origin names a) */
	J_COPY,    /* a=built module, b=destination, c=the deepest existing directory above b
		      * (undo deletes the emptied ones below it), d=identity of the file at b
		      * when planned (another version's module; "" if none): that file is
		      * kept as b.modforge-prev until the change is whole, put back on undo */
	J_LINK,    /* a=link target, b=link path: the kernel-<k>-<a> marker, c=the target it
		      * had when planned ("" if none), put back on undo */
	J_DELETE,  /* a=installed module, b=the built module (undo copies it back), c=top of
		      * the kernel tree (rmdir), d=identity of a ("inode:size") when planned: a
		      * file that is not that one any more (a restored original) is kept */
	J_RESTORE, /* a=archived original (a.origin), b=where it goes back (replaced) */
	J_UNLINK,  /* a=link target it must have, b=link path */
	J_RMTREE,  /* a=directory deleted with everything in it (no undo) */
	J_DEPMOD,  /* a=kernel: leaves <dkms_tree>/.modforge/depmod-pending/<kernel> */
};

struct journal {
	char *dkms_tree;
	char *what;        /* e.g. "install of m/v for k (a)", for messages */
	struct strv lines; /* "kind\ta\tb\tc\td" */
};

void journal_init(struct journal *j, const char *dkms_tree, const char *what);
void journal_release(struct journal *j);
/* Adds a step (b, c, d may be NULL). Returns 0 or -EINVAL. */
int journal_add(struct journal *j, enum journal_step kind, const char *a, const char *b, const char *c, const char *d);
/* The identity J_DELETE checks: "inode:size" of path (lstat), or NULL if it is missing. */
char *journal_identity(const char *path);
/* Writes the journal, runs every step, deletes it. On a step's error, undoes the steps
 * done and deletes it; err gets one line naming the step, path and strerror.
 * Returns 0 or -errno. */
int journal_run(struct journal *j, FILE *err);
/* If a journal was left by a crash: finishes it (out: one line saying so). Returns 1 if
 * one was finished, 0 if there was none, -errno on failure (the journal is kept). */
int journal_recover(const char *dkms_tree, FILE *out, FILE *err);
/* Deletes the directory path (in the dkms tree) so that nobody ever sees half of it: one
 * rename into <dkms_tree>/.modforge/trash/, then rm -rf there (a crash leaves it in the
 * trash, which journal_empty_trash clears). Returns 0 or -errno; a missing path is 0. */
int journal_trash(const char *dkms_tree, const char *path);
/* Deletes what a killed run left in the trash. True if there was something. */
bool journal_empty_trash(const char *dkms_tree);
/* Kernels whose depmod is pending (a change finished, depmod not yet run), "k" each. */
void journal_pending_depmod(const char *dkms_tree, struct strv *kernels);
/* Marks depmod done for kernel. */
void journal_depmod_done(const char *dkms_tree, const char *kernel);

#endif

/* recover.h - before any command touches a tree: finish what a killed run left half-done
 * (executor/journal.h), and run the depmod a finished change still owes its kernel.
 */
#ifndef MODFORGE_RECOVER_H
#define MODFORGE_RECOVER_H

struct ctx;

/* Under the tree's exclusive lock, if the tree is writable and has a journal or a pending
 * depmod. Returns 0, or an exit code after printing why the tree cannot be used. */
int tree_recover(const struct ctx *c);

#endif

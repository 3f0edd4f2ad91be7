/* fixture.h - what the unit tests of the privileged side share: reading back what a
 * FILE* was given, and a listing of a fake root to compare before and after a change.
 * Failures are CHECKs (tap.h). */
#ifndef MODFORGE_TEST_FIXTURE_H
#define MODFORGE_TEST_FIXTURE_H

#include <stdio.h>

struct buf;

/* What was written to f since the last call must be want (NULL: not checked); f is
 * emptied. scratch receives the text read. */
void fixture_expect(FILE *f, const char *want, struct buf *scratch);
/* Lists root (but its dkms/.modforge: journal, marks) into b, sorted: every entry with its
 * type, mode and link target, every file's md5sum. */
void fixture_snapshot(const char *root, struct buf *b);

/* A new empty directory $TMPDIR/mf-<name>-XXXXXX (newly allocated path); exits 2 when it
 * cannot be made. */
char *fixture_tmpdir(const char *name);

#endif

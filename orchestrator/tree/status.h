/* status.h - `status` output: dkms 3.4.3's text lines, and JSON (schema/status.schema.json).
 *
 * Pure formatting over a struct tree snapshot: no file access here.
 * Text (reference §4.3), one line each, in tree order:
 *   "M/V: added", "M/V, K, A: built", "M/V, K, A: installed" (+ extras), "M/V: broken".
 * Broken entries also produce the stderr error text (written to err).
 */
#ifndef MODFORGE_STATUS_H
#define MODFORGE_STATUS_H

#include <stdbool.h>
#include <stdio.h>

struct tree;

struct status_filter {
	const char *module; /* NULL = any */
	const char *version;
	const char *kernel;
	const char *arch;
	bool dkms_text; /* text as dkms prints it: a broken version is its one line */
};

/* Writes the text lines to out and broken-module errors to err. */
void status_print_text(const struct tree *t, const struct status_filter *f, FILE *out, FILE *err);
/* Returns a newly allocated JSON document {"schema":"modforge.status/1","entries":[...]};
 * each module's "file" is its name inside the result's module/ dir. */
char *status_json(const struct tree *t, const struct status_filter *f);

#endif

/* confdump.h - reading the evaluator's NUL-separated records (format: executor/confeval.sh).
 *
 * Internal to the conf room (conf.c, conf_exclusive.c, confload.c) and its tests. A struct conf_dump points into
 * the caller's bytes (every field there is NUL-terminated, so pointers are C strings);
 * it owns only its arrays. Pure code.
 */
#ifndef MODFORGE_CONFDUMP_H
#define MODFORGE_CONFDUMP_H

#include <stdbool.h>
#include <stddef.h>

struct conf_var {
	const char *name;
	unsigned long index;
	const char *value;
};

struct conf_file {
	const char *path;
	const char *kind; /* "ok", "syntax" or "exit" */
	const char *status;
	size_t first_dep, n_deps; /* its "D" records in conf_dump.deps */
};

struct conf_dump {
	const char *kernelver, *arch;
	struct conf_file *files;
	size_t n_files;
	struct conf_var *deps; /* deprecated directives set after each file (value of [0]) */
	size_t n_deps;
	struct conf_var *vars; /* final values, in the evaluator's order */
	size_t n_vars;
	const char *aborted; /* exit status of a target shell that died, else NULL */
};

/* Splits the evaluator's whole output into per-target records: sets (*recs)[i], (*lens)[i]
 * to point into out (not copied) for i < *n. Returns 0 or -EINVAL on a malformed stream. */
int conf_split_dump(const char *out, size_t len, const char ***recs, size_t **lens, size_t *n);
/* Parses one target record ("T" ... "E"). Returns 0 or -EINVAL. */
int conf_dump_parse(const char *rec, size_t len, struct conf_dump *d);
void conf_dump_release(struct conf_dump *d);

/* NAME[index]; NULL when unset. */
const char *conf_dump_get(const struct conf_dump *d, const char *name, unsigned long index);
/* Non-empty NAME[index], else NULL (bash's [[ ${NAME[i]} ]]). */
const char *conf_dump_nonempty(const struct conf_dump *d, const char *name, unsigned long index);
/* ${#NAME[@]}: how many indices are set. */
size_t conf_dump_count(const struct conf_dump *d, const char *name);
/* The largest set index of NAME, or -1. */
long conf_dump_max_index(const struct conf_dump *d, const char *name);

/* Matches s against the POSIX extended regex re (bash's =~). Returns 1, 0, or -EINVAL
 * for a regex that does not compile. */
int conf_regex_match(const char *re, const char *s);

#endif

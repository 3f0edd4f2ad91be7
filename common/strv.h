/* strv.h - a NULL-terminated vector of owned strings (argv, envp, lists).
 *
 * Invariants: v->items[v->n] == NULL once anything was pushed; the vector owns every string.
 */
#ifndef MODFORGE_STRV_H
#define MODFORGE_STRV_H

#include <stddef.h>
#include "macro.h"

struct strv {
	char **items;
	size_t n;
	size_t cap;
};

/* clang-format off */
#define STRV_INIT { 0 }
/* clang-format on */

/* Takes ownership of s. */
void strv_push_owned(struct strv *v, char *s);
void strv_push(struct strv *v, const char *s);
void strv_pushf(struct strv *v, const char *fmt, ...) _printf_(2, 3);
void strv_release(struct strv *v);
/* Returns 1 if s is in v, else 0. */
int strv_contains(const struct strv *v, const char *s);
/* Sorts v with the given compare on strings. */
void strv_sort(struct strv *v, int (*cmp)(const char *, const char *));
/* Returns v->items, a valid (possibly empty) NULL-terminated array. */
char **strv_array(struct strv *v);

static inline void strv_releasep(struct strv *v) { strv_release(v); }
#define _cleanup_strv_ _cleanup_(strv_releasep)

#endif

/* buf.h - a growable byte buffer, always NUL-terminated (like git's strbuf).
 *
 * Invariants: after buf_init, b->data is never NULL and b->data[b->len] == '\0'.
 * buf_release frees and re-initialises; buf_detach hands the data to the caller.
 */
#ifndef MODFORGE_BUF_H
#define MODFORGE_BUF_H

#include <stddef.h>
#include "macro.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* The data of every empty buf that owns no memory (cap 0): "", never written. */
extern char buf_empty[];

/* Keeps the invariant without a call: data is "" until something is added. */
/* clang-format off */
#define BUF_INIT { buf_empty, 0, 0 }
/* clang-format on */

void buf_init(struct buf *b);
void buf_release(struct buf *b);
char *buf_detach(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_reset(struct buf *b);
/* Replaces b's text (b may be NULL) with the formatted message; returns r, so that a
 * library call can `return buf_fail(err, -EINVAL, "reading %s: ...", path);`. */
int buf_fail(struct buf *b, int r, const char *fmt, ...) _printf_(3, 4);
/* Reads all of fd into b. Returns 0 or -errno. */
int buf_read_fd(struct buf *b, int fd);
/* Reads a whole file into b. Returns 0 or -errno. */
int buf_read_file(struct buf *b, const char *path);

static inline void buf_releasep(struct buf *b) { buf_release(b); }
#define _cleanup_buf_ _cleanup_(buf_releasep)

#endif

/* xalloc.h - allocation that cannot fail: out of memory aborts with a message.
 *
 * modforge treats allocation failure as fatal (as git and samurai do); everything else
 * returns -errno.
 */
#ifndef MODFORGE_XALLOC_H
#define MODFORGE_XALLOC_H

#include <stddef.h>
#include "macro.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

#endif

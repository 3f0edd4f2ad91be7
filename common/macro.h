/* macro.h - small helpers shared by every room: cleanup attributes, ownership, array size.
 *
 * Invariants: cleanup_* helpers accept NULL / -1; steal_pointer() hands ownership out of a
 * cleanup-scoped variable so it is not freed on return.
 */
#ifndef MODFORGE_MACRO_H
#define MODFORGE_MACRO_H

#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_   __attribute__((warn_unused_result))
#define _unused_       __attribute__((unused))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

static inline void *steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) steal_ptr(pp)

#endif

/* context.c - reporting to the user for every room of the orchestrator: dkms's error()
 * and warn() texts (see context.h). Part of the library, so that no library code needs
 * the executable's main.c. */
#include "orchestrator/context.h"

#include <stdarg.h>
#include <stdio.h>

/* dkms's "<prefix><message>" on err, after whatever out holds. */
static void report(const struct ctx *c, const char *prefix, const char *fmt, va_list ap)
{
	fflush(c->out);
	fputs(prefix, c->err);
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	fflush(c->err);
}

void ctx_error(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(c, "\nError! ", fmt, ap);
	va_end(ap);
}

void ctx_warn(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(c, "Warning: ", fmt, ap);
	va_end(ap);
}

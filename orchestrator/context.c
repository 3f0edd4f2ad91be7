/* context.c - reporting to the user for every room of the orchestrator: dkms's error()
 * and warn() texts (see context.h). Part of the library, so that no library code needs
 * the executable's main.c. */
#include "context.h"

#include <stdarg.h>
#include <stdio.h>

void ctx_error(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	fflush(c->out);
	fputs("\nError! ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	fflush(c->err);
}

void ctx_warn(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	fflush(c->out);
	fputs("Warning: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	fflush(c->err);
}

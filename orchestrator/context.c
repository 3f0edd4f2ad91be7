/* context.c - reporting to the user for every room of the orchestrator: dkms's error()
 * and warn() texts (see context.h). Part of the library, so that no library code needs
 * the executable's main.c. */
#include "orchestrator/context.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int ctx_check_writable(const struct ctx *c, const char *what, const char *dir)
{
	if (access(dir, W_OK) == 0)
		return 0;
	if (errno == ENOENT || errno == ENOTDIR)
		ctx_error(c, "No write access to %s at %s: it does not exist.", what, dir);
	else if (errno == EACCES || errno == EPERM) /* dkms's words */
		ctx_error(c, "No write access to %s at %s", what, dir);
	else
		ctx_error(c, "No write access to %s at %s: %s.", what, dir, strerror(errno));
	return 1;
}

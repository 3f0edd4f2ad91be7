#include "tap.h"

#include <stdio.h>
#include <string.h>

static int n_checks, n_failed;

void tap_check(bool ok, const char *expr, const char *file, int line)
{
	n_checks++;
	if (!ok) {
		n_failed++;
		printf("not ok %d - %s (%s:%d)\n", n_checks, expr, file, line);
	} else {
		printf("ok %d - %s\n", n_checks, expr);
	}
}

void tap_check_str(const char *a, const char *b, const char *ea, const char *eb, const char *file, int line)
{
	bool ok = (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
	n_checks++;
	if (!ok) {
		n_failed++;
		printf("not ok %d - %s == %s (%s:%d)\n#   got:      \"%s\"\n#   expected: \"%s\"\n", n_checks, ea, eb,
		       file, line, a ? a : "(null)", b ? b : "(null)");
	} else {
		printf("ok %d - %s == %s\n", n_checks, ea, eb);
	}
}

int tap_done(void)
{
	printf("1..%d\n", n_checks);
	if (n_failed)
		printf("# %d of %d checks failed\n", n_failed, n_checks);
	return n_failed ? 1 : 0;
}

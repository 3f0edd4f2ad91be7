/* tap.h - a tiny test harness for the unit tests: TAP output, a failure count as exit code.
 *
 * CHECK(cond) records one assertion; CHECK_STR(a, b) compares strings (NULL-safe).
 * Each test file's main() calls its tests and returns tap_done().
 */
#ifndef MODFORGE_TAP_H
#define MODFORGE_TAP_H

#include <stdbool.h>

void tap_check(bool ok, const char *expr, const char *file, int line);
void tap_check_str(const char *a, const char *b, const char *ea, const char *eb, const char *file, int line);
int tap_done(void);

#define CHECK(c)        tap_check(!!(c), #c, __FILE__, __LINE__)
#define CHECK_STR(a, b) tap_check_str((a), (b), #a, #b, __FILE__, __LINE__)

#endif

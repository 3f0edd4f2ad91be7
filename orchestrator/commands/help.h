/* help.h - modforge's own help: every verb and option, in words (help.c). */
#ifndef MODFORGE_HELP_H
#define MODFORGE_HELP_H

#include <stddef.h>

struct strv;

/* `modforge --help`: usage, the verbs, every option. */
void help_all(const char *prog, struct strv *out);
/* `modforge help VERB`: what VERB does and the options it honours. Returns 0, or -1 for
 * a word that is no verb. */
int help_verb(const char *prog, const char *verb, struct strv *out);

#endif

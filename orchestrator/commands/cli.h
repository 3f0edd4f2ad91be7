/* cli.h - the command line: dkms 3.4.3's grammar parsed into a struct request.
 *
 * Grammar (reference §1.1): options and positional words in any order. Options that take a
 * value accept "--opt=value" or "--opt value"; -m -v -k -a -c -j take the next word. A
 * positional word is the action, a dkms.conf path or a directory holding one (a source
 * tree to add), another existing file (an archive), else module[/version]. -m M/V and
 * -k K/A split on the first '/'.
 *
 * cli_parse only parses; it prints nothing. Messages and exit codes for bad input come
 * back in struct cli_error so main() reports them exactly as dkms does.
 */
#ifndef MODFORGE_CLI_H
#define MODFORGE_CLI_H

#include <stdbool.h>

#include "orchestrator/request.h"

struct cli_error {
	int exit_code; /* 0 = no error */
	char *message; /* lines after "Error! ", newline-separated */
	bool show_usage;
};

/* Parses argv[1..]. Returns 0, or -EINVAL with *err filled. req must be zeroed. */
int cli_parse(int argc, char **argv, struct request *req, struct cli_error *err);
void request_release(struct request *req);
void cli_error_release(struct cli_error *err);
/* The action word at most 2 edits away from w (a typo's likely meaning), or NULL. */
const char *action_nearest(const char *w);
/* Returns the action's canonical word ("add", ...), or "" for ACT_NONE. */
const char *action_name(enum action a);
/* The i-th option the command line accepts ("-m", "--module", ...), NULL past the last. */
const char *cli_option_name(size_t i);
/* The i-th action word ("add", ...), NULL past the last. */
const char *cli_action_word(size_t i);
/* Writes dkms's usage text, with prog as $0. */
void cli_usage(const char *prog, struct strv *lines);

#endif

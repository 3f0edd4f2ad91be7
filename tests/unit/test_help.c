/* test_help.c - nothing the command line accepts is left out of what describes it:
 * every verb and option is in `modforge --help`, has a `help VERB` (verbs), and is in the
 * man page and both completions (their sources, found from MODFORGE_SRC or this file's
 * directory). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "orchestrator/commands/cli.h"
#include "orchestrator/commands/help.h"
#include "tap.h"

/* word occurs in text, not as part of a longer option or name. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; (p = strstr(p, word)); p++) {
		bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-' || p[-1] == '_');
		bool right = !(isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_');
		if (left && right)
			return true;
	}
	return false;
}

static char *joined(struct strv *lines)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < lines->n; i++)
		buf_addf(&b, "%s\n", lines->items[i]);
	strv_release(lines);
	return b.data;
}

/* The file's text, roff's "\-" read as "-". */
static char *source_text(const char *rel)
{
	const char *src = getenv("MODFORGE_SRC");
	_cleanup_free_ char *here = src ? xstrdup(src) : parent_dir(__FILE__);
	_cleanup_free_ char *path = src ? path_join(here, rel) : xasprintf("%s/../../%s", here, rel);
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, path) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		buf_release(&b);
		return xstrdup("");
	}
	char *t = b.data;
	size_t w = 0;
	for (size_t r = 0; t[r]; r++) {
		if (t[r] == '\\' && t[r + 1] == '-')
			continue;
		t[w++] = t[r];
	}
	t[w] = '\0';
	return t;
}

static void covers(const char *what, const char *text)
{
	for (size_t i = 0; cli_option_name(i); i++) {
		bool ok = has_word(text, cli_option_name(i));
		if (!ok)
			fprintf(stderr, "# %s lacks %s\n", what, cli_option_name(i));
		CHECK(ok);
	}
	for (size_t i = 0; cli_action_word(i); i++) {
		bool ok = has_word(text, cli_action_word(i));
		if (!ok)
			fprintf(stderr, "# %s lacks %s\n", what, cli_action_word(i));
		CHECK(ok);
	}
}

int main(void)
{
	struct strv lines = STRV_INIT;
	help_all("modforge", &lines);
	char *all = joined(&lines);
	covers("modforge --help", all);
	free(all);
	for (size_t i = 0; cli_action_word(i); i++) {
		lines = (struct strv)STRV_INIT;
		CHECK(help_verb("modforge", cli_action_word(i), &lines) == 0);
		char *t = joined(&lines);
		CHECK(strncmp(t, "Usage: modforge ", 16) == 0);
		free(t);
	}
	lines = (struct strv)STRV_INIT;
	CHECK(help_verb("modforge", "instal", &lines) == -1);
	strv_release(&lines);
	static const char *const docs[] = { "man/modforge.8", "completion/modforge.bash", "completion/_modforge" };
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char *t = source_text(docs[i]);
		CHECK(*t);
		covers(docs[i], t);
		free(t);
	}
	return tap_done();
}

/* progress.h - one status line on the terminal while a plan runs, ninja-style:
 * "[done/total] m/v kernel 12s, m/v kernel 3s", redrawn in place, cut to the terminal's
 * width, cleared before any other output and drawn again after it.
 *
 * On only when modforge (not dkms) writes to a terminal and -q is not given: nothing of
 * it reaches a pipe or a log. The caller clears it before it prints anything and draws it
 * after (progress_clear / progress_draw); while it is shown, nothing else may write to
 * the terminal.
 */
#ifndef MODFORGE_PROGRESS_H
#define MODFORGE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct plan;

struct progress {
	FILE *tty;  /* NULL: off */
	bool shown; /* the line is on the screen now */
	size_t done, total;
};

/* Off unless tty is a terminal and on is true. */
void progress_init(struct progress *p, FILE *tty, bool on);
/* Erases the line if it is shown. */
void progress_clear(struct progress *p);
/* Draws "[done/total]" and the running jobs of plan (kind, module/version, kernel, time
 * since the job's start_ms), cut to the terminal's width. */
void progress_draw(struct progress *p, const struct plan *plan, long now_ms);
/* The text progress_draw shows, cut to width columns (newly allocated; for tests). */
char *progress_text(const struct progress *p, const struct plan *plan, long now_ms, size_t width);

#endif

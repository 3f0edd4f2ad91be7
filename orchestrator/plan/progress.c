/* progress.c - the status line (see progress.h). */
#include "orchestrator/plan/progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/buf.h"
#include "orchestrator/plan/plan.h"

void progress_init(struct progress *p, FILE *tty, bool on)
{
	memset(p, 0, sizeof(*p));
	if (on && tty && isatty(fileno(tty)))
		p->tty = tty;
}

void progress_clear(struct progress *p)
{
	if (!p->tty || !p->shown)
		return;
	fputs("\r\033[K", p->tty);
	fflush(p->tty);
	p->shown = false;
}

static void add_elapsed(struct buf *b, long ms)
{
	long s = ms < 0 ? 0 : ms / 1000;
	if (s < 60)
		buf_addf(b, " %lds", s);
	else
		buf_addf(b, " %ldm%02lds", s / 60, s % 60);
}

char *progress_text(const struct progress *p, const struct plan *plan, long now_ms, size_t width)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "[%zu/%zu]", p->done, p->total);
	bool first = true;
	for (size_t i = 0; i < plan->n; i++) {
		const struct job *j = &plan->jobs[i];
		if (j->state != JOB_RUNNING)
			continue;
		buf_addf(&b, "%s %s", first ? " running:" : ",", job_kind_name(j->kind));
		if (j->module)
			buf_addf(&b, " %s/%s", j->module, j->version ? j->version : "");
		if (j->kernel)
			buf_addf(&b, " %s", j->kernel);
		add_elapsed(&b, now_ms - j->start_ms);
		first = false;
	}
	/* One column is left free: a line that fills the last one wraps on some terminals. */
	if (width > 1 && b.len > width - 1) {
		size_t keep = width - 1;
		if (keep > 3)
			memcpy(b.data + keep - 3, "...", 3);
		b.data[keep] = '\0';
		b.len = keep;
	}
	return buf_detach(&b);
}

static size_t term_width(FILE *tty)
{
	struct winsize ws;
	if (ioctl(fileno(tty), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

void progress_draw(struct progress *p, const struct plan *plan, long now_ms)
{
	if (!p->tty)
		return;
	char *text = progress_text(p, plan, now_ms, term_width(p->tty));
	fprintf(p->tty, "\r\033[K%s", text);
	fflush(p->tty);
	free(text);
	p->shown = true;
}

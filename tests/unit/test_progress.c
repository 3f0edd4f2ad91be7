/* test_progress.c - the status line's text (orchestrator/plan/progress.c): the counts, the
 * running jobs with their clocks, cut to the terminal's width; nothing when off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/progress.h"
#include "tap.h"

static void test_text(void)
{
	struct plan p = { 0 };
	size_t a = plan_add(&p, JOB_BUILD, "mf-hello", "1.0", "6.1.0-57-amd64", "x86_64");
	size_t b = plan_add(&p, JOB_DEPMOD, NULL, NULL, "6.1.0-57-amd64", "x86_64");
	size_t c = plan_add(&p, JOB_BUILD, "mf-hello", "1.0", "6.12.117+deb12-amd64", "x86_64");
	struct progress pr = { .done = 0, .total = 3 };
	/* nothing runs: the counts alone */
	char *t = progress_text(&pr, &p, 1000, 80);
	CHECK_STR(t, "[0/3]");
	free(t);
	p.jobs[a].state = JOB_RUNNING;
	p.jobs[a].start_ms = 1000;
	p.jobs[c].state = JOB_RUNNING;
	p.jobs[c].start_ms = 40000;
	pr.done = 1;
	t = progress_text(&pr, &p, 105000, 200);
	CHECK_STR(
		t,
		"[1/3] running: build mf-hello/1.0 6.1.0-57-amd64 1m44s, build mf-hello/1.0 6.12.117+deb12-amd64 1m05s");
	free(t);
	/* cut to the width, one column left free, the cut shown */
	t = progress_text(&pr, &p, 105000, 40);
	CHECK(strlen(t) == 39);
	CHECK_STR(t, "[1/3] running: build mf-hello/1.0 6....");
	free(t);
	/* a job without module (depmod) */
	p.jobs[a].state = p.jobs[c].state = JOB_DONE;
	p.jobs[b].state = JOB_RUNNING;
	p.jobs[b].start_ms = 100000;
	pr.done = 3;
	t = progress_text(&pr, &p, 105000, 80);
	CHECK_STR(t, "[3/3] running: depmod 6.1.0-57-amd64 5s");
	CHECK(strstr(t, "(null)") == NULL);
	free(t);
	plan_release(&p);
}

static void test_off(void)
{
	/* not a terminal: off, and clear/draw write nothing */
	FILE *f = tmpfile();
	struct progress pr;
	progress_init(&pr, f, true);
	CHECK(pr.tty == NULL);
	struct plan p = { 0 };
	progress_draw(&pr, &p, 0);
	progress_clear(&pr);
	CHECK(ftell(f) == 0);
	fclose(f);
}

int main(void)
{
	test_text();
	test_off();
	return tap_done();
}

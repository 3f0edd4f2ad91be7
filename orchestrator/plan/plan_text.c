/* plan_text.c - the plan as a person reads it (--dry-run without --json): one line per
 * job, in plan order, with what was decided for each build and what each job waits for.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "executor/compress.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/signing.h"

/* "m/v for k (a)", "for k (a)", "m/v" or "" as the job has them. */
static void subject(struct buf *b, const struct job *j)
{
	if (j->module)
		buf_addf(b, " %s/%s", j->module, j->version ? j->version : "");
	if (j->kernel)
		buf_addf(b, " for %s (%s)", j->kernel, j->arch);
}

/* What a build will do: build (how), restore, nothing, or why not. */
static void decision(struct buf *b, const struct build_decision *d)
{
	switch (d->verdict) {
	case BUILD_SKIP_BUILT: buf_addf(b, ": already built, nothing to do"); return;
	case BUILD_REFUSE:
		buf_addf(b, ": will not build (exit %d)%s%s", d->code, d->excluded ? ": " : "",
			 d->excluded ? d->excluded : "");
		return;
	case BUILD_GO: break;
	}
	if (d->cached) {
		buf_addf(b, ": restored from the build cache");
		return;
	}
	const char *comp = compress_suffix(d->compression);
	buf_addf(b, ": make, %s%s, %s", d->sign->hash ? "signed " : "unsigned", d->sign->hash ? d->sign->hash : "",
		 *comp ? comp + 1 : "not compressed");
	if (d->unbuild_first)
		buf_addf(b, ", after its old build is deleted");
}

void jobs_print_plan_text(FILE *out, const struct job_set *s)
{
	const struct plan *p = &s->plan;
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->jobs[i].kind != JOB_EVAL;
	fprintf(out, "Plan: %zu job%s, %d job slot%s (nothing is changed with --dry-run):\n", n, n == 1 ? "" : "s",
		p->slots, p->slots == 1 ? "" : "s");
	for (size_t i = 0; i < p->n; i++) {
		const struct job *j = &p->jobs[i];
		if (j->kind == JOB_EVAL)
			continue;
		const struct job_payload *pl = j->payload;
		struct buf b = BUF_INIT;
		buf_addf(&b, "%3zu. %s", j->id, job_kind_name(j->kind));
		subject(&b, j);
		if (j->kind == JOB_BUILD && pl)
			decision(&b, &pl->build);
		if (j->kind == JOB_ADD && pl && pl->source)
			buf_addf(&b, " from %s", pl->source);
		bool first = true;
		for (size_t d = 0; d < j->n_deps; d++) {
			if (p->jobs[j->deps[d]].kind == JOB_EVAL)
				continue;
			buf_addf(&b, "%s%zu", first ? " [after " : ", ", j->deps[d]);
			first = false;
		}
		if (!first)
			buf_addf(&b, "]");
		if (j->state == JOB_SKIPPED)
			buf_addf(&b, " (will not run: a module it needs is missing)");
		fprintf(out, "%s\n", b.data);
		buf_release(&b);
	}
}

/* jobs_plan.c - the plan shapes every command is made of (see jobs.h): which jobs one
 * step of a command needs and how they wait for each other. Reads (decide_build), never
 * changes anything. */
#include "orchestrator/plan/jobs.h"

#include <string.h>

#include "common/xalloc.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"
#include "orchestrator/plan/signing.h"
#include "orchestrator/plan/targets.h"
#include "orchestrator/tree/tree.h"

size_t jobs_plan_add(struct job_set *s, const char *m, const char *v, struct module_conf *conf, const char *source,
		     bool copy, bool link)
{
	size_t id;
	struct job_payload *p = jobs_add(s, JOB_ADD, m, v, NULL, &id);
	p->conf = conf;
	p->source = xstrdup(source);
	p->copy_source = copy;
	p->link_source = link;
	return id;
}

long jobs_keygen_for(const struct job_set *s, const struct signing *sign)
{
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct job_payload *p = s->payloads[i];
		if (s->plan.jobs[i].kind == JOB_KEYGEN && p && p->sign && !strcmp(p->sign->key, sign->key) &&
		    !strcmp(p->sign->cert, sign->cert))
			return (long)i;
	}
	return -1;
}

/* The plan's keygen job of sign's key pair, made when a first build needs it. */
static size_t keygen_job(struct job_set *s, const struct signing *sign)
{
	long k = jobs_keygen_for(s, sign);
	if (k < 0) {
		size_t id;
		jobs_add(s, JOB_KEYGEN, NULL, NULL, NULL, &id)->sign = sign;
		k = (long)id;
	}
	return (size_t)k;
}

size_t jobs_plan_build(const struct ctx *c, struct job_set *s, const char *m, const char *v, struct target *t,
		       struct module_conf *conf, const char *source_dir, const struct strv *provided,
		       enum build_purpose why, long after)
{
	decide_target(c, t);
	size_t b;
	struct job_payload *p = jobs_add(s, JOB_BUILD, m, v, t, &b);
	p->conf = conf;
	p->for_install = why != BUILD_ASKED;
	decide_build(c, &s->plan.jobs[b], t, conf, source_dir, provided, why, &p->build);
	if (after >= 0)
		plan_dep(&s->plan, b, (size_t)after);
	/* Unconfined, the one build area of a module/version makes its builds take turns;
	 * confined, each has its own. */
	if (!c->sandbox) {
		_cleanup_free_ char *area = tree_build_area(&c->paths, m, v);
		plan_lock(&s->plan, b, area);
	}
	const struct build_decision *d = &p->build;
	if (d->unbuild_first) {
		size_t ub;
		jobs_add(s, JOB_UNBUILD, m, v, t, &ub);
		if (after >= 0)
			plan_dep(&s->plan, ub, (size_t)after);
		plan_dep(&s->plan, b, ub);
	}
	if ((d->verdict == BUILD_GO || d->after_prologue) && d->sign && d->sign->hash && d->sign->needs_key) {
		/* The prologue says the key was made; a failed keygen leaves the modules
		 * unsigned, as dkms does: order only. */
		p->keygen_job = (long)keygen_job(s, d->sign);
		plan_dep_kind(&s->plan, b, (size_t)p->keygen_job, DEP_ORDER);
		if (after >= 0) /* not made when the add fails */
			plan_dep(&s->plan, (size_t)p->keygen_job, (size_t)after);
	}
	if (d->verdict == BUILD_GO && ((d->cache_key[0] && !d->cached) || d->store_after_keygen)) {
		size_t st;
		struct job_payload *sp = jobs_add(s, JOB_STORE, m, v, t, &st);
		sp->build_job = (long)b;
		plan_dep(&s->plan, st, b);
	}
	return b;
}

size_t jobs_plan_depmod(struct job_set *s, const struct target *t)
{
	long id = plan_find(&s->plan, JOB_DEPMOD, NULL, NULL, t->kernel, t->arch);
	if (id >= 0)
		return (size_t)id;
	size_t dm;
	jobs_add(s, JOB_DEPMOD, NULL, NULL, t, &dm);
	return dm;
}

size_t jobs_plan_install(struct job_set *s, const char *m, const char *v, const struct target *t,
			 struct module_conf *conf, size_t after, enum dep_kind depmod_waits)
{
	size_t in;
	struct job_payload *p = jobs_add(s, JOB_INSTALL, m, v, t, &in);
	p->conf = conf;
	plan_dep(&s->plan, in, after);
	size_t dm = jobs_plan_depmod(s, t);
	plan_dep_kind(&s->plan, dm, in, depmod_waits);
	return in;
}

size_t jobs_plan_uninstall(struct job_set *s, const char *m, const char *v, const struct target *t,
			   struct module_conf *conf)
{
	size_t un;
	struct job_payload *p = jobs_add(s, JOB_UNINSTALL, m, v, t, &un);
	p->conf = conf;
	size_t dm = jobs_plan_depmod(s, t);
	plan_dep(&s->plan, dm, un);
	return un;
}

size_t jobs_plan_unbuild(struct job_set *s, const char *m, const char *v, const struct target *t)
{
	size_t ub;
	jobs_add(s, JOB_UNBUILD, m, v, t, &ub);
	plan_dep(&s->plan, ub, jobs_plan_depmod(s, t));
	return ub;
}

size_t jobs_plan_remove(struct job_set *s, const char *m, const char *v)
{
	size_t n = s->plan.n, rm;
	jobs_add(s, JOB_REMOVE, m, v, NULL, &rm);
	for (size_t i = 0; i < n; i++)
		plan_dep_kind(&s->plan, rm, i, DEP_ORDER);
	return rm;
}

void jobs_plan_finish(const struct ctx *c, struct job_set *s)
{
	if (!c->fw || !c->fw->post_transaction || !*c->fw->post_transaction || s->plan.n == 0 ||
	    plan_find(&s->plan, JOB_POST_TRANSACTION, NULL, NULL, NULL, NULL) >= 0)
		return;
	size_t n = s->plan.n, pt;
	jobs_add(s, JOB_POST_TRANSACTION, NULL, NULL, NULL, &pt);
	for (size_t i = 0; i < n; i++)
		plan_dep_kind(&s->plan, pt, i, DEP_ORDER);
}

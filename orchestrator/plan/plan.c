#include "orchestrator/plan/plan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"

static const char *const kind_names[] = {
	[JOB_EVAL] = "eval",
	[JOB_ADD] = "add",
	[JOB_BUILD] = "build",
	[JOB_INSTALL] = "install",
	[JOB_UNINSTALL] = "uninstall",
	[JOB_UNBUILD] = "unbuild",
	[JOB_DEPMOD] = "depmod",
	[JOB_REMOVE] = "remove",
	[JOB_KEYGEN] = "keygen",
	[JOB_STORE] = "store",
	[JOB_POST_TRANSACTION] = "post_transaction",
};

static const char *const state_names[] = {
	[JOB_PENDING] = "pending", [JOB_RUNNING] = "running", [JOB_DONE] = "done",
	[JOB_FAILED] = "failed",   [JOB_SKIPPED] = "skipped",
};

const char *job_kind_name(enum job_kind k) { return kind_names[k]; }

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

size_t plan_add(struct plan *p, enum job_kind kind, const char *m, const char *v, const char *k, const char *a)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->jobs = xrealloc(p->jobs, p->cap * sizeof(*p->jobs));
	}
	struct job *j = &p->jobs[p->n];
	memset(j, 0, sizeof(*j));
	j->id = p->n;
	j->kind = kind;
	j->module = dup_or_null(m);
	j->version = dup_or_null(v);
	j->kernel = dup_or_null(k);
	j->arch = dup_or_null(a);
	return p->n++;
}

void plan_dep_kind(struct plan *p, size_t job, size_t on, enum dep_kind kind)
{
	struct job *j = &p->jobs[job];
	for (size_t i = 0; i < j->n_deps; i++)
		if (j->deps[i] == on)
			return;
	j->deps = xrealloc(j->deps, (j->n_deps + 1) * sizeof(size_t));
	j->dep_kind = xrealloc(j->dep_kind, (j->n_deps + 1) * sizeof(unsigned char));
	j->deps[j->n_deps] = on;
	j->dep_kind[j->n_deps++] = (unsigned char)kind;
}

void plan_dep(struct plan *p, size_t job, size_t on) { plan_dep_kind(p, job, on, DEP_SUCCESS); }

static bool same(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

void plan_lock(struct plan *p, size_t job, const char *lock)
{
	free(p->jobs[job].lock);
	p->jobs[job].lock = dup_or_null(lock);
}

/* rank(j) = weight(j) + max rank of the jobs that depend on j; memoised, -1 = unknown. */
static long rank_of(struct plan *p, size_t i, long *memo)
{
	if (memo[i] >= 0)
		return memo[i];
	long best = 0;
	for (size_t k = 0; k < p->n; k++)
		for (size_t d = 0; d < p->jobs[k].n_deps; d++)
			if (p->jobs[k].deps[d] == i) {
				long r = rank_of(p, k, memo);
				if (r > best)
					best = r;
			}
	memo[i] = p->jobs[i].weight_ms + best;
	return memo[i];
}

void plan_rank(struct plan *p)
{
	long *memo = xcalloc(p->n ? p->n : 1, sizeof(long));
	for (size_t i = 0; i < p->n; i++)
		memo[i] = -1;
	for (size_t i = 0; i < p->n; i++)
		p->jobs[i].rank_ms = rank_of(p, i, memo);
	free(memo);
}

long plan_find(const struct plan *p, enum job_kind kind, const char *m, const char *v, const char *k, const char *a)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct job *j = &p->jobs[i];
		if (j->kind == kind && same(j->module, m) && same(j->version, v) && same(j->kernel, k) &&
		    same(j->arch, a))
			return (long)i;
	}
	return -1;
}

/* Depth-first search with colours; on a back edge, the stack from `on` is the cycle. */
static bool dfs(const struct plan *p, size_t i, char *colour, size_t *stack, size_t depth, struct buf *cycle)
{
	colour[i] = 1;
	stack[depth] = i;
	const struct job *j = &p->jobs[i];
	for (size_t d = 0; d < j->n_deps; d++) {
		size_t on = j->deps[d];
		if (colour[on] == 1) {
			size_t start = 0;
			while (stack[start] != on)
				start++;
			for (size_t s = start; s <= depth; s++) {
				const struct job *x = &p->jobs[stack[s]];
				buf_addf(cycle, "%s %s/%s%s%s -> ", kind_names[x->kind], x->module ? x->module : "",
					 x->version ? x->version : "", x->kernel ? " " : "",
					 x->kernel ? x->kernel : "");
			}
			buf_addf(cycle, "%s %s/%s", kind_names[p->jobs[on].kind],
				 p->jobs[on].module ? p->jobs[on].module : "",
				 p->jobs[on].version ? p->jobs[on].version : "");
			return true;
		}
		if (colour[on] == 0 && dfs(p, on, colour, stack, depth + 1, cycle))
			return true;
	}
	colour[i] = 2;
	return false;
}

int plan_check_cycles(const struct plan *p, char **cycle)
{
	char *colour = xcalloc(p->n, 1);
	size_t *stack = xcalloc(p->n, sizeof(size_t));
	struct buf b = BUF_INIT;
	bool found = false;
	for (size_t i = 0; i < p->n && !found; i++)
		if (colour[i] == 0)
			found = dfs(p, i, colour, stack, 0, &b);
	free(colour);
	free(stack);
	if (!found) {
		buf_release(&b);
		*cycle = NULL;
		return 0;
	}
	*cycle = buf_detach(&b);
	return -ELOOP;
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

char *plan_json(const struct plan *p, void (*decorate)(const struct job *j, void *json_object))
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", "modforge.plan/1");
	if (p->slots > 0)
		cJSON_AddNumberToObject(root, "slots", p->slots);
	cJSON *jobs = cJSON_AddArrayToObject(root, "jobs");
	for (size_t i = 0; i < p->n; i++) {
		const struct job *j = &p->jobs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)j->id);
		cJSON_AddStringToObject(o, "kind", kind_names[j->kind]);
		add_str_or_null(o, "module", j->module);
		add_str_or_null(o, "version", j->version);
		add_str_or_null(o, "kernel", j->kernel);
		add_str_or_null(o, "arch", j->arch);
		cJSON *deps = cJSON_AddArrayToObject(o, "deps");
		for (size_t d = 0; d < j->n_deps; d++)
			cJSON_AddItemToArray(deps, cJSON_CreateNumber((double)j->deps[d]));
		cJSON_AddStringToObject(o, "state", state_names[j->state]);
		if (j->lock)
			cJSON_AddStringToObject(o, "lock", j->lock);
		cJSON_AddNumberToObject(o, "rank_ms", (double)j->rank_ms);
		if (decorate)
			decorate(j, o);
		cJSON_AddItemToArray(jobs, o);
	}
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	char *ret = xstrdup(s);
	cJSON_free(s);
	return ret;
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct job *j = &p->jobs[i];
		free(j->module);
		free(j->version);
		free(j->kernel);
		free(j->arch);
		free(j->deps);
		free(j->dep_kind);
		free(j->lock);
	}
	free(p->jobs);
	memset(p, 0, sizeof(*p));
}

/* The plan DAG and the scheduler: ordering, failure isolation, BUILD_EXCLUSIVE skips,
 * order-only edges, cycles, and real parallel workers through the executor. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "executor/proc.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/sched.h"
#include "tap.h"

struct trace {
	char order[64];
	size_t n;
	const int *codes; /* exit code per job id */
	bool async;       /* run jobs as forked workers */
};

static int worker(void *data)
{
	usleep(20000);
	return *(int *)data;
}

static int start(void *data, struct job *j, pid_t *pid)
{
	struct trace *t = data;
	t->order[t->n++] = (char)('a' + j->id);
	if (t->async)
		return proc_fork_worker(worker, (void *)&t->codes[j->id], pid) < 0 ? -1 : 0;
	j->exit_code = t->codes[j->id];
	return 1;
}

static void finished(void *data, struct job *j)
{
	(void)data;
	(void)j;
}

static void test_failure_isolation(void)
{
	/* a -> b -> c ; d independent; b fails: c skipped, d runs. */
	struct plan p = { 0 };
	size_t a = plan_add(&p, JOB_BUILD, "m", "1", "k", "x");
	size_t b = plan_add(&p, JOB_INSTALL, "m", "1", "k", "x");
	size_t c = plan_add(&p, JOB_DEPMOD, NULL, NULL, "k", "x");
	size_t d = plan_add(&p, JOB_BUILD, "n", "1", "k", "x");
	plan_dep(&p, b, a);
	plan_dep(&p, c, b);
	int codes[] = { 0, 6, 0, 0 };
	struct trace t = { .codes = codes };
	struct sched_ops ops = { start, finished, &t, -1, NULL, NULL };
	CHECK(sched_run(&p, 1, &ops) == 0);
	CHECK(p.jobs[a].state == JOB_DONE);
	CHECK(p.jobs[b].state == JOB_FAILED && p.jobs[b].exit_code == 6);
	CHECK(p.jobs[c].state == JOB_SKIPPED);
	CHECK(p.jobs[d].state == JOB_DONE);
	/* A build that ends as it starts (here all do: a cache restore) lets what it unblocked
	 * (its install) run before the next build starts, as dkms's serial text has it. */
	CHECK_STR(t.order, "abd");
	plan_release(&p);
}

static void test_dep_kinds(void)
{
	/* x excluded (77); y soft-depends on x (runs), z hard-depends (skipped with 77);
	 * w waits for all by order only (runs even though q failed). */
	struct plan p = { 0 };
	size_t x = plan_add(&p, JOB_BUILD, "x", "1", "k", "a");
	size_t y = plan_add(&p, JOB_BUILD, "y", "1", "k", "a");
	size_t z = plan_add(&p, JOB_INSTALL, "x", "1", "k", "a");
	size_t q = plan_add(&p, JOB_BUILD, "q", "1", "k", "a");
	size_t w = plan_add(&p, JOB_DEPMOD, NULL, NULL, "k", "a");
	plan_dep_kind(&p, y, x, DEP_OR_EXCLUDED);
	plan_dep(&p, z, x);
	plan_dep_kind(&p, w, z, DEP_ORDER);
	plan_dep_kind(&p, w, q, DEP_ORDER);
	int codes[] = { 77, 0, 0, 10, 0 };
	struct trace t = { .codes = codes };
	struct sched_ops ops = { start, finished, &t, -1, NULL, NULL };
	CHECK(sched_run(&p, 4, &ops) == 0);
	CHECK(p.jobs[x].state == JOB_SKIPPED && p.jobs[x].exit_code == 77);
	CHECK(p.jobs[y].state == JOB_DONE);
	CHECK(p.jobs[z].state == JOB_SKIPPED && p.jobs[z].exit_code == 77);
	CHECK(p.jobs[q].state == JOB_FAILED);
	CHECK(p.jobs[w].state == JOB_DONE);
	plan_release(&p);
}

static void test_parallel_workers(void)
{
	/* Four independent workers, two at a time, one fails; all reaped, codes kept. */
	struct plan p = { 0 };
	for (int i = 0; i < 4; i++)
		plan_add(&p, JOB_BUILD, "m", "1", "k", "a");
	int codes[] = { 0, 3, 0, 0 };
	struct trace t = { .codes = codes, .async = true };
	struct sched_ops ops = { start, finished, &t, -1, NULL, NULL };
	CHECK(sched_run(&p, 2, &ops) == 0);
	CHECK(p.jobs[0].state == JOB_DONE && p.jobs[2].state == JOB_DONE && p.jobs[3].state == JOB_DONE);
	CHECK(p.jobs[1].state == JOB_FAILED && p.jobs[1].exit_code == 3);
	CHECK(t.n == 4);
	plan_release(&p);
}

static void test_cycle_and_json(void)
{
	struct plan p = { 0 };
	size_t a = plan_add(&p, JOB_BUILD, "a", "1", "k", "x");
	size_t b = plan_add(&p, JOB_BUILD, "b", "1", "k", "x");
	plan_dep(&p, a, b);
	plan_dep(&p, b, a);
	plan_dep(&p, b, a); /* duplicate ignored */
	CHECK(p.jobs[b].n_deps == 1);
	char *cycle = NULL;
	CHECK(plan_check_cycles(&p, &cycle) < 0);
	CHECK(cycle && strstr(cycle, "build a/1") && strstr(cycle, "build b/1"));
	free(cycle);
	CHECK(plan_find(&p, JOB_BUILD, "b", "1", "k", "x") == (long)b);
	CHECK(plan_find(&p, JOB_INSTALL, "b", "1", "k", "x") == -1);
	char *js = plan_json(&p, NULL);
	CHECK(strstr(js, "\"schema\":\t\"modforge.plan/1\"") != NULL);
	free(js);
	plan_release(&p);
	struct plan ok = { 0 };
	size_t u = plan_add(&ok, JOB_BUILD, "a", "1", "k", "x");
	size_t v = plan_add(&ok, JOB_INSTALL, "a", "1", "k", "x");
	plan_dep(&ok, v, u);
	CHECK(plan_check_cycles(&ok, &cycle) == 0 && cycle == NULL);
	plan_release(&ok);
}

/* A lock keeps two builds of one build area apart; rank picks the longer chain first;
 * a start that finds no job slot waits for the wake fd instead of failing. */
struct slots {
	struct trace t;
	int free_slots;
	int wake[2];
	int max_running, running;
};

static int slot_start(void *data, struct job *j, pid_t *pid)
{
	struct slots *s = data;
	if (j->kind != JOB_BUILD) {
		j->exit_code = 0;
		return SCHED_DONE;
	}
	if (s->free_slots == 0)
		return SCHED_NO_SLOT;
	s->free_slots--;
	s->t.order[s->t.n++] = (char)('a' + j->id);
	if (++s->running > s->max_running)
		s->max_running = s->running;
	return proc_fork_worker(worker, (void *)&s->t.codes[j->id], pid) < 0 ? -1 : SCHED_STARTED;
}

static void slot_finished(void *data, struct job *j)
{
	struct slots *s = data;
	if (j->state == JOB_SKIPPED || j->kind != JOB_BUILD)
		return;
	s->running--;
	s->free_slots++;
	ssize_t _unused_ w = write(s->wake[1], "+", 1);
}

static void test_locks_rank_slots(void)
{
	struct plan p = { 0 };
	size_t a = plan_add(&p, JOB_BUILD, "m", "1", "k1", "x"); /* lock L, short chain */
	size_t b = plan_add(&p, JOB_BUILD, "m", "1", "k2", "x"); /* lock L */
	size_t c = plan_add(&p, JOB_BUILD, "n", "1", "k1", "x"); /* long chain: goes first */
	size_t d = plan_add(&p, JOB_INSTALL, "n", "1", "k1", "x");
	plan_lock(&p, a, "m/1");
	plan_lock(&p, b, "m/1");
	plan_dep(&p, d, c);
	p.jobs[a].weight_ms = 10;
	p.jobs[b].weight_ms = 10;
	p.jobs[c].weight_ms = 10;
	p.jobs[d].weight_ms = 1000;
	plan_rank(&p);
	CHECK(p.jobs[c].rank_ms == 1010 && p.jobs[a].rank_ms == 10);
	int codes[] = { 0, 0, 0, 0 };
	struct slots s = { .t = { .codes = codes }, .free_slots = 1 };
	CHECK(pipe(s.wake) == 0);
	struct sched_ops ops = { slot_start, slot_finished, &s, s.wake[0], NULL, NULL };
	CHECK(sched_run(&p, 3, &ops) == 0);
	CHECK(s.t.order[0] == 'c'); /* highest rank first */
	CHECK(s.max_running == 1);  /* one slot: never two at once */
	for (size_t i = 0; i < p.n; i++)
		CHECK(p.jobs[i].state == JOB_DONE);
	close(s.wake[0]);
	close(s.wake[1]);
	plan_release(&p);
}

static void test_one_slot_plan_order(void)
{
	/* One slot: builds start in the plan's order (dkms's text), whatever their rank. */
	struct plan p = { 0 };
	size_t a = plan_add(&p, JOB_BUILD, "a", "1", "k", "x");
	size_t b = plan_add(&p, JOB_BUILD, "b", "1", "k", "x");
	size_t c = plan_add(&p, JOB_INSTALL, "b", "1", "k", "x");
	plan_dep(&p, c, b);
	p.jobs[a].weight_ms = 10;
	p.jobs[b].weight_ms = 10;
	p.jobs[c].weight_ms = 1000;
	plan_rank(&p);
	CHECK(p.jobs[b].rank_ms > p.jobs[a].rank_ms);
	int codes[] = { 0, 0, 0 };
	struct trace t = { .codes = codes };
	struct sched_ops ops = { start, finished, &t, -1, NULL, NULL };
	CHECK(sched_run(&p, 1, &ops) == 0);
	CHECK_STR(t.order, "abc");
	plan_release(&p);
}

static int slow_worker(void *data)
{
	(void)data;
	usleep(2500 * 1000);
	return 0;
}

static int slow_start(void *data, struct job *j, pid_t *pid)
{
	(void)data;
	(void)j;
	return proc_fork_worker(slow_worker, NULL, pid) < 0 ? -1 : 0;
}

static void count_tick(void *data) { ++*(int *)data; }

static void test_tick(void)
{
	/* A build that runs 2.5 s: the scheduler wakes at least twice to tick (each wait ends
	 * after 1 s at the latest), and its start time is on the job. */
	struct plan p = { 0 };
	size_t a = plan_add(&p, JOB_BUILD, "m", "1", "k", "x");
	int ticks = 0;
	struct sched_ops ops = { slow_start, finished, &ticks, -1, count_tick, NULL };
	long before = sched_now_ms();
	CHECK(sched_run(&p, 1, &ops) == 0);
	CHECK(p.jobs[a].state == JOB_DONE);
	CHECK(ticks >= 2);
	CHECK(p.jobs[a].start_ms >= before && p.jobs[a].duration_ms >= 2500);
	plan_release(&p);
}

int main(void)
{
	test_tick();
	test_locks_rank_slots();
	test_one_slot_plan_order();
	test_failure_isolation();
	test_dep_kinds();
	test_parallel_workers();
	test_cycle_and_json();
	return tap_done();
}

/* jobs_stop.c - a run told to stop (Ctrl-C: SIGINT, or SIGTERM) while its plan runs: the
 * scheduler kills and reaps the running builds and starts nothing more; what an
 * in-process job was doing (an install, under the journal) it finishes first. Then
 * every process of the stopped builds' sandboxes is waited for, their private build
 * areas go, the depmod owed for kernels already changed runs, and one line says what
 * was and was not done. Exit 128 + the signal, as a shell's.
 *
 * The caught signal is the one piece of process-wide state: a handler can only set a
 * flag.
 */
#include <errno.h>
#include <sys/file.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/xalloc.h"
#include "orchestrator/context.h"
#include "orchestrator/plan/jobs_internal.h"

static volatile sig_atomic_t caught;

static void on_signal(int sig) { caught = sig; }

/* Catches sig unless it is ignored (a script's background job ignores SIGINT: so does
 * the run). */
static void catch_one(int sig, struct sigaction *saved)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, NULL, saved);
	if (saved->sa_handler != SIG_IGN)
		sigaction(sig, &sa, NULL);
}

void stop_catch(struct stop_handlers *saved)
{
	caught = 0;
	catch_one(SIGINT, &saved->intr);
	catch_one(SIGTERM, &saved->term);
	/* The sandboxes of builds killed when stopping are reparented here, to be waited for. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

void stop_release(const struct stop_handlers *saved)
{
	(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	while (waitpid(-1, NULL, WNOHANG) > 0) /* a crashed worker's orphans, if any */
		;
	sigaction(SIGINT, &saved->intr, NULL);
	sigaction(SIGTERM, &saved->term, NULL);
}

bool stop_requested(void *data)
{
	(void)data;
	return caught != 0;
}

int jobs_stop_signal(void) { return caught; }

/* The killed builds' sandboxes die with their workers (PDEATHSIG down to each sandbox's
 * init, which takes its pid namespace along) and are reparented here: waited for, but
 * at most 10 s, since a daemon a package script started is an orphan of ours too. */
static void reap_orphans(void)
{
	for (int i = 0; i < 1000; i++) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p < 0 && errno == ECHILD)
			return;
		if (p <= 0)
			poll(NULL, 0, 10);
	}
}

/* Builds stopped while they ran: their sandboxes' last processes, then their areas, each
 * unless another run holds its lock now (then it is that run's). */
static void clean_stopped_builds(const struct run *r, struct buf *stopped)
{
	reap_orphans();
	const char *t = r->c->paths.dkms_tree;
	for (size_t i = 0; i < r->set->plan.n; i++) {
		const struct job *j = &r->set->plan.jobs[i];
		if (j->kind != JOB_BUILD || j->state != JOB_FAILED || j->exit_code != 130)
			continue;
		_cleanup_free_ char *area = layout_private_area(t, j->module, j->version, j->kernel, j->arch);
		_cleanup_free_ char *view = layout_source_view(t, j->module, j->version, j->kernel, j->arch);
		_cleanup_free_ char *lock = layout_build_lock(t, j->module, j->version, j->kernel, j->arch);
		int fd = open(lock, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			(void)rm_rf(area);
			(void)rm_rf(view);
		}
		if (fd >= 0)
			close(fd);
		buf_addf(stopped, "%sbuild %s/%s for %s (%s)", stopped->len ? ", " : "", j->module, j->version,
			 j->kernel, j->arch);
	}
}

/* The depmod of each kernel whose modules changed before the stop, then framework.conf's
 * post_transaction for them. */
static void owed_depmods(struct run *r, struct buf *ran)
{
	_cleanup_strv_ struct strv done = STRV_INIT; /* (a kernel may have several depmods: one is owed) */
	for (size_t i = 0; i < r->set->plan.n; i++) {
		struct job *j = &r->set->plan.jobs[i];
		if (j->state == JOB_DONE)
			continue;
		if (j->kind == JOB_POST_TRANSACTION && r->kernels_touched.n) {
			(void)run_tree_job(r, j, j->payload);
			continue;
		}
		if (j->kind != JOB_DEPMOD)
			continue;
		_cleanup_free_ char *ka = xasprintf("%s\t%s", j->kernel, j->arch);
		if (!strv_contains(&r->kernels_touched, ka) || strv_contains(&done, ka))
			continue;
		strv_push(&done, ka);
		if (run_tree_job(r, j, j->payload) == 0)
			buf_addf(ran, "%s%s", ran->len ? ", " : "", j->kernel);
	}
}

int jobs_stopped(struct run *r)
{
	int sig = caught ? caught : SIGINT;
	_cleanup_buf_ struct buf stopped = BUF_INIT, ran = BUF_INIT;
	clean_stopped_builds(r, &stopped);
	owed_depmods(r, &ran);
	size_t done = 0, not_run = 0;
	for (size_t i = 0; i < r->set->plan.n; i++) {
		const struct job *j = &r->set->plan.jobs[i];
		done += j->state == JOB_DONE && j->kind != JOB_EVAL;
		not_run += j->state == JOB_SKIPPED && j->exit_code == 130;
	}
	_cleanup_buf_ struct buf line = BUF_INIT;
	buf_addf(&line, "modforge: stopped by %s: %zu jobs done", sig == SIGTERM ? "SIGTERM" : "SIGINT", done);
	if (stopped.len)
		buf_addf(&line, "; stopped, their build areas removed: %s", stopped.data);
	buf_addf(&line, "; %zu not started", not_run);
	if (ran.len)
		buf_addf(&line, "; depmod run for %s", ran.data);
	fflush(r->c->out);
	fprintf(r->c->err, "\n%s.\n", line.data);
	fflush(r->c->err);
	return 128 + sig;
}

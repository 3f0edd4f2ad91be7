/* confeval.c - runs executor/confeval.sh (embedded as confeval_sh) with bash for all targets
 * of one module; the argument protocol is documented at the top of confeval.sh. */
#include "confeval.h"
#include "executor/untrusted.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/macro.h"
#include "common/strv.h"

extern const char confeval_sh[];
extern char **environ;

#define CONFEVAL_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CONFEVAL_PROTOCOL "1"

static const char *or_empty(const char *s) { return s ? s : ""; }

/* Returns the first executable bash in CONFEVAL_PATH (newly allocated), or NULL. */
static char *find_bash(void)
{
	char path[] = CONFEVAL_PATH;
	char *save = NULL;
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *p = NULL;
		if (asprintf(&p, "%s/bash", dir) < 0)
			return NULL;
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static void push_list(struct strv *argv, const char *const *items, size_t n)
{
	strv_pushf(argv, "%zu", n);
	for (size_t i = 0; i < n; i++)
		strv_push(argv, items[i]);
}

/* argv for: bash -c "$confeval_sh" dkms 1 <request...> (see confeval.sh). */
static void build_argv(const struct confeval_request *req, const char *bash, struct strv *argv)
{
	strv_push(argv, bash);
	strv_push(argv, "-c");
	strv_push(argv, confeval_sh);
	strv_push(argv, "dkms");
	strv_push(argv, CONFEVAL_PROTOCOL);
	strv_push(argv, or_empty(req->dkms_tree));
	strv_push(argv, or_empty(req->source_tree));
	strv_push(argv, or_empty(req->install_tree));
	strv_push(argv, or_empty(req->module));
	strv_push(argv, or_empty(req->module_version));
	if (req->parallel_jobs)
		strv_push(argv, req->parallel_jobs);
	else
		strv_pushf(argv, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	strv_push(argv, or_empty(req->running_distribution));
	push_list(argv, req->conf_files, req->n_conf_files);
	push_list(argv, req->directives, req->n_directives);
	strv_pushf(argv, "%zu", req->n_targets);
	for (size_t i = 0; i < req->n_targets; i++) {
		const struct confeval_target *t = &req->targets[i];
		strv_push(argv, or_empty(t->kernelver));
		strv_push(argv, or_empty(t->arch));
		strv_push(argv, or_empty(t->kernel_source_dir));
		strv_push(argv, or_empty(t->kernel_config));
		push_list(argv, t->conf_files, t->n_conf_files);
	}
}

/* What the evaluator sees on top of the sandbox's clean environment: a fixed PATH and
 * locale, no HOME, and the caller's DKMS_DIRECTIVE* (dkms honours those). */
static void build_env(struct strv *env)
{
	strv_push(env, "PATH=" CONFEVAL_PATH);
	strv_push(env, "LANG=C");
	strv_push(env, "LC_ALL=C");
	strv_push(env, "HOME=/nonexistent");
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "DKMS_DIRECTIVE", 14) == 0 && strchr(*e, '='))
			strv_push(env, *e);
}

/* Reads the whole memfd (rewound) into b. Returns 0 or -errno. */
static int read_back(int fd, struct buf *b)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return buf_read_fd(b, fd);
}

int confeval_run(const struct confeval_request *req, struct buf *out, struct buf *err, int *exit_code)
{
	_cleanup_free_ char *bash = find_bash();
	if (!bash)
		return -ENOENT;
	_cleanup_close_ int efd = memfd_create("modforge-confeval-stderr", MFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	_cleanup_strv_ struct strv argv = STRV_INIT;
	_cleanup_strv_ struct strv env = STRV_INIT;
	build_argv(req, bash, &argv);
	build_env(&env);
	struct untrusted_cmd cmd = {
		.argv = strv_array(&argv),
		.cwd = req->cwd,
		.extra_env = strv_array(&env),
		.out_fd = -1,
		.box = req->box,
		.failure = req->failure,
	};
	int r = untrusted_capture(&cmd, out, efd, exit_code);
	int e = read_back(efd, err);
	return r < 0 ? r : e;
}

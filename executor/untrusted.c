#include "untrusted.h"

#include "common/buf.h"
#include "common/strv.h"
#include "executor/proc.h"
#include "sandbox/sandbox.h"

extern char **environ;

static void prepare(const struct untrusted_cmd *c, struct sandbox_policy *pol, struct strv *env,
		    struct proc_spec *spec)
{
	pol->cwd = c->cwd;
	pol->extra_env = c->extra_env;
	if (c->box && c->box->confine) {
		pol->confine = true;
		pol->hidden = c->box->hidden;
		pol->readonly = c->box->readonly;
		pol->writable = c->box->writable;
		pol->writable_at = c->box->writable_at;
		pol->filter = c->box->filter;
	}
	sandbox_build_env(pol, environ, env);
	*spec = (struct proc_spec){
		.argv = c->argv,
		.envp = strv_array(env),
		/* Confined, the sandbox changes directory once its mounts are in place. */
		.cwd = pol->confine ? NULL : c->cwd,
		.stdin_fd = -1,
		.stdout_fd = c->out_fd,
		.stderr_fd = c->out_fd >= 0 ? -2 : -1,
		.new_session = true,
		.keep_fds = c->keep_fds,
		.n_keep_fds = c->n_keep_fds,
		.child_setup = sandbox_child_setup,
		.child_data = pol,
	};
}

int untrusted_run(const struct untrusted_cmd *c, int *exit_code)
{
	struct sandbox_policy pol = { 0 }; /* fields it does not set stay off */
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct proc_spec spec;
	prepare(c, &pol, &env, &spec);
	return proc_run(&spec, exit_code);
}

int untrusted_capture(const struct untrusted_cmd *c, struct buf *out, int err_fd, int *exit_code)
{
	struct sandbox_policy pol = { 0 }; /* fields it does not set stay off */
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct proc_spec spec;
	prepare(c, &pol, &env, &spec);
	spec.stderr_fd = err_fd;
	return proc_capture(&spec, out, exit_code);
}

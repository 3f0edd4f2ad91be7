#include "sandbox.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

/* Variables a build may see from the caller; everything else is dropped. */
static const char *const env_allow[] = {
	"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", "TMPDIR",
	"SOURCE_DATE_EPOCH",
};

static int allowed(const char *kv)
{
	for (size_t i = 0; i < sizeof(env_allow) / sizeof(env_allow[0]); i++) {
		size_t n = strlen(env_allow[i]);
		if (strncmp(kv, env_allow[i], n) == 0 && kv[n] == '=')
			return 1;
	}
	return 0;
}

/* True if extra sets the variable named by kv (NAME=...). */
static int overridden(const char *kv, char *const *extra)
{
	size_t n = strcspn(kv, "=");
	for (char *const *e = extra; e && *e; e++)
		if (strncmp(*e, kv, n) == 0 && (*e)[n] == '=')
			return 1;
	return 0;
}

void sandbox_build_env(const struct sandbox_policy *policy, char *const *caller_env,
		       struct strv *env)
{
	int have_path = overridden("PATH=", policy->extra_env);
	for (char *const *e = caller_env; e && *e; e++) {
		if (!allowed(*e) || overridden(*e, policy->extra_env))
			continue;
		if (strncmp(*e, "PATH=", 5) == 0)
			have_path = 1;
		strv_push(env, *e);
	}
	if (!have_path)
		strv_push(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *const *e = policy->extra_env; e && *e; e++)
		strv_push(env, *e);
}

int sandbox_child_setup(void *data)
{
	(void)data;
	umask(022);
	/* Die with modforge rather than linger as an orphan build. */
	prctl(PR_SET_PDEATHSIG, 9);
	return 0;
}

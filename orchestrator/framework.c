#include "framework.h"

#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "executor/untrusted.h"

/* Sources every file, then prints NAME NUL VALUE NUL for each whitelisted name it set. */
static const char framework_sh[] =
	"for f in \"$1\"/framework.conf \"$1\"/framework.conf.d/*.conf; do\n"
	"  [ -f \"$f\" ] && . \"$f\" >/dev/null\n"
	"done\n"
	"for v in source_tree dkms_tree install_tree parallel_jobs verbose; do\n"
	"  [ -n \"${!v+x}\" ] && printf '%s\\0%s\\0' \"$v\" \"${!v}\"\n"
	"done\n"
	"exit 0\n";

static char **field(struct framework *fw, const char *name)
{
	static const char *const names[] = { "source_tree", "dkms_tree", "install_tree", "parallel_jobs", "verbose" };
	char **fields[] = { &fw->source_tree, &fw->dkms_tree, &fw->install_tree, &fw->parallel_jobs, &fw->verbose };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return fields[i];
	return NULL;
}

int framework_read(const char *etc_dkms, struct framework *fw)
{
	memset(fw, 0, sizeof(*fw));
	char *argv[] = { "bash", "-c", (char *)framework_sh, "framework", (char *)etc_dkms, NULL };
	char *env[] = { "LC_ALL=C", NULL };
	struct untrusted_cmd cmd = { .argv = argv, .cwd = "/", .extra_env = env, .out_fd = -1 };
	struct buf out = BUF_INIT;
	int code = 0;
	int r = untrusted_capture(&cmd, &out, -1, &code);
	for (size_t i = 0; r == 0 && i < out.len;) {
		const char *name = out.data + i;
		size_t nl = strlen(name);
		if (i + nl + 1 >= out.len)
			break;
		const char *value = name + nl + 1;
		char **f = field(fw, name);
		if (f) {
			free(*f);
			*f = xstrdup(value);
		}
		i += nl + 1 + strlen(value) + 1;
	}
	buf_release(&out);
	return r;
}

void framework_release(struct framework *fw)
{
	free(fw->source_tree);
	free(fw->dkms_tree);
	free(fw->install_tree);
	free(fw->parallel_jobs);
	free(fw->verbose);
	memset(fw, 0, sizeof(*fw));
}

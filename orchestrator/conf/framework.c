#include "orchestrator/conf/framework.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "executor/untrusted.h"

/* Sources every framework file of the directory $1, as dkms does. */
/* clang-format off */
#define SOURCE_FRAMEWORK_SH                                                  \
	"for f in \"$1\"/framework.conf \"$1\"/framework.conf.d/*.conf; do\n" \
	"  [ -f \"$f\" ] && . \"$f\" >/dev/null\n"                            \
	"done\n"

/* Then prints NAME NUL VALUE NUL for each whitelisted name the files set. */
static const char framework_sh[] =
	SOURCE_FRAMEWORK_SH
	"for v in source_tree dkms_tree install_tree parallel_jobs verbose sign_file mok_signing_key \\\n"
	"         mok_certificate compress_gzip_opts compress_xz_opts compress_zstd_opts \\\n"
	"         post_transaction modprobe_on_install symlink_modules build_environment try_sign_modules; do\n"
	"  [ -n \"${!v+x}\" ] && printf '%s\\0%s\\0' \"$v\" \"${!v}\"\n"
	"done\n"
	"exit 0\n";

/* The whitelisted names, each with its field. */
static const struct {
	const char *name;
	size_t off;
} fields[] = {
#define F(n) { #n, offsetof(struct framework, n) }
	F(source_tree), F(dkms_tree), F(install_tree), F(parallel_jobs), F(verbose), F(sign_file),
	F(mok_signing_key), F(mok_certificate), F(compress_gzip_opts), F(compress_xz_opts),
	F(compress_zstd_opts), F(post_transaction), F(modprobe_on_install),
	F(symlink_modules), F(build_environment), F(try_sign_modules),
#undef F
};
/* clang-format on */

static char **field(struct framework *fw, const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return (char **)((char *)fw + fields[i].off);
	return NULL;
}

int framework_read(const char *etc_dkms, struct framework *fw) { return framework_read_for(etc_dkms, NULL, NULL, fw); }

int framework_read_for(const char *etc_dkms, const char *kernel, const char *arch, struct framework *fw)
{
	memset(fw, 0, sizeof(*fw));
	char *argv[] = { "bash", "-c", (char *)framework_sh, "framework", (char *)etc_dkms, NULL };
	_cleanup_free_ char *kv = kernel ? xasprintf("kernelver=%s", kernel) : NULL;
	_cleanup_free_ char *av = arch ? xasprintf("arch=%s", arch) : NULL;
	char *env[] = { "LC_ALL=C", kv, av, NULL };
	if (!kv)
		env[1] = NULL;
	else if (!av)
		env[2] = NULL;
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
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(*(char **)((char *)fw + fields[i].off));
	memset(fw, 0, sizeof(*fw));
}

const char *framework_value(const struct framework *fw, const char *value, const char *env_name)
{
	if (value)
		return value;
	const char *e = getenv(env_name);
	return e && *e ? e : NULL;
}

int framework_post_transaction(const char *etc_dkms, const char *kernel, const char *log, bool blank_log,
			       int *exit_code)
{
	/* dkms's invoke_command with a log: "Executing post-transaction command..." on stdout,
	 * the command's output in the log between its header and its exit code and time. */
	static const char script[] = SOURCE_FRAMEWORK_SH
		"[ -n \"${post_transaction-}\" ] || exit 0\n"
		"log=$2\n"
		"[ \"$3\" = blank ] && { : >\"$log\"; } 2>/dev/null\n"
		/* a log that cannot be opened does not keep the command from running */
		"{ exec 3>>\"$log\"; } 2>/dev/null || exec 3>/dev/null\n"
		"printf 'Executing post-transaction command...'\n"
		"printf '\\nExecuting post-transaction command\\n# command: %s\\n' \"$post_transaction\" >&3\n"
		"t0=$SECONDS\n"
		"( eval \"$post_transaction\" ) >&3 2>&1 3>&-\n"
		"rc=$?\n"
		"s=$((SECONDS - t0))\n"
		"printf '\\n# exit code: %d\\n# elapsed time: %02d:%02d:%02d\\n%s\\n' \"$rc\" $((s / 3600)) $((s / 60 % 60)) "
		"$((s % 60)) ---------------------------------------------------------------- >&3\n"
		"if [ \"$rc\" -gt 0 ]; then printf '(bad exit status: %d)\\nFailed command:\\n%s\\n' \"$rc\" \"$post_transaction\";\n"
		"else echo ' done.'; fi\n"
		"exit \"$rc\"\n";
	_cleanup_free_ char *kv = xasprintf("kernelver=%s", kernel);
	char *argv[] = { "bash",
			 "-c",
			 (char *)script,
			 "post_transaction",
			 (char *)etc_dkms,
			 (char *)log,
			 blank_log ? "blank" : "append",
			 NULL };
	char *env[] = { kv, NULL };
	struct untrusted_cmd uc = { .argv = argv, .cwd = "/", .extra_env = env, .out_fd = -1 };
	return untrusted_run(&uc, exit_code);
}

/* main.c - modforge's entry: parse the command line, set up the context, run the verb,
 * return its exit code. Invoked as `dkms` (argv[0]) it behaves as dkms 3.4.3.
 *
 * Roots: --dkmstree/--sourcetree/--installtree move the trees; MODFORGE_ETC_DKMS moves
 * /etc/dkms (framework.conf, per-module overrides, no-autoinstall) so tests never read
 * the host's.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "orchestrator/commands/cli.h"
#include "orchestrator/commands/help.h"
#include "orchestrator/commands/commands.h"
#include "orchestrator/conf/conf.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"
#include "orchestrator/tree/recover.h"
#include "orchestrator/plan/jobs.h"
#include "orchestrator/plan/signing.h"
#include "sandbox/sandbox.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void print_usage(const char *prog)
{
	struct strv lines = STRV_INIT;
	cli_usage(prog, &lines);
	for (size_t i = 0; i < lines.n; i++)
		puts(lines.items[i]);
	strv_release(&lines);
}

/* --help as dkms: dkms's usage. As modforge: every verb and option (help.c); with a verb
 * (`modforge help VERB`, `modforge VERB --help`), what it does. Returns the exit code. */
static int print_help(const char *argv0, const char *prog, const struct request *req)
{
	if (strcmp(prog, "dkms") == 0 && req->action != ACT_HELP) {
		print_usage(argv0);
		return 0;
	}
	const char *verb = req->action == ACT_HELP ? req->help_topic
		: req->action != ACT_NONE          ? action_name(req->action)
						   : NULL;
	struct strv lines = STRV_INIT;
	int rc = 0;
	if (!verb) {
		help_all(prog, &lines);
	} else if (help_verb(prog, verb, &lines) < 0) {
		const char *near = action_nearest(verb);
		fprintf(stderr, "\nError! \"%s\" is not a verb%s%s%s\n", verb, near ? "; did you mean \"" : ".",
			near ? near : "", near ? "\"?" : "");
		help_all(prog, &lines);
		rc = 1;
	}
	for (size_t i = 0; i < lines.n; i++)
		puts(lines.items[i]);
	strv_release(&lines);
	return rc;
}

/* dkms's distro_version(): ubuntu if ID is ubuntu, else the first ID_LIKE word, else ID. */
static char *os_release_value(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, kl) != 0 || l[kl] != '=')
			continue;
		const char *v = l + kl + 1;
		size_t n = strcspn(v, "\n");
		if (n && (*v == '"' || *v == '\'')) {
			v++;
			n -= n >= 2 ? 2 : 1;
		}
		return xstrndup(v, strcspn(v, " \"'\n") < n ? strcspn(v, " \"'\n") : n);
	}
	return NULL;
}

static enum conf_distro read_distro(char **running)
{
	struct buf b = BUF_INIT;
	enum conf_distro d = DISTRO_OTHER;
	*running = NULL;
	if (buf_read_file(&b, "/etc/os-release") == 0 || buf_read_file(&b, "/usr/lib/os-release") == 0) {
		d = conf_distro_from_os_release(b.data);
		char *id = os_release_value(b.data, "ID");
		char *like = os_release_value(b.data, "ID_LIKE");
		if (id && strcmp(id, "ubuntu") == 0)
			*running = xstrdup(id);
		else if (like)
			*running = xstrdup(like);
		else if (id)
			*running = xstrdup(id);
		free(id);
		free(like);
	}
	buf_release(&b);
	if (!*running)
		*running = xstrdup("");
	return d;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* Untrusted steps run confined unless --no-sandbox; a machine without usable user
 * namespaces gets a clear error naming the setting, never a silent fallback. */
static int setup_sandbox(struct ctx *c, struct sandbox_filter **filter)
{
	*filter = NULL;
	const char *uid = getenv("MODFORGE_BUILD_UID");
	c->build_uid = uid && *uid ? (uid_t)strtoul(uid, NULL, 10) : SANDBOX_BUILD_UID_DEFAULT;
	c->build_gid = uid && *uid ? (gid_t)c->build_uid : SANDBOX_BUILD_GID_DEFAULT;
	if (c->req->no_sandbox) {
		ctx_warn(
			c,
			"--no-sandbox: dkms.conf, patches, scripts and make run unconfined, with modforge's own privileges.");
		c->sandbox = false;
		return 0;
	}
	c->sandbox = true;
	if (c->req->action == ACT_STATUS || c->req->dry_run)
		return 0;
	struct sandbox_policy probe = { .confine = true, .build_uid = c->build_uid, .build_gid = c->build_gid };
	int e = sandbox_probe(&probe);
	if (e == -SANDBOX_ENOUSERNS) {
		ctx_error(c,
			  "Cannot confine untrusted build steps: %s\n"
			  "modforge never builds unconfined on its own; --no-sandbox does, explicitly.",
			  sandbox_userns_hint());
		return 1;
	}
	if (e < 0) {
		ctx_error(c, "Cannot confine untrusted build steps: %s", strerror(-e));
		return 1;
	}
	if (sandbox_filter_new(filter) == 0)
		c->filter = *filter;
	return 0;
}

static int dispatch(struct ctx *c)
{
	switch (c->req->action) {
	case ACT_ADD: return cmd_add(c);
	case ACT_BUILD: return cmd_build(c);
	case ACT_INSTALL: return cmd_install(c);
	case ACT_UNINSTALL: return cmd_uninstall(c);
	case ACT_UNBUILD: return cmd_unbuild(c);
	case ACT_REMOVE: return cmd_remove(c);
	case ACT_STATUS: return cmd_status(c);
	case ACT_AUTOINSTALL:
	case ACT_KERNEL_POSTINST: return cmd_autoinstall(c);
	case ACT_GENERATE_MOK: return cmd_generate_mok(c);
	case ACT_KERNEL_PRERM: return cmd_kernel_prerm(c);
	case ACT_KERNEL_PREINST: return cmd_kernel_preinst(c);
	case ACT_MATCH: return cmd_match(c);
	case ACT_MKTARBALL: return cmd_mktarball(c);
	case ACT_LDTARBALL: return cmd_ldtarball(c);
	default: break;
	}
	ctx_error(c, "The action %s is not implemented by modforge yet.", action_name(c->req->action));
	return 1;
}

static const char *pick(const char *cli, const char *framework, const char *builtin)
{
	return cli ? cli : framework && *framework ? framework : builtin;
}

/* The most jobs at once; -j 0 (dkms: make -j, no limit) means as many. */
#define JOBS_MAX 1024

/* framework.conf settings dkms has and modforge does not act on: said, never silent. */
static void warn_ignored_framework(const struct ctx *c, const struct framework *fw)
{
	const struct {
		const char *name, *value, *why;
	} ignored[] = {
		{ "symlink_modules", fw->symlink_modules, "modules are installed as copies" },
		{ "build_environment", fw->build_environment, "builds get a fixed environment" },
	};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (ignored[i].value && *ignored[i].value)
			ctx_warn(c, "framework.conf sets %s, which modforge does not support (%s); ignored.",
				 ignored[i].name, ignored[i].why);
}

/* Fills c from the request, framework.conf and the environment. Returns 0 or an exit
 * code with the error printed (a -j that is not a number). */
static int setup_ctx(struct ctx *c, const struct request *req, const char *prog, struct framework *fw)
{
	c->req = req;
	c->prog = prog;
	/* make.log's header names dkms's release as dkms, modforge's as modforge (as -V). */
	c->release = strcmp(prog, "dkms") == 0 ? "dkms-" DKMS_COMPAT_RELEASE : "modforge-" MODFORGE_VERSION;
	const char *etc = getenv("MODFORGE_ETC_DKMS");
	c->etc_dkms = etc && *etc ? etc : "/etc/dkms";
	const char *sys = getenv("MODFORGE_SYSFS_DEVICES");
	c->sysfs_devices = sys && *sys ? sys : "/sys/devices";
	const char *forced = getenv("MODFORGE_FORCED_MODULES_DIR");
	c->forced_modules_dir = forced && *forced ? forced : "/usr/share/dkms/modules_to_force_install";
	(void)framework_read(c->etc_dkms, fw);
	c->fw = fw;
	c->paths.dkms_tree = pick(req->dkms_tree, fw->dkms_tree, "/var/lib/dkms");
	c->paths.source_tree = pick(req->source_tree, fw->source_tree, "/usr/src");
	c->paths.install_tree = pick(req->install_tree, fw->install_tree, "/lib/modules");
	c->distro = read_distro(&c->running_distribution_owned);
	c->running_distribution = c->running_distribution_owned;
	c->out = stdout;
	c->err = stderr;
	c->is_root = geteuid() == 0;
	c->modprobe_on_install = req->modprobe_on_install || (fw->modprobe_on_install && *fw->modprobe_on_install);
	warn_ignored_framework(c, fw);
	const char *from = req->parallel_jobs ? "-j"
		: fw->parallel_jobs           ? "parallel_jobs in framework.conf"
					      : "parallel_jobs in the environment";
	const char *pj = req->parallel_jobs ? req->parallel_jobs
		: fw->parallel_jobs         ? fw->parallel_jobs
					    : getenv("parallel_jobs");
	c->parallel_jobs = pj && *pj ? xstrdup(strcmp(pj, "0") == 0 ? "" : pj) : xasprintf("%d", online_cpus());
	/* -j N is the budget of the whole run (the jobserver's slots); 0 = no limit, as
	 * dkms's make -j. */
	c->max_jobs = online_cpus();
	if (pj && *pj) {
		char *end = NULL;
		errno = 0;
		long n = strtol(pj, &end, 10);
		if (errno || end == pj || *end || n < 0 || n > JOBS_MAX || !isdigit((unsigned char)*pj)) {
			if (req->parallel_jobs) {
				ctx_error(c, "%s: \"%s\" is not a number of jobs (1 to %d, or 0: no limit).", from, pj,
					  JOBS_MAX);
				return 1;
			}
			/* Not the user's -j: said, and the default. */
			ctx_warn(c, "%s: \"%s\" is not a number of jobs; using %d.", from, pj, c->max_jobs);
			free(c->parallel_jobs);
			c->parallel_jobs = xasprintf("%d", c->max_jobs);
		} else {
			c->max_jobs = n == 0 ? JOBS_MAX : (int)n;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *prog = base_name(argv[0]);
	struct request req;
	struct cli_error err = { 0 };
	memset(&req, 0, sizeof(req));
	umask(022);
	for (const char *const *v = (const char *const[]){ "CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS", NULL }; *v;
	     v++)
		unsetenv(*v);
	/* dkms reads the distribution before anything else, and stops without it; as
	 * modforge, --version and --help still answer. */
	bool no_os_release = access("/etc/os-release", F_OK) != 0 && access("/usr/lib/os-release", F_OK) != 0;
	if (no_os_release && strcmp(prog, "dkms") == 0) {
		fprintf(stderr, "\nError! System is missing os-release file.\n");
		return 4;
	}
	int rc = cli_parse(argc, argv, &req, &err);
	if (rc == 0 && no_os_release && !req.show_version && !req.show_help && req.action != ACT_HELP) {
		fprintf(stderr, "\nError! System is missing os-release file.\n");
		request_release(&req);
		return 4;
	}
	if (req.quiet) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
	}
	for (size_t i = 0; i < req.deprecated.n; i++)
		fprintf(stderr, "Deprecated feature: %s\n", req.deprecated.items[i]);
	if (rc < 0) {
		fprintf(stderr, "\nError! %s\n", err.message);
		if (err.show_usage)
			print_usage(argv[0]);
		rc = err.exit_code;
		goto out;
	}
	if (req.show_version) {
		if (strcmp(prog, "modforge") == 0)
			printf("modforge-%s (dkms-%s compatible)\n", MODFORGE_VERSION, DKMS_COMPAT_RELEASE);
		else
			printf("dkms-%s\n", DKMS_COMPAT_RELEASE);
		goto out;
	}
	if (req.show_help || req.action == ACT_HELP) {
		rc = print_help(argv[0], prog, &req);
		goto out;
	}
	for (size_t i = 0; i < req.warnings.n; i++)
		fprintf(stderr, "Warning: %s\n", req.warnings.items[i]);
	if (req.action == ACT_NONE) {
		/* dkms names nothing and exits 0; the word is named, and a typo fails. */
		const char *near = action_nearest(req.first_word);
		fprintf(stderr, "\nError! Unknown action specified: \"%s\"\n", req.first_word ? req.first_word : "");
		if (near)
			fprintf(stderr, "Did you mean \"%s\"?\n", near);
		print_usage(argv[0]);
		rc = req.first_word || strcmp(prog, "dkms") != 0 ? 1 : 0; /* dkms alone: its usage, exit 0 */
		goto out;
	}
	struct ctx c = { 0 };
	struct framework fw;
	rc = setup_ctx(&c, &req, prog, &fw);
	struct sandbox_filter *filter = NULL;
	if (rc == 0)
		rc = setup_sandbox(&c, &filter);
	if (rc == 0 && !req.dry_run)
		rc = tree_recover(&c);
	if (rc == 0)
		rc = dispatch(&c);
	sandbox_filter_free(filter);
	fflush(stdout);
	framework_release(&fw);
	free(c.parallel_jobs);
	free(c.running_distribution_owned);
out:
	cli_error_release(&err);
	request_release(&req);
	int sig = jobs_stop_signal();
	if (sig) { /* stopped by Ctrl-C or SIGTERM, cleaned up: die of it, as a shell expects */
		fflush(NULL);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return rc;
}

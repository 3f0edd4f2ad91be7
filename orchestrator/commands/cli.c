#include "orchestrator/commands/cli.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fsutil.h"
#include "common/xalloc.h"

static const struct {
	const char *word;
	enum action action;
} actions[] = {
	{ "add", ACT_ADD },
	{ "build", ACT_BUILD },
	{ "unbuild", ACT_UNBUILD },
	{ "install", ACT_INSTALL },
	{ "uninstall", ACT_UNINSTALL },
	{ "autoinstall", ACT_AUTOINSTALL },
	{ "remove", ACT_REMOVE },
	{ "status", ACT_STATUS },
	{ "match", ACT_MATCH },
	{ "mktarball", ACT_MKTARBALL },
	{ "ldtarball", ACT_LDTARBALL },
	{ "generate_mok", ACT_GENERATE_MOK },
	{ "kernel_preinst", ACT_KERNEL_PREINST },
	{ "kernel_postinst", ACT_KERNEL_POSTINST },
	{ "kernel_prerm", ACT_KERNEL_PRERM },
	{ "help", ACT_HELP },
};

const char *cli_action_word(size_t i) { return i < ARRAY_SIZE(actions) ? actions[i].word : NULL; }

const char *action_name(enum action a)
{
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (actions[i].action == a)
			return actions[i].word;
	return "";
}

/* Levenshtein distance of a and b, capped at cap + 1 (words are short). */
static size_t distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 32 || lb > 32)
		return cap + 1;
	size_t row[33];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}

const char *action_nearest(const char *w)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; w && i < ARRAY_SIZE(actions); i++) {
		size_t d = distance(w, actions[i].word, 2);
		if (d < best_d) {
			best_d = d;
			best = actions[i].word;
		}
	}
	return best;
}

static enum action action_from_word(const char *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (strcmp(actions[i].word, w) == 0)
			return actions[i].action;
	return ACT_NONE;
}

enum opt_id {
	O_MODULE,
	O_VERSION,
	O_KERNEL,
	O_TEMPLATE,
	O_CONF,
	O_QUIET,
	O_VERSION_SHOW,
	O_NO_INITRD,
	O_NO_CLEAN_KERNEL,
	O_NO_PREPARE_KERNEL,
	O_BINARIES_ONLY,
	O_SOURCE_ONLY,
	O_FORCE,
	O_FORCE_VERSION_OVERRIDE,
	O_ALL,
	O_VERBOSE,
	O_RPM_SAFE,
	O_DKMSTREE,
	O_SOURCETREE,
	O_INSTALLTREE,
	O_SYMLINK,
	O_CONFIG,
	O_ARCHIVE,
	O_ARCH,
	O_KSRC,
	O_DIRECTIVE,
	O_NO_DEPMOD,
	O_MODPROBE,
	O_DEBUG,
	O_JOBS,
	O_HELP,
	O_JSON,
	O_DRY_RUN,
	O_ALL_KERNELS,
	O_NO_CACHE,
	O_EVENTS,
	O_NO_SANDBOX,
	O_SANDBOX_SCRIPTS,
};

/* dkms matches options with a bash `case` in this order; "prefix" entries are `--name*`
 * patterns (so --name=value and --namefoo both match), the others match exactly. */
static const struct opt {
	const char *name;
	bool prefix;
	bool takes_value;
	enum opt_id id;
} opts[] = {
	{ "--module", true, true, O_MODULE },
	{ "-m", false, true, O_MODULE },
	{ "-v", false, true, O_VERSION },
	{ "--kernelver", true, true, O_KERNEL },
	{ "-k", false, true, O_KERNEL },
	{ "--templatekernel", true, true, O_TEMPLATE },
	{ "-c", false, true, O_CONF },
	{ "--quiet", false, false, O_QUIET },
	{ "-q", false, false, O_QUIET },
	{ "--version", false, false, O_VERSION_SHOW },
	{ "-V", false, false, O_VERSION_SHOW },
	{ "--no-initrd", false, false, O_NO_INITRD },
	{ "--no-clean-kernel", false, false, O_NO_CLEAN_KERNEL },
	{ "--no-prepare-kernel", false, false, O_NO_PREPARE_KERNEL },
	{ "--binaries-only", false, false, O_BINARIES_ONLY },
	{ "--source-only", false, false, O_SOURCE_ONLY },
	{ "--force", false, false, O_FORCE },
	{ "--force-version-override", false, false, O_FORCE_VERSION_OVERRIDE },
	{ "--all", false, false, O_ALL },
	{ "--verbose", false, false, O_VERBOSE },
	{ "--rpm_safe_upgrade", false, false, O_RPM_SAFE },
	{ "--dkmstree", true, true, O_DKMSTREE },
	{ "--sourcetree", true, true, O_SOURCETREE },
	{ "--installtree", true, true, O_INSTALLTREE },
	{ "--symlink-modules", false, false, O_SYMLINK },
	{ "--config", true, true, O_CONFIG },
	{ "--archive", true, true, O_ARCHIVE },
	{ "--arch", true, true, O_ARCH },
	{ "-a", false, true, O_ARCH },
	{ "--kernelsourcedir", true, true, O_KSRC },
	{ "--directive", true, true, O_DIRECTIVE },
	{ "--no-depmod", false, false, O_NO_DEPMOD },
	{ "--modprobe-on-install", false, false, O_MODPROBE },
	{ "--debug", false, false, O_DEBUG },
	{ "-j", false, true, O_JOBS },
	{ "--help", false, false, O_HELP },
	{ "-h", false, false, O_HELP },
	{ "--json", false, false, O_JSON },
	{ "--dry-run", false, false, O_DRY_RUN },
	{ "--all-kernels", false, false, O_ALL_KERNELS },
	{ "--no-cache", false, false, O_NO_CACHE },
	{ "--events", true, true, O_EVENTS },
	{ "--no-sandbox", false, false, O_NO_SANDBOX },
	{ "--sandbox-scripts", false, false, O_SANDBOX_SCRIPTS },
};

const char *cli_option_name(size_t i) { return i < ARRAY_SIZE(opts) ? opts[i].name : NULL; }

static const struct opt *find_opt(const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		const struct opt *o = &opts[i];
		size_t n = strlen(o->name);
		if (o->prefix ? strncmp(arg, o->name, n) == 0 : strcmp(arg, o->name) == 0)
			return o;
	}
	return NULL;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* Splits "a/b" on the first '/': *left = a, *right = b (NULL when there is no '/'). */
static void split_first_slash(const char *s, char **left, char **right)
{
	const char *slash = strchr(s, '/');
	if (!slash) {
		*left = xstrdup(s);
		*right = NULL;
		return;
	}
	*left = xstrndup(s, (size_t)(slash - s));
	*right = xstrdup(slash + 1);
}

static void parse_module_version(struct request *req, const char *s)
{
	char *m, *v;
	split_first_slash(s, &m, &v);
	free(req->module);
	req->module = m;
	if (v) {
		free(req->version);
		req->version = v;
	}
}

static void parse_kernel_arch(struct request *req, const char *s)
{
	char *k, *a;
	split_first_slash(s, &k, &a);
	strv_push_owned(&req->kernels, k);
	if (a)
		strv_push_owned(&req->arches, a);
}

static void apply_opt(struct request *req, enum opt_id id, const char *val)
{
	switch (id) {
	case O_MODULE: parse_module_version(req, val); break;
	case O_VERSION: set_str(&req->version, val); break;
	case O_KERNEL: parse_kernel_arch(req, val); break;
	case O_TEMPLATE: set_str(&req->template_kernel, val); break;
	case O_CONF: set_str(&req->conf, val); break;
	case O_QUIET: req->quiet = true; break;
	case O_VERSION_SHOW: req->show_version = true; break;
	case O_NO_INITRD: strv_push(&req->deprecated, "--no-initrd"); break;
	case O_NO_CLEAN_KERNEL: strv_push(&req->deprecated, "--no-clean-kernel"); break;
	case O_NO_PREPARE_KERNEL: strv_push(&req->deprecated, "--no-prepare-kernel"); break;
	case O_BINARIES_ONLY: req->binaries_only = true; break;
	case O_SOURCE_ONLY: req->source_only = true; break;
	case O_FORCE: req->force = true; break;
	case O_FORCE_VERSION_OVERRIDE: req->force_version_override = true; break;
	case O_ALL: req->all = true; break;
	case O_VERBOSE: req->verbose = true; break;
	case O_RPM_SAFE: req->rpm_safe_upgrade = true; break;
	case O_DKMSTREE: set_str(&req->dkms_tree, val); break;
	case O_SOURCETREE: set_str(&req->source_tree, val); break;
	case O_INSTALLTREE: set_str(&req->install_tree, val); break;
	case O_SYMLINK: req->symlink_modules = true; break;
	case O_CONFIG: set_str(&req->kernel_config, val); break;
	case O_ARCHIVE: set_str(&req->archive, val); break;
	case O_ARCH: strv_push(&req->arches, val); break;
	case O_KSRC: set_str(&req->kernel_source_dir, val); break;
	case O_DIRECTIVE: strv_push(&req->directives, val); break;
	case O_NO_DEPMOD: req->no_depmod = true; break;
	case O_MODPROBE: req->modprobe_on_install = true; break;
	case O_DEBUG: break; /* bash tracing has no meaning here */
	case O_JOBS: set_str(&req->parallel_jobs, val); break;
	case O_HELP: req->show_help = true; break;
	case O_JSON: req->json = true; break;
	case O_DRY_RUN: req->dry_run = true; break;
	case O_ALL_KERNELS: req->all_kernels = true; break;
	case O_NO_CACHE: req->no_cache = true; break;
	case O_EVENTS: set_str(&req->events, val); break;
	case O_NO_SANDBOX: req->no_sandbox = true; break;
	case O_SANDBOX_SCRIPTS: req->sandbox_scripts = true; break;
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int fail(struct cli_error *err, int code, bool usage, char *msg)
{
	err->exit_code = code;
	err->show_usage = usage;
	err->message = msg;
	return -EINVAL;
}

/* A kernel version or arch becomes a path component: letters, digits, '.', '_', '-' and
 * extra; not "." or "..". Empty is left to dkms's own message (exit 16 too). */
static bool name_ok(const char *name, const char *extra)
{
	if (!*name)
		return true;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p) && !strchr(extra, *p))
			return false;
	return true;
}

static char *bad_name(const char *what, const char *name, const char *extra)
{
	return xasprintf("Invalid %s \"%s\": only letters, digits and . _ -%s are allowed, and not . or ..", what, name,
			 *extra ? " + ~" : "");
}

/* A positional word: action, source tree, archive, or module[/version]. */
static int parse_positional(struct request *req, const char *w, struct cli_error *err)
{
	if (req->action == ACT_HELP && !req->help_topic) { /* help VERB: any word, even a verb */
		set_str(&req->help_topic, w);
		return 0;
	}
	enum action a = action_from_word(w);
	if (a != ACT_NONE) {
		if (req->action != ACT_NONE)
			return fail(err, 4, false, xstrdup("Cannot specify more than one action."));
		req->action = a;
		set_str(&req->action_word, w);
		return 0;
	}
	if (!req->first_word)
		set_str(&req->first_word, w);
	if (is_regular(w) && ends_with(w, "dkms.conf")) {
		char *dir = xstrndup(w, strlen(w) - strlen("dkms.conf"));
		free(req->try_source_tree);
		req->try_source_tree = xasprintf("%s./", dir);
		free(dir);
	} else if (is_dir(w)) {
		char *conf = path_join(w, "dkms.conf");
		bool has = is_regular(conf);
		free(conf);
		if (has)
			set_str(&req->try_source_tree, w);
		else if (!req->module)
			parse_module_version(req, w);
		else
			strv_pushf(&req->warnings, "I do not know how to handle %s.", w);
	} else if (is_regular(w)) {
		set_str(&req->archive, w);
	} else if (!req->module) {
		parse_module_version(req, w);
	} else {
		strv_pushf(&req->warnings, "I do not know how to handle %s.", w);
	}
	return 0;
}

static int check_combinations(struct request *req, struct cli_error *err)
{
	if (req->binaries_only && req->source_only)
		return fail(err, 8, false,
			    xstrdup("You have specified both --binaries-only and --source-only.\n"
				    "You cannot do this."));
	if (req->symlink_modules)
		return fail(
			err, 2, true,
			xstrdup("--symlink-modules is not supported by modforge: modules are installed as copies."));
	if (req->rpm_safe_upgrade)
		return fail(
			err, 2, true,
			xstrdup("--rpm_safe_upgrade is not supported by modforge (it serves RPM upgrade scriptlets)."));
	if (req->kernels.n != req->arches.n && req->arches.n > 1)
		return fail(err, 1, false,
			    xstrdup("If more than one arch is specified on the command line, then there\n"
				    "must be an equal number of kernel versions also specified (1:1 relationship)."));
	if (req->kernels.n > 0 && req->all)
		return fail(err, 2, false,
			    xstrdup("You cannot specify a kernel version and also specify\n"
				    "--all on the command line."));
	if (req->arches.n > 0 && req->all)
		return fail(err, 3, false,
			    xstrdup("You cannot specify an arch and also specify\n"
				    "--all on the command line."));
	/* status takes them as glob patterns, as dkms does; nothing is made of them there. */
	bool patterns = req->action == ACT_STATUS;
	for (size_t i = 0; i < req->kernels.n; i++)
		if (!name_ok(req->kernels.items[i], patterns ? "+~*?[]()@!|" : "+~"))
			return fail(err, 16, false, bad_name("kernel version", req->kernels.items[i], "+~"));
	for (size_t i = 0; i < req->arches.n; i++)
		if (!name_ok(req->arches.items[i], patterns ? "*?[]()@!|+" : ""))
			return fail(err, 16, false, bad_name("arch", req->arches.items[i], ""));
	return 0;
}

int cli_parse(int argc, char **argv, struct request *req, struct cli_error *err)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-') {
			int r = parse_positional(req, arg, err);
			if (r < 0)
				return r;
			continue;
		}
		const struct opt *o = find_opt(arg);
		if (!o)
			return fail(err, 2, true, xasprintf("Unknown option: %s", arg));
		const char *val = NULL;
		if (o->takes_value) {
			const char *eq = strchr(arg, '=');
			if (eq) {
				val = eq + 1;
			} else {
				val = i + 1 < argc ? argv[++i] : "";
			}
		}
		apply_opt(req, o->id, val);
		/* -V and --help end parsing at once, as in dkms. */
		if (req->show_version || req->show_help)
			return 0;
	}
	return check_combinations(req, err);
}

void request_release(struct request *req)
{
	free(req->action_word);
	free(req->first_word);
	free(req->module);
	free(req->version);
	strv_release(&req->kernels);
	strv_release(&req->arches);
	free(req->conf);
	free(req->template_kernel);
	free(req->kernel_config);
	free(req->archive);
	free(req->kernel_source_dir);
	free(req->dkms_tree);
	free(req->source_tree);
	free(req->install_tree);
	free(req->parallel_jobs);
	free(req->try_source_tree);
	free(req->events);
	free(req->help_topic);
	strv_release(&req->directives);
	strv_release(&req->warnings);
	strv_release(&req->deprecated);
	memset(req, 0, sizeof(*req));
}

void cli_error_release(struct cli_error *err)
{
	free(err->message);
	err->message = NULL;
}

void cli_usage(const char *prog, struct strv *lines)
{
	strv_pushf(lines, "Usage: %s [action] [options]", prog);
	strv_push(lines, "  [action]  = { add | remove | build | unbuild | install | uninstall | match |");
	strv_push(lines, "               autoinstall | mktarball | ldtarball | status | generate_mok |");
	strv_push(lines, "               kernel_preinst | kernel_postinst | kernel_prerm }");
	strv_push(lines, "  [options] = [-m module] [-v module-version] [-k kernel-version] [-a arch]");
	strv_push(lines, "              [-c dkms.conf-location] [-q] [--force] [--force-version-override] [--all]");
	strv_push(lines, "              [--templatekernel=kernel] [--directive='cli-directive=cli-value']");
	strv_push(lines,
		  "              [--config=kernel-include/config/auto.conf-location] [--archive=tarball-location]");
	strv_push(lines, "              [--kernelsourcedir=source-location] [--rpm_safe_upgrade]");
	strv_push(lines, "              [--dkmstree path] [--sourcetree path] [--installtree path]");
	strv_push(lines, "              [--binaries-only] [--source-only] [--verbose]");
	strv_push(lines, "              [--no-depmod] [--modprobe-on-install] [-j number] [--version] [--help]");
	strv_push(
		lines,
		"  modforge  = [--json] [--dry-run] [--all-kernels] [--no-cache] [--events=file] [--no-sandbox] [--sandbox-scripts]");
}

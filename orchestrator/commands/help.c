/* help.c - what `modforge --help` and `modforge help VERB` say: every verb and every
 * option the command line accepts (tests/unit/test_help.c checks that none is left out,
 * here, in the man page and in the completions). As dkms, --help stays dkms's usage.
 */
#include "orchestrator/commands/help.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

struct verb_help {
	const char *name;
	const char *args;    /* after the verb */
	const char *summary; /* one line */
	const char *text;    /* more, a paragraph per '\n' */
	const char *options; /* the options it honours, space-separated (beyond the roots) */
};

static const struct verb_help verbs[] = {
	{ "add", "[M/V | DIR]", "register a module's source in the DKMS tree",
	  "Links <sourcetree>/M-V (or copies DIR there first, DIR holding a dkms.conf) into the tree as "
	  "<dkmstree>/M/V/source and runs its POST_ADD script.",
	  "-m -v -c --force --dry-run --json" },
	{ "build", "M/V | DIR", "build a module for kernels (nothing is installed)",
	  "Builds for each -k kernel (default: the running one; --all-kernels: every kernel with headers), all "
	  "at once under one -j budget, each in its own sandbox as an unprivileged user. A build already in "
	  "the build cache is restored from it; --force builds again for real. Failed builds keep their own "
	  "log each: <dkmstree>/.modforge/logs/M/V/make-K-A.log.",
	  "-m -v -k -a -j -c --force --all-kernels --kernelsourcedir --config --no-cache --no-sandbox "
	  "--verbose --dry-run --json --events" },
	{ "unbuild", "M/V (-k K | --all)", "delete what was built (uninstalling it first)", "",
	  "-m -v -k -a --all --dry-run --json --events" },
	{ "install", "M/V | DIR", "build if needed, then install into the kernels' module trees",
	  "Copies the modules to <installtree>/K/<DEST_MODULE_LOCATION> (Debian: /updates/dkms), keeping "
	  "same-named originals to restore, runs depmod once per kernel, and with BUILD_DEPENDS_REBUILD "
	  "rebuilds the modules that depend on it. Needs root.",
	  "-m -v -k -a -j -c --force --force-version-override --all-kernels --no-depmod --modprobe-on-install "
	  "--kernelsourcedir --config --no-cache --no-sandbox --sandbox-scripts --dry-run --json --events" },
	{ "uninstall", "M/V (-k K | --all)", "take installed modules out, restoring originals", "Needs root.",
	  "-m -v -k -a --all --force --no-depmod --dry-run --json --events" },
	{ "remove", "M/V (-k K | --all)", "uninstall, unbuild and, with --all, unregister a version",
	  "A broken version (its source is gone) is refused (exit 4); --force cleans up what is left of it.",
	  "-m -v -k -a --all --force --dry-run --json --events" },
	{ "autoinstall", "[-k K ...]", "build and install every AUTOINSTALL module for kernels",
	  "The newest added version of each module whose dkms.conf says AUTOINSTALL=yes, dependencies "
	  "(BUILD_DEPENDS) first, as one plan over all the kernels given. Needs root.",
	  "-k -a -j --all-kernels --force --no-depmod --modprobe-on-install --no-cache --no-sandbox --dry-run "
	  "--json --events" },
	{ "status", "[M[/V]] [-k K] [-a A]", "show what is added, built and installed",
	  "-m, -v, -k and -a are glob patterns. --json: every entry with its source, AUTOINSTALL, module files, "
	  "where they are installed and whether they are signed (share/modforge/schema/status.schema.json).",
	  "-m -v -k -a --json" },
	{ "generate_mok", "", "make the module signing key pair if there is none",
	  "Writes <dkmstree>/mok.key and mok.pub (or framework.conf's mok_signing_key, mok_certificate).", "" },
	{ "kernel_postinst", "-k K", "a kernel was installed: autoinstall for it", "Run by the kernel hooks.",
	  "-k -a" },
	{ "kernel_preinst", "-k K", "a kernel is about to be installed", "Run by the kernel hooks.", "-k -a" },
	{ "kernel_prerm", "-k K", "a kernel is about to be removed: remove its modules", "Run by the kernel hooks.",
	  "-k -a" },
	{ "match", "--templatekernel K -k K2 [M]", "install on K2 what is installed on K",
	  "Every module installed on the template kernel K (or only M) is built and installed on K2, as one "
	  "plan. Needs root.",
	  "--templatekernel -k -a -m -j --force --no-depmod --no-cache --no-sandbox --dry-run --json --events" },
	{ "mktarball", "M/V [-k K ...] [--source-only | --binaries-only] [--archive FILE]",
	  "archive a module's source and built modules",
	  "In dkms's layout (dkms_main_tree/, dkms_source_tree/ or dkms_binaries_only/), which dkms 3.x "
	  "loads; default <dkmstree>/M/V/tarball/M-V-kernelK-A.dkms.tar.gz.",
	  "-m -v -k -a --source-only --binaries-only --archive -c" },
	{ "ldtarball", "FILE | --archive FILE [--force]", "load an archive made by mktarball (modforge's or dkms's)",
	  "Its source goes into the source tree and is added, its built modules into the tree. The archive is "
	  "unpacked by the build user in a sandbox. --force replaces what is there.",
	  "--archive --force --no-sandbox" },
	{ "help", "[VERB]", "this text, or what VERB does", "", "" },
};

struct option_help {
	const char *names; /* as written on the command line, ", "-separated */
	const char *arg;
	const char *text;
};

static const struct option_help options[] = {
	{ "-m, --module", "M[/V]", "the module (and version)" },
	{ "-v", "V", "the module version" },
	{ "-k, --kernelver", "K[/A]", "a kernel (and arch); repeat for several (default: the running kernel)" },
	{ "-a, --arch", "A", "the arch (default: the machine's)" },
	{ "-c", "FILE", "read this dkms.conf instead of the module's own" },
	{ "-j", "N", "job slots for the whole run (builds and their make jobs); 0: no limit" },
	{ "--all", "", "every kernel the module is built for (uninstall, unbuild, remove)" },
	{ "--force", "", "build again, reinstall, or clean up a broken version" },
	{ "--force-version-override", "", "install over a newer installed module version" },
	{ "--kernelsourcedir", "DIR", "the kernel headers (default: <installtree>/K/build)" },
	{ "--config", "FILE", "the kernel's .config (signing, BUILD_EXCLUSIVE_CONFIG); a missing file is an error" },
	{ "--directive", "'NAME=VALUE'", "set a dkms.conf directive" },
	{ "--templatekernel", "K", "match's template kernel" },
	{ "--archive", "FILE", "mktarball/ldtarball's tarball" },
	{ "--binaries-only", "", "mktarball: the built modules and dkms.conf, no source" },
	{ "--source-only", "", "mktarball: the source, no built modules" },
	{ "--dkmstree", "DIR", "the DKMS tree (default /var/lib/dkms)" },
	{ "--sourcetree", "DIR", "where sources live (default /usr/src)" },
	{ "--installtree", "DIR", "the kernels' module trees (default /lib/modules)" },
	{ "--no-depmod", "", "do not run depmod" },
	{ "--modprobe-on-install", "", "after installing for the running kernel, load what its devices ask for" },
	{ "--verbose", "", "say more (the build cache, the make command)" },
	{ "-q, --quiet", "", "say nothing" },
	{ "-V, --version", "", "print the version" },
	{ "-h, --help", "", "this text" },
	{ "--no-initrd, --no-clean-kernel, --no-prepare-kernel", "", "deprecated in dkms; ignored" },
	{ "--debug", "", "dkms's bash tracing; ignored" },
	{ "--symlink-modules, --rpm_safe_upgrade", "", "refused: modforge does not support them" },
	{ "--json", "", "status and --dry-run as JSON (share/modforge/schema/)" },
	{ "--dry-run", "",
	  "print the plan (what each build will do: build, cache hit, already built); change nothing" },
	{ "--all-kernels", "", "build, install or autoinstall for every kernel with headers" },
	{ "--no-cache", "", "neither use nor fill the build cache" },
	{ "--events", "FILE", "append the run's events as JSON lines (events.schema.json)" },
	{ "--no-sandbox", "", "run builds unconfined (as root when root runs modforge)" },
	{ "--sandbox-scripts", "", "confine POST_ADD/PRE_INSTALL/POST_INSTALL/POST_REMOVE too" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct option_help *option_named(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < N(options); i++) {
		const char *p = options[i].names;
		while ((p = strstr(p, name))) {
			if ((p == options[i].names || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
				return &options[i];
			p += n;
		}
	}
	return NULL;
}

#define WIDTH 88

/* text as lines of at most WIDTH columns: the first after first (padded to indent), the
 * others indented. */
static void wrapped(struct strv *out, const char *first, size_t indent, const char *text)
{
	char line[256];
	snprintf(line, sizeof(line), "%-*s", (int)indent, first);
	size_t len = strlen(line), start = len;
	for (const char *w = text; *w;) {
		size_t n = strcspn(w, " ");
		if (len > start && len + 1 + n > WIDTH) {
			strv_push(out, line);
			snprintf(line, sizeof(line), "%-*s", (int)indent, "");
			len = start = indent;
		}
		if (len > start && len < sizeof(line) - 1)
			line[len++] = ' ';
		size_t room = sizeof(line) - 1 - len;
		memcpy(line + len, w, n < room ? n : room);
		len += n < room ? n : room;
		line[len] = '\0';
		w += n;
		w += strspn(w, " ");
	}
	strv_push(out, line);
}

static void option_line(struct strv *out, const struct option_help *o)
{
	char left[96];
	snprintf(left, sizeof(left), "  %s%s%s", o->names, *o->arg ? " " : "", o->arg);
	if (strlen(left) > 28) {
		strv_push(out, left);
		*left = '\0';
	}
	wrapped(out, left, 30, o->text);
}

void help_all(const char *prog, struct strv *out)
{
	strv_pushf(out, "Usage: %s VERB [M/V | DIR] [options]", prog);
	strv_push(out, "");
	wrapped(out, "", 0,
		"Builds, installs and tracks out-of-tree kernel modules (dkms.conf, dkms's tree and verbs), for many "
		"kernels at once, with builds confined and never run as root.");
	strv_push(out, "");
	strv_push(out, "Verbs:");
	for (size_t i = 0; i < N(verbs); i++)
		strv_pushf(out, "  %-16s  %s", verbs[i].name, verbs[i].summary);
	strv_push(out, "");
	strv_push(out, "Options:");
	for (size_t i = 0; i < N(options); i++)
		option_line(out, &options[i]);
	strv_push(out, "");
	strv_pushf(out, "`%s help VERB` says what a verb does; modforge(8) says all. Exit codes are dkms's.", prog);
}

int help_verb(const char *prog, const char *verb, struct strv *out)
{
	const struct verb_help *v = NULL;
	for (size_t i = 0; i < N(verbs) && !v; i++)
		if (strcmp(verbs[i].name, verb) == 0)
			v = &verbs[i];
	if (!v)
		return -1;
	strv_pushf(out, "Usage: %s %s%s%s", prog, v->name, *v->args ? " " : "", v->args);
	strv_push(out, "");
	strv_pushf(out, "%s %s: %s.", prog, v->name, v->summary);
	if (*v->text)
		wrapped(out, "", 0, v->text);
	if (!*v->options)
		return 0;
	strv_push(out, "");
	strv_push(out, "Options (and --dkmstree, --sourcetree, --installtree):");
	char *names = strdup(v->options), *save = NULL;
	const struct option_help *last = NULL;
	for (char *w = names ? strtok_r(names, " ", &save) : NULL; w; w = strtok_r(NULL, " ", &save)) {
		const struct option_help *o = option_named(w);
		if (o && o != last)
			option_line(out, o);
		last = o;
	}
	free(names);
	return 0;
}

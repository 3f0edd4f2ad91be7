/* Pins dkms 3.4.3's command-line grammar (reference §1.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/commands/cli.h"
#include "tap.h"

static int parse(struct request *r, struct cli_error *e, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	memset(r, 0, sizeof(*r));
	memset(e, 0, sizeof(*e));
	return cli_parse(argc, argv, r, e);
}

static void test_module_version_forms(void)
{
	struct request r;
	struct cli_error e;
	CHECK(parse(&r, &e, (char *[]){ "dkms", "build", "-m", "foo/1.2", "-k", "6.1.0-1-amd64/x86_64", NULL }) == 0);
	CHECK(r.action == ACT_BUILD);
	CHECK_STR(r.module, "foo");
	CHECK_STR(r.version, "1.2");
	CHECK(r.kernels.n == 1 && r.arches.n == 1);
	CHECK_STR(r.kernels.items[0], "6.1.0-1-amd64");
	CHECK_STR(r.arches.items[0], "x86_64");
	request_release(&r);

	CHECK(parse(&r, &e, (char *[]){ "dkms", "foo/1.2/extra", "install", "--kernelver=K1", "-k", "K2", NULL }) == 0);
	CHECK_STR(r.module, "foo");
	CHECK_STR(r.version, "1.2/extra");
	CHECK(r.action == ACT_INSTALL);
	CHECK(r.kernels.n == 2 && r.arches.n == 0);
	request_release(&r);

	CHECK(parse(&r, &e,
		    (char *[]){ "dkms", "status", "-m", "foo", "-v", "2", "--dkmstree", "/x", "--sourcetree=/y",
				NULL }) == 0);
	CHECK_STR(r.module, "foo");
	CHECK_STR(r.version, "2");
	CHECK_STR(r.dkms_tree, "/x");
	CHECK_STR(r.source_tree, "/y");
	request_release(&r);
}

static void test_errors(void)
{
	struct request r;
	struct cli_error e;
	/* kernel versions and arches become path components */
	static const char *const bad[][2] = { { "-a", "../x" }, { "-a", "a b" },   { "-a", "." },
					      { "-k", ".." },   { "-k", "6.1 x" }, { "-k", "6.1;x" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(parse(&r, &e, (char *[]){ "dkms", "build", "m/v", (char *)bad[i][0], (char *)bad[i][1], NULL }) <
		      0);
		CHECK(e.exit_code == 16 && e.message && strstr(e.message, "Invalid ") == e.message);
		cli_error_release(&e);
		request_release(&r);
	}
	CHECK(parse(&r, &e, (char *[]){ "dkms", "build", "m/v", "-k", "6.12.117+deb12-amd64~1_x", NULL }) == 0);
	request_release(&r);
	CHECK(parse(&r, &e, (char *[]){ "dkms", "build", "-j4", NULL }) < 0);
	CHECK(e.exit_code == 2 && e.show_usage);
	CHECK_STR(e.message, "Unknown option: -j4");
	cli_error_release(&e);
	request_release(&r);

	CHECK(parse(&r, &e, (char *[]){ "dkms", "build", "add", NULL }) < 0);
	CHECK(e.exit_code == 4);
	cli_error_release(&e);
	request_release(&r);

	CHECK(parse(&r, &e, (char *[]){ "dkms", "remove", "m/v", "-k", "K", "--all", NULL }) < 0);
	CHECK(e.exit_code == 2);
	cli_error_release(&e);
	request_release(&r);

	CHECK(parse(&r, &e, (char *[]){ "dkms", "remove", "m/v", "-a", "x86_64", "--all", NULL }) < 0);
	CHECK(e.exit_code == 3);
	cli_error_release(&e);
	request_release(&r);

	CHECK(parse(&r, &e, (char *[]){ "dkms", "build", "m/v", "-k", "K", "-a", "a1", "-a", "a2", "-a", "a3", NULL }) <
	      0);
	CHECK(e.exit_code == 1);
	cli_error_release(&e);
	request_release(&r);

	CHECK(parse(&r, &e, (char *[]){ "dkms", "mktarball", "--binaries-only", "--source-only", NULL }) < 0);
	CHECK(e.exit_code == 8);
	cli_error_release(&e);
	request_release(&r);
}

static void test_positional_paths(void)
{
	char dir[] = "/tmp/modforge-cli-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char conf[256];
	snprintf(conf, sizeof(conf), "%s/dkms.conf", dir);
	FILE *f = fopen(conf, "w");
	fputs("PACKAGE_NAME=x\n", f);
	fclose(f);
	struct request r;
	struct cli_error e;
	CHECK(parse(&r, &e, (char *[]){ "dkms", "add", dir, NULL }) == 0);
	CHECK_STR(r.try_source_tree, dir);
	CHECK(r.module == NULL);
	request_release(&r);
	CHECK(parse(&r, &e, (char *[]){ "dkms", "add", conf, NULL }) == 0);
	char expect[300];
	snprintf(expect, sizeof(expect), "%s/./", dir);
	CHECK_STR(r.try_source_tree, expect);
	request_release(&r);
	CHECK(parse(&r, &e, (char *[]){ "dkms", "status", "a/1", "b/2", NULL }) == 0);
	CHECK_STR(r.module, "a");
	CHECK(r.warnings.n == 1);
	CHECK_STR(r.warnings.items[0], "I do not know how to handle b/2.");
	request_release(&r);
	unlink(conf);
	rmdir(dir);
}

static void test_flags(void)
{
	struct request r;
	struct cli_error e;
	CHECK(parse(&r, &e,
		    (char *[]){ "dkms", "install", "m/v", "--force", "--no-depmod", "-j", "3", "--verbose",
				"--directive", "A=b", "--no-initrd", "--json", "--dry-run", NULL }) == 0);
	CHECK(r.force && r.no_depmod && r.verbose && r.json && r.dry_run);
	CHECK_STR(r.parallel_jobs, "3");
	CHECK(r.directives.n == 1);
	CHECK(r.deprecated.n == 1);
	request_release(&r);
	CHECK(parse(&r, &e, (char *[]){ "dkms", "-V", "--bogus", NULL }) == 0);
	CHECK(r.show_version);
	request_release(&r);
	CHECK(parse(&r, &e, (char *[]){ "dkms", "bogus", NULL }) == 0);
	CHECK(r.action == ACT_NONE);
	CHECK_STR(r.module, "bogus");
	request_release(&r);
}

static void test_nearest(void)
{
	CHECK_STR(action_nearest("instal"), "install");
	CHECK_STR(action_nearest("biuld"), "build");
	CHECK_STR(action_nearest("stauts"), "status");
	CHECK_STR(action_nearest("uninstal"), "uninstall");
	CHECK(action_nearest("frobnicate") == NULL);
	CHECK(action_nearest("") == NULL);
	CHECK(action_nearest(NULL) == NULL);
}

int main(void)
{
	test_nearest();
	test_module_version_forms();
	test_errors();
	test_positional_paths();
	test_flags();
	return tap_done();
}

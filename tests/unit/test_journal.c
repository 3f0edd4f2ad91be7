/* test_journal.c - the installer's journal (executor/journal.h) against a fake dkms tree
 * and a fake <installtree>/<k> in a temp dir: an install-like journal (archive, copy,
 * link, depmod) and the uninstall-like one (delete, restore, unlink, rmtree) run and
 * bring the tree back to what it was, with no journal and no temp file left; J_DELETE
 * keeps a file that is not the planned one; a step that fails part-way returns -errno,
 * prints one line naming the step and path and leaves the tree exactly as before (a
 * listing with modes, link targets and md5sums compared); a run killed (SIGKILL, stopped on a FIFO) in the
 * middle of a copy leaves the journal and a temp file, journal_recover finishes it
 * (returns 1, "Finishing the interrupted ...") and then returns 0; a bad journal is
 * refused and kept; journal_add refuses tabs and newlines; journal_trash,
 * journal_empty_trash, the pending-depmod marks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/journal.h"
#include "fixture.h"
#include "tap.h"

#define K      "6.1.0-mf"
#define TARGET "1.0/" K "/x86_64"

static char dir[64];
static char *dkms, *lib, *built, *orig, *archived, *dst, *marker, *jpath;

static char *at(const char *rel) { return path_join(dir, rel); }

static void put(const char *path, const char *text)
{
	_cleanup_free_ char *d = parent_dir(path);
	CHECK(mkdir_p(d, 0755) == 0 && write_file_atomic(path, text, strlen(text), 0644) == 0);
}

static bool has_text(const char *path, const char *want)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	return buf_read_file(&b, path) == 0 && !strcmp(b.data, want);
}

static struct buf text = BUF_INIT;
static FILE *out, *err;

static void expect(FILE *f, const char *want) { fixture_expect(f, want, &text); }

static void snapshot(struct buf *b) { fixture_snapshot(dir, b); }

/* The kernels with a pending depmod, sorted, space-separated, are want. */
static bool pending_is(const char *want)
{
	_cleanup_strv_ struct strv p = STRV_INIT;
	_cleanup_buf_ struct buf b = BUF_INIT;
	journal_pending_depmod(dkms, &p);
	strv_sort(&p, strcmp);
	for (size_t i = 0; i < p.n; i++)
		buf_addf(&b, "%s%s", i ? " " : "", p.items[i]);
	return !strcmp(b.data, want);
}

static void add(struct journal *j, enum journal_step k, const char *a, const char *b, const char *c, const char *d)
{
	CHECK(journal_add(j, k, a, b, c, d) == 0);
}

/* Runs a journal of one step; returns what journal_run returned. */
static int run_one(enum journal_step k, const char *a, const char *b, const char *c, const char *d)
{
	struct journal j;
	journal_init(&j, dkms, "one step");
	add(&j, k, a, b, c, d);
	int r = journal_run(&j, err);
	journal_release(&j);
	return r;
}

static void add_install_steps(struct journal *j)
{
	add(j, J_ARCHIVE, orig, archived, NULL, NULL);
	add(j, J_COPY, built, dst, lib, NULL);
	add(j, J_LINK, TARGET, marker, NULL, NULL);
}

/* Install-like journal, then the uninstall-like one: the tree is as it was before. */
static void test_run_and_back(void)
{
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	struct journal j;
	journal_init(&j, dkms, "install of mf/1.0");
	add_install_steps(&j);
	add(&j, J_DEPMOD, K, NULL, NULL, NULL);
	CHECK(journal_run(&j, err) == 0);
	journal_release(&j);
	expect(err, "");
	CHECK(!path_exists(orig) && has_text(archived, "ORIGINAL"));
	_cleanup_free_ char *origin = xasprintf("%s.origin", archived);
	_cleanup_free_ char *origin_want = xasprintf("%s\n", orig);
	CHECK(has_text(origin, origin_want) && has_text(dst, "BUILT"));
	char t[256] = { 0 };
	CHECK(readlink(marker, t, sizeof(t) - 1) > 0 && !strcmp(t, TARGET));
	CHECK(!path_exists(jpath));
	CHECK(pending_is(K));

	_cleanup_free_ char *id = journal_identity(dst);
	_cleanup_free_ char *orig_a = at("dkms/mf/original_module/" K "/x86_64");
	journal_init(&j, dkms, "uninstall of mf/1.0");
	add(&j, J_DELETE, dst, built, lib, id);
	add(&j, J_RESTORE, archived, orig, NULL, NULL);
	add(&j, J_UNLINK, TARGET, marker, NULL, NULL);
	add(&j, J_RMTREE, orig_a, NULL, NULL, NULL);
	CHECK(journal_run(&j, err) == 0);
	journal_release(&j);
	expect(err, "");
	CHECK(has_text(orig, "ORIGINAL") && !path_exists(dst) && !path_exists(marker) && !path_exists(orig_a));
	_cleanup_free_ char *updates = path_join(lib, "updates");
	CHECK(!path_exists(updates)); /* emptied dirs removed up to the kernel tree's top */
	/* uninstall_run removes these two itself: they must be empty. */
	_cleanup_free_ char *orig_k = at("dkms/mf/original_module/" K);
	_cleanup_free_ char *orig_root = at("dkms/mf/original_module");
	CHECK(rmdir(orig_k) == 0 && rmdir(orig_root) == 0);
	journal_depmod_done(dkms, K);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	CHECK(!strstr(after.data, "modforge-tmp"));
}

/* J_DELETE with an identity that is not the file's any more keeps it. */
static void test_delete_identity(void)
{
	_cleanup_free_ char *f = path_join(lib, "extra/keep.ko");
	_cleanup_free_ char *extra = path_join(lib, "extra");
	put(f, "RESTORED ORIGINAL");
	CHECK(run_one(J_DELETE, f, built, lib, "1:1") == 0 && has_text(f, "RESTORED ORIGINAL"));
	_cleanup_free_ char *id = journal_identity(f);
	CHECK(id != NULL && run_one(J_DELETE, f, built, lib, id) == 0);
	CHECK(!path_exists(f) && !path_exists(extra) && is_dir(lib));
	CHECK(journal_identity(f) == NULL);
}

/* Prints (as TAP comments) the lines of a that are not in b. */
static void lines_not_in(const char *a, const char *b, const char *label)
{
	_cleanup_free_ char *copy = xstrdup(a);
	for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n")) {
		_cleanup_free_ char *nl = xasprintf("%s\n", l);
		if (!strstr(b, nl))
			printf("#   %s: %s\n", label, l);
	}
}

/* A journal whose last step fails: one error line, no journal; returns whether the tree
 * is exactly as before (every step undone). */
static bool fails_as_before(const char *bad_src, const char *rel_dst, int want)
{
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	_cleanup_free_ char *bad_dst = path_join(lib, rel_dst);
	_cleanup_free_ char *want_err = xasprintf("\nError! copying %s failed: %s\n", bad_dst, strerror(-want));
	_cleanup_free_ char *old = path_join(lib, "extra/old.ko");
	_cleanup_free_ char *old_built = at("dkms/mf/1.0/" K "/x86_64/module/old.ko");
	_cleanup_free_ char *id = journal_identity(old);
	_cleanup_free_ char *marker2 = at("dkms/mf/kernel-k2-x86_64");
	_cleanup_free_ char *nn = at("dkms/nn/original_module/" K "/x86_64/nn.ko");
	_cleanup_free_ char *nn_to = path_join(lib, "kernel/nn.ko");
	snapshot(&before);
	struct journal j;
	journal_init(&j, dkms, "install");
	add_install_steps(&j);
	add(&j, J_DELETE, old, old_built, lib, id);
	add(&j, J_RESTORE, nn, nn_to, NULL, NULL);
	add(&j, J_UNLINK, "0.9/k2/x86_64", marker2, NULL, NULL);
	add(&j, J_COPY, bad_src, bad_dst, lib, NULL);
	CHECK(journal_run(&j, err) == want);
	journal_release(&j);
	expect(err, want_err);
	CHECK(!path_exists(jpath));
	snapshot(&after);
	lines_not_in(after.data, before.data, "left behind");
	lines_not_in(before.data, after.data, "gone");
	return !strcmp(after.data, before.data);
}

static void test_failures(void)
{
	_cleanup_free_ char *old = path_join(lib, "extra/old.ko");
	put(old, "OLD");
	_cleanup_free_ char *old_built = at("dkms/mf/1.0/" K "/x86_64/module/old.ko");
	put(old_built, "OLD");
	_cleanup_free_ char *marker2 = at("dkms/mf/kernel-k2-x86_64");
	CHECK(symlink("0.9/k2/x86_64", marker2) == 0);
	_cleanup_free_ char *nn = at("dkms/nn/original_module/" K "/x86_64/nn.ko");
	_cleanup_free_ char *nn_origin = xasprintf("%s.origin", nn);
	_cleanup_free_ char *nn_line = xasprintf("%s/kernel/nn.ko\n", lib);
	put(nn, "NN ORIGINAL");
	put(nn_origin, nn_line);
	_cleanup_free_ char *missing = at("missing.ko");

	/* (a) the source of the last copy is missing; its destination dir exists. */
	CHECK(fails_as_before(missing, "kernel/drivers/missing.ko", -ENOENT));
	/* (b) a file is in the way of the destination dir. */
	CHECK(fails_as_before(built, "modules.dep/x.ko", -ENOTDIR));
	/* (c) the destination dir is read-only (root is not stopped by that). */
	_cleanup_free_ char *ro = path_join(lib, "kernel/ro");
	if (geteuid() == 0) {
		fprintf(stderr, "# SKIP a read-only destination dir: root writes there anyway\n");
	} else {
		CHECK(mkdir(ro, 0555) == 0);
		CHECK(fails_as_before(built, "kernel/ro/x.ko", -EACCES));
		CHECK(rmdir(ro) == 0);
	}
	/* (d) the failing copy is the first into new dirs: the dirs it made go too (a copy
	 * that fails before its destination exists, as the first module into a new
	 * <k>/updates/dkms on a full disk, left them behind before this was fixed). */
	CHECK(fails_as_before(missing, "new/dir/missing.ko", -ENOENT));
	_cleanup_free_ char *new = path_join(lib, "new");
	CHECK(rm_rf(new) == 0);
}

/* journal_run killed in the middle of a copy (its source a FIFO the test feeds), then
 * journal_recover. */
static void test_crash_recover(void)
{
	_cleanup_free_ char *fifo = at("fifo.ko");
	_cleanup_free_ char *dst2 = path_join(lib, "updates/dkms/mf2.ko");
	CHECK(mkfifo(fifo, 0644) == 0);
	struct journal j;
	journal_init(&j, dkms, "install of mf/1.0 for kernel " K " (x86_64)");
	add_install_steps(&j);
	add(&j, J_COPY, fifo, dst2, lib, NULL);
	add(&j, J_DEPMOD, K, NULL, NULL, NULL);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		(void)journal_run(&j, NULL);
		/* Came back instead of blocking on the FIFO: let the parent's open return. */
		(void)open(fifo, O_RDONLY | O_NONBLOCK);
		_exit(3);
	}
	journal_release(&j);
	CHECK(pid > 0);
	/* Returns once the child opened the FIFO to copy it (step 4); the write returns
	 * once the child has read from it, i.e. its temp file exists. */
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);
	int cap = fcntl(fd, F_GETPIPE_SZ);
	char *fill = xcalloc((size_t)cap + 1, 1);
	CHECK(cap > 0 && write(fd, fill, (size_t)cap + 1) == cap + 1);
	free(fill);
	int status = 0;
	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fd);

	_cleanup_buf_ struct buf jt = BUF_INIT;
	const char *head = "modforge-journal 1\nwhat\tinstall of mf/1.0 for kernel " K " (x86_64)\n";
	CHECK(buf_read_file(&jt, jpath) == 0 && !strncmp(jt.data, head, strlen(head)));
	_cleanup_free_ char *line = xasprintf("\ncopy\t%s\t%s\t%s\t\n", fifo, dst2, lib);
	CHECK(strstr(jt.data, line) != NULL);
	_cleanup_free_ char *tmp = xasprintf("%s.modforge-tmp.%ld", dst2, (long)pid);
	CHECK(path_exists(tmp) && has_text(dst, "BUILT") && is_symlink(marker) && !path_exists(dst2));
	CHECK(pending_is(""));

	/* The built module is a regular file again; the next command finishes the change. */
	CHECK(unlink(fifo) == 0);
	put(fifo, "SECOND");
	CHECK(journal_recover(dkms, out, err) == 1);
	expect(out, "Finishing the interrupted install of mf/1.0 for kernel " K " (x86_64).\n");
	expect(err, "");
	CHECK(has_text(dst2, "SECOND") && has_text(dst, "BUILT") && has_text(archived, "ORIGINAL"));
	CHECK(!path_exists(orig) && is_symlink(marker) && !path_exists(tmp) && !path_exists(jpath));
	CHECK(pending_is(K));
	CHECK(journal_recover(dkms, out, err) == 0); /* none left */
	expect(out, "");

	/* Refused and kept: not a journal, an unknown step, a step that fails. */
	_cleanup_free_ char *fails = xasprintf("modforge-journal 1\ncopy\t%s/missing.ko\t%s/kernel/b.ko\t\t\n", dir,
					       lib);
	_cleanup_free_ char *fails_why = xasprintf("copying %s/kernel/b.ko failed", lib);
	const char *const bad[] = { "garbage\n", "modforge-journal 1\nwhat\tx\nfrobnicate\ta\t\t\t\n", fails };
	const char *const why[] = { "is not a modforge journal", "Unknown step", fails_why };
	static const int code[] = { -EINVAL, -EINVAL, -ENOENT };
	for (size_t i = 0; i < 3; i++) {
		put(jpath, bad[i]);
		CHECK(journal_recover(dkms, out, err) == code[i]);
		expect(err, NULL);
		CHECK(strstr(text.data, why[i]) != NULL);
		CHECK(has_text(jpath, bad[i]));
	}
	CHECK(unlink(jpath) == 0 && unlink(fifo) == 0);
}

static void test_add(void)
{
	struct journal j;
	journal_init(&j, dkms, "x");
	CHECK(journal_add(&j, J_COPY, "a\tb", "c", NULL, NULL) == -EINVAL);
	CHECK(journal_add(&j, J_COPY, "a", "b\nc", NULL, NULL) == -EINVAL);
	CHECK(journal_add(&j, J_DELETE, "a", "b", "c", "1:\t2") == -EINVAL);
	CHECK(j.lines.n == 0);
	CHECK(journal_add(&j, J_LINK, "t", "l", NULL, NULL) == 0);
	CHECK(j.lines.n == 1 && !strcmp(j.lines.items[0], "link\tt\tl\t\t"));
	journal_release(&j);
}

static bool trash_is_empty(void)
{
	_cleanup_free_ char *cmd = xasprintf("test -z \"$(ls -A %s/dkms/.modforge/trash)\"", dir);
	return system(cmd) == 0;
}

static void test_trash(void)
{
	_cleanup_free_ char *victim = at("dkms/mf/1.0/" K "/x86_64");
	_cleanup_free_ char *f = path_join(victim, "log/make.log");
	put(f, "log");
	CHECK(journal_trash(dkms, victim) == 0 && !path_exists(victim) && trash_is_empty());
	CHECK(journal_trash(dkms, victim) == 0); /* missing: 0 */
	/* The rename cannot be done (into itself): an error, and nothing deleted. */
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	CHECK(journal_trash(dkms, dkms) == -EINVAL);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	CHECK(trash_is_empty());
	/* What a killed trash left. */
	CHECK(journal_empty_trash(dkms) == false);
	_cleanup_free_ char *left = at("dkms/.modforge/trash/abc123/x/module/m.ko");
	put(left, "x");
	CHECK(journal_empty_trash(dkms) == true);
	CHECK(trash_is_empty() && is_dir(dkms));
	CHECK(journal_empty_trash(dkms) == false);
}

static void test_depmod_marks(void)
{
	CHECK(run_one(J_DEPMOD, "k2", NULL, NULL, NULL) == 0);
	_cleanup_free_ char *tmp = at("dkms/.modforge/depmod-pending/" K ".modforge-tmp.99");
	put(tmp, "");
	CHECK(pending_is(K " k2")); /* the temp of an atomic write is not a kernel */
	journal_depmod_done(dkms, K);
	CHECK(!path_exists(tmp) && pending_is("k2"));
	journal_depmod_done(dkms, "k2");
	CHECK(pending_is(""));
}

int main(void)
{
	alarm(60); /* a FIFO that blocked would hang here: fail instead */
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	strcpy(dir, "/tmp/mf-journal.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	dkms = at("dkms"), lib = at("lib/modules/" K), jpath = at("dkms/.modforge/journal");
	built = at("dkms/mf/1.0/" K "/x86_64/module/mf.ko"), orig = at("lib/modules/" K "/kernel/drivers/mf.ko");
	archived = at("dkms/mf/original_module/" K "/x86_64/mf.ko"), marker = at("dkms/mf/kernel-" K "-x86_64");
	dst = at("lib/modules/" K "/updates/dkms/mf.ko");
	put(built, "BUILT");
	put(orig, "ORIGINAL");
	_cleanup_free_ char *dep = path_join(lib, "modules.dep");
	put(dep, "");
	out = tmpfile();
	err = tmpfile();
	CHECK(out && err);
	test_run_and_back();
	test_delete_identity();
	test_failures();
	test_crash_recover();
	test_add();
	test_trash();
	test_depmod_marks();
	fclose(out);
	fclose(err);
	buf_release(&text);
	_cleanup_free_ char *rm = xasprintf("rm -rf %s", dir);
	(void)system(rm);
	free(dkms), free(lib), free(built), free(orig), free(archived), free(dst), free(marker), free(jpath);
	return tap_done();
}

/* test_install.c - the privileged side (executor/install.h) against a fake root in a temp
 * dir: a dkms tree with one built result <m>/<v>/<k>/<a>/module/<name>.ko (+ the manifest
 * build.c writes; install.c itself takes the records from the caller) and a fake install
 * tree <it>/<k> holding a same-named original. install_run puts the module under
 * <it>/<k>/updates/dkms, archives the original (with .origin), makes the kernel-<k>-<a>
 * marker and a depmod mark; uninstall_run puts the original back byte for byte and the
 * trees are exactly as before; dkms's archive preference (<k>/extra first) and its
 * warning for several same-named modules; an uninstall finds a module at DEST_MODULE_
 * LOCATION; a failed install is undone ("Nothing was installed"), also over another active
 * version (its module, same bytes or not, and its marker come back; a directory that was
 * there stays); a missing kernel dir, a missing built module, a failing pre_install; the version
 * sanity check (older, same, --force, force_version_override) on fake modules with a
 * .modinfo built by cc; unbuild_run; depmod_run with a fake depmod first in PATH: skip
 * runs nothing, -b <private root>, a bad exit, an empty modules.dep. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/install.h"
#include "executor/journal.h"
#include "executor/proc.h"
#include "fixture.h"
#include "tap.h"

#define K    "6.1.0-mf"
#define A    "x86_64"
#define BASE "root/dkms/mfmod/1.0/" K "/" A
#define LIB  "root/lib/modules/" K
static const char ORIG[] = "\177ELF\0original\0\1\2\3 module bytes";

static char dir[64];
static char *dkms, *inst, *lib, *orig, *orig_ref, *archived, *installed, *marker;
static FILE *out, *err;
static struct buf text = BUF_INIT;
static const struct install_record rec = { "mfmod", "/updates/dkms", "/updates/dkms" };

static char *at(const char *rel) { return path_join(dir, rel); }

static void put_n(const char *rel, const char *data, size_t n, mode_t mode)
{
	_cleanup_free_ char *p = at(rel);
	_cleanup_free_ char *d = parent_dir(p);
	CHECK(mkdir_p(d, 0755) == 0 && write_file_atomic(p, data, n, mode) == 0);
}

static void put(const char *rel, const char *s) { put_n(rel, s, strlen(s), 0644); }

static bool has_text(const char *path, const char *want)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	return buf_read_file(&b, path) == 0 && !strcmp(b.data, want);
}

static void expect(FILE *f, const char *want) { fixture_expect(f, want, &text); }

static void snapshot(struct buf *b)
{
	_cleanup_free_ char *root = path_join(dir, "root");
	fixture_snapshot(root, b);
}

static struct install_job job(const struct install_record *r)
{
	return (struct install_job){ .dkms_tree = dkms,
				     .install_tree = inst,
				     .module = "mfmod",
				     .version = "1.0",
				     .kernel = K,
				     .arch = A,
				     .records = r,
				     .n_records = 1,
				     .source_dir = dir,
				     .force_version_override = true,
				     .out = out,
				     .err = err };
}

/* What uninstall_run prints for an active install: deleted deleted, restored put back;
 * the emptied archive goes without a word, as with dkms. */
static char *uninstall_text(const char *deleted, const char *restored)
{
	return xasprintf("Module mfmod/1.0 for kernel " K " (" A "):\n"
			 "Before uninstall, this module version was ACTIVE on this kernel.\n"
			 "Deleting %s\nRestoring archived original module %s\n",
			 deleted, restored);
}

/* install_run of ji archives have and installs dst (err: want_err); uninstall_run of ju
 * deletes it and puts have back: the trees are as before. */
static void install_and_back(const struct install_job *ji, const struct install_job *ju, const char *dst,
			     const char *have, const char *want_err)
{
	_cleanup_free_ char *o1 = xasprintf("Found pre-existing %s, archiving for uninstallation\nInstalling %s\n",
					    have, dst);
	_cleanup_free_ char *o2 = uninstall_text(dst, have);
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	CHECK(install_run(ji) == 0);
	expect(out, o1);
	expect(err, want_err);
	CHECK(!path_exists(have) && path_exists(dst));
	CHECK(uninstall_run(ju) == 0);
	expect(out, o2);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	journal_depmod_done(dkms, K);
}

static void test_install_uninstall(void)
{
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	struct install_job j = job(&rec);
	CHECK(install_run(&j) == 0);
	_cleanup_free_ char *o1 = xasprintf("Found pre-existing %s, archiving for uninstallation\nInstalling %s\n",
					    orig, installed);
	expect(out, o1);
	expect(err, "");
	_cleanup_free_ char *built = at(BASE "/module/mfmod.ko");
	struct stat st;
	CHECK(files_equal(installed, built) == 1 && stat(installed, &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(!path_exists(orig) && files_equal(archived, orig_ref) == 1);
	_cleanup_free_ char *origin = xasprintf("%s.origin", archived);
	_cleanup_free_ char *origin_text = xasprintf("%s\n", orig);
	CHECK(has_text(origin, origin_text));
	char t[256] = { 0 };
	CHECK(readlink(marker, t, sizeof(t) - 1) > 0 && !strcmp(t, "1.0/" K "/" A));
	_cleanup_free_ char *journal = at("root/dkms/.modforge/journal");
	CHECK(!path_exists(journal));
	_cleanup_strv_ struct strv pending = STRV_INIT;
	journal_pending_depmod(dkms, &pending);
	CHECK(pending.n == 1 && !strcmp(pending.items[0], K));
	journal_depmod_done(dkms, K);

	CHECK(uninstall_run(&j) == 0);
	_cleanup_free_ char *o2 = uninstall_text(installed, orig);
	expect(out, o2);
	expect(err, "");
	CHECK(files_equal(orig, orig_ref) == 1);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	strv_release(&pending);
	journal_pending_depmod(dkms, &pending);
	CHECK(pending.n == 1);
	journal_depmod_done(dkms, K);
	CHECK(uninstall_run(&j) == 0);
	expect(out, "Module mfmod/1.0 for kernel " K " (" A "):\nThis module version was INACTIVE for this kernel.\n");
}

/* <k>/extra is archived before a find hit; two same-named modules: no version check. An
 * install to DEST_MODULE_LOCATION is found there by an uninstall whose effective location
 * differs. */
static void test_archive_preference(void)
{
	put(LIB "/extra/mfmod.ko", "EXTRA");
	_cleanup_free_ char *extra = at(LIB "/extra/mfmod.ko");
	struct install_job j = job(&rec);
	j.force_version_override = false;
	_cleanup_free_ char *w = xasprintf("Warning: 2 modules named mfmod.ko in %s; not comparing versions.\n", lib);
	install_and_back(&j, &j, installed, extra, w);
	_cleanup_free_ char *extra_dir = at(LIB "/extra");
	CHECK(has_text(extra, "EXTRA") && files_equal(orig, orig_ref) == 1);
	CHECK(unlink(extra) == 0 && rmdir(extra_dir) == 0);
	const struct install_record in_extra = { "mfmod", "/extra", "/extra" };
	const struct install_record moved = { "mfmod", "/updates/dkms", "/extra" };
	struct install_job ji = job(&in_extra), ju = job(&moved);
	install_and_back(&ji, &ju, extra, orig, "");
}

/* The copy fails after the original was archived: all undone. */
static void test_failed_install(void)
{
	put(LIB "/blocked", "a file where a directory should be");
	const struct install_record blocked = { "mfmod", "/blocked/dkms", "/blocked/dkms" };
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	struct install_job j = job(&blocked);
	CHECK(install_run(&j) == 6);
	_cleanup_free_ char *o = xasprintf("Found pre-existing %s, archiving for uninstallation\n"
					   "Installing %s/blocked/dkms/mfmod.ko\n",
					   orig, lib);
	expect(out, o);
	_cleanup_free_ char *e = xasprintf("\nError! copying %s/blocked/dkms/mfmod.ko failed: Not a directory\n"
					   "Nothing was installed: mfmod/1.0 on " K " (" A ") is as it was before.\n",
					   lib);
	expect(err, e);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	CHECK(files_equal(orig, orig_ref) == 1 && !path_exists(marker));
	_cleanup_free_ char *b = at(LIB "/blocked");
	CHECK(unlink(b) == 0);
}

/* 1.0 over an active 0.9 (not the first install: nothing archived); its second module
 * cannot be copied, so the install is undone: 0.9's module must still be installed (the
 * copy over it keeps it aside until the change is whole; before that was fixed the undo
 * deleted it, leaving 0.9 active without its module). */
static void test_failed_upgrade(void)
{
	put("root/dkms/mfmod/0.9/" K "/" A "/module/mfmod.ko", "built 0.9");
	put(BASE "/module/mfsecond.ko", "second");
	put(LIB "/blocked", "a file");
	struct install_job old = job(&rec);
	old.version = "0.9";
	CHECK(install_run(&old) == 0);
	expect(out, NULL);
	const struct install_record two[] = { rec, { "mfsecond", "/blocked/dkms", "/blocked/dkms" } };
	struct install_job j = job(two);
	j.n_records = 2;
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	CHECK(install_run(&j) == 6);
	_cleanup_free_ char *o = xasprintf("Installing %s\nInstalling %s/blocked/dkms/mfsecond.ko\n", installed, lib);
	expect(out, o);
	_cleanup_free_ char *e = xasprintf("\nError! copying %s/blocked/dkms/mfsecond.ko failed: Not a directory\n"
					   "Nothing was installed: mfmod/1.0 on " K " (" A ") is as it was before.\n",
					   lib);
	expect(err, e);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	CHECK(uninstall_run(&old) == 0 && files_equal(orig, orig_ref) == 1);
	expect(out, NULL);
	_cleanup_free_ char *v09 = at("root/dkms/mfmod/0.9"), *second = at(BASE "/module/mfsecond.ko");
	_cleanup_free_ char *blocked = at(LIB "/blocked");
	CHECK(rm_rf(v09) == 0 && unlink(second) == 0 && unlink(blocked) == 0);
	journal_depmod_done(dkms, K);
}

/* Undo puts back what the change replaced, and only that (found in review): 1.0 over an
 * active 0.9 whose module has the same bytes, failing at its last step (depmod's mark):
 * 0.9's module (the same inode, not deleted as "our copy") and 0.9's marker come back,
 * and a directory that was there, empty, before the change stays. */
static void test_undo_restores_exactly(void)
{
	put("root/dkms/mfmod/0.9/" K "/" A "/module/mfmod.ko", "\177ELF built mfmod"); /* 1.0's bytes */
	put(BASE "/module/mfsecond.ko", "second");
	_cleanup_free_ char *extra = at(LIB "/extra");
	CHECK(mkdir(extra, 0755) == 0);
	struct install_job old = job(&rec);
	old.version = "0.9";
	CHECK(install_run(&old) == 0);
	expect(out, NULL);
	expect(err, NULL);
	struct stat was, now;
	CHECK(stat(installed, &was) == 0);
	_cleanup_free_ char *pending = at("root/dkms/.modforge/depmod-pending");
	CHECK(rm_rf(pending) == 0);
	put("root/dkms/.modforge/depmod-pending", "in the way");
	const struct install_record two[] = { rec, { "mfsecond", "/extra", "/extra" } };
	struct install_job j = job(two);
	j.n_records = 2;
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	CHECK(install_run(&j) == 6);
	expect(out, NULL);
	expect(err, NULL);
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	CHECK(stat(installed, &now) == 0 && now.st_ino == was.st_ino);
	char target[256] = "";
	ssize_t n = readlink(marker, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	CHECK_STR(target, "0.9/" K "/" A);
	CHECK(is_dir(extra));
	CHECK(unlink(pending) == 0);
	CHECK(uninstall_run(&old) == 0 && files_equal(orig, orig_ref) == 1);
	expect(out, NULL);
	expect(err, NULL);
	_cleanup_free_ char *v09 = at("root/dkms/mfmod/0.9"), *second = at(BASE "/module/mfsecond.ko");
	CHECK(rm_rf(v09) == 0 && unlink(second) == 0 && rmdir(extra) == 0);
	journal_depmod_done(dkms, K);
}

static void test_refusals(void)
{
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	struct install_job j = job(&rec);
	j.kernel = "9.9.9-none";
	CHECK(install_run(&j) == 6);
	_cleanup_free_ char *e1 = xasprintf("\nError! The directory %s/9.9.9-none doesn't exist.\n"
					    "You cannot install a module onto a non-existant kernel.\n",
					    inst);
	expect(err, e1);
	const struct install_record none = { "nosuch", "/updates/dkms", "/updates/dkms" };
	j = job(&none);
	CHECK(install_run(&j) == 6);
	_cleanup_free_ char *moddir = at(BASE "/module");
	_cleanup_free_ char *e2 = xasprintf("\nError! Missing module nosuch in %s\n", moddir);
	expect(err, e2);
	put_n("pre.sh", "#!/bin/sh\nexit 1\n", 17, 0755);
	j = job(&rec);
	j.pre_install = "pre.sh";
	CHECK(install_run(&j) == 101);
	expect(out, "Running the pre_install script:\n");
	expect(err, "\nError! pre_install failed, aborting install.\nYou may override by specifying --force.\n");
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	expect(out, "");
}

/* Builds rel (a .o with a .modinfo: "version=V" etc., '|' separating). */
static bool make_ko(const char *rel, const char *entries)
{
	_cleanup_buf_ struct buf c = BUF_INIT;
	buf_adds(&c, "const char mf_modinfo[] __attribute__((section(\".modinfo\"), used)) = \"");
	for (const char *p = entries; *p; p++)
		buf_adds(&c, *p == '|' ? "\\0" : (char[]){ *p, 0 });
	buf_adds(&c, "\";\n");
	put("mod.c", c.data);
	_cleanup_free_ char *src = at("mod.c");
	_cleanup_free_ char *ko = at(rel);
	char *argv[] = { "cc", "-c", "-o", ko, src, NULL };
	struct proc_spec spec = { .argv = argv, .stdin_fd = -1, .stdout_fd = 2, .stderr_fd = 2 };
	int code = -1;
	return proc_run(&spec, &code) == 0 && code == 0;
}

static void test_version_sanity(void)
{
	_cleanup_free_ char *cc = find_in_path("cc", getenv("PATH"));
	if (!cc) {
		fprintf(stderr, "# SKIP the version sanity check: no cc to build fake modules\n");
		return;
	}
#define INFO "license=GPL|name=mfver|vermagic=6.1.0 SMP mod_unload |"
	CHECK(make_ko(BASE "/module/mfver.ko", INFO "version=1.0|srcversion=AAAA"));
	CHECK(make_ko(LIB "/kernel/mfver.ko", INFO "version=2.0|srcversion=BBBB"));
	const struct install_record r = { "mfver", "/updates/dkms", "/updates/dkms" };
	_cleanup_buf_ struct buf before = BUF_INIT, after = BUF_INIT;
	snapshot(&before);
	struct install_job j = job(&r);
	j.force_version_override = false;
	CHECK(install_run(&j) == 6);
	expect(err,
	       "\nError! Module version 1.0 for mfver.ko\nis not newer than what is already found in kernel " K
	       " (2.0).\nYou may override by specifying --force.\n\nError! Installation aborted.\n");
	snapshot(&after);
	CHECK_STR(after.data, before.data);
	_cleanup_free_ char *have = at(LIB "/kernel/mfver.ko");
	_cleanup_free_ char *mine = at(BASE "/module/mfver.ko");
	_cleanup_free_ char *dst = at(LIB "/updates/dkms/mfver.ko");
	j.force = true; /* installs over a newer one */
	install_and_back(&j, &j, dst, have, "");
	/* The same version: "already installed"; force_version_override installs anyway. */
	CHECK(copy_file_atomic(mine, have, 0644) == 0);
	j.force = false;
	CHECK(install_run(&j) == 6);
	_cleanup_free_ char *o = xasprintf(
		"Module %s already installed at version 1.0, override by specifying --force\n", have);
	expect(out, o);
	expect(err, "\nError! Installation aborted.\n");
	j.force_version_override = true;
	install_and_back(&j, &j, dst, have, "");
	CHECK(unlink(have) == 0 && unlink(mine) == 0);
}

static void test_depmod(void)
{
	_cleanup_free_ char *args = at("depmod.args");
	_cleanup_free_ char *script = xasprintf(
		"#!/bin/sh\necho \"$@\" >%s\n[ -f \"$3/lib/modules/$4/modules.dep\" ] && "
		"echo sees modules.dep >>%s\nexit ${FAKE_DEPMOD_EXIT:-0}\n",
		args, args);
	put_n("bin/depmod", script, strlen(script), 0755);
	_cleanup_free_ char *bin = at("bin");
	_cleanup_free_ char *path = xasprintf("%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	CHECK(depmod_run(inst, dkms, K, true, false, out, err) == 0);
	expect(out, "Running depmod... done.\n");
	CHECK(!path_exists(args) && is_dir(lib));
	CHECK(depmod_run(inst, dkms, K, false, false, out, err) == 0);
	expect(out, "Running depmod... done.\n");
	_cleanup_buf_ struct buf a = BUF_INIT;
	CHECK(buf_read_file(&a, args) == 0);
	_cleanup_free_ char *head = xasprintf("-a -b %s/.modforge-depmod-", dkms);
	CHECK(!strncmp(a.data, head, strlen(head)) && strstr(a.data, " " K "\nsees modules.dep\n"));
	_cleanup_free_ char *leftover = xasprintf("ls -a %s | grep -q modforge-depmod", dkms);
	CHECK(system(leftover) != 0);
	CHECK(unlink(args) == 0);
	setenv("FAKE_DEPMOD_EXIT", "3", 1);
	CHECK(depmod_run(inst, dkms, K, false, false, out, err) == 3);
	expect(out, "Running depmod...(bad exit status: 3)\nFailed command:\ndo_depmod " K "\n");
	unsetenv("FAKE_DEPMOD_EXIT");
	CHECK(unlink(args) == 0);
	/* No modules.dep: nothing to run. An empty one: depmod's files and the dir go. */
	put("root/lib/modules/k-nodep/kernel/x.ko", "x");
	CHECK(depmod_run(inst, dkms, "k-nodep", false, false, out, err) == 0 && !path_exists(args));
	put("root/lib/modules/k-gone/modules.dep", "");
	put("root/lib/modules/k-gone/modules.alias", "x");
	put("root/lib/modules/k-gone/modules.dep.bin", "x");
	_cleanup_free_ char *gone = at("root/lib/modules/k-gone");
	CHECK(depmod_run(inst, dkms, "k-gone", true, true, out, err) == 0 && !path_exists(gone));
	expect(out, "Running depmod... done.\nRunning depmod for k-gone... done.\n");
	expect(err, "");
	_cleanup_free_ char *nodep = at("root/lib/modules/k-nodep");
	CHECK(rm_rf(nodep) == 0);
}

static void test_unbuild(void)
{
	put("root/dkms/mfmod/1.0/" K "/arm64/module/mfmod.ko", "ARM");
	put("root/dkms/mfmod/1.0/" K "/.tmp_build/x", "tmp");
	_cleanup_free_ char *base = at(BASE);
	_cleanup_free_ char *kdir = at("root/dkms/mfmod/1.0/" K);
	_cleanup_free_ char *arm = at("root/dkms/mfmod/1.0/" K "/arm64");
	_cleanup_free_ char *v = at("root/dkms/mfmod/1.0");
	CHECK(unbuild_run(dkms, "mfmod", "1.0", K, A) == 0);
	CHECK(!path_exists(base) && is_dir(arm));
	CHECK(unbuild_run(dkms, "mfmod", "1.0", K, "arm64") == 0);
	CHECK(!path_exists(kdir) && is_dir(v));
	CHECK(unbuild_run(dkms, "mfmod", "1.0", K, A) == 0);
	CHECK(journal_empty_trash(dkms) == false);
}

int main(void)
{
	umask(022);
	strcpy(dir, "/tmp/mf-install.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	dkms = at("root/dkms");
	inst = at("root/lib/modules");
	lib = at(LIB);
	orig = at(LIB "/kernel/drivers/misc/mfmod.ko");
	orig_ref = at("orig.ref");
	archived = at("root/dkms/mfmod/original_module/" K "/" A "/mfmod.ko");
	installed = at(LIB "/updates/dkms/mfmod.ko");
	marker = at("root/dkms/mfmod/kernel-" K "-" A);
	put(BASE "/module/mfmod.ko", "\177ELF built mfmod");
	put(BASE "/.modforge/manifest", "mfmod\t/updates/dkms\tmfmod.ko\n"); /* build.c's manifest_add */
	put(BASE "/log/make.log", "make\n");
	put_n(LIB "/kernel/drivers/misc/mfmod.ko", ORIG, sizeof(ORIG), 0644);
	put_n("orig.ref", ORIG, sizeof(ORIG), 0644);
	put(LIB "/modules.dep", "kernel/drivers/misc/mfmod.ko:\n");
	out = tmpfile();
	err = tmpfile();
	CHECK(out && err);
	test_install_uninstall();
	test_archive_preference();
	test_failed_install();
	test_failed_upgrade();
	test_undo_restores_exactly();
	test_refusals();
	test_version_sanity();
	test_depmod();
	test_unbuild();
	fclose(out);
	fclose(err);
	buf_release(&text);
	_cleanup_free_ char *rm = xasprintf("rm -rf %s", dir);
	(void)system(rm);
	free(dkms), free(inst), free(lib), free(orig), free(orig_ref), free(archived), free(installed), free(marker);
	return tap_done();
}

/* test_take.c - taking a build result (executor/take.h) from a fake build area in a temp
 * dir, with openat2 and with the per-component walk: a regular file is copied into a new
 * root-owned file; a symlink (to a secret, to /proc/self/environ, as a directory on the
 * way), "..", an absolute path, a FIFO (no hang), a socket, a directory, a hard link, a
 * file of another owner, a 4 GiB sparse file, a file over a small limit and, as root, a
 * mount point on the way are refused with a reason, and nothing is written for them. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/take.h"
#include "tap.h"

#define SECRET "modforge-take-secret"
#define MODULE "\177ELF a module's bytes"

struct fx {
	char dir[64];
	char *area, *out, *secret;
	int area_fd;
	uid_t owner;
};

static char *at(const char *dir, const char *rel) { return path_join(dir, rel); }

static void put(const struct fx *f, const char *rel, const char *text)
{
	_cleanup_free_ char *p = at(f->area, rel);
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
}

static void setup(struct fx *f)
{
	strcpy(f->dir, "/tmp/mf-take.XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	f->area = at(f->dir, "area");
	f->out = at(f->dir, "staged");
	f->secret = at(f->dir, "secret");
	CHECK(mkdir(f->area, 0755) == 0 && mkdir(f->out, 0700) == 0);
	CHECK(write_file_atomic(f->secret, SECRET, strlen(SECRET), 0600) == 0);
	_cleanup_free_ char *sub = at(f->area, "sub");
	CHECK(mkdir(sub, 0755) == 0);
	put(f, "sub/good.ko", MODULE);
	put(f, "good.ko", MODULE);
	f->owner = geteuid();
	f->area_fd = open(f->area, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(f->area_fd >= 0);
}

/* Nothing but what was taken may be in the staging dir (no dst, no temp file). */
static size_t staged_count(const struct fx *f)
{
	size_t n = 0;
	_cleanup_free_ char *cmd = xasprintf("ls -A %s", f->out);
	FILE *p = popen(cmd, "r");
	char line[512];
	while (p && fgets(line, sizeof(line), p))
		n++;
	if (p)
		pclose(p);
	return n;
}

/* take_file of rel must be refused (-EPERM) with a reason containing want. */
static void refused(const struct fx *f, const char *rel, bool walk, const char *want)
{
	struct take_rules rules = { .owner = f->owner, .no_openat2 = walk };
	_cleanup_free_ char *dst = at(f->out, "result.ko");
	_cleanup_buf_ struct buf why = BUF_INIT;
	size_t before = staged_count(f);
	int r = take_file(f->area_fd, rel, &rules, dst, 0644, &why);
	CHECK(r == -EPERM);
	if (!why.data || !strstr(why.data, want))
		fprintf(stderr, "# %s (%s): reason \"%s\", wanted \"%s\"\n", rel, walk ? "walk" : "openat2",
			why.data ? why.data : "(none)", want);
	CHECK(why.data && strstr(why.data, want));
	CHECK(!path_exists(dst));
	CHECK(staged_count(f) == before);
}

static void test_good(struct fx *f, bool walk)
{
	struct take_rules rules = { .owner = f->owner, .no_openat2 = walk };
	_cleanup_free_ char *dst = at(f->out, walk ? "good-walk.ko" : "good.ko");
	_cleanup_buf_ struct buf why = BUF_INIT;
	CHECK(take_file(f->area_fd, "sub/good.ko", &rules, dst, 0644, &why) == 0);
	_cleanup_buf_ struct buf got = BUF_INIT;
	CHECK(buf_read_file(&got, dst) == 0);
	CHECK_STR(got.data, MODULE);
	struct stat st;
	CHECK(stat(dst, &st) == 0 && (st.st_mode & 07777) == 0644 && st.st_uid == geteuid() && st.st_nlink == 1);
	CHECK(unlink(dst) == 0);
	/* "./" components are fine; a missing file is -ENOENT, not a refusal. */
	CHECK(take_file(f->area_fd, "./sub/./good.ko", &rules, dst, 0644, &why) == 0);
	CHECK(unlink(dst) == 0);
	CHECK(take_file(f->area_fd, "sub/missing.ko", &rules, dst, 0644, &why) == -ENOENT);
	CHECK(take_file(f->area_fd, "nodir/missing.ko", &rules, dst, 0644, &why) == -ENOENT);
	CHECK(!path_exists(dst));
	/* take_open hands out a read-only fd on the checked file. */
	int fd = -1;
	CHECK(take_open(f->area_fd, "good.ko", &rules, &fd, &why) == 0 && fd >= 0);
	char b[64] = { 0 };
	CHECK(read(fd, b, sizeof(b) - 1) == (ssize_t)strlen(MODULE) && !strcmp(b, MODULE));
	CHECK(write(fd, "x", 1) < 0);
	close(fd);
}

static void make_attacks(struct fx *f)
{
	_cleanup_free_ char *p = NULL;
	CHECK(symlinkat(f->secret, f->area_fd, "key.ko") == 0);
	CHECK(symlinkat("/proc/self/environ", f->area_fd, "proc.ko") == 0);
	CHECK(symlinkat("sub", f->area_fd, "linkdir") == 0);
	CHECK(symlinkat(f->dir, f->area_fd, "up") == 0);
	CHECK(mkfifoat(f->area_fd, "fifo.ko", 0644) == 0);
	CHECK(mkdirat(f->area_fd, "dir.ko", 0755) == 0);
	put(f, "linked.ko", MODULE);
	CHECK(linkat(f->area_fd, "linked.ko", f->area_fd, "linked2.ko", 0) == 0);
	/* A 4 GiB sparse file: refused by its size, before a byte is read. */
	int fd = openat(f->area_fd, "huge.ko", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 4LL << 30) == 0);
	close(fd);
	put(f, "small.ko", "0123456789abcdef");
	/* A socket, bound by path below the area (sun_path is short: bound from inside it). */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, "sock.ko");
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(s >= 0 && fchdir(f->area_fd) == 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(fchdir(cwd) == 0);
	close(cwd);
	close(s);
}

static void test_refusals(struct fx *f, bool walk)
{
	refused(f, "key.ko", walk, "is a symbolic link; a build result must be a regular file");
	refused(f, "proc.ko", walk, "is a symbolic link");
	refused(f, "linkdir/good.ko", walk, "lies below the symbolic link linkdir");
	refused(f, "up/secret", walk, "lies below the symbolic link up");
	refused(f, "../secret", walk, "outside the build area");
	refused(f, "sub/../../secret", walk, "outside the build area");
	refused(f, f->secret, walk, "outside the build area");
	refused(f, "fifo.ko", walk, "is a FIFO");
	refused(f, "sock.ko", walk, "socket");
	refused(f, "dir.ko", walk, "is a directory");
	refused(f, "linked.ko", walk, "has 2 hard links");
	refused(f, "huge.ko", walk, "is 4294967296 bytes, over the 512 MiB");
	/* A limit of the caller's. */
	struct take_rules small = { .owner = f->owner, .max_bytes = 10, .no_openat2 = walk };
	_cleanup_free_ char *dst = at(f->out, "small.ko");
	_cleanup_buf_ struct buf why = BUF_INIT;
	CHECK(take_file(f->area_fd, "small.ko", &small, dst, 0644, &why) == -EPERM && !path_exists(dst));
	small.max_bytes = 16;
	CHECK(take_file(f->area_fd, "small.ko", &small, dst, 0644, &why) == 0 && path_exists(dst));
	CHECK(unlink(dst) == 0);
}

/* As root: a file of another uid, and a mount point on the way (in a private mount ns). */
static void test_as_root(struct fx *f)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP owner and mount-point checks: they need root (chown, mount)\n");
		return;
	}
	put(f, "theirs.ko", MODULE);
	CHECK(fchownat(f->area_fd, "theirs.ko", 4321, 4321, 0) == 0);
	refused(f, "theirs.ko", false, "belongs to uid 4321, not to the build user");
	refused(f, "theirs.ko", true, "belongs to uid 4321, not to the build user");
	CHECK(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	/* The area's fd must be of the new namespace to see the mount made in it. */
	close(f->area_fd);
	f->area_fd = open(f->area, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *mnt = at(f->area, "mnt");
	CHECK(mkdir(mnt, 0755) == 0 && mount("mf-take", mnt, "tmpfs", 0, "size=1m") == 0);
	put(f, "mnt/other-fs.ko", MODULE);
	refused(f, "mnt/other-fs.ko", false, "outside the build area");
	refused(f, "mnt/other-fs.ko", true, "outside the build area");
	CHECK(umount(mnt) == 0);
}

/* take_stat: symlinks that stay inside are followed (openat2), none that leave. */
static void test_stat(struct fx *f)
{
	struct stat st;
	CHECK(take_stat(f->area_fd, "linkdir/good.ko", &st) == 0 && S_ISREG(st.st_mode));
	CHECK(take_stat(f->area_fd, "key.ko", &st) < 0);
	CHECK(take_stat(f->area_fd, "up/secret", &st) < 0);
	CHECK(take_stat(f->area_fd, "../secret", &st) < 0);
	CHECK(take_stat(f->area_fd, "proc.ko", &st) < 0);
	CHECK(take_stat(f->area_fd, "sub/missing", &st) == -ENOENT);
}

int main(void)
{
	alarm(60); /* a FIFO that blocked would hang here: fail instead */
	struct fx f;
	setup(&f);
	make_attacks(&f);
	for (int walk = 0; walk <= 1; walk++) {
		test_good(&f, walk);
		test_refusals(&f, walk);
	}
	test_stat(&f);
	test_as_root(&f);
	/* Nothing of the secret reached the staging dir. */
	_cleanup_free_ char *cmd = xasprintf("grep -rq %s %s", SECRET, f.out);
	CHECK(system(cmd) != 0);
	_cleanup_free_ char *rm = xasprintf("rm -rf %s", f.dir);
	(void)system(rm);
	close(f.area_fd);
	free(f.area);
	free(f.out);
	free(f.secret);
	return tap_done();
}

/* cache.c - the build cache (see cache.h): the key's hash stream, entries stored by
 * temp dir + rename, restored by temp sibling + rename, evicted by the entry dir's mtime. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/proc.h"

#define CACHE_MAGIC       "modforge-cache-v1"
#define CACHE_PATH        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define TMP_PREFIX        ".tmp-"
#define STALE_TMP_SECONDS (24 * 60 * 60)

static void md_freep(EVP_MD_CTX **c) { EVP_MD_CTX_free(*c); }
#define _cleanup_md_ _cleanup_(md_freep)

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_dir_ _cleanup_(closedirp)

/* ---- the hash stream: label NUL, 64-bit little-endian length, bytes ---- */

/* Adds one labelled field. Returns 0 or -EIO. */
static int put(EVP_MD_CTX *c, const char *label, const void *data, size_t len)
{
	unsigned char n[8];
	for (size_t i = 0; i < sizeof(n); i++)
		n[i] = (unsigned char)((uint64_t)len >> (8 * i));
	if (!EVP_DigestUpdate(c, label, strlen(label) + 1) || !EVP_DigestUpdate(c, n, sizeof(n)))
		return -EIO;
	return len && !EVP_DigestUpdate(c, data, len) ? -EIO : 0;
}

static int put_str(EVP_MD_CTX *c, const char *label, const char *s) { return put(c, label, s, strlen(s)); }

/* SHA-256 of everything fd yields, into md. Returns 0 or -errno. */
static int digest_fd(int fd, unsigned char md[EVP_MAX_MD_SIZE], unsigned *md_len)
{
	_cleanup_md_ EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		return -ENOMEM;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(c, chunk, (size_t)n))
			return -EIO;
	}
	return EVP_DigestFinal_ex(c, md, md_len) ? 0 : -EIO;
}

/* Adds a file's bytes (as their own SHA-256, so the stream needs no size up front). */
static int put_fd(EVP_MD_CTX *c, const char *label, int fd)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	int r = digest_fd(fd, md, &md_len);
	return r < 0 ? r : put(c, label, md, md_len);
}

/* ---- the source tree ---- */

/* How a tree is walked: the source as it is (links hashed as links), an admin's overlay
 * through its links (it is copied so), to a depth that bounds a circle of them. */
struct walk {
	struct buf rel;
	bool follow;
	int depth;
};
#define WALK_MAX_DEPTH 64

static int hash_dir(EVP_MD_CTX *c, int dfd, struct walk *w);

/* Reads the names in d (without . and ..) into names, sorted by strcmp. */
static int sorted_names(DIR *d, struct strv *names)
{
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(names, de->d_name);
		errno = 0;
	}
	if (errno)
		return -errno;
	strv_sort(names, strcmp);
	return 0;
}

/* Adds what an entry holds: a file's bytes, a link's target, a directory's entries. */
static int hash_content(EVP_MD_CTX *c, int dfd, const char *name, mode_t mode, struct walk *w)
{
	int nofollow = w->follow ? 0 : O_NOFOLLOW;
	if (S_ISREG(mode)) {
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | nofollow | O_CLOEXEC);
		return fd < 0 ? -errno : put_fd(c, "data", fd);
	}
	if (S_ISLNK(mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target));
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		return put(c, "target", target, (size_t)n);
	}
	if (S_ISDIR(mode)) {
		if (w->depth >= WALK_MAX_DEPTH)
			return -ELOOP;
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | nofollow | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		w->depth++;
		int r = hash_dir(c, fd, w);
		w->depth--;
		return r;
	}
	return 0; /* fifos, sockets, devices: type and mode only */
}

static char type_char(mode_t mode) { return S_ISREG(mode) ? 'f' : S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : 'o'; }

/* Adds one entry of the directory dfd: its path, type, mode and content. */
static int hash_entry(EVP_MD_CTX *c, int dfd, const char *name, struct walk *w)
{
	struct buf *rel = &w->rel;
	struct stat st;
	if (fstatat(dfd, name, &st, w->follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return w->follow && errno == ENOENT ? 0 : -errno; /* (a dangling link is laid over as nothing) */
	size_t keep = rel->len;
	if (rel->len)
		buf_addc(rel, '/');
	buf_adds(rel, name);
	char type = type_char(st.st_mode);
	char mode[16];
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	int r = put(c, "path", rel->data, rel->len);
	if (r == 0)
		r = put(c, "type", &type, 1);
	if (r == 0)
		r = put_str(c, "mode", mode);
	if (r == 0)
		r = hash_content(c, dfd, name, st.st_mode, w);
	rel->len = keep;
	rel->data[keep] = '\0';
	return r;
}

/* Adds every entry under the directory dfd (taken over and closed), depth first. */
static int hash_dir(EVP_MD_CTX *c, int dfd, struct walk *w)
{
	_cleanup_dir_ DIR *d = fdopendir(dfd);
	if (!d) {
		int e = -errno;
		close(dfd);
		return e;
	}
	_cleanup_strv_ struct strv names = STRV_INIT;
	int r = sorted_names(d, &names);
	for (size_t i = 0; r == 0 && i < names.n; i++)
		r = hash_entry(c, dirfd(d), names.items[i], w);
	return r;
}

/* The tree at dir (followed if a symlink); follow: through its links too. */
static int hash_tree(EVP_MD_CTX *c, const char *dir, bool follow)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct walk w = { .follow = follow };
	buf_init(&w.rel);
	int r = hash_dir(c, fd, &w);
	buf_release(&w.rel);
	return r;
}

/* The admin's /etc/dkms/<module>/patches, laid over the source's (none: a marker). */
static int hash_overlay(EVP_MD_CTX *c, const char *dir)
{
	struct stat st;
	if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return put_str(c, "overlay", "none");
	int r = put_str(c, "overlay", "patches");
	return r < 0 ? r : hash_tree(c, dir, true);
}

/* ---- the kernel and the compiler ---- */

/* Adds <ksrc>/<name>'s bytes, or a "missing" marker when it does not exist. */
static int hash_kernel_file(EVP_MD_CTX *c, const char *ksrc, const char *name)
{
	_cleanup_free_ char *p = path_join(ksrc, name);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return put_str(c, "kernel-missing", name);
	if (fd < 0)
		return -errno;
	int r = put_str(c, "kernel-file", name);
	return r < 0 ? r : put_fd(c, "data", fd);
}

/* Returns cc resolved in CACHE_PATH when it has no slash (newly allocated), or NULL. */
static char *resolve_cc(const char *cc)
{
	if (strchr(cc, '/'))
		return xstrdup(cc);
	return find_in_path(cc, CACHE_PATH);
}

/* Adds `cc --version`'s stdout. Returns 0, -ENOENT if it cannot run or fails, or -errno. */
static int hash_compiler(EVP_MD_CTX *c, const char *cc)
{
	_cleanup_free_ char *exe = resolve_cc(cc ? cc : "gcc");
	if (!exe)
		return -ENOENT;
	char *const argv[] = { exe, "--version", NULL };
	char *const envp[] = { "PATH=" CACHE_PATH, "LC_ALL=C", NULL };
	_cleanup_close_ int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	struct proc_spec spec = { .argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = devnull };
	_cleanup_buf_ struct buf out = BUF_INIT;
	int code = 0;
	int r = proc_capture(&spec, &out, &code);
	if (r == -ENOMEM || r == -EAGAIN || r == -EMFILE || r == -ENFILE)
		return r;
	if (r < 0 || code != 0)
		return -ENOENT;
	return put(c, "cc-version", out.data, out.len);
}

static int hash_all(EVP_MD_CTX *c, const struct cache_key_input *in)
{
	static const char *const kfiles[] = { "include/config/kernel.release", ".config", "Module.symvers" };
	int r = put_str(c, "magic", CACHE_MAGIC);
	if (r == 0)
		r = hash_tree(c, in->source_dir, false);
	if (r == 0)
		r = hash_overlay(c, in->overlay_dir);
	if (r == 0)
		r = put(c, "conf", in->conf_text, in->conf_text ? in->conf_len : 0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(kfiles); i++)
		r = hash_kernel_file(c, in->kernel_source_dir, kfiles[i]);
	return r == 0 ? hash_compiler(c, in->cc) : r;
}

int cache_key(const struct cache_key_input *in, char hex[65])
{
	if (!in || !in->source_dir || !in->kernel_source_dir || !hex)
		return -EINVAL;
	_cleanup_md_ EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		return -ENOMEM;
	int r = hash_all(c, in);
	if (r < 0)
		return r;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	if (!EVP_DigestFinal_ex(c, md, &md_len) || md_len != 32)
		return -EIO;
	for (unsigned i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- entries ---- */

static bool valid_key(const char *key)
{
	if (!key || strlen(key) != 64)
		return false;
	return strspn(key, "0123456789abcdef") == 64;
}

static char *cache_dir(const char *dkms_tree) { return layout_cache_dir(dkms_tree); }

/* A result (and an entry) is whole when it is a real directory holding a real module/. */
static bool result_whole(const char *path)
{
	struct stat st;
	_cleanup_free_ char *mod = path_join(path, "module");
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && lstat(mod, &st) == 0 && S_ISDIR(st.st_mode);
}

/* rename() that never replaces an existing newpath (not even an empty directory). */
static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (path_exists(to))
		return -EEXIST;
	return rename(from, to) < 0 ? -errno : 0;
}

/* Removes cache/<name>: renamed aside first, so no reader sees it half removed. */
static int drop_entry(const char *dir, const char *name)
{
	_cleanup_free_ char *from = path_join(dir, name);
	_cleanup_free_ char *aside = xasprintf("%s/" TMP_PREFIX "drop-%ld-%s", dir, (long)getpid(), name);
	(void)rm_rf(aside); /* a leftover of a dead process that had our pid */
	if (rename(from, aside) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf(aside);
}

/* Walks path (not following symlinks): adds the regular files' st_size to *bytes and,
 * with sync, fsyncs every file and directory. Returns 0 or -errno. */
static int walk_tree(const char *path, bool sync, long long *bytes)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		*bytes += (long long)st.st_size;
	if (!S_ISDIR(st.st_mode) && !(sync && S_ISREG(st.st_mode)))
		return 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_dir_ DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
	if (S_ISDIR(st.st_mode) && !d)
		return -errno;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = path_join(path, de->d_name);
		int r = walk_tree(sub, sync, bytes);
		if (r < 0)
			return r;
	}
	return sync && fsync(fd) < 0 ? -errno : 0;
}

/* Copies src's contents into a fresh temp dir from tmpl (mkdtemp), mode of src. */
static int copy_to_temp(const char *src, char *tmpl)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return -errno;
	if (!mkdtemp(tmpl))
		return -errno;
	int r = copy_tree(src, tmpl);
	if (r == 0 && chmod(tmpl, st.st_mode & 07777) < 0)
		r = -errno;
	if (r < 0)
		rm_rf(tmpl);
	return r;
}

bool cache_has(const char *dkms_tree, const char *key)
{
	if (!valid_key(key) || !dkms_tree)
		return false;
	_cleanup_free_ char *dir = cache_dir(dkms_tree);
	_cleanup_free_ char *entry = path_join(dir, key);
	return result_whole(entry);
}

int cache_restore(const char *dkms_tree, const char *key, const char *result_dir)
{
	if (!valid_key(key) || !dkms_tree || !result_dir)
		return -EINVAL;
	_cleanup_free_ char *dir = cache_dir(dkms_tree);
	_cleanup_free_ char *entry = path_join(dir, key);
	if (path_exists(result_dir))
		return -EEXIST;
	if (!path_exists(entry))
		return 0;
	if (!result_whole(entry))
		return drop_entry(dir, key);
	_cleanup_free_ char *parent = xstrdup(result_dir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int r = mkdir_p(parent, 0755);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *tmp = xasprintf("%s.restore-XXXXXX", result_dir);
	int r = copy_to_temp(entry, tmp);
	if (r < 0)
		return path_exists(entry) ? r : 0; /* evicted under us: a miss */
	r = rename_noreplace(tmp, result_dir);
	if (r < 0) {
		rm_rf(tmp);
		return r;
	}
	(void)utimensat(AT_FDCWD, entry, NULL, 0);
	return 1;
}

/* ---- eviction ---- */

struct entry_info {
	char *name;
	long long bytes;
	struct timespec mtime;
};

static int by_mtime(const void *a, const void *b)
{
	const struct entry_info *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Removes a temp dir a crashed store or restore left behind a day ago or more. */
static void drop_if_stale(const char *dir, const char *name)
{
	struct stat st;
	_cleanup_free_ char *p = path_join(dir, name);
	if (lstat(p, &st) == 0 && st.st_mtime + STALE_TMP_SECONDS < time(NULL))
		rm_rf(p);
}

/* Lists the entries of dir, oldest first, into *out (n_out of them); with tidy, also
 * removes stale temp dirs. */
static int list_entries(const char *dir, bool tidy, struct entry_info **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	_cleanup_dir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	size_t n = 0, cap = 0;
	struct entry_info *v = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (tidy && !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			drop_if_stale(dir, de->d_name);
		struct stat st;
		if (!valid_key(de->d_name) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		v[n] = (struct entry_info){ xstrdup(de->d_name), 0, st.st_mtim };
		(void)walk_tree(p, false, &v[n++].bytes); /* one removed meanwhile counts less */
	}
	if (n)
		qsort(v, n, sizeof(*v), by_mtime);
	*out = v;
	*n_out = n;
	return 0;
}

/* Frees v and returns the total bytes its n entries held. */
static long long free_entries(struct entry_info *v, size_t n)
{
	long long total = 0;
	for (size_t i = 0; i < n; i++) {
		total += v[i].bytes;
		free(v[i].name);
	}
	free(v);
	return total;
}

static bool over(long long total, size_t max_bytes) { return total > 0 && (unsigned long long)total > max_bytes; }

/* Drops the oldest entries but keep until the total fits max_bytes; then keep too if
 * it alone is still too big. Returns 0 or -errno. */
static int evict(const char *dir, const char *keep, size_t max_bytes)
{
	struct entry_info *v;
	size_t n;
	int r = list_entries(dir, true, &v, &n);
	if (r < 0)
		return r;
	long long total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].bytes;
	for (size_t i = 0; r == 0 && i < n && over(total, max_bytes); i++) {
		if (strcmp(v[i].name, keep) == 0)
			continue;
		r = drop_entry(dir, v[i].name);
		total -= v[i].bytes;
	}
	if (r == 0 && over(total, max_bytes))
		r = drop_entry(dir, keep);
	free_entries(v, n);
	return r;
}

/* Puts a copy of result_dir at dir/key unless a whole entry is already there. */
static int store_entry(const char *dir, const char *key, const char *result_dir)
{
	_cleanup_free_ char *entry = path_join(dir, key);
	if (result_whole(entry))
		return 0;
	if (path_exists(entry)) {
		int r = drop_entry(dir, key);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *tmp = xasprintf("%s/" TMP_PREFIX "XXXXXX", dir);
	int r = copy_to_temp(result_dir, tmp);
	if (r < 0)
		return r;
	long long bytes = 0;
	r = walk_tree(tmp, true, &bytes);
	if (r == 0)
		r = rename_noreplace(tmp, entry);
	if (r == 0)
		return 0;
	rm_rf(tmp);
	return r == -EEXIST || r == -ENOTEMPTY ? 0 : r; /* stored concurrently: keep that one */
}

int cache_store(const char *dkms_tree, const char *key, const char *result_dir, size_t max_bytes)
{
	if (!valid_key(key) || !dkms_tree || !result_dir)
		return -EINVAL;
	if (!result_whole(result_dir))
		return -EINVAL; /* it could never be restored */
	_cleanup_free_ char *dir = cache_dir(dkms_tree);
	int r = mkdir_p(dir, 0755);
	if (r == 0)
		r = store_entry(dir, key, result_dir);
	if (r < 0)
		return r;
	_cleanup_free_ char *entry = path_join(dir, key);
	(void)utimensat(AT_FDCWD, entry, NULL, 0);
	return evict(dir, key, max_bytes);
}

long long cache_size(const char *dkms_tree)
{
	_cleanup_free_ char *dir = cache_dir(dkms_tree);
	struct entry_info *v;
	size_t n;
	int r = list_entries(dir, false, &v, &n);
	return r < 0 ? r : free_entries(v, n);
}

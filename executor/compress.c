#include "compress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/macro.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/proc.h"

/* Deep enough for any module tree; bounds the open directory fds of one scan. */
#define SCAN_MAX_DEPTH 64

struct tool {
	const char *name;         /* the program, searched in PATH */
	const char *ko_suffix;    /* what compress_for_kernel looks for */
	const char *default_opts; /* dkms 3.4.3's framework.conf default */
	unsigned char magic[6];
	size_t magic_len;
};

/* Indexed by enum module_compression, whose order is also dkms's "later match wins". */
static const struct tool tools[] = {
	[COMPRESS_NONE] = { NULL, NULL, NULL, { 0 }, 0 },
	[COMPRESS_GZ] = { "gzip", ".ko.gz", "", { 0x1f, 0x8b }, 2 },
	[COMPRESS_XZ] = { "xz", ".ko.xz", "--check=crc32 --lzma2=dict=1MiB", { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6 },
	[COMPRESS_ZST] = { "zstd", ".ko.zst", "-q --rm -T0", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
};

static bool valid(enum module_compression c) { return c > COMPRESS_NONE && c <= COMPRESS_ZST; }

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Raises *best with every matching name in the directory fd (taken over) and below it. */
static void scan_dir(int fd, int depth, enum module_compression *best)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while (*best != COMPRESS_ZST && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (enum module_compression c = COMPRESS_ZST; c > *best; c--)
			if (ends_with(e->d_name, tools[c].ko_suffix))
				*best = c;
		if (depth >= SCAN_MAX_DEPTH || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		/* O_NOFOLLOW: a symlink (build/, source/) is not a directory to us. */
		int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			scan_dir(sub, depth + 1, best);
	}
	closedir(d);
}

enum module_compression compress_for_kernel(const char *install_tree, const char *kernel)
{
	_cleanup_free_ char *dir = path_join(install_tree, kernel);
	enum module_compression best = COMPRESS_NONE;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* follows, as find "<dir>/" */
	if (fd >= 0)
		scan_dir(fd, 0, &best);
	return best;
}

const char *compress_suffix(enum module_compression c)
{
	switch (c) {
	case COMPRESS_GZ: return ".gz";
	case COMPRESS_XZ: return ".xz";
	case COMPRESS_ZST: return ".zst";
	default: return "";
	}
}

static const char *opts_for(enum module_compression c, const struct compress_opts *opts)
{
	const char *o = NULL;
	if (opts)
		o = c == COMPRESS_GZ ? opts->gzip : c == COMPRESS_XZ ? opts->xz : opts->zstd;
	return o ? o : tools[c].default_opts;
}

/* Pushes the whitespace-separated words of s. */
static void push_words(struct strv *v, const char *s)
{
	static const char ws[] = " \t\n\r\v\f";
	for (s += strspn(s, ws); *s; s += strspn(s, ws)) {
		size_t n = strcspn(s, ws);
		strv_push_owned(v, xstrndup(s, n));
		s += n;
	}
}

static void trim_end(struct buf *b)
{
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
}

/* Runs argv (stdin /dev/null), stdout appended to out; stderr into out too (errout NULL) or
 * into errout. Returns 0 or -errno from starting it; *exit_code as proc_wait. */
static int run_tool(struct strv *argv, struct buf *out, struct buf *errout, int *exit_code)
{
	struct proc_spec spec = { .argv = strv_array(argv), .stdin_fd = -1, .stderr_fd = -2 };
	_cleanup_close_ int efd = -1;
	if (errout) {
		efd = memfd_create("modforge-tool-stderr", MFD_CLOEXEC);
		if (efd < 0)
			return -errno;
		spec.stderr_fd = efd;
	}
	int r = proc_capture(&spec, out, exit_code);
	if (r == 0 && errout && lseek(efd, 0, SEEK_SET) == 0)
		(void)buf_read_fd(errout, efd);
	return r;
}

/* The error for a tool that could not be started. */
static int spawn_failed(struct buf *err, int r, const char *what, const char *path, const char *tool)
{
	if (r == -ENOENT)
		return buf_fail(err, r, "%s %s: cannot run %s: not found in PATH", what, path, tool);
	return buf_fail(err, r, "%s %s: cannot run %s: %s", what, path, tool, strerror(-r));
}

int compress_module(const char *path, enum module_compression c, const struct compress_opts *opts, struct buf *err)
{
	if (c == COMPRESS_NONE)
		return 0;
	if (!valid(c))
		return buf_fail(err, -EINVAL, "compressing %s: unknown compression %d", path, (int)c);
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		return buf_fail(err, -e, "compressing %s: %s", path, strerror(e));
	}
	_cleanup_strv_ struct strv argv = STRV_INIT;
	strv_push(&argv, tools[c].name);
	push_words(&argv, opts_for(c, opts));
	strv_push(&argv, "-f");
	strv_push(&argv, path);

	_cleanup_buf_ struct buf out = BUF_INIT;
	buf_init(&out);
	int code = 0;
	int r = run_tool(&argv, &out, NULL, &code);
	if (r < 0)
		return spawn_failed(err, r, "compressing", path, tools[c].name);
	trim_end(&out);
	if (code != 0)
		return buf_fail(err, -EIO, "compressing %s with %s: exit status %d%s%s", path, tools[c].name, code,
				out.len ? ": " : "", out.data);

	_cleanup_free_ char *packed = xasprintf("%s%s", path, compress_suffix(c));
	if (!is_regular(packed))
		return buf_fail(err, -EIO, "compressing %s with %s: %s was not written", path, tools[c].name, packed);
	if (unlink(path) < 0 && errno != ENOENT) { /* the tool kept the plain file */
		int e = errno;
		return buf_fail(err, -e, "removing %s after compressing it: %s", path, strerror(e));
	}
	return 0;
}

int compress_detect(const char *path, enum module_compression *c)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unsigned char head[6];
	size_t got = 0;
	while (got < sizeof(head)) {
		ssize_t n = read(fd, head + got, sizeof(head) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*c = COMPRESS_NONE;
	for (enum module_compression k = COMPRESS_GZ; k <= COMPRESS_ZST; k++)
		if (got >= tools[k].magic_len && memcmp(head, tools[k].magic, tools[k].magic_len) == 0)
			*c = k;
	return 0;
}

int compress_read_plain(const char *path, struct buf *out, struct buf *err)
{
	enum module_compression c;
	int r = compress_detect(path, &c);
	if (r == 0 && c == COMPRESS_NONE)
		r = buf_read_file(out, path);
	if (r < 0)
		return buf_fail(err, r, "reading %s: %s", path, strerror(-r));
	if (c == COMPRESS_NONE)
		return 0;

	_cleanup_strv_ struct strv argv = STRV_INIT;
	strv_push(&argv, tools[c].name);
	strv_push(&argv, "-dc");
	strv_push(&argv, path);
	_cleanup_buf_ struct buf msg = BUF_INIT;
	buf_init(&msg);
	int code = 0;
	r = run_tool(&argv, out, &msg, &code);
	if (r < 0)
		return spawn_failed(err, r, "decompressing", path, tools[c].name);
	trim_end(&msg);
	if (code != 0)
		return buf_fail(err, -EIO, "decompressing %s with %s: exit status %d%s%s", path, tools[c].name, code,
				msg.len ? ": " : "", msg.data);
	return 0;
}

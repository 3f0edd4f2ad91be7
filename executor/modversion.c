#include "modversion.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkmod.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/macro.h"
#include "common/vercmp.h"
#include "common/xalloc.h"
#include "executor/compress.h"

static const char ws[] = " \t\n"; /* bash's default IFS, which splits dkms's `read -a` */

/* What dkms's get_module_verinfo keeps of modinfo's lines (the last of each key wins). */
struct verinfo {
	char *ver;      /* first word of "version" */
	char *checksum; /* second word of "version" */
	char *srcver;   /* first word of "srcversion" */
};

static void verinfo_release(struct verinfo *w)
{
	free(w->ver);
	free(w->checksum);
	free(w->srcver);
	*w = (struct verinfo){ 0 };
}

/* Returns word number idx (0-based) of s, newly allocated ("" when there is none). */
static char *word(const char *s, int idx)
{
	for (s += strspn(s, ws); *s && idx > 0; idx--) {
		s += strcspn(s, ws);
		s += strspn(s, ws);
	}
	return xstrndup(s, strcspn(s, ws));
}

static void set_owned(char **slot, char *v)
{
	free(*slot);
	*slot = v;
}

/* libkmod's own logging would go to stderr; library code never prints. */
static void quiet_log(void *data, int priority, const char *file, int line, const char *fn, const char *format,
		      va_list args)
{
}

/* Reads path's modinfo with libkmod into *w. Returns 0 or -errno. */
static int kmod_verinfo(const char *path, struct verinfo *w)
{
	static const char *const no_config[] = { NULL }; /* modprobe.d is not needed here */
	struct kmod_ctx *ctx = kmod_new(NULL, no_config);
	if (!ctx)
		return -ENOMEM;
	kmod_set_log_fn(ctx, quiet_log, NULL);
	struct kmod_module *mod = NULL;
	struct kmod_list *info = NULL, *l;
	int r = kmod_module_new_from_path(ctx, path, &mod);
	if (r == 0)
		r = kmod_module_get_info(mod, &info);
	if (r >= 0) {
		kmod_list_foreach(l, info)
		{
			const char *k = kmod_module_info_get_key(l), *v = kmod_module_info_get_value(l);
			if (!v)
				v = "";
			if (strcmp(k, "version") == 0) {
				set_owned(&w->ver, word(v, 0));
				set_owned(&w->checksum, word(v, 1));
			} else if (strcmp(k, "srcversion") == 0) {
				set_owned(&w->srcver, word(v, 0));
			}
		}
		r = 0;
	}
	kmod_module_info_free_list(info);
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return r;
}

/* For a compressed module this libkmod cannot open: decompress into a temp file, read that. */
static int kmod_verinfo_decompressed(const char *path, struct verinfo *w)
{
	_cleanup_buf_ struct buf plain = BUF_INIT;
	buf_init(&plain);
	int r = compress_read_plain(path, &plain, NULL);
	if (r < 0)
		return r;
	const char *tmpdir = getenv("TMPDIR");
	_cleanup_free_ char *tmp = xasprintf("%s/modforge-modinfo-XXXXXX.ko", tmpdir && *tmpdir ? tmpdir : "/tmp");
	_cleanup_close_ int fd = mkostemps(tmp, 3, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < plain.len;) {
		ssize_t n = write(fd, plain.data + off, plain.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			unlink(tmp);
			return r;
		}
		off += (size_t)n;
	}
	r = kmod_verinfo(tmp, w);
	unlink(tmp);
	return r;
}

static char *nonempty_dup(const char *s) { return s && *s ? xstrdup(s) : NULL; }

int modversion_read(const char *path, struct modversion *out)
{
	*out = (struct modversion){ 0 };
	struct verinfo w = { 0 };
	int r = kmod_verinfo(path, &w);
	enum module_compression c;
	if (r < 0 && r != -ENOENT && compress_detect(path, &c) == 0 && c != COMPRESS_NONE) {
		verinfo_release(&w);
		r = kmod_verinfo_decompressed(path, &w);
	}
	if (r == 0) {
		out->version = nonempty_dup(w.ver);
		/* dkms: ${srcver:-$checksum} */
		out->srcversion = nonempty_dup(w.srcver && *w.srcver ? w.srcver : w.checksum);
	}
	verinfo_release(&w);
	return r;
}

void modversion_release(struct modversion *v)
{
	free(v->version);
	free(v->srcversion);
	*v = (struct modversion){ 0 };
}

int modversion_cmp(const char *a, const char *b) { return dkms_vercmp(a, b); }

/* Returns 1 if both modules have the same plain (decompressed) bytes, 0 if not, or -errno. */
static int same_contents(const char *a, const char *b)
{
	enum module_compression ca, cb;
	int r = compress_detect(a, &ca);
	if (r == 0)
		r = compress_detect(b, &cb);
	if (r < 0)
		return r;
	if (ca == COMPRESS_NONE && cb == COMPRESS_NONE)
		return files_equal(a, b);
	_cleanup_buf_ struct buf pa = BUF_INIT, pb = BUF_INIT;
	buf_init(&pa);
	buf_init(&pb);
	r = compress_read_plain(a, &pa, NULL);
	if (r == 0)
		r = compress_read_plain(b, &pb, NULL);
	if (r < 0)
		return r;
	return pa.len == pb.len && memcmp(pa.data, pb.data, pa.len) == 0;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

int modversion_check(const char *existing, const char *built, enum modversion_verdict *verdict)
{
	_cleanup_(modversion_release) struct modversion e = { 0 }, b = { 0 };
	int r = modversion_read(existing, &e);
	if (r == 0)
		r = modversion_read(built, &b);
	if (r < 0)
		return r;
	const char *ve = or_empty(e.version), *vb = or_empty(b.version);
	const char *se = or_empty(e.srcversion), *sb = or_empty(b.srcversion);
	if (strcmp(ve, vb) != 0) {
		*verdict = modversion_cmp(ve, vb) > 0 ? MODVERSION_OLDER : MODVERSION_OK;
		return 0;
	}
	if (strcmp(se, sb) != 0) {
		*verdict = MODVERSION_OK; /* "=": same version, another build (3.4.3 installs) */
		return 0;
	}
	if (*vb || *sb) {
		*verdict = MODVERSION_SAME;
		return 0;
	}
	r = same_contents(existing, built); /* unversioned: only identical binaries are "the same" */
	if (r < 0)
		return r;
	*verdict = r ? MODVERSION_SAME : MODVERSION_OK;
	return 0;
}

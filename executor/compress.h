/* compress.h - module compression as dkms 3.4.3 does it: which suffix a kernel's modules
 * use, compressing a built .ko in place with gzip/xz/zstd, and reading a module back plain.
 *
 * The tools are external programs started through executor/proc.h (argv only, no shell),
 * found in the caller's PATH, with the caller's environment. Options are split on
 * whitespace and passed as words (no quoting, no globbing).
 *
 * Invariants: library code, never prints; returns 0 or -errno. err (may be NULL) is only
 * written on failure and then holds one message naming the operation, the path and the
 * reason (strerror, or the tool's exit status and output).
 */
#ifndef MODFORGE_COMPRESS_H
#define MODFORGE_COMPRESS_H

struct buf; /* common/buf.h */

enum module_compression { COMPRESS_NONE, COMPRESS_GZ, COMPRESS_XZ, COMPRESS_ZST };

/* The compression a kernel's own modules use, as dkms 3.4.3 decides it: any entry named
 * *.ko.gz / *.ko.xz / *.ko.zst anywhere under <install_tree>/<kernel>/ (the kernel dir itself
 * may be a symlink; symlinks below it, like build/ and source/, are not followed); the
 * strongest present wins, zst > xz > gz. Unreadable subdirectories are skipped, as find
 * does. Returns COMPRESS_NONE when none is found or the dir does not exist. */
enum module_compression compress_for_kernel(const char *install_tree, const char *kernel);

/* "", ".gz", ".xz", ".zst" (static strings). */
const char *compress_suffix(enum module_compression c);

/* The words put before "-f <path>": framework.conf's compress_gzip_opts / compress_xz_opts
 * / compress_zstd_opts. A NULL field (or opts NULL) means dkms 3.4.3's default: "" /
 * "--check=crc32 --lzma2=dict=1MiB" / "-q --rm -T0"; "" means no options at all. */
struct compress_opts {
	const char *gzip, *xz, *zstd;
};

/* Compresses path in place into path + compress_suffix(c) with `gzip|xz|zstd <opts> -f path`
 * (stdin /dev/null, stdout and stderr captured), then checks the compressed file exists and
 * removes the plain one if the tool kept it (zstd without --rm, gzip -k). COMPRESS_NONE: no-op.
 * Returns 0; -ENOENT when path or the tool is missing; -EIO when the tool exits non-zero
 * (its output in err) or leaves no compressed file; other -errno from starting it. */
int compress_module(const char *path, enum module_compression c, const struct compress_opts *opts, struct buf *err);

/* The compression of the file at path by its magic bytes (gzip 1f 8b, xz fd 37 7a 58 5a 00,
 * zstd 28 b5 2f fd); COMPRESS_NONE for anything else. Returns 0 or -errno (open/read). */
int compress_detect(const char *path, enum module_compression *c);

/* Appends the plain bytes of path to out: the file itself, or for a compressed one (by
 * magic) the output of `gzip|xz|zstd -dc path`. Returns 0 or -errno (-ENOENT for a missing
 * file or tool, -EIO when the tool fails); out may then hold partial data. */
int compress_read_plain(const char *path, struct buf *out, struct buf *err);

#endif

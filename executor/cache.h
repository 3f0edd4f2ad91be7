/* cache.h - the build cache: a content-addressed store of build results in the dkms tree.
 *
 * A key (64 hex chars, SHA-256) covers everything that decides a build's output: the
 * source tree's content (paths, modes, bytes; symlink targets), the evaluated conf as the
 * orchestrator serialises it, the kernel build tree's identity (include/config/kernel.release,
 * .config, Module.symvers of <kernel_source_dir>), and the compiler (`$CC --version`
 * output, CC defaulting to gcc). An entry holds what a build leaves in its result dir
 * (<k>/<a>: module/ and log/ and .modforge/), stored under
 * <dkms_tree>/.modforge/cache/<key>/, written atomically (temp dir + rename).
 * Size-bounded: after a store, least-recently-used entries (by the entry dir's mtime,
 * touched on every hit) are evicted until the total is under max_bytes.
 *
 * Library code: returns 0 / 1 / -errno, never prints.
 */
#ifndef MODFORGE_CACHE_H
#define MODFORGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct cache_key_input {
	const char *source_dir;  /* the module's source tree (followed if a symlink) */
	const char *overlay_dir; /* /etc/dkms/<module>/patches, laid over the source's (through
				  * its links, as it is copied); NULL or missing: none */
	const char *conf_text;   /* the evaluated conf, serialised by the caller */
	size_t conf_len;
	const char *kernel_source_dir; /* headers: kernel.release, .config, Module.symvers */
	const char *cc;                /* compiler command (NULL = "gcc") */
};

/* Computes the key into hex (65 bytes with NUL). Returns 0 or -errno. */
int cache_key(const struct cache_key_input *in, char hex[65]);
/* The cache holds a whole entry for key (a plan's guess: it may be evicted before the
 * restore, which then answers a miss). */
bool cache_has(const char *dkms_tree, const char *key);
/* If the cache has key, copies the entry into result_dir (which must not exist yet; it is
 * created) and marks the entry used. Returns 1 on a hit, 0 on a miss, -errno on error
 * (then result_dir does not exist). */
int cache_restore(const char *dkms_tree, const char *key, const char *result_dir);
/* Stores a copy of result_dir under key (an existing entry is kept), then evicts LRU
 * entries while the cache is larger than max_bytes. Returns 0 or -errno. */
int cache_store(const char *dkms_tree, const char *key, const char *result_dir, size_t max_bytes);
/* Total bytes of all entries. */
long long cache_size(const char *dkms_tree);

#endif

/* modversion.h - dkms 3.4.3's module version sanity check (check_version_sanity step 3):
 * may a newly built module replace a same-named one already in a kernel's tree?
 *
 * Module facts come from libkmod's modinfo (kmod_module_get_info) read the way dkms reads
 * `modinfo` output: the version is the first word of the last "version" entry, the
 * srcversion the last "srcversion" entry or, when that is missing or empty, the second word
 * of the version entry (the old "version: X checksum" form). Compressed modules (gz, xz,
 * zst by magic) are read by libkmod directly, or decompressed with the tool first when this
 * libkmod lacks that format (Debian 12's has no zlib).
 *
 * Finding the existing module, --force, --force-version-override and the user-facing
 * messages are the caller's. Library code: never prints, returns 0 or -errno.
 */
#ifndef MODFORGE_MODVERSION_H
#define MODFORGE_MODVERSION_H

/* Version facts of one module file. Owns both strings; an empty value counts as absent. */
struct modversion {
	char *version;    /* NULL when absent */
	char *srcversion; /* NULL when absent */
};

/* Reads path's facts into *out (released by modversion_release). Returns 0 or -errno
 * (-ENOENT missing file, -ENOEXEC not a module); *out is then all NULL. */
int modversion_read(const char *path, struct modversion *out);
void modversion_release(struct modversion *v);

/* dkms's VER() ordering of two module versions (common/vercmp.h). Returns <0, 0, >0. */
int modversion_cmp(const char *a, const char *b);

enum modversion_verdict {
	MODVERSION_OK,    /* install */
	MODVERSION_OLDER, /* existing is newer: "Module version X for NAME.ko is not newer than
			   * what is already found in kernel K (Y)." */
	MODVERSION_SAME,  /* identical version and srcversion (or both unversioned and identical
			   * binaries): "already installed" */
};

/* Decides for the newly built module file built against the existing same-named module
 * existing, as dkms 3.4.3's compare_module_version + check_version_sanity (absent = ""):
 *   versions equal as strings, srcversions equal:  SAME if the built one has a version or a
 *       srcversion; with neither, SAME if the decompressed contents are identical, else OK;
 *   versions equal, srcversions differ:           OK (3.0.10 refused; 3.4.3 installs);
 *   VER(existing) > VER(built):                   OLDER (also when only existing is versioned);
 *   otherwise:                                    OK.
 * Returns 0 and sets *verdict, or -errno when a file cannot be read. */
int modversion_check(const char *existing, const char *built, enum modversion_verdict *verdict);

#endif

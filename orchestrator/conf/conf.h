/* conf.h - the typed dkms.conf model: one ModuleConf per (module, version, kernel, arch).
 *
 * A dkms.conf is a bash fragment. executor/confeval runs bash (later inside the sandbox)
 * over the module's dkms.conf and the /etc/dkms overrides, once for all targets of one
 * module, and prints the whitelisted directives as NUL-separated records (the format is
 * documented in executor/confeval.sh). This module turns those bytes into a validated
 * struct module_conf. Pure code: no process, no file access, unit-tested.
 *
 * Ownership: a struct module_conf owns every string and array in it; conf_free frees it.
 * Invariants after a successful conf_from_dump():
 *   - package_name/package_version are non-empty, contain no '/', no whitespace.
 *   - n_records >= 0 (0 = "Zero modules specified", allowed); every record has a
 *     built_name (no '/', no ".o"/".ko" suffix, not "." or ".."), a dest_name likewise,
 *     a dest_location starting with /kernel, /updates or /extra and without a ".."
 *     component, and built_location relative (no leading '/', no ".." component),
 *     "" meaning the build dir itself.
 *   - dest_location is already the distro override when one applies (Debian: /updates/dkms).
 *   - make is the MAKE command for this kernel (MAKE_MATCH applied), or the dkms default.
 *   - patches holds only the patches whose PATCH_MATCH matched this kernel.
 */
#ifndef MODFORGE_CONF_H
#define MODFORGE_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "orchestrator/distro.h"

struct conf_record {
	char *built_name;         /* BUILT_MODULE_NAME[i] */
	char *built_location;     /* BUILT_MODULE_LOCATION[i], "" or ends with '/' */
	char *dest_name;          /* DEST_MODULE_NAME[i], default built_name */
	char *dest_location;      /* effective install dir below <installtree>/<k>, e.g. /updates/dkms */
	char *conf_dest_location; /* DEST_MODULE_LOCATION[i] as written (validated) */
	bool strip;               /* STRIP[i], default STRIP[0], default yes */
	/* Added: BUILD_EXCLUSIVE_*[i] of this record (3.3.0 per-module form), NULL if
	 * unset. Index 0 is also the global value (bash's $X is ${X[0]}), so record 0's
	 * fields equal module_conf's excl_*. Checked by conf_record_exclusive(). */
	char *excl_kernel, *excl_arch, *excl_config, *excl_kernel_min, *excl_kernel_max;
};

struct module_conf {
	char *package_name;
	char *package_version;
	char *make;           /* chosen MAKE command, before the "make" prefix rewrite */
	bool make_is_default; /* no MAKE given: the dkms default command */
	char *clean;          /* CLEAN as written, NULL if unset (deprecated, never run) */
	struct conf_record *records;
	size_t n_records;
	bool autoinstall;
	char **build_depends; /* BUILD_DEPENDS[*] package names */
	size_t n_build_depends;
	bool build_depends_rebuild;
	bool no_weak_modules;
	char **patches; /* PATCH[i] whose PATCH_MATCH[i] is empty or matches kernelver */
	size_t n_patches;
	char *pre_build, *post_build;                              /* relative to the build dir */
	char *post_add, *pre_install, *post_install, *post_remove; /* relative to source */
	/* BUILD_EXCLUSIVE_{KERNEL,ARCH,KERNEL_MIN,KERNEL_MAX} and OBSOLETE_BY as written
	 * (after MAKE-style evaluation); CONFIG is checked by conf_exclusive(). */
	char *excl_kernel, *excl_arch, *excl_config, *excl_kernel_min, *excl_kernel_max;
	char *obsolete_by;
	char **warnings; /* "Deprecated feature: ..." and similar, without newline */
	size_t n_warnings;
};

/* The target one dump record was evaluated for. */
struct conf_target {
	const char *kernelver;
	const char *arch;
};

/* Parses one dump record (the bytes bash printed for one target) into *out.
 * On a validation error returns -EINVAL and sets *err to a newly allocated message,
 * the text after "dkms.conf: Error! " as dkms prints it (e.g.
 * "No 'PACKAGE_NAME' directive specified."). Returns 0 or -errno.
 * Several errors are joined as dkms prints them: "msg1\ndkms.conf: Error! msg2"; one
 * dkms message spans two lines ("Directive 'DEST_MODULE_LOCATION' does not begin
 * with\n'/kernel', ..."). A syntax error in a sourced file, a file that exited while
 * being sourced, or a dead evaluator are errors too (modforge's own, stricter than
 * dkms). When no MAKE applies, make is NULL and make_is_default is true: the caller
 * builds dkms's default "make -C <kernel_source_dir> M=<dkms_tree>/<m>/<v>/build"
 * (and appends " LLVM=1" for clang kernels as dkms does). ADDON_MODULES_DIR is not
 * applied here. warnings holds the "Deprecated feature: ..." lines of a strict read;
 * the "Zero modules specified." warning is left to the caller (n_records == 0). */
int conf_from_dump(const char *dump, size_t len, const struct conf_target *target, enum conf_distro distro,
		   struct module_conf **out, char **err);

/* Decides BUILD_EXCLUSIVE for one target. kernel_config is the text of the kernel's
 * config (NULL if none). Returns NULL if the target may be built, else a newly allocated
 * reason as dkms words it after "The <m>/<v> module is not supported by ..." — the caller
 * formats the whole message.
 * (dkms 3.4.3 prints, exit 77: "Warning: The <dkms_tree>/<m>/<v>/<k>/<a>/dkms.conf\n
 * for module <m>/<v> includes BUILD_EXCLUSIVE directives\nwhich do not match this
 * kernel/arch/config for any modules.\nThis indicates that it should not be built.";
 * the reason returned here is modforge's own detail, e.g. "BUILD_EXCLUSIVE_KERNEL
 * '^5\.' does not match kernel 6.1.0-56-amd64".) Excluded only when every record is
 * excluded (never with zero records). OBSOLETE_BY acts as BUILD_EXCLUSIVE_KERNEL_MAX
 * when no BUILD_EXCLUSIVE_KERNEL_MAX[i] is set. */
char *conf_exclusive(const struct module_conf *c, const struct conf_target *target, const char *kernel_config);

/* Added: the same decision for record i alone (dkms skips a record whose own
 * BUILD_EXCLUSIVE_*[i], or the global ones, do not match). NULL if record i is built. */
char *conf_record_exclusive(const struct module_conf *c, size_t i, const struct conf_target *target,
			    const char *kernel_config);

/* Added: read_conf_strict's extra checks (add/build/install): duplicate
 * BUILT_MODULE_LOCATION+NAME or DEST_MODULE_NAME. Returns 0, or -EINVAL with *err as
 * for conf_from_dump ("Duplicate module 'x' in 'BUILT_MODULE_NAME[1]'."). */
int conf_check_strict(const struct module_conf *c, char **err);

/* Picks the distro from os-release text (ID, ID_LIKE as dkms: ubuntu wins, then ID_LIKE,
 * then ID). NULL text = DISTRO_OTHER. */
enum conf_distro conf_distro_from_os_release(const char *os_release);

void conf_free(struct module_conf *c);

#endif

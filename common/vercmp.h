/* vercmp.h - dkms's VER() version ordering (BUILD_EXCLUSIVE_KERNEL_MIN/MAX, OBSOLETE_BY,
 * autoinstall's "latest version").
 *
 * dkms compares versions as strings after VER() pads every run of one or two digits to
 * three digits ("6.1.0-56-amd64" -> "006.001.000-056-amd064"). This module reproduces
 * that sed program step by step, quirks included (a run of three or more digits is not
 * padded, so "1000" sorts before "999"). dkms then compares with bash's [[ < ]], which
 * follows the locale's collation; here the comparison is bytewise, which equals dkms
 * under LC_ALL=C / C.UTF-8. Pure code.
 */
#ifndef MODFORGE_VERCMP_H
#define MODFORGE_VERCMP_H

/* Returns VER(v) as a newly allocated string. */
char *dkms_ver(const char *v);

/* Returns <0, 0 or >0 as VER(a) sorts before, equal to or after VER(b). */
int dkms_vercmp(const char *a, const char *b);

#endif

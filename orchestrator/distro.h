/* distro.h - the distribution family a run is on, as far as dkms.conf cares: which
 * DEST_MODULE_LOCATION override applies (reference §2.2). Found once per run (context.h),
 * used by the conf model. */
#ifndef MODFORGE_DISTRO_H
#define MODFORGE_DISTRO_H

/* Which distro's DEST_MODULE_LOCATION override applies (reference §2.2). */
enum conf_distro {
	DISTRO_OTHER = 0, /* use DEST_MODULE_LOCATION as written */
	DISTRO_DEBIAN,    /* debian, ubuntu, arch: /updates/dkms */
	DISTRO_FEDORA,    /* fedora, centos, rhel: /extra */
	DISTRO_SUSE,      /* sles, suse, opensuse: /updates */
};

#endif

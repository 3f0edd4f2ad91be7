# cmake/package.cmake - `cpack -G DEB` (scripts/package.sh runs it): modforge_<v>_<arch>.deb,
# which installs modforge as /usr/sbin/modforge and /usr/sbin/dkms, the kernel hooks,
# dkms.service, /usr/lib/dkms/common.postinst, the man page, the completions and the
# schemas, and takes over from Debian's dkms package.
#
# Taking over: Provides: dkms (= the dkms release modforge is compatible with), Conflicts
# and Replaces: dkms. Not dpkg diversions: two implementations cannot both own
# /var/lib/dkms and answer the kernel hooks, so installing modforge removes dkms (its
# tree stays, and modforge reads it as it is), and every *-dkms package's "Depends: dkms"
# is satisfied by modforge.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME modforge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "modforge maintainers <maintainers@modforge.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "builds out-of-tree kernel modules for many kernels (replaces dkms)")
set(CPACK_PACKAGE_DESCRIPTION
    "modforge does DKMS's job with the same dkms.conf files, tree, verbs and exit codes, and is\n\
installed as dkms: it builds every (module, kernel) pair of a command as one parallel plan,\n\
never runs builds or dkms.conf as root, and installs through a small, locked, crash-safe\n\
privileged side that signs and compresses natively.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://modforge.invalid/")
# The libraries it links, and what builds and installs need (as Debian's dkms: a C
# compiler, make, patch, kmod's depmod/modprobe).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6, libseccomp2, libcap2, libkmod2, libcjson1, libssl3, bash, kmod, gcc | c-compiler, make, patch")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "linux-headers-amd64 | linux-headers")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "dkms (= ${DKMS_COMPAT_RELEASE})")
set(CPACK_DEBIAN_PACKAGE_CONFLICTS "dkms")
set(CPACK_DEBIAN_PACKAGE_REPLACES "dkms")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst)
include(CPack)

/* userns.h - the sandbox's user namespace: one unprivileged uid, mapped to itself.
 *
 * What stays true: after userns_enter succeeds the process is never root outside; inside
 * it has all capabilities of the new namespace (to mount) under the same uid/gid,
 * setgroups is denied, and a root caller's supplementary groups are gone.
 */
#ifndef MODFORGE_SANDBOX_USERNS_H
#define MODFORGE_SANDBOX_USERNS_H

#include <sys/types.h>

struct failure;

/* Switches a root caller to uid/gid (0 = the defaults of sandbox.h), then unshares a
 * user namespace mapping only its uid and gid. Returns 0, -SANDBOX_ENOUSERNS when the
 * kernel refuses the namespace, or -errno; why (may be NULL) names the failed call. */
int userns_enter(uid_t uid, gid_t gid, struct failure *why);

#endif

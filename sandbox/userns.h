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
struct sandbox_policy;

int userns_enter(uid_t uid, gid_t gid, struct failure *why);
/* Checks in a short-lived child that this policy's user namespace can be made (the uid
 * switch, unshare, maps, a mount). Returns 0, -SANDBOX_ENOUSERNS or -errno. */
int sandbox_probe(const struct sandbox_policy *policy);
/* A one-line reason user namespaces are unavailable, naming the setting to change. */
const char *sandbox_userns_hint(void);

#endif

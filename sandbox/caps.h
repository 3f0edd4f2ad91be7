/* caps.h - dropping every capability of the calling process.
 *
 * What stays true: after caps_drop_all succeeds the bounding, ambient, effective,
 * permitted and inheritable sets are empty, so no exec can give a capability back.
 */
#ifndef MODFORGE_SANDBOX_CAPS_H
#define MODFORGE_SANDBOX_CAPS_H

/* Empties every capability set. Needs CAP_SETPCAP (in the current user namespace) for
 * the bounding set. Returns 0 or -errno. */
int caps_drop_all(void);

#endif

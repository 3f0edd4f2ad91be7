/* filter.h - the sandbox's seccomp filter (libseccomp).
 *
 * What stays true: the filter allows by default and denies with EPERM what a build never
 * needs and what could reach past the sandbox: module loading, kexec, bpf, the mount
 * family, chroot/pivot_root/setns, keyrings, ptrace and process_vm_*, perf_event_open,
 * userfaultfd, io_uring, new user namespaces (unshare/clone), set-uid/set-gid bits (chmod
 * family, open/creat/mknod modes), TIOCSTI/TIOCLINUX. clone3 and fchmodat2/openat2 (whose
 * flags sit behind a pointer) fail with ENOSYS, so libc falls back to the filtered calls.
 * On x86-64 the same rules cover the i386 and x32 ABIs; any other ABI kills the process.
 * Syscalls this libseccomp does not know are skipped (the missing capabilities still
 * stop the privileged ones).
 */
#ifndef MODFORGE_SANDBOX_FILTER_H
#define MODFORGE_SANDBOX_FILTER_H

struct sandbox_filter;

/* Builds the filter and keeps its BPF program in *out (the caller owns it: filter_free).
 * Returns 0 or -errno. */
/* Compiles the seccomp filter once, in the caller. Returns 0 or -errno; the caller owns
 * *out and frees it with sandbox_filter_free once no spawn uses it. */
int sandbox_filter_new(struct sandbox_filter **out);
void sandbox_filter_free(struct sandbox_filter *f);
int filter_compile(struct sandbox_filter **out);
void filter_free(struct sandbox_filter *f);
/* Loads a compiled filter into the calling thread: one prctl, no allocation, so it is
 * async-signal-safe. Needs PR_SET_NO_NEW_PRIVS. Returns 0 or -errno. */
int filter_load(const struct sandbox_filter *f);
/* filter_compile + filter_load, for a child that was given no compiled filter. Allocates
 * (libseccomp), so it runs in a single-threaded child only. Returns 0 or -errno. */
int filter_install(void);

#endif

/* filter.c - the seccomp rules, as tables, and their loading. */
#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"

/* Denied outright (EPERM). */
static const char *const denied[] = {
	"init_module",
	"finit_module",
	"delete_module",
	"kexec_load",
	"kexec_file_load",
	"bpf",
	"mount",
	"umount",
	"umount2",
	"pivot_root",
	"chroot",
	"move_mount",
	"open_tree",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"mount_setattr",
	"setns",
	"keyctl",
	"add_key",
	"request_key",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"perf_event_open",
	"userfaultfd",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
};

/* Made to look absent (ENOSYS), so callers fall back to calls the filter can inspect. */
static const char *const absent[] = { "clone3", "fchmodat2", "openat2" };

/* Denied (EPERM) when argument arg has any of the bits in mask. */
struct masked_rule {
	const char *name;
	unsigned arg;
	scmp_datum_t mask;
};

static const struct masked_rule masked[] = {
	{ "unshare", 0, CLONE_NEWUSER },   { "clone", 0, CLONE_NEWUSER }, /* flags are arg 0 on x86-64, i386 and x32 */
	{ "chmod", 1, S_ISUID | S_ISGID }, { "fchmod", 1, S_ISUID | S_ISGID },  { "fchmodat", 2, S_ISUID | S_ISGID },
	{ "open", 2, S_ISUID | S_ISGID },  { "openat", 3, S_ISUID | S_ISGID },  { "creat", 1, S_ISUID | S_ISGID },
	{ "mknod", 1, S_ISUID | S_ISGID }, { "mknodat", 2, S_ISUID | S_ISGID },
};

/* ioctl requests denied (EPERM): pushing input into a terminal, console tricks. */
static const scmp_datum_t denied_ioctls[] = { TIOCSTI, TIOCLINUX };

/* Adds one rule for name. Unknown names are skipped. Returns 0 or -errno. */
static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n_cmp, const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);
}

/* Covers the other ABIs this CPU runs, so they cannot be used to skip the rules. */
static int add_arches(scmp_filter_ctx ctx)
{
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return r;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		if (r == 0 || r == -EEXIST)
			r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
		if (r == -EEXIST)
			r = 0;
	}
	return r;
}

static int add_rules(scmp_filter_ctx ctx)
{
	int r = add_arches(ctx);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied); i++)
		r = add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0, NULL);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(absent); i++)
		r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), absent[i], 0, NULL);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(masked); i++) {
		/* One rule per bit: rules on one syscall are OR-ed, comparisons AND-ed. */
		for (scmp_datum_t bit = 1; r == 0 && bit && bit <= masked[i].mask; bit <<= 1) {
			if (!(masked[i].mask & bit))
				continue;
			struct scmp_arg_cmp c = { masked[i].arg, SCMP_CMP_MASKED_EQ, bit, bit };
			r = add(ctx, SCMP_ACT_ERRNO(EPERM), masked[i].name, 1, &c);
		}
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied_ioctls); i++) {
		/* Only the low 32 bits: the kernel takes the request as an unsigned int. */
		struct scmp_arg_cmp c = { 1, SCMP_CMP_MASKED_EQ, 0xffffffffu, denied_ioctls[i] };
		r = add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &c);
	}
	return r;
}

/* The compiled program: what prctl(PR_SET_SECCOMP) takes. */
struct sandbox_filter {
	struct sock_fprog prog;
};

/* Exports ctx's BPF program (libseccomp 2.5 only writes it to an fd) into *out. */
static int export_bpf(scmp_filter_ctx ctx, struct sandbox_filter **out)
{
	struct stat st;
	int fd = memfd_create("modforge-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = seccomp_export_bpf(ctx, fd);
	if (r == 0 && (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0))
		r = -errno;
	struct sandbox_filter *f = NULL;
	if (r == 0 &&
	    (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	     st.st_size / sizeof(struct sock_filter) > USHRT_MAX))
		r = -EINVAL;
	if (r == 0 && !(f = calloc(1, sizeof(*f) + (size_t)st.st_size)))
		r = -ENOMEM;
	if (r == 0) {
		f->prog.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
		f->prog.filter = (struct sock_filter *)(f + 1);
		if (read(fd, f->prog.filter, (size_t)st.st_size) != st.st_size)
			r = -EIO;
	}
	close(fd);
	if (r < 0) {
		free(f);
		return r;
	}
	*out = f;
	return 0;
}

int filter_compile(struct sandbox_filter **out)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int r = add_rules(ctx);
	if (r == 0)
		r = export_bpf(ctx, out);
	seccomp_release(ctx);
	return r > 0 ? -r : r;
}

void filter_free(struct sandbox_filter *f) { free(f); }

int filter_load(const struct sandbox_filter *f)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &f->prog, 0, 0) < 0)
		return -errno;
	return 0;
}

int filter_install(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int r = add_rules(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r > 0 ? -r : r;
}

int sandbox_filter_new(struct sandbox_filter **out) { return filter_compile(out); }

void sandbox_filter_free(struct sandbox_filter *f) { filter_free(f); }

/* test_sandbox.c - real confined children (proc_spawn + sandbox_child_setup), checked
 * from outside: what they may write, see, reach and leave behind.
 *
 * Needs user namespaces; without them it prints the hint and skips (TAP 1..0 # SKIP).
 * The scratch tree is under /var/tmp, not /tmp: inside, /tmp is private, so a path
 * under it would "fail" to appear outside for the wrong reason.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/failure.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "executor/proc.h"
#include "sandbox/mounts.h"
#include "sandbox/sandbox.h"
#include "sandbox/userns.h"
#include "tap.h"

extern char **environ;

static char base[64];
static uid_t build_uid;
static char *d_work, *d_outside, *d_dkms, *d_build2, *f_symvers, *f_hidden, *f_secret;
static const char *hidden[5], *readonly[2], *writable[3];
static struct sandbox_filter *filter; /* compiled once, as modforge would */

static struct sandbox_policy confined(void)
{
	return (struct sandbox_policy){ .cwd = d_work,
					.confine = true,
					.hidden = hidden,
					.readonly = readonly,
					.writable = writable,
					.filter = filter };
}

/* The spec of bash -c script under pol, stdout to out_fd (-1: inherit); fills argv, env. */
static struct proc_spec spec_for(const struct sandbox_policy *pol, const char *script, char **argv, struct strv *env,
				 int out_fd)
{
	argv[0] = "bash";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	sandbox_build_env(pol, environ, env);
	return (struct proc_spec){ .argv = argv,
				   .envp = strv_array(env),
				   .cwd = pol->cwd,
				   .stdin_fd = -1,
				   .stdout_fd = out_fd,
				   .stderr_fd = -1,
				   .new_session = true,
				   .child_setup = sandbox_child_setup,
				   .child_data = (void *)pol };
}

/* Starts bash -c script under pol, stdout inherited. */
static int spawn(const struct sandbox_policy *pol, const char *script, pid_t *pid)
{
	char *argv[4];
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct proc_spec spec = spec_for(pol, script, argv, &env, -1);
	return proc_spawn(&spec, pid);
}

/* Runs bash -c script under pol; stdout into out. Returns the exit code, or -1000 if
 * the step could not start. */
static int run_pol(const struct sandbox_policy *pol, const char *script, struct buf *out)
{
	char *argv[4];
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct proc_spec spec = spec_for(pol, script, argv, &env, -1);
	int code = -1;
	buf_reset(out);
	int r = proc_capture(&spec, out, &code);
	if (r < 0) {
		printf("# could not start: %s\n", strerror(-r));
		return -1000;
	}
	return code;
}

/* run_pol with the confined policy. */
static int run(const char *script, struct buf *out)
{
	struct sandbox_policy p = confined();
	return run_pol(&p, script, out);
}

/* Prints text as TAP comment lines. */
static void comment(const char *what, const char *text)
{
	printf("# %s:\n", what);
	for (const char *s = text; *s;) {
		size_t n = strcspn(s, "\n");
		printf("#   %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

/* The value after "name:\t" in text (a /proc status dump), or "" if absent. */
static const char *field(const char *text, const char *name, char *val, size_t cap)
{
	const char *s = strstr(text, name);
	val[0] = '\0';
	if (!s)
		return val;
	s += strlen(name);
	s += strspn(s, ":\t ");
	size_t n = strcspn(s, "\n");
	snprintf(val, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
	return val;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	CHECK(write_file_atomic(path, text, strlen(text), mode) == 0);
}

static void make_tree(void)
{
	snprintf(base, sizeof(base), "/var/tmp/mf-sbx-XXXXXX");
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp %s: %s\n", base, strerror(errno));
		exit(1);
	}
	chmod(base, 0755); /* the build uid must get through */
	d_work = xasprintf("%s/work", base);
	d_outside = xasprintf("%s/outside", base);
	d_dkms = xasprintf("%s/dkms", base);
	d_build2 = xasprintf("%s/dkms/foo/1.0/build", base);
	f_symvers = xasprintf("%s/dkms/bar/1.0/Module.symvers", base);
	f_secret = xasprintf("%s/dkms/secret.key", base);
	f_hidden = xasprintf("%s/hidden-file", base);
	mkdir_p(d_work, 0755);
	mkdir_p(d_outside, 0777); /* writable by anyone: only the read-only mount stops it */
	chmod(d_outside, 0777);
	mkdir_p(d_build2, 0755);
	mkdir_p(d_dkms, 0755);
	char *bar = xasprintf("%s/dkms/bar/1.0", base);
	mkdir_p(bar, 0755);
	free(bar);
	write_text(f_symvers, "0x1234\tmf_hello_sym\tmf-hello\tEXPORT_SYMBOL\t\n", 0644);
	write_text(f_secret, "SECRET\n", 0644);
	write_text(f_hidden, "HIDDEN\n", 0644);
	char *other = xasprintf("%s/dkms/bar/1.0/other", base);
	write_text(other, "other\n", 0644);
	free(other);
	CHECK(chown(d_work, build_uid, build_uid) == 0);
	CHECK(chown(d_build2, build_uid, build_uid) == 0);
	hidden[0] = d_dkms;
	hidden[1] = f_hidden;
	hidden[2] = "/root";
	hidden[3] = "/home";
	readonly[0] = f_symvers;
	writable[0] = d_work;
	writable[1] = d_build2;
}

static void test_basics(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	CHECK(run("echo hello; exit 42", &out) == 42);
	CHECK_STR(out.data, "hello\n");
	CHECK(run("kill -9 $$", &out) == 137);
	CHECK(run("hostname", &out) == 0);
	CHECK_STR(out.data, "modforge\n");
	/* stdin is /dev/null, there is no terminal */
	CHECK(run("readlink /proc/self/fd/0; test -t 0 || echo notty; "
		  "test -e /dev/tty || echo no-dev-tty",
		  &out) == 0);
	CHECK_STR(out.data, "/dev/null\nnotty\nno-dev-tty\n");
}

static void test_identity(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	char v[64];
	CHECK(run("id; id -u; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status", &out) == 0);
	comment("id and /proc/self/status inside", out.data);
	char uid[32];
	snprintf(uid, sizeof(uid), "\n%u\n", (unsigned)build_uid);
	CHECK(strstr(out.data, uid) != NULL);
	CHECK(strstr(out.data, "\n0\n") == NULL); /* not root inside */
	CHECK_STR(field(out.data, "CapEff", v, sizeof(v)), "0000000000000000");
	CHECK_STR(field(out.data, "CapPrm", v, sizeof(v)), "0000000000000000");
	CHECK_STR(field(out.data, "CapInh", v, sizeof(v)), "0000000000000000");
	CHECK_STR(field(out.data, "CapBnd", v, sizeof(v)), "0000000000000000");
	CHECK_STR(field(out.data, "CapAmb", v, sizeof(v)), "0000000000000000");
	CHECK_STR(field(out.data, "NoNewPrivs", v, sizeof(v)), "1");
	CHECK_STR(field(out.data, "Seccomp", v, sizeof(v)), "2");
	/* the uid map: only the build uid, to itself */
	CHECK(run("cat /proc/self/uid_map /proc/self/setgroups", &out) == 0);
	comment("uid_map, setgroups", out.data);
	char map[64];
	snprintf(map, sizeof(map), "%u", (unsigned)build_uid);
	CHECK(strstr(out.data, map) && strstr(out.data, "deny"));
}

static void test_writes(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	char *f_out = xasprintf("%s/f", d_outside);
	char *script = xasprintf("for f in %s /etc/modforge-test-x /usr/modforge-test-x "
				 "%s/new; do echo x 2>&1 >$f | sed 's/.*: //'; done",
				 f_out, base);
	CHECK(run(script, &out) == 0);
	comment("writing outside", out.data);
	CHECK_STR(out.data,
		  "Read-only file system\nRead-only file system\n"
		  "Read-only file system\nRead-only file system\n");
	CHECK(!path_exists(f_out));
	CHECK(!path_exists("/etc/modforge-test-x"));
	CHECK(!path_exists("/usr/modforge-test-x"));
	free(script);
	free(f_out);

	/* the writable dirs: relative (cwd) and absolute, one of them inside the hidden tree */
	script = xasprintf("echo data > rel && mkdir sub && echo 2 > %s/work/sub/abs && "
			   "echo 3 > %s/o.o",
			   base, d_build2);
	CHECK(run(script, &out) == 0);
	free(script);
	char *rel = xasprintf("%s/rel", d_work), *abs = xasprintf("%s/sub/abs", d_work);
	char *obj = xasprintf("%s/o.o", d_build2);
	_cleanup_buf_ struct buf text = BUF_INIT;
	struct stat st;
	CHECK(buf_read_file(&text, rel) == 0 && strcmp(text.data, "data\n") == 0);
	CHECK(path_exists(abs) && path_exists(obj));
	CHECK(stat(rel, &st) == 0 && st.st_uid == build_uid); /* never created as root */
	free(rel);
	free(abs);
	free(obj);
}

static void test_tmp(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	char mine[64], host[64], script[512];
	snprintf(mine, sizeof(mine), "/tmp/mf-sbx-in-%d", (int)getpid());
	snprintf(host, sizeof(host), "/tmp/mf-sbx-host-%d", (int)getpid());
	write_text(host, "host\n", 0644);
	snprintf(script, sizeof(script),
		 "echo in > %s && cat %s; test -e %s && echo host-visible; ls -A /tmp | wc -l; "
		 "echo $TMPDIR $HOME",
		 mine, mine, host);
	CHECK(run(script, &out) == 0);
	CHECK_STR(out.data, "in\n1\n/tmp /tmp\n"); /* the base dir's mountpoint is not there */
	comment("/tmp inside", out.data);
	CHECK(!path_exists(mine));
	unlink(host);
}

static void test_hidden(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	char *script = xasprintf("ls -A %s; ls -A %s/bar/1.0; cat %s; cat %s; "
				 "test -e %s || echo no-secret; echo x 2>/dev/null > %s/bar/1.0/Module.symvers "
				 "|| echo symvers-ro; echo x 2>/dev/null > %s/new || echo tree-ro; "
				 "ls -A /root | wc -l",
				 d_dkms, d_dkms, f_symvers, f_hidden, f_secret, d_dkms, d_dkms);
	CHECK(run(script, &out) == 0);
	comment("hidden dkms tree inside", out.data);
	CHECK_STR(out.data,
		  "bar\nfoo\nModule.symvers\n0x1234\tmf_hello_sym\tmf-hello\tEXPORT_SYMBOL\t\n"
		  "no-secret\nsymvers-ro\ntree-ro\n0\n");
	free(script);
}

static void test_privileges(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	CHECK(run("unshare -U true 2>/dev/null && echo unshared; unshare -rm true 2>/dev/null && "
		  "echo unshared-m; touch f && chmod u+s f 2>/dev/null && echo suid; "
		  "chmod g+s f 2>/dev/null && echo sgid; mkdir -p m; "
		  "mount -t tmpfs none m 2>/dev/null && echo mounted; "
		  "install -m 4755 /dev/null s 2>/dev/null && echo installed; echo end",
		  &out) == 0);
	CHECK_STR(out.data, "end\n");
	char *f = xasprintf("%s/f", d_work), *s = xasprintf("%s/s", d_work);
	struct stat st;
	CHECK(stat(f, &st) == 0 && !(st.st_mode & (S_ISUID | S_ISGID)));
	CHECK(stat(s, &st) != 0 || !(st.st_mode & (S_ISUID | S_ISGID)));
	free(f);
	free(s);
}

/* Opens a TCP listener on 127.0.0.1; returns the fd and sets *port. */
static int listen_local(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_network(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	int port = 0;
	int fd = listen_local(&port);
	CHECK(fd >= 0);
	char script[256];
	snprintf(script, sizeof(script),
		 "echo hi 2>/dev/null > /dev/tcp/127.0.0.1/%d && echo connected; "
		 "awk 'NR > 2 { print $1 }' /proc/net/dev; ls /sys/class/net; cat /sys/class/net/lo/flags",
		 port);
	CHECK(run(script, &out) == 0);
	comment("network inside", out.data);
	CHECK_STR(out.data, "lo:\nlo\n0x8\n"); /* IFF_LOOPBACK, not IFF_UP */
	CHECK(accept(fd, NULL, NULL) < 0 && errno == EAGAIN);
	/* the control: with allow_net the same connect reaches the listener */
	struct sandbox_policy p = confined();
	p.allow_net = true;
	CHECK(run_pol(&p, script, &out) == 0);
	CHECK(strncmp(out.data, "connected\n", 10) == 0);
	int c = accept(fd, NULL, NULL);
	CHECK(c >= 0);
	if (c >= 0)
		close(c);
	close(fd);
}

/* True if a process with exactly this argv (NUL-joined, arg_len bytes) exists. */
static bool process_with(const char *argv, size_t arg_len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d))) {
		char path[300], b[256];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, b, sizeof(b));
		close(fd);
		found = n == (ssize_t)arg_len && memcmp(b, argv, arg_len) == 0;
	}
	if (d)
		closedir(d);
	return found;
}

/* Waits up to 3 s for the process with argv to appear (want) or vanish (!want). */
static bool await_process(const char *argv, size_t len, bool want)
{
	for (int i = 0; i < 300; i++) {
		if (process_with(argv, len) == want)
			return true;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return false;
}

static void test_processes(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	CHECK(run("ps -e -o pid=,comm= >/tmp/ps; cat /tmp/ps", &out) == 0);
	comment("ps -e inside", out.data);
	const char *want = "      1 modforge-init\n      2 bash\n";
	CHECK(strncmp(out.data, want, strlen(want)) == 0);
	int n = 0;
	for (const char *s = out.data; *s; s++)
		n += *s == '\n';
	CHECK(n == 3); /* init, bash, ps */

	/* a background process outlives its job in a plain shell; here it must not */
	char marker[64], script[128];
	int len = snprintf(marker, sizeof(marker), "sleep%c1000.%d", '\0', (int)getpid());
	snprintf(script, sizeof(script), "sleep 1000.%d & sleep 1", (int)getpid());
	struct sandbox_policy p = confined();
	pid_t pid;
	int code = -1;
	CHECK(spawn(&p, script, &pid) == 0);
	CHECK(await_process(marker, (size_t)len + 1, true));
	CHECK(proc_wait(pid, &code) == 0 && code == 0);
	CHECK(!process_with(marker, (size_t)len + 1));

	/* killing the pid the caller holds ends the whole job */
	snprintf(script, sizeof(script), "sleep 1001.%d & sleep 1000", (int)getpid());
	len = snprintf(marker, sizeof(marker), "sleep%c1001.%d", '\0', (int)getpid());
	CHECK(spawn(&p, script, &pid) == 0);
	CHECK(await_process(marker, (size_t)len + 1, true));
	kill(pid, SIGTERM);
	CHECK(proc_wait(pid, &code) == 0 && code == 128 + SIGTERM);
	CHECK(await_process(marker, (size_t)len + 1, false));
}

static void test_env(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	setenv("MAKEFLAGS", "-j99 --jobserver-auth=9,9", 1);
	setenv("MAKELEVEL", "3", 1);
	setenv("KBUILD_OUTPUT", "/nowhere", 1);
	setenv("sub_make_done", "1", 1);
	CHECK(run("env | grep -E '^(MAKEFLAGS|MAKELEVEL|KBUILD_|sub_make_done|HOME|TMPDIR)' | sort", &out) == 0);
	CHECK_STR(out.data, "HOME=/tmp\nTMPDIR=/tmp\n");
	char *extra[] = { "MAKEFLAGS=-j1 --jobserver-auth=3,4", NULL };
	struct sandbox_policy p = confined();
	p.extra_env = extra;
	CHECK(run_pol(&p, "echo \"$MAKEFLAGS|$MAKELEVEL\"", &out) == 0);
	CHECK_STR(out.data, "-j1 --jobserver-auth=3,4|\n");
	unsetenv("MAKEFLAGS");
	unsetenv("MAKELEVEL");
	unsetenv("KBUILD_OUTPUT");
	unsetenv("sub_make_done");
}

/* A C program, compiled and run inside: each denied syscall prints name=errno. */
static const char probe_c[] =
	"#define _GNU_SOURCE\n"
	"#include <errno.h>\n#include <fcntl.h>\n#include <sched.h>\n#include <signal.h>\n"
	"#include <stdio.h>\n#include <sys/ioctl.h>\n#include <sys/stat.h>\n"
	"#include <sys/syscall.h>\n#include <sys/wait.h>\n#include <unistd.h>\n"
	"static void show(const char *n, long r) { printf(\"%s=%d\\n\", n, r < 0 ? errno : 0); }\n"
	"#ifdef __x86_64__\n"
	"static long i386(long nr, long a) { long r; __asm__ volatile(\"int $0x80\" : \"=a\"(r)\n"
	"  : \"a\"(nr), \"b\"(a), \"c\"(0), \"d\"(0) : \"memory\", \"r8\", \"r9\", \"r10\", \"r11\");\n"
	"  return r; }\n"
	"#endif\n"
	"int main(void) {\n"
	"  show(\"init_module\", syscall(SYS_init_module, 0, 0, \"\"));\n"
	"  show(\"finit_module\", syscall(SYS_finit_module, 0, \"\", 0));\n"
	"  show(\"delete_module\", syscall(SYS_delete_module, \"x\", 0));\n"
	"  show(\"kexec_load\", syscall(SYS_kexec_load, 0, 0, 0, 0));\n"
	"  show(\"kexec_file_load\", syscall(SYS_kexec_file_load, 0, 0, 0, 0, 0));\n"
	"  show(\"bpf\", syscall(SYS_bpf, 0, 0, 0));\n"
	"  show(\"mount\", syscall(SYS_mount, \"none\", \"/tmp\", \"tmpfs\", 0, 0));\n"
	"  show(\"umount2\", syscall(SYS_umount2, \"/tmp\", 0));\n"
	"  show(\"pivot_root\", syscall(SYS_pivot_root, \"/tmp\", \"/tmp\"));\n"
	"  show(\"fsopen\", syscall(SYS_fsopen, \"tmpfs\", 0));\n"
	"  show(\"open_tree\", syscall(SYS_open_tree, AT_FDCWD, \"/tmp\", 1));\n"
	"  show(\"keyctl\", syscall(SYS_keyctl, 0, 0, 0));\n"
	"  show(\"add_key\", syscall(SYS_add_key, \"user\", \"k\", \"v\", 1, -2));\n"
	"  show(\"request_key\", syscall(SYS_request_key, \"user\", \"k\", 0, 0));\n"
	"  show(\"ptrace\", syscall(SYS_ptrace, 0, 0, 0, 0));\n"
	"  show(\"process_vm_readv\", syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0));\n"
	"  show(\"perf_event_open\", syscall(SYS_perf_event_open, 0, 0, -1, -1, 0));\n"
	"  show(\"userfaultfd\", syscall(SYS_userfaultfd, 0));\n"
	"  show(\"unshare_user\", syscall(SYS_unshare, CLONE_NEWUSER));\n"
	"  long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);\n"
	"  if (c == 0) _exit(0);\n"
	"  if (c > 0) waitpid(c, 0, 0);\n"
	"  show(\"clone_user\", c);\n"
	"  show(\"clone3\", syscall(SYS_clone3, 0, 0));\n"
	"  int fd = open(\"f\", O_CREAT | O_WRONLY, 0644);\n"
	"  show(\"chmod_plain\", chmod(\"f\", 0755));\n"
	"  show(\"chmod_suid\", chmod(\"f\", 04755));\n"
	"  show(\"chmod_sgid\", chmod(\"f\", 02755));\n"
	"  show(\"fchmod_suid\", fchmod(fd, 04755));\n"
	"  show(\"fchmodat_suid\", fchmodat(AT_FDCWD, \"f\", 04755, 0));\n"
	"  show(\"fchmodat2\", syscall(452, AT_FDCWD, \"f\", 04755, 0));\n"
	"  show(\"open_suid\", open(\"g\", O_CREAT | O_WRONLY, 04755));\n"
	"  show(\"mknod_suid\", mknod(\"h\", S_IFREG | 04755, 0));\n"
	"  show(\"tiocsti\", ioctl(0, TIOCSTI, \"x\"));\n"
	"#ifdef __x86_64__\n"
	"  long r = i386(20, 0);\n" /* getpid */
	"  printf(\"i386_getpid=%d\\n\", r > 0 ? 0 : (int)-r);\n"
	"  r = i386(310, CLONE_NEWUSER);\n" /* unshare */
	"  printf(\"i386_unshare_user=%d\\n\", r < 0 ? (int)-r : 0);\n"
	"  r = i386(26, 0);\n" /* ptrace(PTRACE_TRACEME) */
	"  printf(\"i386_ptrace=%d\\n\", r < 0 ? (int)-r : 0);\n"
	"  show(\"x32_unshare_user\", syscall(0x40000000 | SYS_unshare, CLONE_NEWUSER));\n"
	"#endif\n"
	"  return 0;\n}\n";

/* name=errno lines the probe must print (EPERM 1, ENOSYS 38). Some answers can only
 * come from the filter: clone3 exists on this kernel, TIOCSTI on /dev/null is ENOTTY,
 * x32 syscalls are ENOSYS on kernels without x32; i386_getpid shows int 0x80 works. */
static const char probe_expect[] =
	"init_module=1\nfinit_module=1\ndelete_module=1\nkexec_load=1\nkexec_file_load=1\n"
	"bpf=1\nmount=1\numount2=1\npivot_root=1\nfsopen=1\nopen_tree=1\nkeyctl=1\nadd_key=1\n"
	"request_key=1\nptrace=1\nprocess_vm_readv=1\nperf_event_open=1\nuserfaultfd=1\n"
	"unshare_user=1\nclone_user=1\nclone3=38\nchmod_plain=0\nchmod_suid=1\nchmod_sgid=1\n"
	"fchmod_suid=1\nfchmodat_suid=1\nfchmodat2=38\nopen_suid=1\nmknod_suid=1\ntiocsti=1\n"
#ifdef __x86_64__
	"i386_getpid=0\ni386_unshare_user=1\ni386_ptrace=1\nx32_unshare_user=1\n"
#endif
	;

static void test_compile_and_filter(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	char *src = xasprintf("%s/probe.c", d_work);
	write_text(src, probe_c, 0644);
	free(src);
	/* a make-like step: the compiler, headers and libraries come from the read-only root */
	CHECK(run("gcc -O1 -o probe probe.c && ./probe", &out) == 0);
	comment("seccomp probe inside (name=errno)", out.data);
	CHECK_STR(out.data, probe_expect);
	/* the same with the filter compiled in the child instead of the caller */
	struct sandbox_policy p = confined();
	p.filter = NULL;
	CHECK(run_pol(&p, "./probe", &out) == 0);
	CHECK_STR(out.data, probe_expect);
	char *bin = xasprintf("%s/probe", d_work);
	CHECK(is_regular(bin));
	free(bin);
}

static void test_dev(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	CHECK(run("ls /dev | tr '\\n' ' '; echo; echo x > /dev/null && head -c 4 /dev/urandom | "
		  "wc -c; test -e /dev/vda || test -e /dev/sda || test -e /dev/kmsg || echo no-disks",
		  &out) == 0);
	CHECK_STR(out.data, "fd full null random shm stderr stdin stdout urandom zero \n4\nno-disks\n");
}

/* Outside any sandbox, as root: per-mount remounts (the path for kernels < 5.12) also
 * leave nothing writable. */
static void test_remount_each(void)
{
	char *f = xasprintf("%s/remount-each", d_work);
	fflush(NULL);
	pid_t c = fork();
	if (c == 0) {
		if (userns_enter(build_uid, build_uid, NULL) < 0 || unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(2);
		if (mounts_remount_each_ro(NULL) < 0)
			_exit(3);
		int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		_exit(fd < 0 && errno == EROFS ? 0 : 4);
	}
	int code = -1;
	CHECK(proc_wait(c, &code) == 0 && code == 0);
	CHECK(!path_exists(f));
	free(f);
}

/* With user.max_user_namespaces=0 (set inside a user namespace of our own, so the host
 * is untouched) the step fails to start with the distinct error and the hint says why. */
static void test_no_userns(void)
{
	int go[2];
	CHECK(pipe(go) == 0);
	fflush(NULL);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(go[1]);
		if (unshare(CLONE_NEWUSER) < 0 || read(go[0], &b, 1) != 1)
			_exit(2);
		setresgid(0, 0, 0);
		setresuid(0, 0, 0);
		int fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(3);
		close(fd);
		struct sandbox_policy p = confined();
		if (sandbox_probe(&p) != -SANDBOX_ENOUSERNS)
			_exit(4);
		char *argv[] = { "true", NULL };
		struct proc_spec spec = { .argv = argv,
					  .stdin_fd = -1,
					  .stdout_fd = -1,
					  .stderr_fd = -1,
					  .child_setup = sandbox_child_setup,
					  .child_data = &p };
		int code;
		if (proc_run(&spec, &code) != -SANDBOX_ENOUSERNS)
			_exit(5);
		printf("# hint: %s\n", sandbox_userns_hint());
		fflush(stdout);
		_exit(strstr(sandbox_userns_hint(), "user.max_user_namespaces") ? 0 : 6);
	}
	close(go[0]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)c);
	nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL); /* let it unshare */
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, "0 0 4294967295", 14) == 14;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)c);
	fd = open(path, O_WRONLY);
	ok = ok && fd >= 0 && write(fd, "0 0 4294967295", 14) == 14;
	if (fd >= 0)
		close(fd);
	CHECK(ok);
	CHECK(write(go[1], "x", 1) == 1);
	close(go[1]);
	int code = -1;
	CHECK(proc_wait(c, &code) == 0 && code == 0);
	if (code != 0)
		printf("# no-userns child exited %d\n", code);
}

/* The jobserver's pipe reaches the job through both extra processes. */
static void test_keep_fds(void)
{
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	char script[64], *argv[4];
	snprintf(script, sizeof(script), "echo token >&%d", p[1]);
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct sandbox_policy pol = confined();
	struct proc_spec spec = spec_for(&pol, script, argv, &env, -1);
	spec.keep_fds = &p[1];
	spec.n_keep_fds = 1;
	int code = -1;
	CHECK(proc_run(&spec, &code) == 0 && code == 0);
	close(p[1]);
	_cleanup_buf_ struct buf got = BUF_INIT;
	CHECK(buf_read_fd(&got, p[0]) == 0);
	CHECK_STR(got.data, "token\n");
	close(p[0]);
}

/* A sandbox that cannot be set up says which call failed on which path: here a path to
 * show read-only below a 0700 directory the build user cannot enter (root only: as
 * another user the 0700 directory would be the caller's own). */
static void test_failure_named(void)
{
	if (getuid() != 0) {
		printf("# SKIP the named failure: the build user must differ from the caller\n");
		return;
	}
	_cleanup_free_ char *closed = xasprintf("%s/closed", base);
	_cleanup_free_ char *inside = xasprintf("%s/closed/inside", base);
	CHECK(mkdir_p(inside, 0755) == 0 && chmod(closed, 0700) == 0);
	const char *ro[] = { inside, NULL };
	struct sandbox_policy p = confined();
	p.readonly = ro;
	char *argv[4];
	_cleanup_strv_ struct strv env = STRV_INIT;
	struct failure failed = { 0 };
	struct proc_spec spec = spec_for(&p, "true", argv, &env, -1);
	spec.failure = &failed;
	pid_t pid;
	CHECK(proc_spawn(&spec, &pid) == -EACCES);
	CHECK(failed.err == EACCES);
	CHECK_STR(failed.call, "open");
	CHECK_STR(failed.path, inside);
	_cleanup_buf_ struct buf why = BUF_INIT;
	failure_describe(&failed, -EACCES, &why);
	_cleanup_free_ char *want = xasprintf("open(%s): %s", inside, strerror(EACCES));
	CHECK_STR(why.data, want);
	/* A program that is not there: execve and its name. */
	struct failure missing = { 0 };
	char *nope[] = { "/nonexistent/modforge-no-such-program", NULL };
	struct proc_spec np = { .argv = nope, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .failure = &missing };
	CHECK(proc_spawn(&np, &pid) == -ENOENT);
	CHECK_STR(missing.call, "execve");
	CHECK_STR(missing.path, nope[0]);
}

static void test_unconfined_unchanged(void)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	struct sandbox_policy p = { .cwd = d_work };
	char script[256];
	snprintf(script, sizeof(script), "id -u; touch %s/unconfined && echo wrote", d_outside);
	CHECK(run_pol(&p, script, &out) == 0);
	char want[64];
	snprintf(want, sizeof(want), "%u\nwrote\n", (unsigned)getuid());
	CHECK_STR(out.data, want);
}

int main(void)
{
	build_uid = getuid() == 0 ? SANDBOX_BUILD_UID_DEFAULT : getuid();
	struct sandbox_policy probe = { .confine = true };
	int r = sandbox_probe(&probe);
	if (r == -SANDBOX_ENOUSERNS) {
		printf("1..0 # SKIP no user namespaces: %s\n", sandbox_userns_hint());
		return 0;
	}
	CHECK(r == 0);
	CHECK(sandbox_filter_new(&filter) == 0);
	make_tree();
	test_basics();
	test_identity();
	test_writes();
	test_tmp();
	test_hidden();
	test_privileges();
	test_network();
	test_processes();
	test_env();
	test_compile_and_filter();
	test_dev();
	test_remount_each();
	test_keep_fds();
	if (getuid() == 0)
		test_no_userns();
	test_failure_named();
	test_unconfined_unchanged();
	rm_rf(base);
	sandbox_filter_free(filter);
	return tap_done();
}

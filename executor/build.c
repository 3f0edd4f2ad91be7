#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/failure.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "executor/compress.h"
#include "executor/install.h"
#include "executor/modsign.h"
#include "executor/proc.h"
#include "executor/take.h"
#include "executor/treelock.h"
#include "executor/untrusted.h"

struct build_state {
	const struct build_job *job;
	char *source_dir;       /* <dkms>/<m>/<v>/source */
	char *build_dir;        /* <dkms>/<m>/<v>/build: where the steps see their build area */
	char *work_dir;         /* where it really is (a private area, or build_dir itself) */
	char *kernel_dir;       /* <dkms>/<m>/<v>/<k> */
	char *base_dir;         /* <dkms>/<m>/<v>/<k>/<a> */
	char *log_path;         /* <build_dir>/make.log, as messages name it */
	char *work_log;         /* <work_dir>/make.log, where it is written */
	int log_fd;             /* make.log (O_RDWR | O_APPEND): the steps' output, and read back
			     * through this fd, never by path (the build may swap the path) */
	int area_fd;            /* work_dir, opened by root: its parent is root's, so the build
			     * user cannot put another directory (or a link) in its place */
	struct take_rules take; /* what a file the build left must be to be taken */
	bool disk_full;         /* a step was stopped for the disk: the area is deleted, not kept */
};

static void error_lines(FILE *err, const char *fmt, ...) _printf_(2, 3);
static void error_lines(FILE *err, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("\nError! ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	fflush(err);
}

static void log_printf(struct build_state *s, const char *fmt, ...) _printf_(2, 3);
static void log_printf(struct build_state *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdprintf(s->log_fd, fmt, ap);
	va_end(ap);
}

/* dkms's invoke_command: describe, run with output appended to make.log, report. */
static int invoke(struct build_state *s, const char *cmd, const char *desc)
{
	const struct build_job *j = s->job;
	if (j->verbose)
		fprintf(j->out, "%s\n", cmd);
	else
		fprintf(j->out, "%s...", desc);
	fflush(j->out);
	log_printf(s, "\n%s\n# command: %s\n", desc, cmd);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *argv[] = { "bash", "-c", (char *)cmd, NULL };
	struct failure failed = { 0 };
	struct untrusted_cmd uc = {
		.argv = argv,
		.cwd = s->build_dir,
		.extra_env = j->build_env,
		.out_fd = s->log_fd,
		.keep_fds = j->keep_fds,
		.n_keep_fds = j->n_keep_fds,
		.box = j->box,
		.failure = &failed,
		.reap_orphans = true, /* a build worker: build_run made it the subreaper */
	};
	int code = 0;
	int r = untrusted_run(&uc, &code);
	if (r == -ENOSPC) {
		unsigned long long reserve = 0, avail = 0;
		untrusted_disk_reserve(s->work_dir, &reserve, &avail);
		log_printf(
			s,
			"modforge: step stopped: the filesystem of %s has %llu MiB free, under the %llu MiB kept free\n",
			s->work_dir, avail >> 20, reserve >> 20);
		error_lines(j->err,
			    "The build of %s/%s for %s (%s) was stopped: the filesystem of %s has %llu MiB free,\n"
			    "under the %llu MiB modforge keeps free while building.",
			    j->module, j->version, j->kernel, j->arch, s->work_dir, avail >> 20, reserve >> 20);
		s->disk_full = true;
		code = 10;
	} else if (r < 0) {
		_cleanup_buf_ struct buf why = BUF_INIT;
		failure_describe(&failed, r, &why);
		log_printf(s, "modforge: cannot start the step in its sandbox: %s\n", why.data);
		error_lines(j->err, "Cannot start a step of the build of %s/%s for %s (%s)%s: %s", j->module,
			    j->version, j->kernel, j->arch, j->box && j->box->policy.confine ? " in its sandbox" : "",
			    why.data);
		code = 127;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long secs = (long)(t1.tv_sec - t0.tv_sec);
	log_printf(s, "\n# exit code: %d\n# elapsed time: %02ld:%02ld:%02ld\n", code, secs / 3600, (secs / 60) % 60,
		   secs % 60);
	log_printf(s, "----------------------------------------------------------------\n");
	if (code != 0) {
		fprintf(j->out, "(bad exit status: %d)", code);
		if (!j->verbose)
			fprintf(j->out, "\nFailed command:\n%s\n", cmd);
	} else {
		fputs(" done.\n", j->out);
	}
	fflush(j->out);
	return code;
}

/* PRE_BUILD / POST_BUILD: "script args" relative to the build dir, output to make.log. */
static int run_build_script(struct build_state *s, const char *type, const char *script)
{
	if (!script || !*script)
		return 0;
	const struct build_job *j = s->job;
	/* The admin's override in /etc/dkms/<module> runs from there, as with dkms. */
	const char *over = script_override_dir(j->etc_module_dir, script);
	const char *run_dir = over ? over : s->build_dir;
	_cleanup_free_ char *run = xasprintf("%s/%s", run_dir, script);
	_cleanup_free_ char *prog = xstrndup(script, strcspn(script, " "));
	struct stat st;
	/* Looked up inside the area only: root never answers for a file elsewhere. */
	if (!over && (take_stat(s->area_fd, prog, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))) {
		fprintf(j->out, "\n");
		fflush(j->out);
		fprintf(j->err, "Warning: The %s script is not executable.\n", type);
		fflush(j->err);
		return 0;
	}
	_cleanup_free_ char *cmd = xasprintf("cd %s/ && %s", run_dir, run);
	_cleanup_free_ char *desc = xasprintf("Running the %s script", type);
	int code = invoke(s, cmd, desc);
	if (code != 0) {
		fprintf(j->out, "Consult %s for more information.\n", s->log_path);
		fflush(j->out);
	}
	return code;
}

static int apply_patches(struct build_state *s)
{
	const struct build_job *j = s->job;
	for (size_t i = 0; i < j->n_patches; i++) {
		const char *p = j->patches[i];
		_cleanup_free_ char *rel = xasprintf("patches/%s", p);
		if (strstr(rel, "/../")) {
			error_lines(j->err, "Patch %s as specified in dkms.conf contains '..' path component.", p);
			return 5;
		}
		struct stat st;
		if (take_stat(s->area_fd, rel, &st) < 0) {
			error_lines(j->err, "Patch %s as specified in dkms.conf cannot be\nfound in %s/patches/.", p,
				    s->build_dir);
			return 5;
		}
		_cleanup_free_ char *cmd = xasprintf("patch -p1 < ./patches/%s", p);
		_cleanup_free_ char *desc = xasprintf("Applying patch %s", p);
		if (invoke(s, cmd, desc) != 0) {
			error_lines(j->err, "Application of patch %s failed.\nConsult %s for more information.", p,
				    s->log_path);
			return 6;
		}
	}
	return 0;
}

/* A build result the privileged side refuses: that (module, kernel) fails with exit 7. */
static int refuse_result(struct build_state *s, const char *seen, const struct buf *why)
{
	const struct build_job *j = s->job;
	error_lines(j->err, "%s %s.\nNothing of %s/%s is kept for %s (%s).", seen, why->data, j->module, j->version,
		    j->kernel, j->arch);
	log_printf(s, "modforge: refused %s: %s\n", seen, why->data);
	return 7;
}

static int check_built_modules(struct build_state *s)
{
	const struct build_job *j = s->job;
	for (size_t i = 0; i < j->n_records; i++) {
		const struct build_record *r = &j->records[i];
		_cleanup_free_ char *rel = xasprintf("%s%s.ko", r->built_location, r->built_name);
		_cleanup_buf_ struct buf why = BUF_INIT;
		_cleanup_close_ int fd = -1;
		int e = take_open(s->area_fd, rel, &s->take, &fd, &why);
		if (e == 0)
			continue;
		if (e != -ENOENT) {
			_cleanup_free_ char *seen = path_join(s->build_dir, rel);
			return refuse_result(s, seen, &why);
		}
		error_lines(j->err,
			    "Build of %s%s.ko failed for: %s (%s)\n"
			    "Make sure the name and location of the generated module are correct,\n"
			    "or consult %s for more information.",
			    r->built_location, r->built_name, j->kernel, j->arch, s->log_path);
		return 7;
	}
	return 0;
}

static int strip_module(struct build_state *s, const char *path)
{
	char *argv[] = { "strip", "-g", (char *)path, NULL };
	struct untrusted_cmd uc = {
		.argv = argv,
		.cwd = s->build_dir,
		.extra_env = s->job->build_env,
		.out_fd = s->log_fd,
		.box = s->job->box,
		.reap_orphans = true,
	};
	int code = 0;
	int r = untrusted_run(&uc, &code);
	return r < 0 ? r : (code ? -EIO : 0);
}

/* One manifest line per module: dest_name, dest_dir, file name inside module/. */
static void manifest_add(struct buf *m, const struct build_record *r, const char *suffix)
{
	buf_addf(m, "%s\t%s\t%s.ko%s\n", r->dest_name, r->dest_dir ? r->dest_dir : "", r->dest_name, suffix);
}

/* dkms's sign step: "Signing module <path>"; a failure is a warning, the build goes on. */
static void sign_module(struct build_state *s, const char *path, const char *seen)
{
	const struct build_job *j = s->job;
	fprintf(j->out, "Signing module %s\n", seen);
	fflush(j->out);
	_cleanup_buf_ struct buf why = BUF_INIT;
	int r;
	if (j->sign_file) {
		char *argv[] = { (char *)j->sign_file, (char *)j->sign_hash, (char *)j->sign_key,
				 (char *)j->sign_cert, (char *)path,         NULL };
		struct proc_spec spec = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -2 };
		int code = 0;
		r = proc_capture(&spec, &why, &code);
		if (r == 0 && code != 0)
			r = -EIO;
	} else {
		r = modsign_file(path, j->sign_hash, j->sign_key, j->sign_cert, &why);
	}
	if (r < 0) {
		/* dkms's warn with the signer's output as its second line (empty: an empty line) */
		fprintf(j->err, "Warning: Failed to sign module '%s'!\n", seen);
		fprintf(j->err, "%s%s", why.len ? why.data : "", why.len && why.data[why.len - 1] == '\n' ? "" : "\n");
		fflush(j->err);
	}
}

/* Takes one built module from the build area into the staging dir moddir (take.h), then
 * signs and compresses the staged copy. Returns 0 or dkms's exit code 7. */
static int stage_module(struct build_state *s, const struct build_record *rec, const char *moddir, struct buf *manifest)
{
	const struct build_job *j = s->job;
	_cleanup_free_ char *rel = xasprintf("%s%s.ko", rec->built_location, rec->built_name);
	_cleanup_free_ char *seen = path_join(s->build_dir, rel);
	if (rec->strip && strip_module(s, seen) < 0)
		fprintf(j->err, "Warning: strip -g %s failed\n", seen);
	_cleanup_free_ char *dst = xasprintf("%s/%s.ko", moddir, rec->dest_name);
	_cleanup_buf_ struct buf why = BUF_INIT;
	int r = take_file(s->area_fd, rel, &s->take, dst, 0644, &why);
	if (r == -ENOENT) {
		fprintf(j->err, "Warning: %s has disappeared\n", seen);
		return 0;
	}
	if (r < 0)
		return refuse_result(s, seen, &why);
	/* Signed in the root-owned copy, never in the build user's area. */
	if (j->sign_hash)
		sign_module(s, dst, seen);
	enum module_compression comp = (enum module_compression)j->compression;
	if (comp != COMPRESS_NONE && compress_module(dst, comp, j->compress_opts, &why) < 0) {
		error_lines(j->err, "%s", why.data);
		return 7;
	}
	manifest_add(manifest, rec, compress_suffix(comp));
	return 0;
}

/* Stages Module.symvers (if the build left one) and every module in tmp. Returns 0 or 7. */
static int stage_results(struct build_state *s, const char *tmp)
{
	const struct build_job *j = s->job;
	_cleanup_free_ char *moddir = path_join(tmp, "module");
	_cleanup_free_ char *mfpath = path_join(tmp, LAYOUT_MANIFEST);
	_cleanup_free_ char *mfdir = parent_dir(mfpath);
	_cleanup_free_ char *logdir = path_join(tmp, "log");
	int r = mkdir_p(logdir, 0755);
	if (r == 0)
		r = mkdir_p(moddir, 0755);
	if (r == 0)
		r = mkdir_p(mfdir, 0755);
	if (r < 0) {
		error_lines(j->err, "Cannot create %s: %s", tmp, strerror(-r));
		return 7;
	}
	_cleanup_free_ char *symvers = path_join(moddir, "Module.symvers");
	_cleanup_free_ char *symvers_seen = path_join(s->build_dir, "Module.symvers");
	_cleanup_buf_ struct buf why = BUF_INIT;
	r = take_file(s->area_fd, "Module.symvers", &s->take, symvers, 0644, &why);
	if (r < 0 && r != -ENOENT)
		return refuse_result(s, symvers_seen, &why);
	_cleanup_buf_ struct buf manifest = BUF_INIT;
	for (size_t i = 0; i < j->n_records; i++) {
		int code = stage_module(s, &j->records[i], moddir, &manifest);
		if (code)
			return code;
	}
	r = write_file_atomic(mfpath, manifest.data, manifest.len, 0644);
	if (r < 0) {
		error_lines(j->err, "Cannot write %s: %s", mfpath, strerror(-r));
		return 7;
	}
	for (size_t i = 0; i < j->n_notes; i++) {
		_cleanup_free_ char *path = path_join(tmp, j->notes[i].name);
		r = write_file_atomic(path, j->notes[i].text, strlen(j->notes[i].text), 0644);
		if (r < 0) {
			error_lines(j->err, "Cannot write %s: %s", path, strerror(-r));
			return 7;
		}
	}
	return 0;
}

/* Fills <k>/.tmp_<a>_XXXXXX (root's, 0700 until whole) and renames it to <k>/<a>. */
static int collect_results(struct build_state *s)
{
	const struct build_job *j = s->job;
	int r = mkdir_p(s->kernel_dir, 0755);
	if (r < 0) {
		error_lines(j->err, "Cannot create %s: %s", s->kernel_dir, strerror(-r));
		return 7;
	}
	_cleanup_free_ char *tmp = xasprintf("%s/.tmp_%s_XXXXXX", s->kernel_dir, j->arch);
	if (!mkdtemp(tmp)) {
		error_lines(j->err, "Unable to make temporary directory.");
		return 1;
	}
	int code = stage_results(s, tmp);
	if (code == 0 && chmod(tmp, 0755) < 0)
		r = -errno;
	if (code == 0 && r == 0 && rename(tmp, s->base_dir) < 0)
		r = -errno;
	if (code == 0 && r == 0)
		return 0;
	rm_rf(tmp);
	(void)rmdir(s->kernel_dir); /* if nothing else is in it */
	if (code == 0) {
		error_lines(j->err, "do_build: final mv failed (%s)", strerror(-r));
		code = 7;
	}
	return code;
}

/* A fresh copy of src at dst for the build user: made while dst is root's alone (0700),
 * so no other process is inside while root copies and hands it over; the top directory
 * goes last and then gets src's mode. Returns 0 or -errno. */
static int private_copy(const struct build_job *j, const char *src, const char *dst, const char *overlay)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return -errno;
	int r = rm_rf(dst);
	if (r == 0 && mkdir(dst, 0700) < 0)
		r = -errno;
	if (r == 0)
		r = copy_tree(src, dst);
	if (r == 0 && overlay && is_dir(overlay)) {
		/* Still root's (0700, nothing of the build has run): laid over without following
		 * a link the source's own patches/ may hold. */
		_cleanup_free_ char *to = path_join(dst, "patches");
		r = copy_tree_over(overlay, to);
	}
	/* Writable by the build user as root's copy is for dkms (patch, a script or make may
	 * rewrite a file the package ships read-only). */
	if (r == 0)
		r = hand_over_tree(dst, j->build_uid != 0, j->build_uid, j->build_gid);
	if (r == 0 && chmod(dst, st.st_mode & 0777) < 0)
		r = -errno;
	return r;
}

/* make.log, new (a make.log the source tree had is replaced), opened once by root. */
static int open_log(struct build_state *s)
{
	int r = unlinkat(s->area_fd, "make.log", 0) < 0 && errno != ENOENT ? -errno : 0;
	if (r == -EISDIR)
		r = rm_rf(s->work_log);
	if (r < 0)
		return r;
	s->log_fd = openat(s->area_fd, "make.log", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0644);
	return s->log_fd < 0 ? -errno : 0;
}

static int prepare_build_area(struct build_state *s)
{
	const struct build_job *j = s->job;
	_cleanup_free_ char *overlay = j->etc_module_dir ? path_join(j->etc_module_dir, "patches") : NULL;
	int r = private_copy(j, s->source_dir, s->work_dir, overlay);
	if (r < 0) {
		error_lines(j->err, "Cannot copy %s to %s: %s", s->source_dir, s->work_dir, strerror(-r));
		return 15;
	}
	if (j->source_view) {
		r = private_copy(j, s->source_dir, j->source_view, NULL);
		if (r < 0) {
			error_lines(j->err, "Cannot copy %s to %s: %s", s->source_dir, j->source_view, strerror(-r));
			return 15;
		}
	}
	s->log_path = j->own_log ? layout_failed_log(j->dkms_tree, j->module, j->version, j->kernel, j->arch)
				 : path_join(s->build_dir, "make.log");
	s->work_log = path_join(s->work_dir, "make.log");
	s->area_fd = open(s->work_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = s->area_fd < 0 ? -errno : open_log(s);
	if (r < 0) {
		error_lines(j->err, "Cannot open %s: %s", s->work_log, strerror(-r));
		return 15;
	}
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Z %Y", localtime(&now));
	log_printf(s, "DKMS (%s) make.log for %s/%s for kernel %s (%s)\n%s\n", j->release, j->module, j->version,
		   j->kernel, j->arch, date);
	return 0;
}

/* The most of make.log kept in the result: a build can make the file huge, sparse, or
 * keep appending to it through an fd it passed on; the end is where the errors are. */
#define LOG_KEEP_BYTES (16LL << 20)

/* Copies make.log through root's own fd to final_log: its last LOG_KEEP_BYTES at most,
 * read once (whatever is appended meanwhile is not waited for). */
static void keep_log_as(struct build_state *s, const char *final_log)
{
	_cleanup_buf_ struct buf log = BUF_INIT;
	struct stat st;
	int r = fstat(s->log_fd, &st) < 0 ? -errno : 0;
	off_t from = r == 0 && st.st_size > LOG_KEEP_BYTES ? st.st_size - LOG_KEEP_BYTES : 0;
	if (from)
		buf_addf(&log, "[modforge: make.log was %jd bytes; only its last %lld are kept]\n",
			 (intmax_t)st.st_size, LOG_KEEP_BYTES);
	char chunk[65536];
	for (off_t off = from; r == 0 && off < from + LOG_KEEP_BYTES;) {
		ssize_t n = pread(s->log_fd, chunk, sizeof(chunk), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		n = off + n > from + LOG_KEEP_BYTES ? (ssize_t)(from + LOG_KEEP_BYTES - off) : n;
		buf_add(&log, chunk, (size_t)n);
		off += n;
	}
	_cleanup_free_ char *dir = parent_dir(final_log);
	if (r == 0)
		r = mkdir_p(dir, 0755);
	if (r == 0)
		r = write_file_atomic(final_log, log.data, log.len, 0644);
	if (r < 0)
		fprintf(s->job->err, "Warning: cannot keep %s as %s: %s\n", s->log_path, final_log, strerror(-r));
}

/* A built one's make.log goes into its result's log/, with the kernel's config. */
static void keep_log(struct build_state *s)
{
	_cleanup_free_ char *final_log = xasprintf("%s/log/make.log", s->base_dir);
	keep_log_as(s, final_log);
	const char *config = s->job->kernel_config;
	const char *slash = config ? strrchr(config, '/') : NULL;
	if (!config || !is_regular(config) || !strcmp(slash ? slash + 1 : config, "make.log"))
		return; /* (a --config named make.log does not replace the log) */
	_cleanup_free_ char *kept = xasprintf("%s/log/%s", s->base_dir, slash ? slash + 1 : config);
	int r = copy_file_atomic(config, kept, 0644);
	if (r < 0)
		fprintf(s->job->err, "Warning: cannot keep %s as %s: %s\n", config, kept, strerror(-r));
}

static int build_steps(struct build_state *s)
{
	const struct build_job *j = s->job;
	int code = prepare_build_area(s);
	if (code == 0)
		code = apply_patches(s);
	if (code == 0)
		code = run_build_script(s, "pre_build", j->pre_build);
	if (code != 0)
		return code;
	if (invoke(s, j->make_command, "Building module(s)") != 0) {
		if (s->disk_full)
			return 10;
		error_lines(j->err,
			    "Bad return status for module build on kernel: %s (%s)\n"
			    "Consult %s for more information.",
			    j->kernel, j->arch, s->log_path);
		return 10;
	}
	code = check_built_modules(s);
	if (code == 0)
		code = collect_results(s);
	if (code == 0)
		code = run_build_script(s, "post_build", j->post_build);
	if (code != 0)
		return code;
	keep_log(s);
	rm_rf(s->work_dir);
	return 0;
}

/* A confined build's steps see its private area at <m>/<v>/build, which must exist for
 * the sandbox to bind it there (an add makes it; a successful build takes it away). */
static void build_area_for_steps(const struct build_job *job, const char *build_dir)
{
	_cleanup_free_ char *shared = layout_build_lock(job->dkms_tree, job->module, job->version, NULL, NULL);
	int area_lock = file_lock(shared, "the build area", NULL);
	if (mkdir(build_dir, 0755) < 0 && errno != EEXIST)
		fprintf(job->err, "Warning: cannot make %s: %s\n", build_dir, strerror(errno));
	tree_unlock(area_lock);
}

/* After a successful build, dkms leaves no <m>/<v>/build: the empty one goes too, unless
 * another build of m/v (this run's or another's) holds its lock and needs it. */
static void drop_idle_build_area(const struct build_job *job, const char *build_dir, const char *own_lock)
{
	_cleanup_free_ char *shared = layout_build_lock(job->dkms_tree, job->module, job->version, NULL, NULL);
	_cleanup_free_ char *locks = layout_build_locks(job->dkms_tree, job->module, job->version);
	int area_lock = file_lock(shared, "the build area", NULL);
	bool busy = area_lock < 0; /* (without the lock, another build may be starting) */
	DIR *d = opendir(locks);
	struct dirent *de;
	while (d && !busy && (de = readdir(d))) {
		_cleanup_free_ char *path = path_join(locks, de->d_name);
		if (de->d_name[0] != '.' && strcmp(path, shared) && strcmp(path, own_lock))
			busy = file_lock_held(path);
	}
	if (d)
		closedir(d);
	if (!busy)
		(void)rmdir(build_dir); /* only when empty: a failed build's area stays */
	tree_unlock(area_lock);
}

/* Deletes <k>/.tmp_<a>_* result dirs that a killed build of this target left. */
static void drop_stale_results(const struct build_state *s)
{
	_cleanup_free_ char *prefix = xasprintf(".tmp_%s_", s->job->arch);
	DIR *d = opendir(s->kernel_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)) && strlen(de->d_name) == strlen(prefix) + 6) {
			_cleanup_free_ char *p = path_join(s->kernel_dir, de->d_name);
			rm_rf(p);
		}
	closedir(d);
}

int build_run(const struct build_job *job)
{
	struct build_state s = { .job = job, .log_fd = -1, .area_fd = -1 };
	/* A step killed for the disk dies with its sandbox's init; as the subreaper of its
	 * worker, this process waits for that init, so the area's space is free when the
	 * build returns (untrusted.c). */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* An earlier failure's log is not this build's: it goes now (a failure keeps its own). */
	_cleanup_free_ char *failed_log = layout_failed_log(job->dkms_tree, job->module, job->version, job->kernel,
							    job->arch);
	(void)unlink(failed_log);
	/* Root, sandboxed: the build user's. Otherwise the builds run as this process's uid. */
	s.take.owner = job->build_uid ? job->build_uid : geteuid();
	s.source_dir = layout_source_link(job->dkms_tree, job->module, job->version);
	s.build_dir = layout_build_area(job->dkms_tree, job->module, job->version);
	s.work_dir = xstrdup(job->work_dir ? job->work_dir : s.build_dir);
	s.kernel_dir = layout_kernel_dir(job->dkms_tree, job->module, job->version, job->kernel);
	s.base_dir = path_join(s.kernel_dir, job->arch);
	/* One build per area at a time, across runs: another run may be building the same. */
	_cleanup_free_ char *lock_path = layout_build_lock(job->dkms_tree, job->module, job->version,
							   job->work_dir ? job->kernel : NULL, job->arch);
	_cleanup_free_ char *what = xasprintf("the build of %s/%s for %s (%s)", job->module, job->version, job->kernel,
					      job->arch);
	int lock = file_lock(lock_path, what, job->err);
	drop_stale_results(&s); /* a killed build's; no other build of this target runs now */
	if (job->work_dir)
		build_area_for_steps(job, s.build_dir);
	int code;
	if (lock >= 0 && is_dir(s.base_dir)) {
		fprintf(job->out, "Module %s/%s for kernel %s (%s) was built by another run meanwhile.\n", job->module,
			job->version, job->kernel, job->arch);
		code = 0;
	} else {
		code = build_steps(&s);
	}
	/* Each kernel's failure keeps its own make.log (build/ holds the last one, as in
	 * dkms). */
	if (code != 0 && !s.disk_full && s.log_fd >= 0)
		keep_log_as(&s, failed_log);
	if (s.log_fd >= 0)
		close(s.log_fd);
	if (s.area_fd >= 0)
		close(s.area_fd);
	if (job->source_view)
		rm_rf(job->source_view); /* what the build wrote into its source goes with it */
	/* A failed private area becomes <m>/<v>/build, where dkms leaves a failed build (and
	 * where the message above told the user to look). */
	if (s.disk_full)
		rm_rf(s.work_dir); /* give the space back; make.log went with it */
	else if (code != 0 && strcmp(s.work_dir, s.build_dir) != 0 && is_dir(s.work_dir)) {
		/* Builds for other kernels may fail at the same time: one at a time here. */
		_cleanup_free_ char *shared = layout_build_lock(job->dkms_tree, job->module, job->version, NULL, NULL);
		int area_lock = file_lock(shared, "the build area", NULL);
		rm_rf(s.build_dir);
		if (rename(s.work_dir, s.build_dir) < 0)
			rm_rf(s.work_dir); /* never left behind as a stray private area */
		tree_unlock(area_lock);
	}
	if (code == 0 && job->work_dir)
		drop_idle_build_area(job, s.build_dir, lock_path);
	tree_unlock(lock);
	free(s.source_dir);
	free(s.build_dir);
	free(s.work_dir);
	free(s.work_log);
	free(s.kernel_dir);
	free(s.base_dir);
	free(s.log_path);
	return code;
}

#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "executor/compress.h"
#include "executor/modsign.h"
#include "executor/proc.h"
#include "executor/treelock.h"
#include "executor/untrusted.h"

struct build_state {
	const struct build_job *job;
	char *source_dir;   /* <dkms>/<m>/<v>/source */
	char *build_dir;    /* <dkms>/<m>/<v>/build: where the steps see their build area */
	char *work_dir;     /* where it really is (a private area, or build_dir itself) */
	char *kernel_dir;   /* <dkms>/<m>/<v>/<k> */
	char *base_dir;     /* <dkms>/<m>/<v>/<k>/<a> */
	char *log_path;     /* <build_dir>/make.log, as messages name it */
	char *work_log;     /* <work_dir>/make.log, where it is written */
	int log_fd;
	bool disk_full;     /* a step was stopped for the disk: the area is deleted, not kept */
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
	struct untrusted_cmd uc = {
		.argv = argv, .cwd = s->build_dir, .extra_env = j->build_env, .out_fd = s->log_fd,
		.keep_fds = j->keep_fds, .n_keep_fds = j->n_keep_fds, .box = j->box,
	};
	int code = 0;
	int r = untrusted_run(&uc, &code);
	if (r == -ENOSPC) {
		unsigned long long reserve = 0, avail = 0;
		untrusted_disk_reserve(s->work_dir, &reserve, &avail);
		log_printf(s, "modforge: step stopped: the filesystem of %s has %llu MiB free, under the %llu MiB kept free\n",
			   s->work_dir, avail >> 20, reserve >> 20);
		error_lines(j->err, "The build of %s/%s for %s (%s) was stopped: the filesystem of %s has %llu MiB free,\n"
			    "under the %llu MiB modforge keeps free while building.", j->module, j->version, j->kernel,
			    j->arch, s->work_dir, avail >> 20, reserve >> 20);
		s->disk_full = true;
		code = 10;
	} else if (r < 0) {
		log_printf(s, "modforge: cannot start the step in its sandbox: %s\n", strerror(-r));
		code = 127;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long secs = (long)(t1.tv_sec - t0.tv_sec);
	log_printf(s, "\n# exit code: %d\n# elapsed time: %02ld:%02ld:%02ld\n", code, secs / 3600,
		   (secs / 60) % 60, secs % 60);
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
	_cleanup_free_ char *run = xasprintf("%s/%s", s->build_dir, script);
	_cleanup_free_ char *work_run = xasprintf("%s/%s", s->work_dir, script);
	_cleanup_free_ char *prog = xstrndup(work_run, strcspn(work_run, " "));
	if (access(prog, X_OK) != 0) {
		fprintf(j->out, "\n");
		fflush(j->out);
		fprintf(j->err, "Warning: The %s script is not executable.\n", type);
		fflush(j->err);
		return 0;
	}
	_cleanup_free_ char *cmd = xasprintf("cd %s/ && %s", s->build_dir, run);
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
		_cleanup_free_ char *abs = xasprintf("%s/patches/%s", s->work_dir, p);
		if (!path_exists(abs)) {
			error_lines(j->err, "Patch %s as specified in dkms.conf cannot be\nfound in %s/patches/.",
				    p, s->build_dir);
			return 5;
		}
		_cleanup_free_ char *cmd = xasprintf("patch -p1 < ./patches/%s", p);
		_cleanup_free_ char *desc = xasprintf("Applying patch %s", p);
		if (invoke(s, cmd, desc) != 0) {
			error_lines(j->err, "Application of patch %s failed.\nConsult %s for more information.",
				    p, s->log_path);
			return 6;
		}
	}
	return 0;
}

static int check_built_modules(struct build_state *s)
{
	const struct build_job *j = s->job;
	for (size_t i = 0; i < j->n_records; i++) {
		const struct build_record *r = &j->records[i];
		_cleanup_free_ char *path = xasprintf("%s/%s%s.ko", s->work_dir, r->built_location, r->built_name);
		if (is_regular(path))
			continue;
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
		.argv = argv, .cwd = s->build_dir, .extra_env = s->job->build_env, .out_fd = s->log_fd,
		.box = s->job->box,
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
				 (char *)j->sign_cert, (char *)path, NULL };
		struct proc_spec spec = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -2 };
		int code = 0;
		r = proc_capture(&spec, &why, &code);
		if (r == 0 && code != 0)
			r = -EIO;
	} else {
		r = modsign_file(path, j->sign_hash, j->sign_key, j->sign_cert, &why);
	}
	if (r < 0) {
		fprintf(j->err, "Warning: Failed to sign module '%s'!\n", seen);
		if (why.len)
			fprintf(j->err, "%s%s", why.data, why.data[why.len - 1] == '\n' ? "" : "\n");
		fflush(j->err);
	}
}

/* Fills <k>/.tmp_<a>_XXXXXX and renames it to <k>/<a>. */
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
	_cleanup_free_ char *logdir = path_join(tmp, "log");
	_cleanup_free_ char *moddir = path_join(tmp, "module");
	_cleanup_free_ char *mfdir = path_join(tmp, ".modforge");
	_cleanup_buf_ struct buf manifest = BUF_INIT;
	r = mkdir_p(logdir, 0755);
	if (r == 0)
		r = mkdir_p(moddir, 0755);
	if (r == 0)
		r = mkdir_p(mfdir, 0755);
	_cleanup_free_ char *symvers = path_join(s->work_dir, "Module.symvers");
	_cleanup_free_ char *symvers_dst = path_join(moddir, "Module.symvers");
	if (r == 0 && is_regular(symvers))
		r = copy_file_atomic(symvers, symvers_dst, 0644);
	for (size_t i = 0; r == 0 && i < j->n_records; i++) {
		const struct build_record *rec = &j->records[i];
		_cleanup_free_ char *built = xasprintf("%s/%s%s.ko", s->work_dir, rec->built_location, rec->built_name);
		_cleanup_free_ char *seen = xasprintf("%s/%s%s.ko", s->build_dir, rec->built_location, rec->built_name);
		if (!is_regular(built)) {
			fprintf(j->err, "Warning: %s has disappeared\n", seen);
			continue;
		}
		if (rec->strip && strip_module(s, seen) < 0)
			fprintf(j->err, "Warning: strip -g %s failed\n", seen);
		_cleanup_free_ char *dst = xasprintf("%s/%s.ko", moddir, rec->dest_name);
		r = copy_file_atomic(built, dst, 0644);
		/* Signed in the root-owned copy, never in the build user's area. */
		if (r == 0 && j->sign_hash)
			sign_module(s, dst, seen);
		if (r == 0 && j->compression != COMPRESS_NONE) {
			_cleanup_buf_ struct buf why = BUF_INIT;
			r = compress_module(dst, (enum module_compression)j->compression, j->compress_opts, &why);
			if (r < 0)
				error_lines(j->err, "%s", why.data);
		}
		manifest_add(&manifest, rec, compress_suffix((enum module_compression)j->compression));
	}
	_cleanup_free_ char *mfpath = path_join(mfdir, "manifest");
	if (r == 0)
		r = write_file_atomic(mfpath, manifest.data, manifest.len, 0644);
	if (r == 0 && chmod(tmp, 0755) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, s->base_dir) < 0)
		r = -errno;
	if (r < 0) {
		rm_rf(tmp);
		error_lines(j->err, "do_build: final mv failed (%s)", strerror(-r));
		return 7;
	}
	return 0;
}

static int prepare_build_area(struct build_state *s)
{
	const struct build_job *j = s->job;
	int r = rm_rf(s->work_dir);
	if (r == 0)
		r = copy_tree(s->source_dir, s->work_dir);
	/* The build runs as the build user: it must own its build area (and its log). */
	if (r == 0 && j->build_uid)
		r = chown_tree(s->work_dir, j->build_uid, j->build_gid);
	if (r < 0) {
		error_lines(j->err, "Cannot copy %s to %s: %s", s->source_dir, s->work_dir, strerror(-r));
		return 15;
	}
	if (j->source_view) {
		r = rm_rf(j->source_view);
		if (r == 0)
			r = copy_tree(s->source_dir, j->source_view);
		if (r == 0 && j->build_uid)
			r = chown_tree(j->source_view, j->build_uid, j->build_gid);
		if (r < 0) {
			error_lines(j->err, "Cannot copy %s to %s: %s", s->source_dir, j->source_view, strerror(-r));
			return 15;
		}
	}
	s->log_path = path_join(s->build_dir, "make.log");
	s->work_log = path_join(s->work_dir, "make.log");
	s->log_fd = open(s->work_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->log_fd < 0) {
		error_lines(j->err, "Cannot open %s: %s", s->work_log, strerror(errno));
		return 15;
	}
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Z %Y", localtime(&now));
	log_printf(s, "DKMS (%s) make.log for %s/%s for kernel %s (%s)\n%s\n", j->release, j->module,
		   j->version, j->kernel, j->arch, date);
	return 0;
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
		error_lines(j->err, "Bad return status for module build on kernel: %s (%s)\n"
			    "Consult %s for more information.", j->kernel, j->arch, s->log_path);
		return 10;
	}
	code = check_built_modules(s);
	if (code == 0)
		code = collect_results(s);
	if (code == 0)
		code = run_build_script(s, "post_build", j->post_build);
	if (code != 0)
		return code;
	_cleanup_free_ char *final_log = xasprintf("%s/log/make.log", s->base_dir);
	(void)rename(s->work_log, final_log);
	close(s->log_fd);
	s->log_fd = -1;
	rm_rf(s->work_dir);
	return 0;
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
	struct build_state s = { .job = job, .log_fd = -1 };
	s.source_dir = xasprintf("%s/%s/%s/source", job->dkms_tree, job->module, job->version);
	s.build_dir = xasprintf("%s/%s/%s/build", job->dkms_tree, job->module, job->version);
	s.work_dir = xstrdup(job->work_dir ? job->work_dir : s.build_dir);
	s.kernel_dir = xasprintf("%s/%s/%s/%s", job->dkms_tree, job->module, job->version, job->kernel);
	s.base_dir = path_join(s.kernel_dir, job->arch);
	/* One build per area at a time, across runs: another run may be building the same. */
	_cleanup_free_ char *lock_path = job->work_dir ? xasprintf("%s/%s/%s/.lock-%s-%s", job->dkms_tree, job->module, job->version, job->kernel, job->arch)
							: xasprintf("%s/%s/%s/.lock-build", job->dkms_tree, job->module, job->version);
	_cleanup_free_ char *what = xasprintf("the build of %s/%s for %s (%s)", job->module, job->version, job->kernel, job->arch);
	int lock = file_lock(lock_path, what, job->err);
	drop_stale_results(&s); /* a killed build's; no other build of this target runs now */
	int code;
	if (lock >= 0 && is_dir(s.base_dir)) {
		fprintf(job->out, "Module %s/%s for kernel %s (%s) was built by another run meanwhile.\n", job->module,
			job->version, job->kernel, job->arch);
		code = 0;
	} else {
		code = build_steps(&s);
	}
	if (s.log_fd >= 0)
		close(s.log_fd);
	if (job->source_view)
		rm_rf(job->source_view); /* what the build wrote into its source goes with it */
	/* A failed private area becomes <m>/<v>/build, where dkms leaves a failed build (and
	 * where the message above told the user to look). */
	if (s.disk_full)
		rm_rf(s.work_dir); /* give the space back; make.log went with it */
	else if (code != 0 && strcmp(s.work_dir, s.build_dir) != 0 && is_dir(s.work_dir)) {
		rm_rf(s.build_dir);
		(void)rename(s.work_dir, s.build_dir);
	}
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

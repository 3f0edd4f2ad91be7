#include "journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/xalloc.h"

#define HEADER "modforge-journal 1\n"

static const char *const kind_names[] = { "archive", "copy", "link", "delete", "restore", "unlink", "rmtree", "depmod" };

struct step {
	enum journal_step kind;
	char *f[4]; /* a, b, c, d ("" = none) */
};

void journal_init(struct journal *j, const char *dkms_tree, const char *what)
{
	j->dkms_tree = xstrdup(dkms_tree);
	j->what = xstrdup(what);
	j->lines = (struct strv)STRV_INIT;
}

void journal_release(struct journal *j)
{
	free(j->dkms_tree);
	free(j->what);
	strv_release(&j->lines);
}

static char *journal_path(const char *dkms_tree) { return layout_journal(dkms_tree); }

int journal_add(struct journal *j, enum journal_step kind, const char *a, const char *b, const char *c, const char *d)
{
	const char *f[4] = { a, b, c, d };
	for (size_t i = 0; i < 4; i++)
		if (f[i] && strpbrk(f[i], "\t\n"))
			return -EINVAL;
	strv_pushf(&j->lines, "%s\t%s\t%s\t%s\t%s", kind_names[kind], a ? a : "", b ? b : "", c ? c : "", d ? d : "");
	return 0;
}

char *journal_identity(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return NULL;
	return xasprintf("%llu:%lld", (unsigned long long)st.st_ino, (long long)st.st_size);
}

/* Splits a journal line; returns false for a line it does not know. */
static bool parse_step(const char *line, struct step *s)
{
	char *copy = xstrdup(line);
	char *fields[5] = { 0 };
	char *p = copy;
	for (size_t i = 0; i < 5; i++) {
		fields[i] = p;
		char *tab = p ? strchr(p, '\t') : NULL;
		if (tab) {
			*tab = '\0';
			p = tab + 1;
		} else {
			p = NULL;
		}
	}
	bool ok = false;
	for (size_t k = 0; k < ARRAY_SIZE(kind_names); k++)
		if (fields[0] && !strcmp(fields[0], kind_names[k])) {
			s->kind = (enum journal_step)k;
			ok = true;
		}
	for (size_t i = 0; i < 4; i++)
		s->f[i] = xstrdup(fields[i + 1] ? fields[i + 1] : "");
	free(copy);
	return ok;
}

static void step_release(struct step *s)
{
	for (size_t i = 0; i < 4; i++)
		free(s->f[i]);
}

static bool link_points_to(const char *link, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

static int unlink_missing_ok(const char *path) { return unlink(path) < 0 && errno != ENOENT ? -errno : 0; }

/* rename(), or copy + delete when from and to are on different filesystems (as mv). */
static int move_file(const char *from, const char *to)
{
	if (rename(from, to) == 0)
		return fsync_parent(to);
	if (errno != EXDEV)
		return -errno;
	struct stat st;
	if (lstat(from, &st) < 0)
		return -errno;
	int r = copy_file_atomic(from, to, st.st_mode & 07777);
	if (r == 0 && unlink(from) < 0) {
		r = -errno;
		unlink(to);
	}
	return r;
}

/* The <dkms_tree>/<m> part of an archive path <dkms_tree>/<m>/original_module/..., where
 * emptied directories stop being removed. */
static char *archive_top(const char *archived)
{
	const char *p = strstr(archived, "/" LAYOUT_ORIGINALS "/");
	return p ? xstrndup(archived, (size_t)(p - archived)) : parent_dir(archived);
}

/* Deletes archived.origin (when archived is gone) and the directories it emptied. */
static void archive_cleanup(const char *archived)
{
	if (path_exists(archived))
		return;
	_cleanup_free_ char *origin = xasprintf("%s.origin", archived);
	unlink(origin);
	remove_stale_temps(origin);
	_cleanup_free_ char *dir = parent_dir(archived);
	_cleanup_free_ char *top = archive_top(archived);
	rmdir_empty_upto(dir, top);
}

/* Moves from -> to, writing to.origin (naming from) first. */
static int archive_move(const char *from, const char *to)
{
	_cleanup_free_ char *dir = parent_dir(to);
	_cleanup_free_ char *origin = xasprintf("%s.origin", to);
	_cleanup_free_ char *line = xasprintf("%s\n", from);
	int r = mkdir_p(dir, 0755);
	if (r == 0)
		r = write_file_atomic(origin, line, strlen(line), 0644);
	if (r == 0)
		r = move_file(from, to);
	if (r < 0)
		archive_cleanup(to);
	return r;
}

static int move_back(const char *from, const char *to)
{
	_cleanup_free_ char *dir = parent_dir(to);
	_cleanup_free_ char *origin = xasprintf("%s.origin", from);
	int r = mkdir_p(dir, 0755);
	if (r == 0)
		r = move_file(from, to);
	if (r == 0)
		r = unlink_missing_ok(origin);
	return r;
}

/* Where J_COPY keeps the file it replaces (another version's module) until the whole
 * change is done: beside it, so that one rename puts it back. */
static char *kept_path(const char *b) { return xasprintf("%s.modforge-prev", b); }

/* True if path is (still) the file whose journal_identity was id. */
static bool same_identity(const char *path, const char *id)
{
	_cleanup_free_ char *now = journal_identity(path);
	return now && *id && strcmp(now, id) == 0;
}

static int do_step(const char *dkms_tree, const struct step *s)
{
	const char *a = s->f[0], *b = s->f[1], *c = s->f[2], *d = s->f[3];
	switch (s->kind) {
	case J_ARCHIVE: return path_exists(a) && !path_exists(b) ? archive_move(a, b) : 0;
	case J_COPY: {
		_cleanup_free_ char *dir = parent_dir(b);
		_cleanup_free_ char *kept = kept_path(b);
		int r = mkdir_p(dir, 0755);
		/* The file that was there when the change was planned is kept aside (a copy made
		 * since, before a crash, is another inode and is not). */
		if (r == 0 && same_identity(b, d) && rename(b, kept) < 0)
			r = -errno;
		return r < 0 ? r : copy_file_atomic(a, b, 0644);
	}
	case J_LINK: return link_points_to(b, a) ? 0 : symlink_atomic(a, b);
	case J_DELETE: {
		_cleanup_free_ char *id = journal_identity(a);
		if (!id || (*d && strcmp(id, d) != 0))
			return 0;
		int r = unlink_missing_ok(a);
		if (r == 0) {
			_cleanup_free_ char *dir = parent_dir(a);
			rmdir_empty_upto(dir, c);
		}
		return r;
	}
	case J_RESTORE: {
		if (path_exists(a))
			return move_back(a, b);
		_cleanup_free_ char *origin = xasprintf("%s.origin", a);
		return unlink_missing_ok(origin);
	}
	case J_UNLINK: return link_points_to(b, a) ? unlink_missing_ok(b) : 0;
	case J_RMTREE: return rm_rf(a);
	case J_DEPMOD: {
		_cleanup_free_ char *dir = layout_depmod_pending(dkms_tree, NULL);
		_cleanup_free_ char *mark = layout_depmod_pending(dkms_tree, a);
		int r = mkdir_p(dir, 0755);
		return r < 0 ? r : write_file_atomic(mark, "", 0, 0644);
	}
	}
	return -EINVAL;
}

static void undo_step(const struct step *s)
{
	const char *a = s->f[0], *b = s->f[1], *c = s->f[2], *d = s->f[3];
	switch (s->kind) {
	case J_ARCHIVE:
		if (path_exists(b) && !path_exists(a))
			(void)move_back(b, a);
		archive_cleanup(b);
		break;
	case J_COPY: {
		_cleanup_free_ char *kept = kept_path(b);
		if (path_exists(kept))
			(void)rename(kept, b); /* the file that was there comes back */
		else if (files_equal(a, b) == 1 && !same_identity(b, d))
			unlink(b);
		/* Also when the copy failed: the directories it made, up to c, go. */
		_cleanup_free_ char *dir = parent_dir(b);
		if (*c)
			rmdir_empty_upto(dir, c);
		remove_stale_temps(b);
		break;
	}
	case J_LINK:
		if (!link_points_to(b, a))
			break;
		if (!*c || symlink_atomic(c, b) < 0) /* c: the marker it replaced (another version's) */
			unlink(b);
		break;
	case J_DELETE:
		if (!path_exists(a) && is_regular(b)) {
			_cleanup_free_ char *dir = parent_dir(a);
			if (mkdir_p(dir, 0755) == 0)
				(void)copy_file_atomic(b, a, 0644);
		}
		break;
	case J_RESTORE:
		if (path_exists(b) && !path_exists(a))
			(void)archive_move(b, a);
		break;
	case J_UNLINK: (void)symlink_atomic(a, b); break;
	case J_RMTREE:
	case J_DEPMOD: break;
	}
}

/* The paths whose atomic-write temps a step may leave. */
static void drop_step_temps(const struct step *s)
{
	_cleanup_free_ char *origin_b = xasprintf("%s.origin", s->f[1]);
	_cleanup_free_ char *origin_a = xasprintf("%s.origin", s->f[0]);
	switch (s->kind) {
	case J_ARCHIVE: remove_stale_temps(origin_b); break;
	case J_COPY: remove_stale_temps(s->f[1]); break;
	case J_LINK:
	case J_UNLINK: remove_stale_temps(s->f[1]); break;
	case J_DELETE: remove_stale_temps(s->f[0]); break;
	case J_RESTORE: remove_stale_temps(origin_a); break;
	default: break;
	}
}

static const char *describe(enum journal_step k)
{
	static const char *const d[] = { "archiving", "copying",   "linking",  "deleting",
					 "restoring", "unlinking", "deleting", "recording depmod for" };
	return d[k];
}

/* Runs the steps; on an error undoes those done. Returns 0 or -errno (err told). */
static int run_steps(const char *dkms_tree, char **lines, size_t n, FILE *err)
{
	struct step *steps = xcalloc(n ? n : 1, sizeof(*steps));
	int r = 0;
	size_t done = 0;
	for (size_t i = 0; i < n; i++)
		if (!parse_step(lines[i], &steps[i])) {
			if (err)
				fprintf(err, "Error! Unknown step in the journal of %s: %s\n", dkms_tree, lines[i]);
			r = -EINVAL;
		}
	for (; r == 0 && done < n; done++) {
		r = do_step(dkms_tree, &steps[done]);
		if (r < 0) {
			const struct step *s = &steps[done];
			bool to_b = s->kind == J_COPY || s->kind == J_LINK || s->kind == J_UNLINK;
			if (err)
				fprintf(err, "\nError! %s %s failed: %s\n", describe(s->kind), s->f[to_b ? 1 : 0],
					strerror(-r));
			undo_step(s); /* what the failed step did part of */
			drop_step_temps(s);
			break;
		}
	}
	if (r < 0)
		while (done-- > 0)
			undo_step(&steps[done]);
	/* The change is whole: the files the copies replaced go (before the journal does). */
	for (size_t i = 0; r == 0 && i < n; i++)
		if (steps[i].kind == J_COPY) {
			_cleanup_free_ char *kept = kept_path(steps[i].f[1]);
			(void)unlink_missing_ok(kept);
		}
	for (size_t i = 0; i < n; i++) {
		drop_step_temps(&steps[i]);
		step_release(&steps[i]);
	}
	free(steps);
	return r;
}

static int remove_journal(const char *path)
{
	int r = unlink_missing_ok(path);
	_cleanup_free_ char *dir = parent_dir(path);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		fsync(fd);
	return r;
}

int journal_run(struct journal *j, FILE *err)
{
	_cleanup_free_ char *path = journal_path(j->dkms_tree);
	_cleanup_free_ char *dir = parent_dir(path);
	_cleanup_buf_ struct buf text = BUF_INIT;
	buf_adds(&text, HEADER);
	buf_addf(&text, "what\t%s\n", j->what);
	for (size_t i = 0; i < j->lines.n; i++)
		buf_addf(&text, "%s\n", j->lines.items[i]);
	int r = mkdir_p(dir, 0755);
	if (r == 0)
		r = write_file_atomic(path, text.data, text.len, 0644);
	if (r < 0) {
		if (err)
			fprintf(err, "\nError! Cannot write the journal %s: %s\n", path, strerror(-r));
		remove_stale_temps(path);
		return r;
	}
	r = run_steps(j->dkms_tree, j->lines.items, j->lines.n, err);
	remove_journal(path);
	return r;
}

int journal_recover(const char *dkms_tree, FILE *out, FILE *err)
{
	_cleanup_free_ char *path = journal_path(dkms_tree);
	remove_stale_temps(path);
	_cleanup_buf_ struct buf text = BUF_INIT;
	int r = buf_read_file(&text, path);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (strncmp(text.data, HEADER, strlen(HEADER)) != 0) {
		if (err)
			fprintf(err, "\nError! %s is not a modforge journal; move it away to go on.\n", path);
		return -EINVAL;
	}
	struct strv lines = STRV_INIT;
	const char *what = "a change";
	for (char *l = text.data + strlen(HEADER), *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			break; /* a torn last line cannot happen (atomic write); ignore it */
		*nl = '\0';
		if (!strncmp(l, "what\t", 5))
			what = l + 5;
		else if (*l)
			strv_push(&lines, l);
	}
	if (out) {
		fprintf(out, "Finishing the interrupted %s.\n", what);
		fflush(out);
	}
	r = run_steps(dkms_tree, lines.items, lines.n, err);
	strv_release(&lines);
	if (r < 0)
		return r;
	remove_journal(path);
	return 1;
}

void journal_pending_depmod(const char *dkms_tree, struct strv *kernels)
{
	_cleanup_free_ char *dir = layout_depmod_pending(dkms_tree, NULL);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && !strstr(de->d_name, ".modforge-tmp."))
			strv_push(kernels, de->d_name);
	closedir(d);
}

void journal_depmod_done(const char *dkms_tree, const char *kernel)
{
	_cleanup_free_ char *mark = layout_depmod_pending(dkms_tree, kernel);
	unlink(mark);
	remove_stale_temps(mark);
}

int journal_trash(const char *dkms_tree, const char *path)
{
	if (!path_exists(path))
		return 0;
	_cleanup_free_ char *trash = layout_trash(dkms_tree);
	int r = mkdir_p(trash, 0755);
	if (r < 0)
		return r;
	_cleanup_free_ char *slot = xasprintf("%s/XXXXXX", trash);
	if (!mkdtemp(slot))
		return -errno;
	_cleanup_free_ char *to = path_join(slot, "x");
	if (rename(path, to) < 0) {
		r = -errno;
		rmdir(slot);
		return r;
	}
	return rm_rf(slot);
}

bool journal_empty_trash(const char *dkms_tree)
{
	_cleanup_free_ char *trash = layout_trash(dkms_tree);
	DIR *d = opendir(trash);
	if (!d)
		return false;
	bool any = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *p = path_join(trash, de->d_name);
		rm_rf(p);
		any = true;
	}
	closedir(d);
	return any;
}

/* modalias.c - see modalias.h. */
#include "executor/modalias.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "executor/proc.h"

/* nftw has no user pointer: the walk's one collector. */
static struct strv *aliases;

static int one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	if (type != FTW_F || strcmp(path + f->base, "modalias") != 0)
		return 0;
	char line[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (*line)
		strv_push(aliases, line);
	return 0;
}

static int by_name(const char *a, const char *b) { return strcmp(a, b); }

static void run(char *const *argv, FILE *err)
{
	struct proc_spec spec = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	int code = 0;
	int r = proc_run(&spec, &code);
	if (r < 0)
		fprintf(err, "Warning: cannot run %s: %s\n", argv[0], strerror(-r));
	else if (code != 0)
		fprintf(err, "Warning: %s %s exited with status %d\n", argv[0], argv[1], code);
	fflush(err);
}

int modalias_load(const char *devices_dir, const char *modules_load_unit, FILE *err)
{
	struct strv found = STRV_INIT;
	aliases = &found;
	int r = nftw(devices_dir, one, 32, FTW_PHYS);
	aliases = NULL;
	if (r != 0) {
		int e = errno ? -errno : -EIO;
		strv_release(&found);
		return e;
	}
	strv_sort(&found, by_name);
	if (found.n) {
		struct strv argv = STRV_INIT;
		strv_push(&argv, "modprobe");
		strv_push(&argv, "-a");
		strv_push(&argv, "-b");
		strv_push(&argv, "-q");
		for (size_t i = 0; i < found.n; i++)
			if (i == 0 || strcmp(found.items[i], found.items[i - 1]) != 0)
				strv_push(&argv, found.items[i]);
		run(strv_array(&argv), err);
		strv_release(&argv);
	}
	if (is_regular(modules_load_unit)) {
		char *argv[] = { "systemctl", "restart", "systemd-modules-load.service", NULL };
		run(argv, err);
	}
	strv_release(&found);
	return 0;
}

#include "orchestrator/plan/targets.h"

#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "orchestrator/context.h"

char *host_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return xstrdup("");
	return xstrdup(u.machine);
}

char *host_release(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return xstrdup("");
	return xstrdup(u.release);
}

void targets_add(const struct ctx *c, struct target_list *l, const char *k, const char *a)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	struct target *t = &l->items[l->n++];
	memset(t, 0, sizeof(*t));
	t->kernel = xstrdup(k);
	t->arch = xstrdup(a);
	if (c->req->kernel_source_dir)
		t->kernel_source_dir = xstrdup(c->req->kernel_source_dir);
	else
		t->kernel_source_dir = xasprintf("%s/%s/build", c->paths.install_tree, k);
	if (c->req->kernel_config) {
		t->kernel_config = xstrdup(c->req->kernel_config);
	} else {
		char *auto_conf = xasprintf("%s/include/config/auto.conf", t->kernel_source_dir);
		if (path_exists(auto_conf)) {
			t->kernel_config = auto_conf;
		} else {
			free(auto_conf);
			t->kernel_config = xasprintf("%s/.config", t->kernel_source_dir);
		}
	}
	struct buf text = BUF_INIT;
	t->config_text = buf_read_file(&text, t->kernel_config) == 0 ? buf_detach(&text) : NULL;
	buf_release(&text);
}

char *target_config_value(const struct target *t, const char *name)
{
	size_t len = strlen(name);
	for (const char *l = t->config_text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, len) != 0 || l[len] != '=')
			continue;
		const char *v = l + len + 1;
		size_t n = strcspn(v, "\n");
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v++;
			n -= 2;
		}
		return n ? xstrndup(v, n) : NULL;
	}
	return NULL;
}

/* A --config file that cannot be read is an error (dkms goes on, unsigned). */
static int check_config_option(const struct ctx *c)
{
	const char *f = c->req->kernel_config;
	if (!f)
		return 0;
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int e = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EISDIR;
	if (fd >= 0)
		close(fd);
	if (e == 0)
		return 0;
	ctx_error(c, "Cannot read the kernel configuration %s (--config): %s", f,
		  e == EISDIR ? "not a regular file" : strerror(e));
	return 1;
}

int targets_from_request(const struct ctx *c, struct target_list *l)
{
	const struct request *r = c->req;
	int e = check_config_option(c);
	if (e)
		return e;
	_cleanup_free_ char *default_arch = host_arch();
	if (r->kernels.n == 0) {
		_cleanup_free_ char *k = host_release();
		targets_add(c, l, k, r->arches.n ? r->arches.items[0] : default_arch);
		return 0;
	}
	for (size_t i = 0; i < r->kernels.n; i++) {
		const char *a = r->arches.n == 0 ? default_arch
			: r->arches.n == 1       ? r->arches.items[0]
						 : r->arches.items[i];
		if (!*r->kernels.items[i]) {
			ctx_error(c, "Empty kernelver[%zu]", i);
			return 16;
		}
		if (!*a) {
			ctx_error(c, "Empty arch[%zu]", i);
			return 16;
		}
		targets_add(c, l, r->kernels.items[i], a);
	}
	return 0;
}

static int kernel_order(const void *a, const void *b) { return strverscmp(*(char *const *)a, *(char *const *)b); }

int targets_with_headers(const struct ctx *c, struct target_list *l)
{
	int e = check_config_option(c);
	if (e)
		return e;
	DIR *d = opendir(c->paths.install_tree);
	_cleanup_free_ char *arch = c->req->arches.n ? xstrdup(c->req->arches.items[0]) : host_arch();
	size_t n = 0;
	char **names = NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		_cleanup_free_ char *inc = xasprintf("%s/%s/build/include", c->paths.install_tree, de->d_name);
		if (!is_dir(inc))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), kernel_order);
	for (size_t i = 0; i < n; i++) {
		targets_add(c, l, names[i], arch);
		free(names[i]);
	}
	free(names);
	if (n == 0) {
		ctx_error(c, "No kernel with headers found under %s (looked for <kernel>/build/include).",
			  c->paths.install_tree);
		return 21;
	}
	return 0;
}

bool target_has_headers(const struct target *t)
{
	_cleanup_free_ char *inc = path_join(t->kernel_source_dir, "include");
	return path_exists(inc);
}

void targets_release(struct target_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].kernel);
		free(l->items[i].arch);
		free(l->items[i].kernel_source_dir);
		free(l->items[i].kernel_config);
		free(l->items[i].config_text);
		free(l->items[i].cc);
		free(l->items[i].ld);
		signing_release(&l->items[i].sign);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* conf.c - the evaluator's dump of one target -> a validated struct module_conf, with
 * dkms 3.4.3's read_conf semantics and messages (see conf.h, reference §2.2). */
#include "orchestrator/conf/conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/layout.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "orchestrator/conf/confdump.h"

/* modforge's bound on the number of module records (dkms has none; real files use few). */
#define MAX_RECORDS 1024

/* Error lines collected in dkms's order, joined as dkms prints them. */
struct errs {
	struct buf b;
	int n;
};

static void _printf_(2, 3) err_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (e->n++)
		buf_adds(&e->b, "\ndkms.conf: Error! ");
	buf_adds(&e->b, s);
	free(s);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Returns true if the path has a ".." component. */
static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2) {
		bool left = s == p || s[-1] == '/';
		bool right = s[2] == '\0' || s[2] == '/';
		if (left && right)
			return true;
	}
	return false;
}

/* A module file name: non-empty, no '/', not "." or "..". */
static bool plain_name(const char *s) { return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0; }

/* The location the distro forces for every record, or NULL (dkms override_dest_module_location). */
static const char *distro_dest(enum conf_distro d)
{
	switch (d) {
	case DISTRO_DEBIAN: return "/updates/dkms";
	case DISTRO_FEDORA: return "/extra";
	case DISTRO_SUSE: return "/updates";
	default: return NULL;
	}
}

/* Reports files that could not be read as a whole, and a dead evaluator. */
static void check_files(const struct conf_dump *d, struct errs *e)
{
	for (size_t i = 0; i < d->n_files; i++) {
		const struct conf_file *f = &d->files[i];
		if (strcmp(f->kind, "syntax") == 0)
			err_add(e, "Syntax error in '%s'; the file was not read.", f->path);
		else if (strcmp(f->kind, "exit") == 0)
			err_add(e, "'%s' exited with status %s while being read; none of its values were used.",
				f->path, f->status);
	}
	if (d->aborted)
		err_add(e, "The dkms.conf evaluator died with status %s while reading kernel %s.", d->aborted,
			d->kernelver);
}

static void add_warning(struct module_conf *c, char *w)
{
	c->warnings = xrealloc(c->warnings, (c->n_warnings + 1) * sizeof(char *));
	c->warnings[c->n_warnings++] = w;
}

/* dkms's per-file deprecation warnings (printed by read_conf_strict). */
static void collect_warnings(const struct conf_dump *d, struct module_conf *c)
{
	for (size_t i = 0; i < d->n_files; i++) {
		const struct conf_file *f = &d->files[i];
		for (size_t k = f->first_dep; k < f->first_dep + f->n_deps; k++) {
			const struct conf_var *v = &d->deps[k];
			if (strcmp(v->name, "CLEAN") == 0 &&
			    (strcmp(v->value, "true") == 0 || strcmp(v->value, "/bin/true") == 0 ||
			     strcmp(v->value, "/usr/bin/true") == 0))
				continue;
			if (strcmp(v->name, "OBSOLETE_BY") == 0)
				add_warning(c,
					    xasprintf("Deprecated feature: OBSOLETE_BY (%s): use "
						      "BUILD_EXCLUSIVE_KERNEL_MAX instead",
						      f->path));
			else
				add_warning(c, xasprintf("Deprecated feature: %s (%s)", v->name, f->path));
		}
	}
}

/* PACKAGE_NAME / PACKAGE_VERSION: required; modforge also needs them usable as path parts. */
static char *package_field(const struct conf_dump *d, const char *name, struct errs *e)
{
	const char *v = conf_dump_nonempty(d, name, 0);
	if (!v) {
		err_add(e, "No '%s' directive specified.", name);
		return NULL;
	}
	if (strpbrk(v, "/ \t\n\r\v\f") || v[0] == '.')
		err_add(e,
			"'%s' directive '%s' is not usable as a directory name (no '/', no "
			"whitespace, not starting with '.').",
			name, v);
	/* a version named as what the tree keeps beside the versions of a module */
	else if (!strcmp(name, "PACKAGE_VERSION") && (!strcmp(v, LAYOUT_ORIGINALS) || !strncmp(v, "kernel-", 7)))
		err_add(e, "'PACKAGE_VERSION' directive '%s' is a name the DKMS tree keeps for itself.", v);
	return xstrdup(v);
}

/* STRIP[i] as dkms folds it into its lowercase strip[i] ("no" disables stripping). */
static const char *strip_word(const struct conf_dump *d, size_t i, const char *strip0)
{
	const char *s = conf_dump_get(d, "STRIP", i);
	if (s && (*s == 'n' || *s == 'N'))
		return "no";
	if (s && (*s == 'y' || *s == 'Y'))
		return "yes";
	if (!s || !*s) {
		const char *base = i == 0 ? conf_dump_get(d, "strip", 0) : strip0;
		return base && *base ? base : "yes";
	}
	return conf_dump_get(d, "strip", i);
}

/* dkms's per-record errors, in its order, then modforge's stricter ones. */
static void check_record(const struct conf_record *r, const char *dest_as_written, size_t i, struct errs *e)
{
	if (!*r->built_name)
		err_add(e, "No 'BUILT_MODULE_NAME' directive specified for record #%zu.", i);
	if (ends_with(r->built_name, ".o") || ends_with(r->built_name, ".ko"))
		err_add(e, "'BUILT_MODULE_NAME' directive ends in '.o' or '.ko' in record #%zu.", i);
	if (ends_with(r->dest_name, ".o") || ends_with(r->dest_name, ".ko"))
		err_add(e, "'DEST_MODULE_NAME' directive ends in '.o' or '.ko' in record #%zu.", i);
	if (!*dest_as_written)
		err_add(e, "No 'DEST_MODULE_LOCATION' directive specified for record #%zu.", i);
	else if (!starts_with(dest_as_written, "/kernel") && !starts_with(dest_as_written, "/updates") &&
		 !starts_with(dest_as_written, "/extra"))
		err_add(e,
			"Directive 'DEST_MODULE_LOCATION' does not begin with\n"
			"'/kernel', '/updates', or '/extra' in record #%zu.",
			i);
	if (*r->built_name && !plain_name(r->built_name))
		err_add(e, "'BUILT_MODULE_NAME' directive '%s' is not a plain file name in record #%zu.", r->built_name,
			i);
	if (*r->dest_name && strcmp(r->dest_name, r->built_name) != 0 && !plain_name(r->dest_name))
		err_add(e, "'DEST_MODULE_NAME' directive '%s' is not a plain file name in record #%zu.", r->dest_name,
			i);
	if (r->built_location[0] == '/')
		err_add(e,
			"'BUILT_MODULE_LOCATION' directive '%s' is not relative to the build "
			"directory in record #%zu.",
			r->built_location, i);
	else if (has_dotdot(r->built_location))
		err_add(e,
			"'BUILT_MODULE_LOCATION' directive '%s' contains a '..' component in "
			"record #%zu.",
			r->built_location, i);
	if (has_dotdot(dest_as_written))
		err_add(e,
			"'DEST_MODULE_LOCATION' directive '%s' contains a '..' component in "
			"record #%zu.",
			dest_as_written, i);
}

static void fill_record(const struct conf_dump *d, size_t i, size_t num, enum conf_distro distro, struct conf_record *r)
{
	const char *bn = conf_dump_get(d, "BUILT_MODULE_NAME", i);
	const char *bl = conf_dump_get(d, "BUILT_MODULE_LOCATION", i);
	const char *dn = conf_dump_get(d, "DEST_MODULE_NAME", i);
	const char *dl = conf_dump_get(d, "DEST_MODULE_LOCATION", i);
	const char *pkg = conf_dump_get(d, "PACKAGE_NAME", 0);
	if ((!bn || !*bn) && num == 1)
		bn = pkg;
	r->built_name = xstrdup(bn ? bn : "");
	r->dest_name = xstrdup(dn && *dn ? dn : r->built_name);
	if (bl && *bl && !ends_with(bl, "/"))
		r->built_location = xasprintf("%s/", bl);
	else
		r->built_location = xstrdup(bl ? bl : "");
	r->conf_dest_location = xstrdup(dl ? dl : "");
	const char *forced = distro_dest(distro);
	r->dest_location = xstrdup(forced ? forced : r->conf_dest_location);
	r->excl_kernel = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_KERNEL", i));
	r->excl_arch = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_ARCH", i));
	r->excl_config = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_CONFIG", i));
	r->excl_kernel_min = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_KERNEL_MIN", i));
	r->excl_kernel_max = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_KERNEL_MAX", i));
}

/* num_modules = max index + 1 over the four record arrays (dkms 3.1.x+, sparse-aware). */
static long record_count(const struct conf_dump *d)
{
	static const char *const arrays[] = { "BUILT_MODULE_NAME", "BUILT_MODULE_LOCATION", "DEST_MODULE_NAME",
					      "DEST_MODULE_LOCATION" };
	long max = -1;
	for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
		long m = conf_dump_max_index(d, arrays[i]);
		if (m > max)
			max = m;
	}
	return max + 1;
}

static void records(const struct conf_dump *d, enum conf_distro distro, struct module_conf *c, struct errs *e)
{
	static const char *const lower[] = { "built_module_name", "built_module_location", "dest_module_name",
					     "dest_module_location" };
	long num = record_count(d);
	if (num > MAX_RECORDS) {
		err_add(e, "%ld module records are more than modforge supports (%d).", num, MAX_RECORDS);
		return;
	}
	c->n_records = (size_t)num;
	c->records = xcalloc(c->n_records, sizeof(*c->records));
	const char *strip0 = NULL;
	for (size_t i = 0; i < c->n_records; i++) {
		struct conf_record *r = &c->records[i];
		const char *s = strip_word(d, i, strip0);
		if (i == 0)
			strip0 = s;
		r->strip = !s || strcmp(s, "no") != 0;
		fill_record(d, i, c->n_records, distro, r);
		check_record(r, r->conf_dest_location, i, e);
	}
	/* A file may set dkms's own lowercase arrays; extra entries break its length check. */
	for (size_t i = 0; i < ARRAY_SIZE(lower); i++)
		if (conf_dump_max_index(d, lower[i]) >= num)
			err_add(e, "Module name/location array length mismatch.");
}

/* yes/no directives (dkms 3.2.0+): empty or no = false, yes = true, else an error. */
static bool yes_no(const struct conf_dump *d, const char *name, struct errs *e)
{
	const char *v = conf_dump_get(d, name, 0);
	if (!v || !*v || strcasecmp(v, "no") == 0)
		return false;
	if (strcasecmp(v, "yes") == 0)
		return true;
	err_add(e, "Unsupported %s value '%s'", name, v);
	return false;
}

/* Matches a *_MATCH regex; an invalid one is an error naming it (dkms: never matches). */
static bool match_or_err(const struct conf_dump *d, const char *name, size_t i, const char *s, struct errs *e)
{
	const char *re = conf_dump_get(d, name, i);
	int r = conf_regex_match(re, s);
	if (r < 0)
		err_add(e, "Invalid regular expression '%s' in '%s[%zu]'.", re, name, i);
	return r == 1;
}

/* MAKE[0] unless MAKE_MATCH[0] is set; then the last MAKE[i] whose MAKE_MATCH[i]
 * matches (i below ${#MAKE[@]}, as dkms loops). */
static void choose_make(const struct conf_dump *d, const char *kernelver, struct module_conf *c, struct errs *e)
{
	const char *mk = NULL;
	if (!conf_dump_nonempty(d, "MAKE_MATCH", 0))
		mk = conf_dump_get(d, "MAKE", 0);
	size_t n = conf_dump_count(d, "MAKE");
	for (size_t i = 0; i < n; i++)
		if (conf_dump_nonempty(d, "MAKE", i) && conf_dump_nonempty(d, "MAKE_MATCH", i) &&
		    match_or_err(d, "MAKE_MATCH", i, kernelver, e))
			mk = conf_dump_get(d, "MAKE", i);
	c->make_is_default = !mk || !*mk;
	c->make = c->make_is_default ? NULL : xstrdup(mk);
}

static void push_str(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

/* PATCH[i] (i below ${#PATCH[@]}) whose PATCH_MATCH[i] is empty or matches, then any
 * entries of dkms's own patch_array a file set beyond those (dkms applies them too). */
static void choose_patches(const struct conf_dump *d, const char *kernelver, struct module_conf *c, struct errs *e)
{
	size_t n = conf_dump_count(d, "PATCH");
	for (size_t i = 0; i < n; i++) {
		const char *p = conf_dump_nonempty(d, "PATCH", i);
		if (p && (!conf_dump_nonempty(d, "PATCH_MATCH", i) || match_or_err(d, "PATCH_MATCH", i, kernelver, e)))
			push_str(&c->patches, &c->n_patches, p);
	}
	size_t matched = c->n_patches;
	for (size_t i = 0; i < d->n_vars; i++) {
		const struct conf_var *v = &d->vars[i];
		if (strcmp(v->name, "patch_array") == 0 && v->index >= matched && *v->value)
			push_str(&c->patches, &c->n_patches, v->value);
	}
}

/* BUILD_EXCLUSIVE_KERNEL/ARCH regexes that dkms would evaluate must compile. */
static void check_exclusive_regexes(const struct conf_dump *d, size_t n_records, struct errs *e)
{
	static const char *const names[] = { "BUILD_EXCLUSIVE_KERNEL", "BUILD_EXCLUSIVE_ARCH" };
	for (size_t k = 0; k < ARRAY_SIZE(names); k++)
		for (size_t i = 0; i == 0 || i < n_records; i++) {
			const char *re = conf_dump_nonempty(d, names[k], i);
			if (re && conf_regex_match(re, "") < 0)
				err_add(e, "Invalid regular expression '%s' in '%s[%zu]'.", re, names[k], i);
		}
}

static void scalars(const struct conf_dump *d, struct module_conf *c)
{
	c->clean = dup_or_null(conf_dump_get(d, "CLEAN", 0));
	c->pre_build = dup_or_null(conf_dump_nonempty(d, "PRE_BUILD", 0));
	c->post_build = dup_or_null(conf_dump_nonempty(d, "POST_BUILD", 0));
	c->post_add = dup_or_null(conf_dump_nonempty(d, "POST_ADD", 0));
	c->pre_install = dup_or_null(conf_dump_nonempty(d, "PRE_INSTALL", 0));
	c->post_install = dup_or_null(conf_dump_nonempty(d, "POST_INSTALL", 0));
	c->post_remove = dup_or_null(conf_dump_nonempty(d, "POST_REMOVE", 0));
	c->excl_kernel = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_KERNEL", 0));
	c->excl_arch = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_ARCH", 0));
	c->excl_config = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_CONFIG", 0));
	c->excl_kernel_min = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_KERNEL_MIN", 0));
	c->excl_kernel_max = dup_or_null(conf_dump_nonempty(d, "BUILD_EXCLUSIVE_KERNEL_MAX", 0));
	c->obsolete_by = dup_or_null(conf_dump_nonempty(d, "OBSOLETE_BY", 0));
	for (size_t i = 0; i < d->n_vars; i++)
		if (strcmp(d->vars[i].name, "BUILD_DEPENDS") == 0 && *d->vars[i].value)
			push_str(&c->build_depends, &c->n_build_depends, d->vars[i].value);
}

/* Fills c from d in dkms's order of checks; errors go to e. */
static void interpret(const struct conf_dump *d, const struct conf_target *t, enum conf_distro distro,
		      struct module_conf *c, struct errs *e)
{
	check_files(d, e);
	collect_warnings(d, c);
	c->package_name = package_field(d, "PACKAGE_NAME", e);
	c->package_version = package_field(d, "PACKAGE_VERSION", e);
	records(d, distro, c, e);
	c->autoinstall = yes_no(d, "AUTOINSTALL", e);
	c->build_depends_rebuild = yes_no(d, "BUILD_DEPENDS_REBUILD", e);
	c->no_weak_modules = yes_no(d, "NO_WEAK_MODULES", e);
	choose_make(d, t->kernelver, c, e);
	choose_patches(d, t->kernelver, c, e);
	check_exclusive_regexes(d, c->n_records, e);
	scalars(d, c);
}

int conf_from_dump(const char *dump, size_t len, const struct conf_target *target, enum conf_distro distro,
		   struct module_conf **out, char **err)
{
	struct conf_dump d;
	struct errs e = { BUF_INIT, 0 };
	*out = NULL;
	*err = NULL;
	if (conf_dump_parse(dump, len, &d) < 0) {
		*err = xstrdup("The dkms.conf evaluator's output is malformed.");
		return -EINVAL;
	}
	if (strcmp(d.kernelver, target->kernelver) != 0 || strcmp(d.arch, target->arch) != 0) {
		*err = xasprintf("The dkms.conf evaluator's record is for %s (%s), not %s (%s).", d.kernelver, d.arch,
				 target->kernelver, target->arch);
		conf_dump_release(&d);
		return -EINVAL;
	}
	struct module_conf *c = xcalloc(1, sizeof(*c));
	interpret(&d, target, distro, c, &e);
	conf_dump_release(&d);
	if (e.n) {
		conf_free(c);
		*err = buf_detach(&e.b);
		return -EINVAL;
	}
	buf_release(&e.b);
	*out = c;
	return 0;
}

/* Reports the first repeat of each name in names[0..n) as dkms's strict read does. */
static void duplicates(char **names, size_t n, const char *directive, struct errs *e)
{
	for (size_t i = 1; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(names[i], names[k]) == 0) {
				err_add(e, "Duplicate module '%s' in '%s[%zu]'.", names[i], directive, i);
				break;
			}
}

int conf_check_strict(const struct module_conf *c, char **err)
{
	struct errs e = { BUF_INIT, 0 };
	char **built = xcalloc(c->n_records, sizeof(char *));
	char **dest = xcalloc(c->n_records, sizeof(char *));
	for (size_t i = 0; i < c->n_records; i++) {
		built[i] = xasprintf("%s%s", c->records[i].built_location, c->records[i].built_name);
		dest[i] = c->records[i].dest_name;
	}
	duplicates(built, c->n_records, "BUILT_MODULE_NAME", &e);
	duplicates(dest, c->n_records, "DEST_MODULE_NAME", &e);
	for (size_t i = 0; i < c->n_records; i++)
		free(built[i]);
	free(built);
	free(dest);
	*err = NULL;
	if (e.n) {
		*err = buf_detach(&e.b);
		return -EINVAL;
	}
	buf_release(&e.b);
	return 0;
}

/* Reads one shell-quoted os-release value ('...', "..." with \-escapes, or bare). */
static char *os_release_value(const char *p)
{
	struct buf b = BUF_INIT;
	while (*p && *p != '\n' && *p != ' ' && *p != '\t') {
		char q = *p;
		if (q == '\'' || q == '"') {
			for (p++; *p && *p != q; p++) {
				if (q == '"' && *p == '\\' && p[1] && strchr("\\\"$`", p[1]))
					p++;
				buf_addc(&b, *p);
			}
			if (*p)
				p++;
		} else {
			buf_addc(&b, *p++);
		}
	}
	return buf_detach(&b);
}

/* Sets *val to KEY's last value in the text (os-release is sourced: last one wins). */
static bool os_release_get(const char *text, const char *key, char **val)
{
	size_t kl = strlen(key);
	bool found = false;
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
			free(*val);
			*val = os_release_value(line + kl + 1);
			found = true;
		}
	}
	return found;
}

enum conf_distro conf_distro_from_os_release(const char *os_release)
{
	static const struct {
		const char *prefix;
		enum conf_distro d;
	} map[] = {
		{ "fedora", DISTRO_FEDORA }, { "rhel", DISTRO_FEDORA },   { "ovm", DISTRO_FEDORA },
		{ "sles", DISTRO_SUSE },     { "suse", DISTRO_SUSE },     { "opensuse", DISTRO_SUSE },
		{ "debian", DISTRO_DEBIAN }, { "ubuntu", DISTRO_DEBIAN }, { "arch", DISTRO_DEBIAN },
	};
	if (!os_release)
		return DISTRO_OTHER;
	char *id = NULL, *like = NULL;
	os_release_get(os_release, "ID", &id);
	bool has_like = os_release_get(os_release, "ID_LIKE", &like);
	const char *name = id && strcmp(id, "ubuntu") == 0 ? id : has_like ? like : id;
	enum conf_distro d = DISTRO_OTHER;
	for (size_t i = 0; name && i < ARRAY_SIZE(map); i++)
		if (starts_with(name, map[i].prefix)) {
			d = map[i].d;
			break;
		}
	free(id);
	free(like);
	return d;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void conf_free(struct module_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_records; i++) {
		struct conf_record *r = &c->records[i];
		free(r->built_name);
		free(r->built_location);
		free(r->dest_name);
		free(r->dest_location);
		free(r->conf_dest_location);
		free(r->excl_kernel);
		free(r->excl_arch);
		free(r->excl_config);
		free(r->excl_kernel_min);
		free(r->excl_kernel_max);
	}
	free(c->records);
	free(c->package_name);
	free(c->package_version);
	free(c->make);
	free(c->clean);
	free_strs(c->build_depends, c->n_build_depends);
	free_strs(c->patches, c->n_patches);
	free(c->pre_build);
	free(c->post_build);
	free(c->post_add);
	free(c->pre_install);
	free(c->post_install);
	free(c->post_remove);
	free(c->excl_kernel);
	free(c->excl_arch);
	free(c->excl_config);
	free(c->excl_kernel_min);
	free(c->excl_kernel_max);
	free(c->obsolete_by);
	free_strs(c->warnings, c->n_warnings);
	free(c);
}

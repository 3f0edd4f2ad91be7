#include "orchestrator/conf/confdump.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/xalloc.h"

#define DUMP_MAGIC "MFCONF1"
/* Sanity bound on one array index; real dkms.conf files use a handful. */
#define MAX_INDEX 100000UL

struct cursor {
	const char *p, *end;
};

/* Returns the next NUL-terminated field and advances, or NULL at a truncated field. */
static const char *next_field(struct cursor *c)
{
	if (c->p >= c->end)
		return NULL;
	const char *nul = memchr(c->p, '\0', (size_t)(c->end - c->p));
	if (!nul)
		return NULL;
	const char *f = c->p;
	c->p = nul + 1;
	return f;
}

/* Parses a decimal index without sign or overflow. Returns 0 or -EINVAL. */
static int parse_index(const char *s, unsigned long *out)
{
	unsigned long v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > MAX_INDEX)
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

static void push_var(struct conf_var **v, size_t *n, const char *name, unsigned long idx, const char *value)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct conf_var){ name, idx, value };
}

static int parse_file(struct cursor *c, struct conf_dump *d)
{
	const char *path = next_field(c), *kind = next_field(c), *st = next_field(c);
	if (!path || !kind || !st)
		return -EINVAL;
	d->files = xrealloc(d->files, (d->n_files + 1) * sizeof(*d->files));
	d->files[d->n_files++] = (struct conf_file){ path, kind, st, d->n_deps, 0 };
	return 0;
}

static int parse_dep(struct cursor *c, struct conf_dump *d)
{
	const char *name = next_field(c), *value = next_field(c);
	if (!name || !value || d->n_files == 0)
		return -EINVAL;
	push_var(&d->deps, &d->n_deps, name, 0, value);
	d->files[d->n_files - 1].n_deps++;
	return 0;
}

static int parse_value(struct cursor *c, struct conf_dump *d)
{
	const char *name = next_field(c), *idx = next_field(c), *value = next_field(c);
	unsigned long i;
	if (!name || !idx || !value || parse_index(idx, &i) < 0)
		return -EINVAL;
	push_var(&d->vars, &d->n_vars, name, i, value);
	return 0;
}

/* Parses the items after the "T" header up to "E". Returns 0 or -EINVAL. */
static int parse_items(struct cursor *c, struct conf_dump *d)
{
	for (;;) {
		const char *tag = next_field(c);
		int r = 0;
		if (!tag)
			return -EINVAL;
		if (strcmp(tag, "E") == 0)
			return c->p == c->end ? 0 : -EINVAL;
		if (strcmp(tag, "F") == 0)
			r = parse_file(c, d);
		else if (strcmp(tag, "D") == 0)
			r = parse_dep(c, d);
		else if (strcmp(tag, "V") == 0)
			r = parse_value(c, d);
		else if (strcmp(tag, "A") == 0)
			r = (d->aborted = next_field(c)) ? 0 : -EINVAL;
		else
			r = -EINVAL;
		if (r < 0)
			return r;
	}
}

int conf_dump_parse(const char *rec, size_t len, struct conf_dump *d)
{
	struct cursor c = { rec, rec + len };
	const char *tag = next_field(&c);
	memset(d, 0, sizeof(*d));
	if (!tag || strcmp(tag, "T") != 0)
		return -EINVAL;
	d->kernelver = next_field(&c);
	d->arch = next_field(&c);
	int r = d->kernelver && d->arch ? parse_items(&c, d) : -EINVAL;
	if (r < 0)
		conf_dump_release(d);
	return r;
}

void conf_dump_release(struct conf_dump *d)
{
	free(d->files);
	free(d->deps);
	free(d->vars);
	memset(d, 0, sizeof(*d));
}

const char *conf_dump_get(const struct conf_dump *d, const char *name, unsigned long index)
{
	for (size_t i = d->n_vars; i-- > 0;)
		if (d->vars[i].index == index && strcmp(d->vars[i].name, name) == 0)
			return d->vars[i].value;
	return NULL;
}

const char *conf_dump_nonempty(const struct conf_dump *d, const char *name, unsigned long index)
{
	const char *v = conf_dump_get(d, name, index);
	return v && *v ? v : NULL;
}

size_t conf_dump_count(const struct conf_dump *d, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_vars; i++)
		n += strcmp(d->vars[i].name, name) == 0;
	return n;
}

long conf_dump_max_index(const struct conf_dump *d, const char *name)
{
	long m = -1;
	for (size_t i = 0; i < d->n_vars; i++)
		if (strcmp(d->vars[i].name, name) == 0 && (long)d->vars[i].index > m)
			m = (long)d->vars[i].index;
	return m;
}

int conf_regex_match(const char *re, const char *s)
{
	regex_t rx;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return -EINVAL;
	int r = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return r;
}

/* How many fields follow an item tag inside a target record, or -1 for an unknown tag. */
static int item_arity(const char *tag)
{
	static const struct {
		const char *tag;
		int n;
	} arity[] = {
		{ "F", 3 }, { "D", 2 }, { "V", 3 }, { "A", 1 }, { "E", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(arity); i++)
		if (strcmp(tag, arity[i].tag) == 0)
			return arity[i].n;
	return -1;
}

/* Finds the end (one past "E\0") of the record whose header fields start at p, or NULL. */
static const char *record_end(const char *p, const char *end)
{
	struct cursor c = { p, end };
	const char *tag;
	if (!next_field(&c) || !next_field(&c))
		return NULL;
	while ((tag = next_field(&c))) {
		int n = item_arity(tag);
		if (n < 0)
			return NULL;
		if (n == 0)
			return c.p;
		while (n-- > 0)
			if (!next_field(&c))
				return NULL;
	}
	return NULL;
}

int conf_split_dump(const char *out, size_t len, const char ***recs, size_t **lens, size_t *n)
{
	struct cursor c = { out, out + len };
	const char *magic = next_field(&c);
	*recs = NULL;
	*lens = NULL;
	*n = 0;
	if (!magic || strcmp(magic, DUMP_MAGIC) != 0)
		return -EINVAL;
	for (;;) {
		const char *start = c.p, *tag = next_field(&c);
		if (tag && strcmp(tag, "Z") == 0 && c.p == c.end)
			return 0;
		const char *stop = tag && strcmp(tag, "T") == 0 ? record_end(c.p, c.end) : NULL;
		if (!stop) {
			free(*recs);
			free(*lens);
			*recs = NULL;
			*lens = NULL;
			*n = 0;
			return -EINVAL;
		}
		*recs = xrealloc(*recs, (*n + 1) * sizeof(**recs));
		*lens = xrealloc(*lens, (*n + 1) * sizeof(**lens));
		(*recs)[*n] = start;
		(*lens)[(*n)++] = (size_t)(stop - start);
		c.p = stop;
	}
}

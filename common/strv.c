#include "strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xalloc.h"

void strv_push_owned(struct strv *v, char *s)
{
	if (v->n + 2 > v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->items = xrealloc(v->items, v->cap * sizeof(char *));
	}
	v->items[v->n++] = s;
	v->items[v->n] = NULL;
}

void strv_push(struct strv *v, const char *s) { strv_push_owned(v, xstrdup(s)); }

void strv_pushf(struct strv *v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	strv_push_owned(v, s);
}

void strv_release(struct strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->n = v->cap = 0;
}

int strv_contains(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->items[i], s) == 0)
			return 1;
	return 0;
}

typedef int (*str_cmp_fn)(const char *, const char *);

static int sort_tramp(const void *a, const void *b, void *cmp)
{
	return (*(str_cmp_fn *)cmp)(*(char *const *)a, *(char *const *)b);
}

void strv_sort(struct strv *v, int (*cmp)(const char *, const char *))
{
	if (v->n < 2)
		return;
	qsort_r(v->items, v->n, sizeof(char *), sort_tramp, &cmp);
}

char **strv_array(struct strv *v)
{
	if (!v->items)
		strv_push_owned(v, NULL), v->n = 0;
	return v->items;
}

/* status.c - `status` text (dkms 3.4.3's do_status) and JSON over a tree snapshot.
 *
 * One walk decides which entries exist, in tree order (which is bash's glob order); the
 * text and the JSON are two sinks of that walk, so they never disagree. As module_status
 * does: a broken version prints "broken" whatever -k/-a say; an added version prints one
 * line per built <k>/<a> that passes -k/-a, or "added" when none does; a version that is
 * neither (no source link, binaries-only) prints nothing. What is built or installed of a
 * broken version follows its "broken" line, in JSON always, in text unless dkms's own
 * text is asked for (status_filter.dkms_text).
 */
#include "orchestrator/tree/status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "common/xalloc.h"
#include "orchestrator/tree/tree.h"

struct status_sink {
	/* An entry without a kernel: state is "added" or "broken". */
	void (*version)(void *ctx, const char *m, const struct tree_version *tv, const char *state);
	/* A built or installed <k>/<a>. */
	void (*build)(void *ctx, const char *m, const struct tree_version *tv, const struct tree_build *b);
	void *ctx;
	bool broken_builds; /* a broken version's builds are entries too */
};

/* -m, -v, -k and -a are bash glob patterns in dkms status (extglob on). */
static bool filter_ok(const char *want, const char *have) { return !want || fnmatch(want, have, FNM_EXTMATCH) == 0; }

static const char *build_state(const struct tree_build *b) { return b->installed ? "installed" : "built"; }

static size_t walk_builds(const char *m, const struct tree_version *tv, const struct status_filter *f,
			  const struct status_sink *s)
{
	size_t shown = 0;
	for (size_t i = 0; i < tv->n_builds; i++) {
		const struct tree_build *b = &tv->builds[i];
		if (!b->built || !filter_ok(f->kernel, b->kernel) || !filter_ok(f->arch, b->arch))
			continue;
		s->build(s->ctx, m, tv, b);
		shown++;
	}
	return shown;
}

static void walk_version(const char *m, const struct tree_version *tv, const struct status_filter *f,
			 const struct status_sink *s)
{
	if (tv->state == TREE_V_BROKEN) {
		s->version(s->ctx, m, tv, "broken");
		if (s->broken_builds)
			walk_builds(m, tv, f, s);
		return;
	}
	if (tv->state == TREE_V_ADDED && !walk_builds(m, tv, f, s))
		s->version(s->ctx, m, tv, "added");
}

static void status_walk(const struct tree *t, const struct status_filter *f, const struct status_sink *s)
{
	static const struct status_filter any = { 0 };
	if (!f)
		f = &any;
	for (size_t i = 0; i < t->n_modules; i++) {
		const struct tree_module *tm = &t->modules[i];
		if (!filter_ok(f->module, tm->name))
			continue;
		for (size_t j = 0; j < tm->n_versions; j++)
			if (filter_ok(f->version, tm->versions[j].version))
				walk_version(tm->name, &tm->versions[j], f, s);
	}
}

struct text_ctx {
	FILE *out, *err;
	bool dkms_text;
};

static void text_version(void *ctx, const char *m, const struct tree_version *tv, const char *state)
{
	struct text_ctx *c = ctx;
	const char *v = tv->version;
	fprintf(c->out, "%s/%s: %s\n", m, v, state);
	if (strcmp(state, "broken") != 0)
		return;
	fprintf(c->err,
		"\nError! %s/%s: Missing the module source directory or the "
		"symbolic link pointing to it.\nManual intervention is required!\n",
		m, v);
	if (!c->dkms_text)
		fprintf(c->err,
			"%s/%s is broken: %s.\n`modforge remove %s/%s --all --force` removes what is left of it.\n", m,
			v, tv->broken_reason ? tv->broken_reason : "its source is missing", m, v);
}

static void text_build(void *ctx, const char *m, const struct tree_version *tv, const struct tree_build *b)
{
	struct text_ctx *c = ctx;
	const char *v = tv->version;
	fprintf(c->out, "%s/%s, %s, %s: %s", m, v, b->kernel, b->arch, build_state(b));
	if (tv->state == TREE_V_BROKEN)
		fputs(" (broken: its source is missing)", c->out);
	if (b->original_exists)
		fputs(" (Original modules exist)", c->out);
	if (b->missing_built)
		fputs(" (Built modules are missing in the kernel modules folder)", c->out);
	else if (b->differs_installed)
		fputs(" (Differences between built and installed modules)", c->out);
	fputc('\n', c->out);
}

void status_print_text(const struct tree *t, const struct status_filter *f, FILE *out, FILE *err)
{
	struct text_ctx c = { .out = out, .err = err, .dkms_text = f && f->dkms_text };
	struct status_sink s = {
		.version = text_version, .build = text_build, .ctx = &c, .broken_builds = !c.dkms_text
	};
	status_walk(t, f, &s);
}

/* Adds {"module","version","kernel","arch","state"} to entries; returns the object. */
static cJSON *json_entry(cJSON *entries, const char *m, const char *v, const char *k, const char *a, const char *state)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "module", m);
	cJSON_AddStringToObject(o, "version", v);
	if (k)
		cJSON_AddStringToObject(o, "kernel", k);
	else
		cJSON_AddNullToObject(o, "kernel");
	if (a)
		cJSON_AddStringToObject(o, "arch", a);
	else
		cJSON_AddNullToObject(o, "arch");
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddItemToArray(entries, o);
	return o;
}

static void add_string_or_null(cJSON *o, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

/* What every entry of the version says: its source, and why it is broken (or null). */
static void json_version_facts(cJSON *o, const struct tree_version *tv)
{
	add_string_or_null(o, "source", tv->source);
	add_string_or_null(o, "broken", tv->broken_reason);
}

static void json_version(void *ctx, const char *m, const struct tree_version *tv, const char *state)
{
	json_version_facts(json_entry(ctx, m, tv->version, NULL, NULL, state), tv);
}

static void json_build(void *ctx, const char *m, const struct tree_version *tv, const struct tree_build *b)
{
	cJSON *o = json_entry(ctx, m, tv->version, b->kernel, b->arch, build_state(b));
	cJSON_AddBoolToObject(o, "original_modules", b->original_exists);
	cJSON_AddBoolToObject(o, "built_modules_missing", b->missing_built);
	cJSON_AddBoolToObject(o, "differs_from_installed", !b->missing_built && b->differs_installed);
	json_version_facts(o, tv);
	cJSON *mods = cJSON_AddArrayToObject(o, "modules");
	for (size_t i = 0; i < b->n_files; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "file", b->files[i]);
		add_string_or_null(f, "installed_as", b->installed ? b->dests[i] : NULL);
		cJSON_AddItemToArray(mods, f);
	}
}

/* Returns the printed document, or NULL with errno = ENOMEM. */
static char *json_print(cJSON *doc)
{
	char *printed = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!printed) {
		errno = ENOMEM;
		return NULL;
	}
	char *ret = xstrdup(printed);
	cJSON_free(printed);
	return ret;
}

char *status_json(const struct tree *t, const struct status_filter *f)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *entries = NULL;
	if (doc && cJSON_AddStringToObject(doc, "schema", "modforge.status/1"))
		entries = cJSON_AddArrayToObject(doc, "entries");
	if (!entries) {
		cJSON_Delete(doc);
		errno = ENOMEM;
		return NULL;
	}
	struct status_sink s = { .version = json_version, .build = json_build, .ctx = entries, .broken_builds = true };
	status_walk(t, f, &s);
	return json_print(doc);
}

/* conf_exclusive.c - BUILD_EXCLUSIVE_* and OBSOLETE_BY for one target, as dkms 3.4.3's
 * check_build_exclusive_for_module decides it (global = index 0, then record i). */
#include "orchestrator/conf/conf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"
#include "orchestrator/conf/confdump.h"
#include "common/vercmp.h"

/* One level of constraints: the global values, or one record's. */
struct excl {
	const char *kernel, *arch, *config, *min, *max;
	const char *max_name; /* "BUILD_EXCLUSIVE_KERNEL_MAX" or "OBSOLETE_BY" */
	const char *suffix;   /* "" for the global level, "[i]" for a record */
};

/* dkms promotes OBSOLETE_BY to the global KERNEL_MAX when no KERNEL_MAX[i] is set. */
static const char *obsolete_max(const struct module_conf *c)
{
	if (!c->obsolete_by || c->excl_kernel_max)
		return NULL;
	for (size_t i = 0; i < c->n_records; i++)
		if (c->records[i].excl_kernel_max)
			return NULL;
	return c->obsolete_by;
}

static struct excl global_level(const struct module_conf *c)
{
	const char *ob = obsolete_max(c);
	return (struct excl){ c->excl_kernel,
			      c->excl_arch,
			      c->excl_config,
			      c->excl_kernel_min,
			      ob ? ob : c->excl_kernel_max,
			      ob ? "OBSOLETE_BY" : "BUILD_EXCLUSIVE_KERNEL_MAX",
			      "" };
}

/* Returns true if the config text has the line "<opt>=y" or "<opt>=m" (grep "^opt=[ym]"). */
static bool config_has(const char *config, const char *opt, size_t len)
{
	for (const char *l = config; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, opt, len) == 0 && l[len] == '=' && (l[len + 1] == 'y' || l[len + 1] == 'm'))
			return true;
	return false;
}

/* Checks the words of BUILD_EXCLUSIVE_CONFIG ("CONFIG_A !CONFIG_B"); NULL if they hold. */
static char *config_reason(const struct excl *x, const char *config)
{
	const char *ws = " \t\n";
	for (const char *p = x->config + strspn(x->config, ws); *p; p += strspn(p, ws)) {
		size_t n = strcspn(p, ws);
		bool neg = *p == '!';
		bool has = config_has(config, p + neg, n - neg);
		if (neg && has)
			return xasprintf("BUILD_EXCLUSIVE_CONFIG%s excludes %.*s, which this kernel's "
					 "config enables",
					 x->suffix, (int)(n - 1), p + 1);
		if (!neg && !has)
			return xasprintf("BUILD_EXCLUSIVE_CONFIG%s requires %.*s, which this kernel's "
					 "config does not enable",
					 x->suffix, (int)n, p);
		p += n;
	}
	return NULL;
}

/* Kernel, MIN, MAX and ARCH of one level; NULL if they hold. */
static char *level_reason(const struct excl *x, const struct conf_target *t)
{
	if (x->kernel && conf_regex_match(x->kernel, t->kernelver) != 1)
		return xasprintf("BUILD_EXCLUSIVE_KERNEL%s '%s' does not match kernel %s", x->suffix, x->kernel,
				 t->kernelver);
	if (x->min && dkms_vercmp(t->kernelver, x->min) < 0)
		return xasprintf("kernel %s is older than BUILD_EXCLUSIVE_KERNEL_MIN%s %s", t->kernelver, x->suffix,
				 x->min);
	if (x->max && dkms_vercmp(t->kernelver, x->max) > 0)
		return xasprintf("kernel %s is newer than %s%s %s", t->kernelver, x->max_name, x->suffix, x->max);
	if (x->arch && conf_regex_match(x->arch, t->arch) != 1)
		return xasprintf("BUILD_EXCLUSIVE_ARCH%s '%s' does not match arch %s", x->suffix, x->arch, t->arch);
	return NULL;
}

/* The global (index 0) constraints; NULL if they hold. */
static char *global_reason(const struct module_conf *c, const struct conf_target *t, const char *kernel_config)
{
	struct excl g = global_level(c);
	char *why = level_reason(&g, t);
	if (!why && kernel_config && g.config)
		why = config_reason(&g, kernel_config);
	return why;
}

/* Record i's own BUILD_EXCLUSIVE_*[i]; NULL if they hold. */
static char *own_reason(const struct module_conf *c, size_t i, const struct conf_target *t, const char *kernel_config)
{
	const struct conf_record *r = &c->records[i];
	char suffix[32];
	snprintf(suffix, sizeof(suffix), "[%zu]", i);
	struct excl own = { r->excl_kernel,
			    r->excl_arch,
			    r->excl_config,
			    r->excl_kernel_min,
			    r->excl_kernel_max,
			    "BUILD_EXCLUSIVE_KERNEL_MAX",
			    suffix };
	char *why = level_reason(&own, t);
	if (!why && kernel_config && own.config)
		why = config_reason(&own, kernel_config);
	return why;
}

char *conf_record_exclusive(const struct module_conf *c, size_t i, const struct conf_target *target,
			    const char *kernel_config)
{
	char *why = global_reason(c, target, kernel_config);
	return why ? why : own_reason(c, i, target, kernel_config);
}

/* dkms excludes the whole build when no record is buildable. Record 0's own constraints
 * are the index-0 (global) values, which every record is also checked against, so that
 * happens exactly when the global constraints fail (and never with zero records). */
char *conf_exclusive(const struct module_conf *c, const struct conf_target *target, const char *kernel_config)
{
	return c->n_records ? global_reason(c, target, kernel_config) : NULL;
}

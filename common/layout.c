/* layout.c - the paths of a dkms tree (see layout.h). */
#include "layout.h"

#include "xalloc.h"

char *layout_module_dir(const char *t, const char *m) { return xasprintf("%s/%s", t, m); }

char *layout_version_dir(const char *t, const char *m, const char *v) { return xasprintf("%s/%s/%s", t, m, v); }

char *layout_source_link(const char *t, const char *m, const char *v) { return xasprintf("%s/%s/%s/source", t, m, v); }

char *layout_build_area(const char *t, const char *m, const char *v) { return xasprintf("%s/%s/%s/build", t, m, v); }

char *layout_private_area(const char *t, const char *m, const char *v, const char *k, const char *a)
{
	return xasprintf("%s/%s/%s/.build-%s-%s", t, m, v, k, a);
}

char *layout_failed_log(const char *t, const char *m, const char *v, const char *k, const char *a)
{
	return xasprintf("%s/.modforge/logs/%s/%s/make-%s-%s.log", t, m, v, k, a);
}

char *layout_source_view(const char *t, const char *m, const char *v, const char *k, const char *a)
{
	return xasprintf("%s/%s/%s/.source-%s-%s", t, m, v, k, a);
}

char *layout_failed_logs(const char *t, const char *m, const char *v)
{
	return xasprintf("%s/.modforge/logs/%s/%s", t, m, v);
}

char *layout_build_locks(const char *t, const char *m, const char *v)
{
	return xasprintf("%s/.modforge/locks/%s/%s", t, m, v);
}

char *layout_build_lock(const char *t, const char *m, const char *v, const char *k, const char *a)
{
	if (!k)
		return xasprintf("%s/.modforge/locks/%s/%s/build", t, m, v);
	return xasprintf("%s/.modforge/locks/%s/%s/%s-%s", t, m, v, k, a);
}

char *layout_kernel_dir(const char *t, const char *m, const char *v, const char *k)
{
	return xasprintf("%s/%s/%s/%s", t, m, v, k);
}

char *layout_result_dir(const char *t, const char *m, const char *v, const char *k, const char *a)
{
	return xasprintf("%s/%s/%s/%s/%s", t, m, v, k, a);
}

char *layout_manifest(const char *t, const char *m, const char *v, const char *k, const char *a)
{
	return xasprintf("%s/%s/%s/%s/%s/.modforge/manifest", t, m, v, k, a);
}

char *layout_marker(const char *t, const char *m, const char *k, const char *a)
{
	return xasprintf("%s/%s/kernel-%s-%s", t, m, k, a);
}

char *layout_marker_target(const char *v, const char *k, const char *a) { return xasprintf("%s/%s/%s", v, k, a); }

char *layout_original_dir(const char *t, const char *m, const char *k, const char *a)
{
	if (!k)
		return xasprintf("%s/%s/" LAYOUT_ORIGINALS, t, m);
	if (!a)
		return xasprintf("%s/%s/" LAYOUT_ORIGINALS "/%s", t, m, k);
	return xasprintf("%s/%s/" LAYOUT_ORIGINALS "/%s/%s", t, m, k, a);
}

char *layout_own_dir(const char *t) { return xasprintf("%s/.modforge", t); }

char *layout_lock(const char *t) { return xasprintf("%s/.modforge/lock", t); }

char *layout_journal(const char *t) { return xasprintf("%s/.modforge/" LAYOUT_JOURNAL, t); }

char *layout_trash(const char *t) { return xasprintf("%s/.modforge/trash", t); }

char *layout_depmod_pending(const char *t, const char *k)
{
	if (!k)
		return xasprintf("%s/.modforge/depmod-pending", t);
	return xasprintf("%s/.modforge/depmod-pending/%s", t, k);
}

char *layout_cache_dir(const char *t) { return xasprintf("%s/.modforge/cache", t); }

char *layout_durations_dir(const char *t) { return xasprintf("%s/.modforge/durations", t); }

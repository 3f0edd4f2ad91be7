#include "orchestrator/plan/signing.h"

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/macro.h"
#include "common/xalloc.h"
#include "executor/modsign.h"
#include "executor/treelock.h"
#include "orchestrator/context.h"
#include "orchestrator/conf/framework.h"

static char *key_path(const struct ctx *c, const struct framework *fw)
{
	const char *v = fw ? framework_value(fw, fw->mok_signing_key, "mok_signing_key") : NULL;
	return v ? xstrdup(v) : path_join(c->paths.dkms_tree, "mok.key");
}

static char *cert_path(const struct ctx *c, const struct framework *fw)
{
	const char *v = fw ? framework_value(fw, fw->mok_certificate, "mok_certificate") : NULL;
	return v ? xstrdup(v) : path_join(c->paths.dkms_tree, "mok.pub");
}

char *signing_key_path(const struct ctx *c) { return key_path(c, c->fw); }

char *signing_cert_path(const struct ctx *c) { return cert_path(c, c->fw); }

/* The sign-file dkms would use on this distribution (Debian: linux-kbuild's). */
static char *default_sign_file(const struct ctx *c, const char *kernel)
{
	if (strcmp(c->running_distribution, "debian") == 0) {
		_cleanup_free_ char *k = xstrdup(kernel);
		char *dot = strrchr(k, '.');
		if (dot)
			*dot = '\0';
		return xasprintf("/usr/lib/linux-kbuild-%s/scripts/sign-file", k);
	}
	return xasprintf("%s/%s/build/scripts/sign-file", c->paths.install_tree, kernel);
}

/* dkms's running_in_chroot: our view of the mounts differs from init's, or our root is
 * not init's. */
static bool running_in_chroot(void)
{
	_cleanup_buf_ struct buf init = BUF_INIT;
	_cleanup_buf_ struct buf self = BUF_INIT;
	if (buf_read_file(&init, "/proc/1/mountinfo") == 0 && buf_read_file(&self, "/proc/self/mountinfo") == 0 &&
	    (init.len != self.len || memcmp(init.data, self.data, init.len) != 0))
		return true;
	struct stat a, b;
	return geteuid() == 0 && stat("/proc/1/root", &a) == 0 && stat("/", &b) == 0 &&
		(a.st_dev != b.st_dev || a.st_ino != b.st_ino);
}

/* Makes the pair unless both exist, under the tree's lock: two runs never make two.
 * Returns 1 (made), 0 (there) or -1 (why says why). */
static int make_pair(const struct ctx *c, const char *key, const char *cert, struct buf *why)
{
	if (is_regular(key) && is_regular(cert))
		return 0;
	int lock;
	(void)tree_lock(c->paths.dkms_tree, true, c->err, &lock); /* unlocked, mok_generate says why it fails */
	int r = is_regular(key) && is_regular(cert) ? 0 : mok_generate(key, cert, why) < 0 ? -1 : 1;
	tree_unlock(lock);
	return r;
}

static void signing_decide_with(const struct ctx *c, const struct framework *fw, const char *kernel,
				const char *missing_config, const char *sig_hash, struct signing *s);

void signing_decide(const struct ctx *c, const char *kernel, const char *arch, const char *missing_config,
		    const char *sig_hash, struct signing *s)
{
	memset(s, 0, sizeof(*s));
	/* dkms reads its signing settings before each build, with $kernelver and $arch set */
	struct framework kfw = { 0 };
	const struct framework *fw = c->fw;
	if (c->fw && c->etc_dkms && framework_read_for(c->etc_dkms, kernel, arch, &kfw) == 0)
		fw = &kfw;
	signing_decide_with(c, fw, kernel, missing_config, sig_hash, s);
	framework_release(&kfw);
}

static void signing_decide_with(const struct ctx *c, const struct framework *fw, const char *kernel,
				const char *missing_config, const char *sig_hash, struct signing *s)
{
	/* dkms's checks, in its order */
	const char *try = fw ? framework_value(fw, fw->try_sign_modules, "try_sign_modules") : NULL;
	if (try && strcmp(try, "false") == 0) {
		s->prologue = xstrdup("Module signing is disabled by policy, modules won't be signed\n");
		return;
	}
	if (!(try && strcmp(try, "true") == 0) && running_in_chroot()) {
		s->prologue = xstrdup("Running in chroot, modules won't be signed\n");
		return;
	}
	if (missing_config) {
		s->prologue = xasprintf("Kernel config %s not found, modules won't be signed\n", missing_config);
		return;
	}
	_cleanup_free_ char *hash = sig_hash && *sig_hash ? xstrdup(sig_hash) : NULL;
	if (!hash) {
		s->prologue = xstrdup("The kernel is built without module signing facility, modules won't be signed\n");
		return;
	}
	const char *configured = fw ? framework_value(fw, fw->sign_file, "sign_file") : NULL;
	_cleanup_free_ char *key = key_path(c, fw);
	_cleanup_free_ char *cert = cert_path(c, fw);
	bool pkcs11 = strncmp(key, "pkcs11:", 7) == 0;
	_cleanup_free_ char *tool = configured ? xstrdup(configured) : pkcs11 ? default_sign_file(c, kernel) : NULL;
	if (tool && access(tool, X_OK) != 0) {
		s->prologue = xasprintf("Sign command: %s\nBinary %s not found, modules won't be signed\n", tool, tool);
		return;
	}
	s->prologue = xasprintf("Sign command: %s\nSigning key: %s\nPublic certificate (MOK): %s\n",
				tool ? tool : "built in (modforge, libcrypto)", key, cert);
	s->needs_key = !pkcs11 && !(is_regular(key) && is_regular(cert));
	s->hash = steal_pointer(&hash);
	s->key = steal_pointer(&key);
	s->cert = steal_pointer(&cert);
	s->sign_file = steal_pointer(&tool);
}

int signing_make_key(const struct ctx *c, const char *key, const char *cert, struct buf *why)
{
	return make_pair(c, key, cert, why);
}

int signing_generate_mok(const struct ctx *c, FILE *out)
{
	_cleanup_free_ char *key = signing_key_path(c);
	_cleanup_free_ char *cert = signing_cert_path(c);
	if (strncmp(key, "pkcs11:", 7) == 0) {
		fprintf(out, "Signing key is a PKCS#11 URI, nothing to generate\n");
		return 0;
	}
	fprintf(out, "Signing key: %s\nPublic certificate (MOK): %s\n", key, cert);
	if (is_regular(key) && is_regular(cert)) {
		fprintf(out, "Key file %s and certificate %s already exist, nothing to do\n", key, cert);
		return 0;
	}
	fputs(SIGNING_GENERATED_LINE, out);
	fflush(out);
	_cleanup_buf_ struct buf why = BUF_INIT;
	if (make_pair(c, key, cert, &why) >= 0)
		return 0;
	fprintf(c->err, "Warning: %s\n", why.data);
	fflush(c->err);
	return 1;
}

void signing_release(struct signing *s)
{
	free(s->hash);
	free(s->key);
	free(s->cert);
	free(s->sign_file);
	free(s->prologue);
	memset(s, 0, sizeof(*s));
}

/* signing.h - whether and how the modules built for one kernel are signed, decided as
 * dkms 3.4.3's prepare_signing does (reference §5.1), on the privileged side only.
 *
 * The hash is the kernel's CONFIG_MODULE_SIG_HASH (no hash: no signing). Key and
 * certificate come from framework.conf / the environment (mok_signing_key,
 * mok_certificate), by default <dkms_tree>/mok.key and mok.pub; when either is missing, the
 * plan has a keygen job that makes them before the builds that sign with them. modforge signs itself (executor/modsign) unless sign_file is configured, or the
 * key is a "pkcs11:" URI, which goes to an external sign-file.
 * Ownership: a struct signing owns its strings; signing_release frees them.
 */
#ifndef MODFORGE_SIGNING_H
#define MODFORGE_SIGNING_H

#include <stdbool.h>
#include <stdio.h>

struct buf;
struct ctx;

struct signing {
	char *hash; /* e.g. "sha256"; NULL: modules are not signed */
	char *key, *cert;
	char *sign_file; /* external signer run as `sign_file hash key cert module`; NULL: built in */
	char *prologue;  /* dkms's lines shown before each build for the kernel: "Sign command: ..."
			  * and the key's paths, or why modules won't be signed */
	bool needs_key;  /* the key pair is missing: a keygen job of the plan makes it first */
};

/* Decides for a kernel when a plan is made (missing_config: its config file's path when
 * it could not be read, else NULL; sig_hash: the config's CONFIG_MODULE_SIG_HASH, NULL
 * when unset), with the framework files read again for kernel/arch as dkms does: no
 * output, no file written. Never fails the build: where dkms would not sign, s->hash is
 * NULL and s->prologue says why. */
void signing_decide(const struct ctx *c, const char *kernel, const char *arch, const char *missing_config,
		    const char *sig_hash, struct signing *s);
/* The keygen job: makes the pair unless both files exist (under the tree's lock: two runs
 * never make two). Returns 1 if it made them, 0 if they were there, -1 on failure (why
 * says why). Prints nothing: the builds say it, where dkms says it. */
int signing_make_key(const struct ctx *c, const char *key, const char *cert, struct buf *why);
/* dkms's line for a pair signing_make_key made (or tried to make), shown after the key's
 * paths. */
#define SIGNING_GENERATED_LINE "Certificate or key are missing, generating self signed certificate for MOK...\n"
/* The key and certificate paths for ctx (framework / environment / default), as read
 * without a kernel (a kernel's own are in its struct signing). */
char *signing_key_path(const struct ctx *c);
char *signing_cert_path(const struct ctx *c);
/* generate_mok: makes the pair unless both files exist. Returns 0 or dkms's exit code. */
int signing_generate_mok(const struct ctx *c, FILE *out);
void signing_release(struct signing *s);

#endif

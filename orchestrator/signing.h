/* signing.h - whether and how the modules built for one kernel are signed, decided as
 * dkms 3.4.3's prepare_signing does (reference §5.1), on the privileged side only.
 *
 * The hash is the kernel's CONFIG_MODULE_SIG_HASH (no hash: no signing). Key and
 * certificate come from framework.conf / the environment (mok_signing_key,
 * mok_certificate), by default <dkms_tree>/mok.key and mok.pub, generated when either is
 * missing. modforge signs itself (executor/modsign) unless sign_file is configured, or the
 * key is a "pkcs11:" URI, which goes to an external sign-file.
 * Ownership: a struct signing owns its strings; signing_release frees them.
 */
#ifndef MODFORGE_SIGNING_H
#define MODFORGE_SIGNING_H

#include <stdio.h>

struct ctx;
struct target;

struct signing {
	char *hash;      /* e.g. "sha256"; NULL: modules are not signed */
	char *key, *cert;
	char *sign_file; /* external signer run as `sign_file hash key cert module`; NULL: built in */
};

/* Decides for target t (the hash is its config's CONFIG_MODULE_SIG_HASH), printing dkms's
 * lines on out ("Sign command: ..." or why modules won't be signed); generates the key
 * pair if it is missing. Never fails the build: problems leave s->hash NULL, with a
 * message. */
void signing_prepare(const struct ctx *c, const struct target *t, struct signing *s, FILE *out);
/* The key and certificate paths for ctx (framework / environment / default). */
char *signing_key_path(const struct ctx *c);
char *signing_cert_path(const struct ctx *c);
/* generate_mok: makes the pair unless both files exist. Returns 0 or dkms's exit code. */
int signing_generate_mok(const struct ctx *c, FILE *out);
void signing_release(struct signing *s);

#endif

/* modsign.h - appends the kernel's module signature to a .ko, and makes a MOK key pair.
 *
 * A signed module is: the module bytes, a detached CMS SignedData (DER; no certificates, no
 * signed attributes, signer by issuer and serial) over those bytes, a 12-byte trailer
 * {algo=0, hash=0, id_type=2 (PKCS#7), signer_len=0, key_id_len=0, pad[3], be32 sig_len}
 * and the 28-byte magic "~Module signature appended~\n". The output is byte-for-byte what
 * the kernel's scripts/sign-file writes for the same inputs (RSA signatures are deterministic).
 *
 * Invariants: on error nothing at ko_path / key_path / cert_path is changed; err (may be NULL)
 * then holds one line naming the operation and path; out is only appended to on success.
 * Library code: returns 0 or -errno, never prints.
 */
#ifndef MODFORGE_MODSIGN_H
#define MODFORGE_MODSIGN_H

#include <stdbool.h>
#include <stddef.h>

struct buf; /* common/buf.h */

#define MODSIGN_MAGIC "~Module signature appended~\n"

/* Signs the module file at ko_path in place (temp file in the same dir + fsync + rename; the
 * original's mode kept). hash: "sha1", "sha224", "sha256", "sha384", "sha512". key_path: PEM
 * private key (unencrypted; RSA or EC). cert_path: X.509 certificate, DER or PEM (detected).
 * Returns 0 or -errno (-EINVAL for an unusable key/cert/hash, -EBADMSG for a crypto failure). */
int modsign_file(const char *ko_path, const char *hash, const char *key_path, const char *cert_path, struct buf *err);
/* Same on memory: appends module bytes + signature + trailer + magic to out. */
int modsign_buf(const void *mod, size_t len, const char *hash, const char *key_path, const char *cert_path,
		struct buf *out, struct buf *err);
/* Returns true if the bytes end with MODSIGN_MAGIC. */
bool modsign_is_signed(const void *mod, size_t len);
/* Makes a new key pair like dkms's generate_mok: key_path gets an unencrypted PKCS#8 PEM
 * RSA-2048 key (mode 0600), cert_path a self-signed X.509 v3 DER certificate, subject = issuer
 * = "CN=DKMS module signing key", valid 36500 days, random positive 159-bit serial, with the
 * extensions of `openssl req -x509` under Debian 12's openssl.cnf (subjectKeyIdentifier=hash,
 * authorityKeyIdentifier=keyid, critical basicConstraints CA:TRUE) plus extendedKeyUsage=
 * codeSigning. Both files written atomically. Returns 0 or -errno, reason in err. */
int mok_generate(const char *key_path, const char *cert_path, struct buf *err);

#endif

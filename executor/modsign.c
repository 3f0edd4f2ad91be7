/* modsign.c - module signing (see modsign.h): a detached CMS over the module bytes made with
 * libcrypto, the kernel's 12-byte trailer and magic; MOK key pairs as `openssl req -x509`. */
#include "modsign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/fsutil.h"
#include "common/buf.h"
#include "common/macro.h"
#include "common/xalloc.h"

#define MOK_SUBJECT     "DKMS module signing key"
#define MOK_DAYS        36500
#define MOK_BITS        2048
#define MOK_SERIAL_BITS 159 /* as openssl req: 20 bytes, always positive */
#define PKEY_ID_PKCS7   2   /* the kernel's enum pkey_id_type */
#define TRAILER_LEN     12

static void bio_freep(BIO **p) { BIO_free(*p); }
static void pkey_freep(EVP_PKEY **p) { EVP_PKEY_free(*p); }
static void x509_freep(X509 **p) { X509_free(*p); }
static void cms_freep(CMS_ContentInfo **p) { CMS_ContentInfo_free(*p); }
static void bn_freep(BIGNUM **p) { BN_free(*p); }
#define _cleanup_bio_  _cleanup_(bio_freep)
#define _cleanup_pkey_ _cleanup_(pkey_freep)
#define _cleanup_x509_ _cleanup_(x509_freep)
#define _cleanup_cms_  _cleanup_(cms_freep)
#define _cleanup_bn_   _cleanup_(bn_freep)

/* The kernel's CONFIG_MODULE_SIG_HASH choices. */
static const char *const hashes[] = { "sha1", "sha224", "sha256", "sha384", "sha512" };

/* Returns libcrypto's reason for the last failure (static text) and empties its queue. */
static const char *ssl_reason(void)
{
	const char *s = ERR_reason_error_string(ERR_peek_last_error());
	ERR_clear_error();
	return s ? s : "unknown libcrypto error";
}

/* A passphrase callback that refuses: an encrypted key fails instead of prompting on a tty. */
static int no_passphrase(char *b, int size, int rwflag, void *u) { return -1; }

static int load_key(const char *path, EVP_PKEY **out, struct buf *err)
{
	_cleanup_buf_ struct buf pem = BUF_INIT;
	int r = buf_read_file(&pem, path);
	if (r < 0)
		return buf_fail(err, r, "reading private key %s: %s", path, strerror(-r));
	_cleanup_bio_ BIO *b = pem.len <= INT_MAX ? BIO_new_mem_buf(pem.data, (int)pem.len) : NULL;
	*out = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	OPENSSL_cleanse(pem.data, pem.len);
	if (!*out)
		return buf_fail(err, -EINVAL, "reading private key %s: not an unencrypted PEM key (%s)", path,
				ssl_reason());
	return 0;
}

/* Reads a certificate in DER or, failing that, PEM. */
static int load_cert(const char *path, X509 **out, struct buf *err)
{
	_cleanup_buf_ struct buf data = BUF_INIT;
	int r = buf_read_file(&data, path);
	if (r < 0)
		return buf_fail(err, r, "reading certificate %s: %s", path, strerror(-r));
	const unsigned char *p = (const unsigned char *)data.data;
	*out = data.len <= LONG_MAX ? d2i_X509(NULL, &p, (long)data.len) : NULL;
	if (*out) {
		ERR_clear_error();
		return 0;
	}
	_cleanup_bio_ BIO *b = data.len <= INT_MAX ? BIO_new_mem_buf(data.data, (int)data.len) : NULL;
	ERR_clear_error(); /* the DER attempt's complaints */
	*out = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;
	if (!*out)
		return buf_fail(err, -EINVAL, "reading certificate %s: neither DER nor PEM X.509 (%s)", path,
				ssl_reason());
	return 0;
}

static const EVP_MD *find_hash(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(hashes); i++)
		if (strcmp(name, hashes[i]) == 0)
			return EVP_get_digestbyname(name);
	return NULL;
}

/* Makes the DER signature: detached, no certificates, no signed attributes or S/MIME
 * capabilities, binary, signer by issuer and serial. Returns 0 or -EBADMSG. */
static int cms_sign_der(const void *mod, size_t len, const EVP_MD *md, X509 *cert, EVP_PKEY *key, struct buf *der,
			struct buf *err)
{
	const unsigned flags = CMS_NOCERTS | CMS_BINARY;
	_cleanup_cms_ CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL | CMS_DETACHED);
	_cleanup_bio_ BIO *data = len <= INT_MAX ? BIO_new_mem_buf(mod, (int)len) : NULL;
	if (!cms || !data)
		return buf_fail(err, -EBADMSG, "creating CMS signature: %s", ssl_reason());
	if (!CMS_add1_signer(cms, cert, key, md, flags | CMS_NOSMIMECAP | CMS_NOATTR))
		return buf_fail(err, -EBADMSG, "adding CMS signer: %s", ssl_reason());
	if (!CMS_final(cms, data, NULL, flags))
		return buf_fail(err, -EBADMSG, "computing CMS signature: %s", ssl_reason());
	unsigned char *p = NULL;
	int n = i2d_CMS_ContentInfo(cms, &p);
	if (n <= 0)
		return buf_fail(err, -EBADMSG, "encoding CMS signature: %s", ssl_reason());
	buf_add(der, p, (size_t)n);
	OPENSSL_free(p);
	return 0;
}

int modsign_buf(const void *mod, size_t len, const char *hash, const char *key_path, const char *cert_path,
		struct buf *out, struct buf *err)
{
	ERR_clear_error(); /* so a reason below is ours, not a caller's leftover */
	const EVP_MD *md = find_hash(hash);
	if (!md)
		return buf_fail(err, -EINVAL,
				"signing hash \"%s\": not one of sha1, sha224, sha256, "
				"sha384, sha512",
				hash ? hash : "(null)");
	_cleanup_pkey_ EVP_PKEY *key = NULL;
	_cleanup_x509_ X509 *cert = NULL;
	int r = load_key(key_path, &key, err);
	if (r == 0)
		r = load_cert(cert_path, &cert, err);
	if (r < 0)
		return r;
	if (!X509_check_private_key(cert, key))
		return buf_fail(err, -EINVAL, "private key %s does not match certificate %s (%s)", key_path, cert_path,
				ssl_reason());
	_cleanup_buf_ struct buf sig = BUF_INIT;
	r = cms_sign_der(mod, len, md, cert, key, &sig, err);
	if (r < 0)
		return r;
	if (sig.len > UINT32_MAX)
		return buf_fail(err, -EBADMSG, "CMS signature too long (%zu bytes)", sig.len);
	unsigned char trailer[TRAILER_LEN] = { 0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0 };
	uint32_t n = (uint32_t)sig.len;
	trailer[8] = (unsigned char)(n >> 24);
	trailer[9] = (unsigned char)(n >> 16);
	trailer[10] = (unsigned char)(n >> 8);
	trailer[11] = (unsigned char)n;
	buf_add(out, mod, len);
	buf_add(out, sig.data, sig.len);
	buf_add(out, trailer, sizeof(trailer));
	buf_add(out, MODSIGN_MAGIC, strlen(MODSIGN_MAGIC));
	return 0;
}

bool modsign_is_signed(const void *mod, size_t len)
{
	size_t m = strlen(MODSIGN_MAGIC);
	return mod && len >= m && memcmp((const char *)mod + len - m, MODSIGN_MAGIC, m) == 0;
}

/* ---- files: fsutil's write_file_atomic takes its mode through the umask (and from an old
 * temp), but here the mode must be exact from the first byte (a key is 0600), so a temp from
 * mkostemp, fchmod, write, fsync; then rename. ---- */

/* Writes data to a new temp file next to path with exactly mode. Returns its name or NULL
 * with errno set. */
static char *write_temp(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.modsign-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC), e = 0;
	if (fd < 0) {
		e = errno;
		free(tmp);
		errno = e;
		return NULL;
	}
	const char *p = data;
	if (fchmod(fd, mode) < 0)
		e = errno;
	while (!e && len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno != EINTR)
			e = errno;
		else if (w > 0)
			p += w, len -= (size_t)w;
	}
	if (!e && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (e) {
		unlink(tmp);
		free(tmp);
		errno = e;
		return NULL;
	}
	return tmp;
}

/* Renames tmp over path and syncs the directory. Returns 0 or -errno (tmp removed). */
static int commit_temp(const char *tmp, const char *path)
{
	if (rename(tmp, path) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return fsync_parent(path);
}

int modsign_file(const char *ko_path, const char *hash, const char *key_path, const char *cert_path, struct buf *err)
{
	_cleanup_buf_ struct buf mod = BUF_INIT, out = BUF_INIT, why = BUF_INIT;
	struct stat st;
	int r = stat(ko_path, &st) < 0 ? -errno : 0;
	if (r == 0 && !S_ISREG(st.st_mode))
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (r == 0)
		r = buf_read_file(&mod, ko_path);
	if (r < 0)
		return buf_fail(err, r, "reading module %s: %s", ko_path, strerror(-r));
	r = modsign_buf(mod.data, mod.len, hash, key_path, cert_path, &out, &why);
	if (r < 0)
		return buf_fail(err, r, "signing %s: %s", ko_path, why.data);
	_cleanup_free_ char *tmp = write_temp(ko_path, out.data, out.len, st.st_mode & 07777);
	r = tmp ? commit_temp(tmp, ko_path) : -errno;
	if (r < 0)
		return buf_fail(err, r, "writing signed module %s: %s", ko_path, strerror(-r));
	return 0;
}

/* ---- MOK generation ---- */

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EBADMSG;
}

/* Fills x as a self-signed CA/code-signing certificate for key and signs it. */
static int make_cert(X509 *x, EVP_PKEY *key)
{
	_cleanup_bn_ BIGNUM *serial = BN_new();
	if (!serial || !X509_set_version(x, X509_VERSION_3))
		return -EBADMSG;
	do {
		if (!BN_rand(serial, MOK_SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
			return -EBADMSG;
	} while (BN_is_zero(serial));
	X509_NAME *name = X509_get_subject_name(x);
	if (!BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), MOK_DAYS, 0, NULL) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)MOK_SUBJECT, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
		return -EBADMSG;
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	/* The order and values openssl req -x509 gives under Debian 12's [v3_ca]. */
	if (add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0 ||
	    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(x, &ctx, NID_ext_key_usage, "codeSigning") < 0)
		return -EBADMSG;
	return X509_sign(x, key, EVP_sha256()) > 0 ? 0 : -EBADMSG;
}

/* Encodes key as PKCS#8 PEM into secure memory, then writes a 0600 temp. Returns its name. */
static char *write_key_temp(const char *path, EVP_PKEY *key)
{
	_cleanup_bio_ BIO *b = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long n;
	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		errno = EBADMSG;
		return NULL;
	}
	return write_temp(path, data, (size_t)n, 0600);
}

int mok_generate(const char *key_path, const char *cert_path, struct buf *err)
{
	_cleanup_pkey_ EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)MOK_BITS);
	if (!key)
		return buf_fail(err, -EBADMSG, "generating RSA-%d key for %s: %s", MOK_BITS, key_path, ssl_reason());
	_cleanup_x509_ X509 *x = X509_new();
	if (!x || make_cert(x, key) < 0)
		return buf_fail(err, -EBADMSG, "making certificate %s: %s", cert_path, ssl_reason());
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	if (n <= 0)
		return buf_fail(err, -EBADMSG, "encoding certificate %s: %s", cert_path, ssl_reason());
	/* Both staged before either is renamed, so a failure leaves the old pair whole. */
	_cleanup_free_ char *key_tmp = write_key_temp(key_path, key);
	if (!key_tmp) {
		int r = -errno;
		OPENSSL_free(der);
		return buf_fail(err, r, "writing private key %s: %s", key_path, strerror(-r));
	}
	_cleanup_free_ char *cert_tmp = write_temp(cert_path, der, (size_t)n, 0644);
	int r = cert_tmp ? 0 : -errno;
	OPENSSL_free(der);
	if (r < 0) {
		unlink(key_tmp);
		return buf_fail(err, r, "writing certificate %s: %s", cert_path, strerror(-r));
	}
	r = commit_temp(key_tmp, key_path);
	if (r < 0) {
		unlink(cert_tmp);
		return buf_fail(err, r, "writing private key %s: %s", key_path, strerror(-r));
	}
	r = commit_temp(cert_tmp, cert_path);
	if (r < 0)
		return buf_fail(err, r, "writing certificate %s: %s", cert_path, strerror(-r));
	return 0;
}

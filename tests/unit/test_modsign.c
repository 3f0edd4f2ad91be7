/* test_modsign.c - native module signing against the kernel's scripts/sign-file, byte for
 * byte, in a temporary directory: MOK generation, sha1..sha512, DER and PEM certificates,
 * keys made by openssl req (as dkms does), libkmod's view of the result, an EC key, errors. */
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkmod.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "executor/modsign.h"
#include "tap.h"

#define SUBJECT     "DKMS module signing key"
#define MAGIC_LEN   28
#define TRAILER_LEN 12

struct fx {
	char dir[64];
	char *sign_file; /* the kernel's scripts/sign-file, or NULL */
	char *mod;       /* the unsigned fake module */
};

static char *at(const struct fx *f, const char *rel) { return path_join(f->dir, rel); }

/* Runs a shell command line; returns its exit status (or -1). */
static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	int n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	int st = system(cmd);
	free(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Returns a command's stdout (newly allocated, "" on failure). */
static char *sh_out(const char *cmd)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	FILE *p = popen(cmd, "r");
	if (p) {
		buf_read_fd(&b, fileno(p));
		pclose(p);
	}
	return buf_detach(&b);
}

static char *find_sign_file(void)
{
	glob_t g;
	char *found = NULL;
	if (glob("/usr/lib/linux-kbuild-*/scripts/sign-file", 0, NULL, &g) == 0) {
		for (size_t i = 0; !found && i < g.gl_pathc; i++)
			if (access(g.gl_pathv[i], X_OK) == 0)
				found = xstrdup(g.gl_pathv[i]);
		globfree(&g);
	}
	struct utsname u;
	if (!found && uname(&u) == 0) {
		char *p = xasprintf("/lib/modules/%s/build/scripts/sign-file", u.release);
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	return found;
}

/* A small ET_REL object with a .modinfo section, as a module has; any bytes if no cc. */
static void make_module(struct fx *f)
{
	f->mod = at(f, "mod.ko");
	int r = sh("printf 'const char m[] __attribute__((section(\".modinfo\"),used)) = "
		   "\"license=GPL\\\\0name=mfsig\\\\0vermagic=6.1.0 SMP mod_unload modversions \";' "
		   "| cc -x c -c -o %s - 2>/dev/null",
		   f->mod);
	if (r != 0) {
		printf("# no cc: the fake module is plain bytes\n");
		CHECK(write_file_atomic(f->mod, "not an ELF module\n", 18, 0644) == 0);
	}
}

static bool file_starts_with(const char *path, const char *prefix)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	bool ok = buf_read_file(&b, path) == 0 && strncmp(b.data, prefix, strlen(prefix)) == 0;
	buf_release(&b);
	return ok;
}

static X509 *read_der_cert(const char *path)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	X509 *x = NULL;
	if (buf_read_file(&b, path) == 0) {
		const unsigned char *p = (const unsigned char *)b.data;
		x = d2i_X509(NULL, &p, (long)b.len);
		if (x && p != (const unsigned char *)b.data + b.len) {
			X509_free(x); /* trailing bytes: not one DER certificate */
			x = NULL;
		}
	}
	buf_release(&b);
	return x;
}

/* Appends the certificate's extensions (nid and criticality, in order) to out. */
static void ext_shape(X509 *x, struct buf *out)
{
	for (int i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		buf_addf(out, "%s%s;", OBJ_nid2sn(OBJ_obj2nid(X509_EXTENSION_get_object(e))),
			 X509_EXTENSION_get_critical(e) ? "!" : "");
	}
}

/* Checks that cert has the same shape as one openssl req makes the way dkms does. */
static void compare_with_openssl_req(X509 *ours, X509 *theirs)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	buf_init(&a);
	buf_init(&b);
	ext_shape(ours, &a);
	ext_shape(theirs, &b);
	CHECK_STR(a.data, b.data);
	CHECK_STR(a.data,
		  "subjectKeyIdentifier;authorityKeyIdentifier;basicConstraints!;"
		  "extendedKeyUsage;");
	CHECK(X509_get_version(ours) == X509_get_version(theirs));
	CHECK(X509_get_signature_nid(ours) == X509_get_signature_nid(theirs));
	CHECK(X509_NAME_cmp(X509_get_subject_name(ours), X509_get_subject_name(theirs)) == 0);
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509_NAME(X509_get_subject_name(ours), &da);
	int lb = i2d_X509_NAME(X509_get_subject_name(theirs), &db);
	CHECK(la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0); /* UTF8String as theirs */
	OPENSSL_free(da);
	OPENSSL_free(db);
	CHECK(X509_check_issued(ours, ours) == X509_V_OK);
	int days = 0, secs = 0;
	CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ours), X509_get0_notAfter(ours)));
	CHECK(days == 36500 && secs == 0);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(ours);
	CHECK(ASN1_STRING_length(sn) >= 1 && ASN1_STRING_length(sn) <= 20);
	CHECK(ASN1_STRING_type(sn) == V_ASN1_INTEGER); /* positive */
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ours);
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(ours);
	CHECK(skid && akid && ASN1_OCTET_STRING_cmp(skid, akid) == 0);
	CHECK(X509_get_extended_key_usage(ours) & XKU_CODE_SIGN);
	buf_release(&a);
	buf_release(&b);
}

static void test_mok(struct fx *f)
{
	char *key = at(f, "mok.priv"), *cert = at(f, "mok.der");
	char *rkey = at(f, "req.priv"), *rcert = at(f, "req.der");
	struct buf err = BUF_INIT;
	buf_init(&err);
	CHECK(mok_generate(key, cert, &err) == 0);
	CHECK_STR(err.data, "");
	struct stat st;
	CHECK(stat(key, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(file_starts_with(key, "-----BEGIN PRIVATE KEY-----\n"));
	char *cmd = xasprintf("openssl x509 -inform DER -in %s -noout -text 2>&1", cert);
	char *text = sh_out(cmd);
	CHECK(strstr(text, "Subject: CN = " SUBJECT "\n") != NULL);
	CHECK(strstr(text, "Issuer: CN = " SUBJECT "\n") != NULL);
	CHECK(strstr(text, "Code Signing") != NULL);
	CHECK(strstr(text, "X509v3 Basic Constraints: critical") != NULL);
	CHECK(strstr(text, "CA:TRUE") != NULL);
	CHECK(strstr(text, "Public-Key: (2048 bit)") != NULL);
	CHECK(strstr(text, "Version: 3 (0x2)") != NULL);

	/* The pair dkms's generate_mok makes with openssl req, for the shape and for test 5. */
	CHECK(sh("openssl req -new -x509 -nodes -days 36500 -subj '/CN=" SUBJECT "' "
		 "-newkey rsa:2048 -keyout %s -addext extendedKeyUsage=codeSigning "
		 "-outform DER -out %s >/dev/null 2>&1",
		 rkey, rcert) == 0);
	X509 *ours = read_der_cert(cert), *theirs = read_der_cert(rcert);
	CHECK(ours != NULL); /* parses as one DER certificate */
	CHECK(theirs != NULL);
	if (ours && theirs)
		compare_with_openssl_req(ours, theirs);
	X509_free(ours);
	X509_free(theirs);

	/* A second run replaces both files with a fresh pair. */
	char *old = at(f, "mok.der.old");
	CHECK(copy_file_atomic(cert, old, 0644) == 0);
	CHECK(mok_generate(key, cert, &err) == 0);
	CHECK(files_equal(cert, old) == 0);
	CHECK(mok_generate(key, "/nonexistent-dir/mok.der", &err) < 0);
	CHECK(strstr(err.data, "/nonexistent-dir/mok.der") != NULL);
	free(old);
	free(text);
	free(cmd);
	free(key);
	free(cert);
	free(rkey);
	free(rcert);
	buf_release(&err);
}

/* Signs a copy of the module natively and one with sign-file; checks they are equal. */
static void compare_with_sign_file(const struct fx *f, const char *hash, const char *key, const char *cert,
				   const char *tag)
{
	char *rel_n = xasprintf("native-%s-%s.ko", tag, hash);
	char *rel_k = xasprintf("kernel-%s-%s.ko", tag, hash);
	char *native = at(f, rel_n), *kernel = at(f, rel_k);
	struct buf err = BUF_INIT;
	buf_init(&err);
	CHECK(copy_file_atomic(f->mod, native, 0640) == 0);
	CHECK(copy_file_atomic(f->mod, kernel, 0644) == 0);
	int r = modsign_file(native, hash, key, cert, &err);
	CHECK(r == 0);
	if (r != 0)
		printf("#   %s\n", err.data);
	struct stat st;
	CHECK(stat(native, &st) == 0 && (st.st_mode & 07777) == 0640); /* mode kept */
	if (!f->sign_file) {
		tap_check(true,
			  "# SKIP no scripts/sign-file under /usr/lib/linux-kbuild-*/ or "
			  "/lib/modules/$(uname -r)/build (install linux-headers)",
			  __FILE__, __LINE__);
	} else {
		CHECK(sh("%s %s %s %s %s", f->sign_file, hash, key, cert, kernel) == 0);
		int eq = files_equal(native, kernel);
		CHECK(eq == 1);
		if (eq != 1)
			printf("#   %s differs from %s (%s, %s)\n", native, kernel, hash, tag);
	}
	free(native);
	free(kernel);
	free(rel_n);
	free(rel_k);
	buf_release(&err);
}

/* What libkmod (which parses the PKCS#7 signature) says about a signed module. */
static void check_kmod_info(const struct fx *f, const char *rel, const char *hash)
{
	char *path = at(f, rel);
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	struct kmod_module *m = NULL;
	struct kmod_list *info = NULL, *l;
	const char *algo = NULL, *signer = NULL, *id = NULL, *name = NULL;
	CHECK(ctx && kmod_module_new_from_path(ctx, path, &m) == 0);
	CHECK(m && kmod_module_get_info(m, &info) > 0);
	kmod_list_foreach(l, info)
	{
		const char *k = kmod_module_info_get_key(l), *v = kmod_module_info_get_value(l);
		if (strcmp(k, "sig_hashalgo") == 0)
			algo = v;
		else if (strcmp(k, "signer") == 0)
			signer = v;
		else if (strcmp(k, "sig_id") == 0)
			id = v;
		else if (strcmp(k, "name") == 0)
			name = v;
	}
	CHECK_STR(algo, hash);
	CHECK_STR(signer, SUBJECT);
	CHECK_STR(id, "PKCS#7");
	CHECK_STR(name, "mfsig"); /* .modinfo still read: the ELF is intact */
	kmod_module_info_free_list(info);
	kmod_module_unref(m);
	kmod_unref(ctx);
	free(path);
}

/* Checks what the kernel expects of the CMS: detached, no certificates, one signer named by
 * issuer and serial, no signed attributes. */
static void check_cms_shape(CMS_ContentInfo *cms)
{
	CHECK(cms && CMS_is_detached(cms) == 1);
	STACK_OF(X509) *inside = cms ? CMS_get1_certs(cms) : NULL;
	CHECK(cms && inside == NULL);
	sk_X509_pop_free(inside, X509_free);
	STACK_OF(CMS_SignerInfo) *sis = cms ? CMS_get0_SignerInfos(cms) : NULL;
	CHECK(sis && sk_CMS_SignerInfo_num(sis) == 1);
	if (!sis || sk_CMS_SignerInfo_num(sis) != 1)
		return;
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	CHECK(CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) == 1);
	CHECK(keyid == NULL && issuer != NULL && serial != NULL);
	CHECK(CMS_signed_get_attr_count(si) < 0);
}

/* An EC key signs (ECDSA is randomised, so no byte comparison): the CMS verifies over the
 * module bytes with the certificate, and the trailer's length is right. */
static void test_ec_key(const struct fx *f)
{
	char *key = at(f, "ec.priv"), *cert = at(f, "ec.pem");
	CHECK(sh("openssl req -new -x509 -nodes -days 1 -subj '/CN=ec signer' -newkey ec "
		 "-pkeyopt ec_paramgen_curve:prime256v1 -keyout %s -out %s >/dev/null 2>&1",
		 key, cert) == 0);
	struct buf mod = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	buf_init(&mod);
	buf_init(&out);
	buf_init(&err);
	CHECK(buf_read_file(&mod, f->mod) == 0);
	CHECK(modsign_buf(mod.data, mod.len, "sha384", key, cert, &out, &err) == 0);
	CHECK(out.len > mod.len + TRAILER_LEN + MAGIC_LEN);
	CHECK(memcmp(out.data, mod.data, mod.len) == 0);
	CHECK(modsign_is_signed(out.data, out.len));
	if (out.len > mod.len + TRAILER_LEN + MAGIC_LEN) {
		const unsigned char *t = (const unsigned char *)out.data + out.len - MAGIC_LEN - TRAILER_LEN;
		size_t sig_len = (size_t)t[8] << 24 | (size_t)t[9] << 16 | (size_t)t[10] << 8 | t[11];
		CHECK(t[2] == 2 && t[0] == 0 && t[1] == 0 && t[3] == 0 && t[4] == 0);
		CHECK(mod.len + sig_len + TRAILER_LEN + MAGIC_LEN == out.len);
		const unsigned char *p = (const unsigned char *)out.data + mod.len;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
		X509 *x = NULL;
		BIO *cb = BIO_new_file(cert, "r");
		if (cb)
			x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
		STACK_OF(X509) *certs = sk_X509_new_null();
		sk_X509_push(certs, x);
		BIO *content = BIO_new_mem_buf(mod.data, (int)mod.len);
		check_cms_shape(cms);
		CHECK(cms && x &&
		      CMS_verify(cms, certs, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1);
		ERR_clear_error();
		BIO_free(content);
		sk_X509_pop_free(certs, X509_free);
		BIO_free(cb);
		CMS_ContentInfo_free(cms);
	}
	buf_release(&mod);
	buf_release(&out);
	buf_release(&err);
	free(key);
	free(cert);
}

static void test_errors(const struct fx *f)
{
	char *ko = at(f, "err.ko"), *key = at(f, "mok.priv"), *cert = at(f, "mok.der");
	char *nokey = at(f, "missing/key.pem"), *other = at(f, "req.der"), *junk = at(f, "junk");
	struct buf err = BUF_INIT, mod = BUF_INIT;
	buf_init(&err);
	buf_init(&mod);
	CHECK(copy_file_atomic(f->mod, ko, 0644) == 0);
	CHECK(buf_read_file(&mod, ko) == 0);
	CHECK(!modsign_is_signed(mod.data, mod.len));
	CHECK(!modsign_is_signed("", 0));

	CHECK(modsign_file(ko, "sha256", nokey, cert, &err) == -ENOENT);
	CHECK(strstr(err.data, nokey) != NULL);
	CHECK(strstr(err.data, ko) != NULL);
	CHECK(strstr(err.data, "No such file or directory") != NULL);
	CHECK(strchr(err.data, '\n') == NULL);
	printf("# the missing-key error reads: %s\n", err.data);
	CHECK(files_equal(ko, f->mod) == 1);

	CHECK(modsign_file(ko, "md4x", key, cert, &err) == -EINVAL);
	CHECK(strstr(err.data, "md4x") != NULL);
	CHECK(modsign_file(ko, NULL, key, cert, NULL) == -EINVAL);
	CHECK(modsign_file(ko, "sha256", key, other, &err) == -EINVAL); /* key of another cert */
	CHECK(strstr(err.data, other) != NULL);
	CHECK(write_file_atomic(junk, "junk\n", 5, 0644) == 0);
	CHECK(modsign_file(ko, "sha256", key, junk, &err) == -EINVAL);
	CHECK(strstr(err.data, junk) != NULL);
	CHECK(modsign_file(ko, "sha256", junk, cert, &err) == -EINVAL);
	CHECK(modsign_file(f->dir, "sha256", key, cert, &err) == -EISDIR);
	CHECK(files_equal(ko, f->mod) == 1);

	CHECK(modsign_file(ko, "sha256", key, cert, &err) == 0);
	buf_reset(&mod);
	CHECK(buf_read_file(&mod, ko) == 0);
	CHECK(modsign_is_signed(mod.data, mod.len));
	char *pattern = at(f, "*.modsign-*");
	glob_t g;
	CHECK(glob(pattern, 0, NULL, &g) == GLOB_NOMATCH); /* no temp file left behind */
	globfree(&g);
	free(pattern);
	free(ko);
	free(key);
	free(cert);
	free(nokey);
	free(other);
	free(junk);
	buf_release(&err);
	buf_release(&mod);
}

int main(void)
{
	struct fx f = { .dir = "/tmp/test_modsign.XXXXXX" };
	if (!mkdtemp(f.dir)) {
		perror("mkdtemp");
		return 1;
	}
	f.sign_file = find_sign_file();
	printf("# sign-file: %s\n", f.sign_file ? f.sign_file : "(none)");
	make_module(&f);
	test_mok(&f);

	char *key = at(&f, "mok.priv"), *der = at(&f, "mok.der"), *pem = at(&f, "mok.pem");
	char *rkey = at(&f, "req.priv"), *rcert = at(&f, "req.der");
	static const char *const all[] = { "sha1", "sha224", "sha256", "sha384", "sha512" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		compare_with_sign_file(&f, all[i], key, der, "mok");
	CHECK(sh("openssl x509 -inform DER -in %s -outform PEM -out %s", der, pem) == 0);
	compare_with_sign_file(&f, "sha256", key, pem, "pem");
	compare_with_sign_file(&f, "sha256", rkey, rcert, "req");
	compare_with_sign_file(&f, "sha512", rkey, rcert, "req");
	check_kmod_info(&f, "native-mok-sha256.ko", "sha256");
	check_kmod_info(&f, "native-mok-sha512.ko", "sha512");
	test_ec_key(&f);
	test_errors(&f);

	free(key);
	free(der);
	free(pem);
	free(rkey);
	free(rcert);
	free(f.mod);
	free(f.sign_file);
	rm_rf(f.dir);
	return tap_done();
}

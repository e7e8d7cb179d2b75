/* tls_certfile.c — load a certificate chain (and optionally its private key) from a PEM
 * bundle, a PKCS#12 file, or a single DER certificate, for offline lint and for client and
 * server credentials.
 *
 * PEM blocks are read in file order, so the chain is exactly what a server configured with
 * this file would send. A key may sit in the same file or in a separate keyfile; whether it
 * belongs to the first certificate is decided by comparing public key IDs.
 *
 * Memory: struct mt_certfile owns its DER copies (heap); release with mt_certfile_free(),
 * which leaves the struct zeroed. The private key itself is never kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include "mailtls/tls.h"

#define CERTFILE_MAX (4u << 20) /* far beyond any real chain; a cap against wrong files */

void mt_certfile_free(struct mt_certfile *cf)
{
	if (!cf)
		return;
	for (size_t i = 0; i < cf->n && i < MT_MAX_CHAIN; i++)
		free(cf->ders[i]);
	memset(cf, 0, sizeof *cf);
}

static mt_status add_der(struct mt_certfile *cf, const unsigned char *p, size_t n,
                         struct mt_err *err)
{
	if (cf->n >= MT_MAX_CHAIN) {
		cf->extra_certs++;
		return MT_OK;
	}
	unsigned char *c = malloc(n ? n : 1);
	if (!c)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	memcpy(c, p, n);
	cf->ders[cf->n] = c;
	cf->lens[cf->n] = n;
	cf->n++;
	return MT_OK;
}

static mt_status add_crt(struct mt_certfile *cf, gnutls_x509_crt_t crt, struct mt_err *err)
{
	gnutls_datum_t d = {NULL, 0};
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d);
	if (rc < 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "cannot export a certificate: %s",
		                  gnutls_strerror(rc));
	mt_status st = add_der(cf, d.data, d.size, err);
	gnutls_free(d.data);
	return st;
}

/* Does the private key belong to the certificate? Same public key, same key ID. */
static bool key_matches(const unsigned char *der, size_t len, gnutls_x509_privkey_t key)
{
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0)
		return false;
	gnutls_datum_t d = {(unsigned char *)der, (unsigned)len};
	unsigned char a[64], b[64];
	size_t an = sizeof a, bn = sizeof b;
	bool ok = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) == 0 &&
	          gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &an) == 0 &&
	          gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &bn) == 0 &&
	          an == bn && memcmp(a, b, an) == 0;
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/* Length of the first DER element (header included), 0 if it does not fit in n. */
static size_t der_outer_len(const unsigned char *p, size_t n)
{
	if (n < 2 || p[0] != 0x30)
		return 0;
	size_t h = 2, l = p[1];
	if (l & 0x80) {
		size_t k = l & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return 0;
		l = 0;
		for (size_t i = 0; i < k; i++)
			l = (l << 8) | p[2 + i];
		h += k;
	}
	return l <= n - h ? h + l : 0;
}

static bool is_key_label(const char *label, size_t n)
{
	static const char suffix[] = "PRIVATE KEY";
	return n >= sizeof suffix - 1 &&
	       !memcmp(label + n - (sizeof suffix - 1), suffix, sizeof suffix - 1);
}

static bool is_cert_label(const char *label, size_t n)
{
	return (n == 11 && !memcmp(label, "CERTIFICATE", 11)) ||
	       (n == 16 && !memcmp(label, "X509 CERTIFICATE", 16)) ||
	       (n == 19 && !memcmp(label, "TRUSTED CERTIFICATE", 19));
}

static unsigned line_of(const char *buf, const char *at)
{
	unsigned line = 1;
	for (const char *p = buf; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Walk PEM blocks in order. Certificates go into cf; the first private key, if `key` is not
 * NULL and still unset, is imported into *key. Other block types (parameters, CRLs) are
 * skipped. Returns the number of certificate and key blocks seen through the counters. */
static mt_status scan_pem(const char *path, const char *buf, size_t len, const char *password,
                          struct mt_certfile *cf, gnutls_x509_privkey_t *key, size_t *ncert,
                          size_t *nkey, struct mt_err *err)
{
	static const char begin[] = "-----BEGIN ";
	const char *end_of_buf = buf + len;
	const char *p = buf;
	*ncert = *nkey = 0;
	while ((p = memmem(p, (size_t)(end_of_buf - p), begin, sizeof begin - 1)) != NULL) {
		const char *label = p + sizeof begin - 1;
		const char *eol = memchr(label, '\n', (size_t)(end_of_buf - label));
		const char *dash = memmem(label, (size_t)(end_of_buf - label), "-----", 5);
		if (!dash || (eol && dash > eol))
			return mt_err_set(err, MT_ERR_BADINPUT, "%s line %u: malformed PEM header",
			                  path, line_of(buf, p));
		size_t ln = (size_t)(dash - label);
		char endmark[96];
		if (ln == 0 || ln > 64)
			return mt_err_set(err, MT_ERR_BADINPUT, "%s line %u: malformed PEM header",
			                  path, line_of(buf, p));
		snprintf(endmark, sizeof endmark, "-----END %.*s-----", (int)ln, label);
		const char *e = memmem(dash, (size_t)(end_of_buf - dash), endmark, strlen(endmark));
		if (!e)
			return mt_err_set(err, MT_ERR_BADINPUT,
			                  "%s line %u: PEM block \"%.*s\" has no END line", path,
			                  line_of(buf, p), (int)ln, label);
		const char *stop = e + strlen(endmark);
		gnutls_datum_t blk = {(unsigned char *)p, (unsigned)(stop - p)};
		if (is_cert_label(label, ln)) {
			(*ncert)++;
			gnutls_x509_crt_t crt;
			if (gnutls_x509_crt_init(&crt) < 0)
				return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
			/* TRUSTED CERTIFICATE (OpenSSL) carries trust settings after the
			 * certificate's DER: decode the base64 here and import only the
			 * certificate element. */
			int rc;
			if (ln == 19) {
				gnutls_datum_t der = {NULL, 0};
				rc = gnutls_pem_base64_decode2("TRUSTED CERTIFICATE", &blk, &der);
				if (rc >= 0) {
					gnutls_datum_t only = {
					    der.data, (unsigned)der_outer_len(der.data, der.size)};
					rc = only.size ? gnutls_x509_crt_import(crt, &only,
					                                        GNUTLS_X509_FMT_DER)
					               : GNUTLS_E_ASN1_DER_ERROR;
					gnutls_free(der.data);
				}
			} else {
				rc = gnutls_x509_crt_import(crt, &blk, GNUTLS_X509_FMT_PEM);
			}
			mt_status st = MT_OK;
			if (rc < 0)
				st = mt_err_set(err, MT_ERR_BADINPUT,
				                "%s line %u: certificate %zu cannot be decoded: %s",
				                path, line_of(buf, p), *ncert, gnutls_strerror(rc));
			else
				st = add_crt(cf, crt, err);
			gnutls_x509_crt_deinit(crt);
			if (st != MT_OK)
				return st;
		} else if (is_key_label(label, ln)) {
			(*nkey)++;
			if (key && !*key) {
				gnutls_x509_privkey_t k;
				if (gnutls_x509_privkey_init(&k) < 0)
					return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
				int rc = gnutls_x509_privkey_import2(k, &blk, GNUTLS_X509_FMT_PEM,
				                                     password, 0);
				if (rc < 0) {
					gnutls_x509_privkey_deinit(k);
					return mt_err_set(
					    err, MT_ERR_BADINPUT,
					    "%s line %u: private key cannot be read%s: %s", path,
					    line_of(buf, p),
					    memmem(label, ln, "ENCRYPTED", 9) ? " (wrong password?)"
					                                      : "",
					    gnutls_strerror(rc));
				}
				*key = k;
			}
		}
		p = stop;
	}
	return MT_OK;
}

static mt_status load_pkcs12(const char *path, const char *data, size_t len, bool pem,
                             const char *password, struct mt_certfile *cf,
                             gnutls_x509_privkey_t *key, struct mt_err *err)
{
	gnutls_pkcs12_t p12;
	if (gnutls_pkcs12_init(&p12) < 0)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	mt_status st = MT_OK;
	gnutls_x509_crt_t *chain = NULL, *extra = NULL;
	unsigned nchain = 0, nextra = 0;
	int rc = gnutls_pkcs12_import(p12, &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, 0);
	if (rc < 0) {
		st = mt_err_set(err, MT_ERR_BADINPUT, "%s is not a readable PKCS#12 file: %s", path,
		                gnutls_strerror(rc));
		goto out;
	}
	/* The MAC is keyed by the password: a mismatch is the plainest sign of a wrong one. */
	rc = gnutls_pkcs12_verify_mac(p12, password ? password : "");
	if (rc < 0 && rc != GNUTLS_E_UNKNOWN_HASH_ALGORITHM && password) {
		st = mt_err_set(err, MT_ERR_BADINPUT, "%s: wrong PKCS#12 password or corrupt file",
		                path);
		goto out;
	}
	rc = gnutls_pkcs12_simple_parse(p12, password, key, &chain, &nchain, &extra, &nextra, NULL,
	                                GNUTLS_PKCS12_SP_INCLUDE_SELF_SIGNED);
	if (rc < 0) {
		if (rc == GNUTLS_E_DECRYPTION_FAILED || rc == GNUTLS_E_MAC_VERIFY_FAILED ||
		    rc == GNUTLS_E_ENCRYPTION_FAILED)
			st = mt_err_set(err, MT_ERR_BADINPUT,
			                "%s: wrong PKCS#12 password or corrupt file%s", path,
			                password ? "" : " (no password given)");
		else
			st = mt_err_set(err, MT_ERR_BADINPUT, "%s: cannot parse PKCS#12: %s", path,
			                gnutls_strerror(rc));
		goto out;
	}
	/* simple_parse puts the key's certificate first and its issuers after it; the
	 * remaining certificates follow in the order the file holds them. */
	for (unsigned i = 0; i < nchain && st == MT_OK; i++)
		st = add_crt(cf, chain[i], err);
	for (unsigned i = 0; i < nextra && st == MT_OK; i++)
		st = add_crt(cf, extra[i], err);
out:
	for (unsigned i = 0; i < nchain; i++)
		gnutls_x509_crt_deinit(chain[i]);
	gnutls_free(chain);
	for (unsigned i = 0; i < nextra; i++)
		gnutls_x509_crt_deinit(extra[i]);
	gnutls_free(extra);
	gnutls_pkcs12_deinit(p12);
	return st;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && mt_strcasecmp(s + n - m, suffix) == 0;
}

mt_status mt_certfile_load(const char *certfile, const char *keyfile, const char *password,
                           struct mt_certfile *cf, struct mt_err *err)
{
	if (!cf)
		return mt_err_set(err, MT_ERR_USAGE, "mt_certfile_load: no result");
	memset(cf, 0, sizeof *cf);
	if (!certfile)
		return mt_err_set(err, MT_ERR_USAGE, "no certificate file given");
	mt_status st = mt_tls_global_init(err);
	if (st != MT_OK)
		return st;

	char *buf = NULL;
	size_t len = 0;
	st = mt_file_read(certfile, CERTFILE_MAX, &buf, &len, err);
	if (st != MT_OK)
		return st;
	if (len == 0) {
		free(buf);
		return mt_err_set(err, MT_ERR_BADINPUT, "%s is empty: no certificate found",
		                  certfile);
	}

	gnutls_x509_privkey_t key = NULL;
	bool has_pem = memmem(buf, len, "-----BEGIN ", 11) != NULL;
	bool p12_pem = memmem(buf, len, "-----BEGIN PKCS12-----", 22) != NULL;
	bool der = !has_pem && (unsigned char)buf[0] == 0x30;
	if (p12_pem ||
	    (der && (ends_with_ci(certfile, ".p12") || ends_with_ci(certfile, ".pfx")))) {
		cf->pkcs12 = true;
		st = load_pkcs12(certfile, buf, len, p12_pem, password, cf, &key, err);
	} else if (der) {
		/* DER without a telling name: a single certificate, else try PKCS#12. */
		gnutls_x509_crt_t crt;
		if (gnutls_x509_crt_init(&crt) < 0) {
			st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		} else {
			gnutls_datum_t d = {(unsigned char *)buf, (unsigned)len};
			if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) == 0) {
				st = add_crt(cf, crt, err);
			} else {
				cf->pkcs12 = true;
				st =
				    load_pkcs12(certfile, buf, len, false, password, cf, &key, err);
			}
			gnutls_x509_crt_deinit(crt);
		}
	} else if (has_pem) {
		size_t nc, nk;
		st = scan_pem(certfile, buf, len, password, cf, &key, &nc, &nk, err);
		if (st == MT_OK && nc == 0)
			st = mt_err_set(err, MT_ERR_BADINPUT, "no certificate found in %s%s",
			                certfile, nk ? " (it holds only a private key)" : "");
	} else {
		st = mt_err_set(err, MT_ERR_BADINPUT,
		                "no certificate found in %s (neither PEM, DER nor PKCS#12)",
		                certfile);
	}
	free(buf);
	buf = NULL;
	if (st == MT_OK && cf->n == 0)
		st = mt_err_set(err, MT_ERR_BADINPUT, "no certificate found in %s", certfile);

	if (st == MT_OK && keyfile) {
		/* A separate key file wins over a key found beside the certificates. */
		if (key) {
			gnutls_x509_privkey_deinit(key);
			key = NULL;
		}
		st = mt_file_read(keyfile, CERTFILE_MAX, &buf, &len, err);
		if (st == MT_OK) {
			struct mt_certfile ignore;
			memset(&ignore, 0, sizeof ignore);
			size_t nc, nk;
			st = scan_pem(keyfile, buf, len, password, &ignore, &key, &nc, &nk, err);
			mt_certfile_free(&ignore);
			if (st == MT_OK && !key)
				st = mt_err_set(err, MT_ERR_BADINPUT,
				                "no PEM private key found in %s", keyfile);
		}
		free(buf);
	}

	if (st == MT_OK && key) {
		cf->has_key = true;
		cf->key_matches = key_matches(cf->ders[0], cf->lens[0], key);
	}
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (st != MT_OK)
		mt_certfile_free(cf);
	return st;
}

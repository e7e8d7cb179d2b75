/* tls_certgen.c — key, self-signed certificate, CSR and demo CA generation; the install
 * check of a CA-signed certificate and its intermediates; PKCS#12 export and import.
 * All with GnuTLS's X.509 and PKCS#12 APIs. Every returned buffer is the caller's.
 */
#include "mailtls/certgen.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include "mailtls/tls.h"

#define GT(call, what)                                                                             \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		if (rc_ < 0) {                                                                     \
			st = mt_err_set(err, MT_ERR_TLS, "%s: %s", what, gnutls_strerror(rc_));    \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static char *datum_to_str(gnutls_datum_t *d)
{
	char *s = malloc(d->size + 1);
	if (s) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

static mt_status key_import(const char *pem, gnutls_x509_privkey_t *key, struct mt_err *err)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	int rc = gnutls_x509_privkey_init(key);
	if (rc < 0)
		return mt_err_set(err, MT_ERR_NOMEM, "key init: %s", gnutls_strerror(rc));
	rc = gnutls_x509_privkey_import2(*key, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
		return mt_err_set(err, MT_ERR_BADINPUT, "cannot read the private key: %s",
		                  gnutls_strerror(rc));
	}
	return MT_OK;
}

mt_status mt_certgen_key(const struct mt_certgen_opts *o, char **key_pem, struct mt_err *err)
{
	mt_status st = MT_OK;
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d = {0};
	*key_pem = NULL;
	if ((st = mt_tls_global_init(err)) != MT_OK)
		return st;
	unsigned bits = o->bits ? o->bits : 2048;
	if (o->type == MT_KEY_RSA && (bits < 2048 || bits > 8192))
		return mt_err_set(err, MT_ERR_USAGE, "RSA key size %u refused (2048 to 8192)",
		                  bits);
	GT(gnutls_x509_privkey_init(&key), "key init");
	if (o->type == MT_KEY_RSA)
		GT(gnutls_x509_privkey_generate(key, GNUTLS_PK_RSA, bits, 0), "RSA key generation");
	else
		GT(gnutls_x509_privkey_generate(
		       key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
		   "ECDSA key generation");
	GT(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d),
	   "key export");
	if (!(*key_pem = datum_to_str(&d)))
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
out:
	if (key)
		gnutls_x509_privkey_deinit(key);
	return st;
}

/* CN and SANs onto a certificate or request. */
static mt_status set_names_crt(gnutls_x509_crt_t crt, const struct mt_certgen_opts *o,
                               struct mt_err *err)
{
	mt_status st = MT_OK;
	GT(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, o->cn, strlen(o->cn)),
	   "subject CN");
	if (o->org)
		GT(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, o->org,
		                                 strlen(o->org)),
		   "subject O");
	size_t n = o->nsans;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *san = n ? o->sans[i] : o->cn;
		unsigned char ip[16];
		if (inet_pton(AF_INET, san, ip) == 1)
			GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
			                                        GNUTLS_FSAN_APPEND),
			   "subjectAltName");
		else if (inet_pton(AF_INET6, san, ip) == 1)
			GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
			                                        GNUTLS_FSAN_APPEND),
			   "subjectAltName");
		else
			GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, san,
			                                        strlen(san), GNUTLS_FSAN_APPEND),
			   "subjectAltName");
	}
out:
	return st;
}

static mt_status check_opts(const struct mt_certgen_opts *o, struct mt_err *err)
{
	if (!o->cn || !*o->cn)
		return mt_err_set(err, MT_ERR_USAGE, "a common name (--cn) is required");
	if (strlen(o->cn) > 64)
		return mt_err_set(err, MT_ERR_USAGE,
		                  "common name over 64 characters (X.520 limit)");
	for (size_t i = 0; i < o->nsans; i++)
		if (!o->sans[i] || !*o->sans[i] || strlen(o->sans[i]) > 253)
			return mt_err_set(err, MT_ERR_USAGE, "empty or overlong subjectAltName");
	return MT_OK;
}

/* Build and sign a certificate for key (issuer NULL: self-signed). */
static mt_status make_cert(gnutls_x509_privkey_t key, const struct mt_certgen_opts *o, bool ca,
                           gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuer_key,
                           gnutls_x509_crt_t *out, struct mt_err *err)
{
	mt_status st = MT_OK;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[16], kid[64];
	size_t kidlen = sizeof kid;
	time_t now = time(NULL);
	int days = o->days ? o->days : 365;
	*out = NULL;
	GT(gnutls_x509_crt_init(&crt), "certificate init");
	GT(gnutls_x509_crt_set_version(crt, 3), "version");
	GT(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial), "random serial");
	serial[0] &= 0x7f; /* positive INTEGER */
	serial[0] |= 0x01;
	GT(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), "serial");
	GT(gnutls_x509_crt_set_activation_time(crt, now - 3600), "notBefore");
	GT(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400), "notAfter");
	GT(gnutls_x509_crt_set_key(crt, key), "public key");
	if ((st = set_names_crt(crt, o, err)) != MT_OK && !ca)
		goto out;
	GT(gnutls_x509_crt_set_basic_constraints(crt, ca ? 1 : 0, ca ? 0 : -1), "basicConstraints");
	if (ca) {
		GT(gnutls_x509_crt_set_key_usage(crt,
		                                 GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
		   "keyUsage");
	} else {
		GT(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
		                                          GNUTLS_KEY_KEY_ENCIPHERMENT),
		   "keyUsage");
		GT(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
		   "extendedKeyUsage");
		GT(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0),
		   "extendedKeyUsage");
	}
	GT(gnutls_x509_privkey_get_key_id(key, 0, kid, &kidlen), "key id");
	GT(gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen), "subjectKeyIdentifier");
	if (issuer) {
		kidlen = sizeof kid;
		if (gnutls_x509_crt_get_subject_key_id(issuer, kid, &kidlen, NULL) >= 0)
			GT(gnutls_x509_crt_set_authority_key_id(crt, kid, kidlen),
			   "authorityKeyIdentifier");
	}
	GT(gnutls_x509_crt_sign2(crt, issuer ? issuer : crt, issuer_key ? issuer_key : key,
	                         GNUTLS_DIG_SHA256, 0),
	   "signing");
	*out = crt;
	crt = NULL;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return st;
}

static mt_status crt_pem(gnutls_x509_crt_t crt, char **pem, struct mt_err *err)
{
	gnutls_datum_t d = {0};
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
	if (rc < 0)
		return mt_err_set(err, MT_ERR_TLS, "certificate export: %s", gnutls_strerror(rc));
	if (!(*pem = datum_to_str(&d)))
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	return MT_OK;
}

mt_status mt_certgen_selfsigned(const char *key_pem, const struct mt_certgen_opts *o,
                                char **cert_pem, struct mt_err *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	*cert_pem = NULL;
	mt_status st = check_opts(o, err);
	if (st == MT_OK)
		st = key_import(key_pem, &key, err);
	if (st == MT_OK)
		st = make_cert(key, o, false, NULL, NULL, &crt, err);
	if (st == MT_OK)
		st = crt_pem(crt, cert_pem, err);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return st;
}

mt_status mt_certgen_csr(const char *key_pem, const struct mt_certgen_opts *o, char **csr_pem,
                         struct mt_err *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d = {0};
	*csr_pem = NULL;
	mt_status st = check_opts(o, err);
	if (st != MT_OK || (st = key_import(key_pem, &key, err)) != MT_OK)
		return st;
	GT(gnutls_x509_crq_init(&crq), "request init");
	GT(gnutls_x509_crq_set_version(crq, 1), "request version");
	GT(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, o->cn, strlen(o->cn)),
	   "request CN");
	if (o->org)
		GT(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, o->org,
		                                 strlen(o->org)),
		   "request O");
	for (size_t i = 0; i < (o->nsans ? o->nsans : 1); i++) {
		const char *san = o->nsans ? o->sans[i] : o->cn;
		unsigned char ip[16];
		gnutls_datum_t v;
		if (inet_pton(AF_INET, san, ip) == 1 || inet_pton(AF_INET6, san, ip) == 1) {
			v.data = ip;
			v.size = strchr(san, ':') ? 16 : 4;
			GT(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, ip,
			                                        v.size, GNUTLS_FSAN_APPEND),
			   "request subjectAltName");
		} else {
			GT(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, san,
			                                        strlen(san), GNUTLS_FSAN_APPEND),
			   "request subjectAltName");
		}
	}
	GT(gnutls_x509_crq_set_key(crq, key), "request key");
	GT(gnutls_x509_crq_set_key_purpose_oid(crq, GNUTLS_KP_TLS_WWW_SERVER, 0), "request EKU");
	GT(gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0), "request signing");
	GT(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &d), "request export");
	if (!(*csr_pem = datum_to_str(&d)))
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
out:
	if (crq)
		gnutls_x509_crq_deinit(crq);
	gnutls_x509_privkey_deinit(key);
	return st;
}

mt_status mt_certgen_demo(const struct mt_certgen_opts *o, char **ca_pem, char **leaf_pem,
                          char **leaf_key_pem, struct mt_err *err)
{
	mt_status st;
	char *cakey = NULL;
	gnutls_x509_privkey_t ck = NULL, lk = NULL;
	gnutls_x509_crt_t ca = NULL, leaf = NULL;
	*ca_pem = *leaf_pem = *leaf_key_pem = NULL;
	struct mt_certgen_opts cao = {.type = o->type, .bits = o->bits, .days = 3650};
	cao.cn = "mailtls receiver demonstration CA (not for production)";
	cao.org = "mailtls demo";
	cao.sans[0] = "demo-ca.invalid";
	cao.nsans = 1;
	if ((st = check_opts(o, err)) != MT_OK)
		goto done;
	if ((st = mt_certgen_key(&cao, &cakey, err)) != MT_OK ||
	    (st = mt_certgen_key(o, leaf_key_pem, err)) != MT_OK)
		goto done;
	if ((st = key_import(cakey, &ck, err)) != MT_OK ||
	    (st = key_import(*leaf_key_pem, &lk, err)) != MT_OK)
		goto done;
	if ((st = make_cert(ck, &cao, true, NULL, NULL, &ca, err)) != MT_OK)
		goto done;
	if ((st = make_cert(lk, o, false, ca, ck, &leaf, err)) != MT_OK)
		goto done;
	if ((st = crt_pem(ca, ca_pem, err)) != MT_OK ||
	    (st = crt_pem(leaf, leaf_pem, err)) != MT_OK)
		goto done;
done:
	if (st != MT_OK) {
		free(*ca_pem);
		free(*leaf_pem);
		free(*leaf_key_pem);
		*ca_pem = *leaf_pem = *leaf_key_pem = NULL;
	}
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (leaf)
		gnutls_x509_crt_deinit(leaf);
	if (ck)
		gnutls_x509_privkey_deinit(ck);
	if (lk)
		gnutls_x509_privkey_deinit(lk);
	free(cakey);
	return st;
}

/* ---- install check ---- */

static mt_status import_list(const char *pem, gnutls_x509_crt_t **list, unsigned *n,
                             const char *what, struct mt_err *err)
{
	*list = NULL;
	*n = 0;
	if (!pem || !*pem)
		return MT_OK;
	if (!strstr(pem, "-----BEGIN CERTIFICATE-----"))
		return mt_err_set(err, MT_ERR_BADINPUT, "%s holds no PEM certificate", what);
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	int rc = gnutls_x509_crt_list_import2(list, n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "cannot parse %s: %s", what,
		                  gnutls_strerror(rc));
	return MT_OK;
}

static void free_list(gnutls_x509_crt_t *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(l[i]);
	gnutls_free(l);
}

static void crt_cn(gnutls_x509_crt_t c, char *out, size_t outsz)
{
	size_t n = outsz;
	if (gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &n) < 0) {
		n = outsz;
		if (gnutls_x509_crt_get_dn(c, out, &n) < 0)
			mt_strlcpy(out, "?", outsz);
	}
}

static bool same_der(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	return gnutls_x509_crt_equals(a, b) != 0;
}

/* b issued a: names match and b's key verifies a's signature. */
static bool issued_by(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	if (!gnutls_x509_crt_check_issuer(a, b))
		return false;
	unsigned status = 0;
	int rc = gnutls_x509_crt_verify(
	    a, &b, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_ALLOW_ANY_X509_V1_CA_CRT,
	    &status);
	return rc >= 0 && !(status & GNUTLS_CERT_SIGNATURE_FAILURE);
}

static bool is_self_issued(gnutls_x509_crt_t c)
{
	return gnutls_x509_crt_check_issuer(c, c) != 0;
}

mt_status mt_certgen_check_install(const char *key_pem, const char *cert_pem, const char *chain_pem,
                                   time_t now, char **out_pem, char **notes, struct mt_err *err)
{
	mt_status st = MT_OK;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *cl = NULL, *xl = NULL, all[MT_MAX_CHAIN];
	unsigned cn = 0, xn = 0, n = 0;
	struct mt_buf pem, nb;
	char name[256], name2[256];
	mt_buf_init(&pem, 1 << 20);
	mt_buf_init(&nb, 4096);
	*out_pem = NULL;
	if (notes)
		*notes = NULL;
	if (!now)
		now = time(NULL);
	if ((st = mt_tls_global_init(err)) != MT_OK)
		return st;
	if ((st = key_import(key_pem, &key, err)) != MT_OK)
		goto out;
	if ((st = import_list(cert_pem, &cl, &cn, "the signed certificate", err)) != MT_OK)
		goto out;
	if (cn == 0) {
		st = mt_err_set(err, MT_ERR_BADINPUT, "no certificate given");
		goto out;
	}
	if ((st = import_list(chain_pem, &xl, &xn, "the intermediates file", err)) != MT_OK)
		goto out;
	if (cn + xn > MT_MAX_CHAIN) {
		st = mt_err_set(err, MT_ERR_VERIFY, "%u certificates: more than %d is not a chain",
		                cn + xn, MT_MAX_CHAIN);
		goto out;
	}
	for (unsigned i = 0; i < cn; i++)
		all[n++] = cl[i];
	for (unsigned i = 0; i < xn; i++)
		all[n++] = xl[i];

	/* 1. the leaf belongs to our key (the CSR's key) */
	unsigned char k1[64], k2[64];
	size_t l1 = sizeof k1, l2 = sizeof k2;
	if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, k1, &l1) < 0 ||
	    gnutls_x509_crt_get_key_id(all[0], GNUTLS_KEYID_USE_SHA256, k2, &l2) < 0 || l1 != l2 ||
	    memcmp(k1, k2, l1)) {
		crt_cn(all[0], name, sizeof name);
		st = mt_err_set(err, MT_ERR_VERIFY,
		                "key mismatch: the certificate for '%s' does not belong to the "
		                "installed private key (was it signed from another CSR?)",
		                name);
		goto out;
	}
	/* 2. no certificate twice */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (same_der(all[i], all[j])) {
				crt_cn(all[j], name, sizeof name);
				st = mt_err_set(err, MT_ERR_VERIFY,
				                "duplicate certificate: '%s' is given twice "
				                "(positions %u and %u); remove the copy",
				                name, i + 1, j + 1);
				goto out;
			}
	/* 3. validity */
	for (unsigned i = 0; i < n; i++) {
		time_t na = gnutls_x509_crt_get_expiration_time(all[i]);
		time_t nbf = gnutls_x509_crt_get_activation_time(all[i]);
		crt_cn(all[i], name, sizeof name);
		if (na != (time_t)-1 && na < now) {
			char when[64];
			struct tm tm;
			gmtime_r(&na, &tm);
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
			st = mt_err_set(
			    err, MT_ERR_VERIFY, "expired certificate: '%s' (%s) expired on %s",
			    name, i == 0 ? "the signed certificate" : "an intermediate", when);
			goto out;
		}
		if (nbf != (time_t)-1 && nbf > now) {
			st =
			    mt_err_set(err, MT_ERR_VERIFY, "certificate not yet valid: '%s'", name);
			goto out;
		}
	}
	/* 4. order: walk from the leaf, each next certificate must issue the previous one */
	bool used[MT_MAX_CHAIN] = {true};
	unsigned order[MT_MAX_CHAIN], no = 1;
	order[0] = 0;
	bool misordered = false;
	for (;;) {
		gnutls_x509_crt_t cur = all[order[no - 1]];
		if (is_self_issued(cur))
			break;
		unsigned found = n;
		for (unsigned j = 0; j < n; j++)
			if (!used[j] && issued_by(cur, all[j])) {
				found = j;
				break;
			}
		if (found == n)
			break;
		if (found != order[no - 1] + 1)
			misordered = true;
		used[found] = true;
		order[no++] = found;
	}
	/* anything not on the path is stale (issues nothing in the chain) */
	for (unsigned j = 0; j < n; j++)
		if (!used[j]) {
			crt_cn(all[j], name, sizeof name);
			crt_cn(all[order[no - 1]], name2, sizeof name2);
			st = mt_err_set(
			    err, MT_ERR_VERIFY,
			    "stale intermediate: '%s' (position %u) issues no certificate "
			    "in this chain (the chain from the leaf ends at '%s'); remove "
			    "it or get the current intermediate from the CA",
			    name, j + 1, name2);
			goto out;
		}
	if (misordered) {
		struct mt_buf ob;
		mt_buf_init(&ob, 2048);
		for (unsigned i = 0; i < no; i++)
			mt_buf_addf(&ob, "%s%u", i ? ", " : "", order[i] + 1);
		st = mt_err_set(err, MT_ERR_VERIFY,
		                "broken order: each certificate must be followed by its issuer; "
		                "the issuing order of the given certificates is %s",
		                mt_buf_str(&ob));
		mt_buf_free(&ob);
		goto out;
	}
	if (no > 1 && is_self_issued(all[order[no - 1]]))
		mt_buf_addf(&nb, "root certificate included (servers need not send it)\n");
	if (no == 1 && !is_self_issued(all[0]))
		mt_buf_addf(&nb, "no intermediates given: clients will see a missing intermediate "
		                 "unless the CA signs directly from a root\n");
	for (unsigned i = 0; i < no; i++) {
		gnutls_datum_t d = {0};
		if (gnutls_x509_crt_export2(all[order[i]], GNUTLS_X509_FMT_PEM, &d) < 0) {
			st = mt_err_set(err, MT_ERR_INTERNAL, "certificate export failed");
			goto out;
		}
		mt_buf_add(&pem, d.data, d.size);
		gnutls_free(d.data);
	}
	if (pem.toobig || !(*out_pem = mt_strdup(mt_buf_str(&pem)))) {
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (notes && nb.len)
		*notes = mt_strdup(mt_buf_str(&nb));
out:
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (cl)
		free_list(cl, cn);
	if (xl)
		free_list(xl, xn);
	mt_buf_free(&pem);
	mt_buf_free(&nb);
	return st;
}

/* ---- PKCS#12 ---- */

mt_status mt_certgen_p12_export(const char *key_pem, const char *chain_pem, const char *password,
                                const char *friendly_name, unsigned char **der, size_t *der_len,
                                struct mt_err *err)
{
	mt_status st = MT_OK;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *cl = NULL;
	unsigned cn = 0;
	gnutls_pkcs12_t p12 = NULL;
	gnutls_pkcs12_bag_t cbag = NULL, kbag = NULL;
	gnutls_datum_t kd = {0}, out = {0};
	unsigned char kid[64];
	size_t kidlen = sizeof kid;
	*der = NULL;
	*der_len = 0;
	if (!password || !*password)
		return mt_err_set(err, MT_ERR_USAGE, "a PKCS#12 export needs a non-empty password");
	if ((st = key_import(key_pem, &key, err)) != MT_OK)
		return st;
	if ((st = import_list(chain_pem, &cl, &cn, "the certificate", err)) != MT_OK)
		goto out;
	if (cn == 0) {
		st = mt_err_set(err, MT_ERR_BADINPUT, "no certificate to export");
		goto out;
	}
	GT(gnutls_x509_privkey_get_key_id(key, 0, kid, &kidlen), "key id");
	gnutls_datum_t kidd = {kid, (unsigned)kidlen};
	GT(gnutls_pkcs12_bag_init(&cbag), "bag init");
	for (unsigned i = 0; i < cn; i++) {
		int idx = gnutls_pkcs12_bag_set_crt(cbag, cl[i]);
		GT(idx, "bag certificate");
		if (i == 0) {
			GT(gnutls_pkcs12_bag_set_key_id(cbag, idx, &kidd), "bag key id");
			if (friendly_name)
				GT(gnutls_pkcs12_bag_set_friendly_name(cbag, idx, friendly_name),
				   "bag name");
		}
	}
	GT(gnutls_pkcs12_bag_encrypt(cbag, password, GNUTLS_PKCS_PBES2_AES_256), "bag encryption");
	GT(gnutls_pkcs12_bag_init(&kbag), "bag init");
	GT(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_DER, password,
	                                     GNUTLS_PKCS_PBES2_AES_256, &kd),
	   "key encryption");
	int idx = gnutls_pkcs12_bag_set_data(kbag, GNUTLS_BAG_PKCS8_ENCRYPTED_KEY, &kd);
	GT(idx, "bag key");
	GT(gnutls_pkcs12_bag_set_key_id(kbag, idx, &kidd), "bag key id");
	GT(gnutls_pkcs12_init(&p12), "PKCS#12 init");
	GT(gnutls_pkcs12_set_bag(p12, cbag), "PKCS#12 bag");
	GT(gnutls_pkcs12_set_bag(p12, kbag), "PKCS#12 bag");
	GT(gnutls_pkcs12_generate_mac2(p12, GNUTLS_MAC_SHA256, password), "PKCS#12 MAC");
	GT(gnutls_pkcs12_export2(p12, GNUTLS_X509_FMT_DER, &out), "PKCS#12 export");
	if (!(*der = malloc(out.size))) {
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*der, out.data, out.size);
	*der_len = out.size;
out:
	gnutls_free(out.data);
	gnutls_free(kd.data);
	if (p12)
		gnutls_pkcs12_deinit(p12);
	if (cbag)
		gnutls_pkcs12_bag_deinit(cbag);
	if (kbag)
		gnutls_pkcs12_bag_deinit(kbag);
	if (cl)
		free_list(cl, cn);
	gnutls_x509_privkey_deinit(key);
	return st;
}

mt_status mt_certgen_p12_import(const unsigned char *der, size_t der_len, const char *password,
                                char **key_pem, char **chain_pem, struct mt_err *err)
{
	mt_status st = MT_OK;
	gnutls_pkcs12_t p12 = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *chain = NULL;
	unsigned chain_len = 0;
	gnutls_datum_t d = {(unsigned char *)der, (unsigned)der_len}, kd = {0};
	struct mt_buf pem;
	mt_buf_init(&pem, 1 << 20);
	*key_pem = *chain_pem = NULL;
	if ((st = mt_tls_global_init(err)) != MT_OK)
		return st;
	GT(gnutls_pkcs12_init(&p12), "PKCS#12 init");
	int rc = gnutls_pkcs12_import(p12, &d, GNUTLS_X509_FMT_DER, 0);
	if (rc < 0) {
		st =
		    mt_err_set(err, MT_ERR_BADINPUT, "not a PKCS#12 file: %s", gnutls_strerror(rc));
		goto out;
	}
	rc = gnutls_pkcs12_verify_mac(p12, password ? password : "");
	if (rc < 0) {
		st = mt_err_set(err, MT_ERR_VERIFY,
		                "wrong password for the PKCS#12 file (its integrity MAC does not "
		                "verify: %s)",
		                gnutls_strerror(rc));
		goto out;
	}
	rc = gnutls_pkcs12_simple_parse(p12, password ? password : "", &key, &chain, &chain_len,
	                                NULL, NULL, NULL, 0);
	if (rc < 0) {
		st = mt_err_set(err,
		                rc == GNUTLS_E_DECRYPTION_FAILED ? MT_ERR_VERIFY : MT_ERR_BADINPUT,
		                "cannot read key and certificate from the PKCS#12 file: %s",
		                gnutls_strerror(rc));
		goto out;
	}
	if (!key || chain_len == 0) {
		st = mt_err_set(err, MT_ERR_BADINPUT,
		                "the PKCS#12 file lacks a private key or its certificate");
		goto out;
	}
	GT(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
	                                     &kd),
	   "key export");
	for (unsigned i = 0; i < chain_len; i++) {
		gnutls_datum_t c = {0};
		GT(gnutls_x509_crt_export2(chain[i], GNUTLS_X509_FMT_PEM, &c),
		   "certificate export");
		mt_buf_add(&pem, c.data, c.size);
		gnutls_free(c.data);
	}
	*key_pem = datum_to_str(&kd);
	*chain_pem = mt_strdup(mt_buf_str(&pem));
	if (!*key_pem || !*chain_pem) {
		free(*key_pem);
		free(*chain_pem);
		*key_pem = *chain_pem = NULL;
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
out:
	gnutls_free(kd.data);
	if (chain)
		free_list(chain, chain_len);
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (p12)
		gnutls_pkcs12_deinit(p12);
	mt_buf_free(&pem);
	return st;
}

mt_status mt_certgen_describe(const char *pem, char **text, struct mt_err *err)
{
	gnutls_x509_crt_t *l = NULL;
	unsigned n = 0;
	struct mt_buf b;
	*text = NULL;
	mt_status st = import_list(pem, &l, &n, "the certificate file", err);
	if (st != MT_OK)
		return st;
	mt_buf_init(&b, 1 << 20);
	for (unsigned i = 0; i < n; i++) {
		char dn[512], idn[512], san[256], when[64], fp[65];
		unsigned char raw[32];
		size_t sz;
		gnutls_datum_t dd = {0};
		mt_strlcpy(dn, "?", sizeof dn);
		mt_strlcpy(idn, "?", sizeof idn);
		if (gnutls_x509_crt_get_dn3(l[i], &dd, 0) >= 0) {
			mt_strlcpy(dn, (char *)dd.data, sizeof dn);
			gnutls_free(dd.data);
		}
		if (gnutls_x509_crt_get_issuer_dn3(l[i], &dd, 0) >= 0) {
			mt_strlcpy(idn, (char *)dd.data, sizeof idn);
			gnutls_free(dd.data);
		}
		time_t na = gnutls_x509_crt_get_expiration_time(l[i]);
		struct tm tm;
		gmtime_r(&na, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
		unsigned bits = 0;
		int alg = gnutls_x509_crt_get_pk_algorithm(l[i], &bits);
		sz = sizeof raw;
		gnutls_x509_crt_get_fingerprint(l[i], GNUTLS_DIG_SHA256, raw, &sz);
		mt_hex(raw, sz, fp);
		mt_buf_addf(&b,
		            "Certificate %u of %u:\n  Subject: %s\n  Issuer: %s\n  Not After: %s\n",
		            i + 1, n, dn, idn, when);
		mt_buf_addf(&b, "  Key: %s %u bits\n  SHA-256: %s\n  SANs:",
		            gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)alg), bits, fp);
		for (unsigned k = 0;; k++) {
			sz = sizeof san - 1;
			unsigned crit = 0;
			int t = gnutls_x509_crt_get_subject_alt_name(l[i], k, san, &sz, &crit);
			if (t < 0)
				break;
			if (t == GNUTLS_SAN_DNSNAME) {
				san[sz] = '\0';
				mt_buf_addf(&b, " DNS:%s", san);
			} else if (t == GNUTLS_SAN_IPADDRESS) {
				char ip[64];
				inet_ntop(sz == 4 ? AF_INET : AF_INET6, san, ip, sizeof ip);
				mt_buf_addf(&b, " IP:%s", ip);
			}
		}
		mt_buf_addf(&b, "\n");
	}
	free_list(l, n);
	*text = mt_strdup(mt_buf_str(&b));
	mt_buf_free(&b);
	return *text ? MT_OK : mt_err_set(err, MT_ERR_NOMEM, "out of memory");
}

mt_status mt_certgen_pem_to_ders(const char *pem, unsigned char ***ders, size_t **lens, size_t *n,
                                 struct mt_err *err)
{
	gnutls_x509_crt_t *l = NULL;
	unsigned cn = 0;
	*ders = NULL;
	*lens = NULL;
	*n = 0;
	mt_status st = import_list(pem, &l, &cn, "the certificate file", err);
	if (st != MT_OK)
		return st;
	*ders = calloc(cn ? cn : 1, sizeof **ders);
	*lens = calloc(cn ? cn : 1, sizeof **lens);
	if (!*ders || !*lens) {
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < cn; i++) {
		gnutls_datum_t d = {0};
		if (gnutls_x509_crt_export2(l[i], GNUTLS_X509_FMT_DER, &d) < 0 ||
		    !((*ders)[i] = malloc(d.size))) {
			gnutls_free(d.data);
			st = mt_err_set(err, MT_ERR_INTERNAL, "certificate export failed");
			goto out;
		}
		memcpy((*ders)[i], d.data, d.size);
		(*lens)[i] = d.size;
		gnutls_free(d.data);
		(*n)++;
	}
out:
	free_list(l, cn);
	return st;
}

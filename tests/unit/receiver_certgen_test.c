/* receiver_certgen_test.c — certificate generation and the install checks
 * (core/tls/tls_certgen.c): key types, CN/SANs in the certificate and CSR, key match,
 * duplicate/stale intermediates, broken order, expiry, PKCS#12 round trip and a wrong
 * password. Chains are built here with GnuTLS so each fault is made on purpose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "mailtls/certgen.h"

/* A CA-style certificate signed by issuer (NULL: self-signed), PEM. */
static char *sign(gnutls_x509_privkey_t key, const char *cn, bool ca, gnutls_x509_crt_t issuer,
                  gnutls_x509_privkey_t ikey, gnutls_x509_crt_t *out)
{
	gnutls_x509_crt_t c;
	unsigned char serial[8];
	time_t now = time(NULL);
	assert_int_equal(gnutls_x509_crt_init(&c), 0);
	gnutls_x509_crt_set_version(c, 3);
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	serial[0] &= 0x7f;
	gnutls_x509_crt_set_serial(c, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(c, now - 3600);
	gnutls_x509_crt_set_expiration_time(c, now + 86400 * 30);
	gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
	gnutls_x509_crt_set_key(c, key);
	gnutls_x509_crt_set_basic_constraints(c, ca, -1);
	if (!ca)
		gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_DNSNAME, cn, strlen(cn),
		                                     GNUTLS_FSAN_SET);
	assert_int_equal(
	    gnutls_x509_crt_sign2(c, issuer ? issuer : c, ikey ? ikey : key, GNUTLS_DIG_SHA256, 0),
	    0);
	gnutls_datum_t d;
	assert_int_equal(gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &d), 0);
	char *s = strndup((char *)d.data, d.size);
	gnutls_free(d.data);
	if (out)
		*out = c;
	else
		gnutls_x509_crt_deinit(c);
	return s;
}

static gnutls_x509_privkey_t ec_key(void)
{
	gnutls_x509_privkey_t k;
	gnutls_x509_privkey_init(&k);
	assert_int_equal(
	    gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
	                                 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	    0);
	return k;
}

static char *key_pem(gnutls_x509_privkey_t k)
{
	gnutls_datum_t d;
	assert_int_equal(
	    gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d),
	    0);
	char *s = strndup((char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static char *cat(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

static void test_generate(void **state)
{
	struct mt_err e;
	struct mt_certgen_opts o = {.type = MT_KEY_ECDSA_P256, .cn = "mx1.example.test"};
	o.sans[o.nsans++] = "mx1.example.test";
	o.sans[o.nsans++] = "192.0.2.7";
	char *key = NULL, *crt = NULL, *csr = NULL, *desc = NULL;
	assert_int_equal(mt_certgen_key(&o, &key, &e), MT_OK);
	assert_non_null(strstr(key, "BEGIN PRIVATE KEY"));
	assert_int_equal(mt_certgen_selfsigned(key, &o, &crt, &e), MT_OK);
	assert_int_equal(mt_certgen_csr(key, &o, &csr, &e), MT_OK);
	assert_non_null(strstr(csr, "BEGIN NEW CERTIFICATE REQUEST"));
	assert_int_equal(mt_certgen_describe(crt, &desc, &e), MT_OK);
	assert_non_null(strstr(desc, "CN=mx1.example.test"));
	assert_non_null(strstr(desc, "DNS:mx1.example.test IP:192.0.2.7"));
	assert_non_null(strstr(desc, "EC"));
	/* the CSR carries the same names */
	gnutls_x509_crq_t q;
	gnutls_x509_crq_init(&q);
	gnutls_datum_t d = {(unsigned char *)csr, (unsigned)strlen(csr)};
	assert_int_equal(gnutls_x509_crq_import(q, &d, GNUTLS_X509_FMT_PEM), 0);
	char san[256];
	size_t sl = sizeof san;
	unsigned type = 0;
	assert_int_equal(gnutls_x509_crq_get_subject_alt_name(q, 0, san, &sl, &type, NULL),
	                 GNUTLS_SAN_DNSNAME);
	assert_memory_equal(san, "mx1.example.test", 16);
	assert_int_equal(gnutls_x509_crq_verify(q, 0), 0); /* self-signature good */
	gnutls_x509_crq_deinit(q);
	/* a self-signed certificate installs over its own key */
	char *out = NULL, *notes = NULL;
	assert_int_equal(mt_certgen_check_install(key, crt, NULL, 0, &out, &notes, &e), MT_OK);
	free(out);
	free(notes);
	/* weak and missing inputs */
	struct mt_certgen_opts weak = {.type = MT_KEY_RSA, .bits = 1024, .cn = "x"};
	char *k2 = NULL;
	assert_int_equal(mt_certgen_key(&weak, &k2, &e), MT_ERR_USAGE);
	struct mt_certgen_opts nocn = {.type = MT_KEY_RSA};
	assert_int_equal(mt_certgen_selfsigned(key, &nocn, &k2, &e), MT_ERR_USAGE);
	assert_int_equal(mt_certgen_selfsigned("not a key", &o, &k2, &e), MT_ERR_BADINPUT);
	free(key);
	free(crt);
	free(csr);
	free(desc);
}

struct pki {
	gnutls_x509_privkey_t rk, ik, ik2, lk, other;
	gnutls_x509_crt_t root, inter, inter2;
	char *root_pem, *inter_pem, *inter2_pem, *leaf_pem, *lkey_pem, *other_pem;
};

static void make_pki(struct pki *p)
{
	memset(p, 0, sizeof *p);
	p->rk = ec_key();
	p->ik = ec_key();
	p->ik2 = ec_key();
	p->lk = ec_key();
	p->other = ec_key();
	p->root_pem = sign(p->rk, "Test Root", true, NULL, NULL, &p->root);
	p->inter_pem = sign(p->ik, "Test Intermediate", true, p->root, p->rk, &p->inter);
	p->inter2_pem = sign(p->ik2, "Old Intermediate", true, p->root, p->rk, &p->inter2);
	p->leaf_pem = sign(p->lk, "mx.example.test", false, p->inter, p->ik, NULL);
	p->lkey_pem = key_pem(p->lk);
	p->other_pem = key_pem(p->other);
}

static void free_pki(struct pki *p)
{
	gnutls_x509_privkey_t ks[] = {p->rk, p->ik, p->ik2, p->lk, p->other};
	for (size_t i = 0; i < 5; i++)
		gnutls_x509_privkey_deinit(ks[i]);
	gnutls_x509_crt_deinit(p->root);
	gnutls_x509_crt_deinit(p->inter);
	gnutls_x509_crt_deinit(p->inter2);
	free(p->root_pem);
	free(p->inter_pem);
	free(p->inter2_pem);
	free(p->leaf_pem);
	free(p->lkey_pem);
	free(p->other_pem);
}

static void test_install_checks(void **state)
{
	struct pki p;
	struct mt_err e;
	make_pki(&p);
	char *ir = cat(p.inter_pem, p.root_pem), *ri = cat(p.root_pem, p.inter_pem);
	char *ii = cat(p.inter_pem, p.inter_pem), *i2 = cat(p.inter_pem, p.inter2_pem);
	struct {
		const char *name, *key, *cert, *chain;
		time_t now;
		mt_status st;
		const char *word;
	} rows[] = {
	    {"good", p.lkey_pem, p.leaf_pem, p.inter_pem, 0, MT_OK, NULL},
	    {"good with root", p.lkey_pem, p.leaf_pem, ir, 0, MT_OK, NULL},
	    {"wrong key", p.other_pem, p.leaf_pem, p.inter_pem, 0, MT_ERR_VERIFY, "key mismatch"},
	    {"duplicate", p.lkey_pem, p.leaf_pem, ii, 0, MT_ERR_VERIFY, "duplicate certificate"},
	    {"stale", p.lkey_pem, p.leaf_pem, i2, 0, MT_ERR_VERIFY, "stale intermediate"},
	    {"order", p.lkey_pem, p.leaf_pem, ri, 0, MT_ERR_VERIFY, "broken order"},
	    {"expired", p.lkey_pem, p.leaf_pem, p.inter_pem, time(NULL) + 86400 * 365,
	     MT_ERR_VERIFY, "expired certificate"},
	    {"not yet valid", p.lkey_pem, p.leaf_pem, p.inter_pem, time(NULL) - 86400,
	     MT_ERR_VERIFY, "not yet valid"},
	    {"garbage", p.lkey_pem, "hello", NULL, 0, MT_ERR_BADINPUT, "no PEM certificate"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *out = NULL, *notes = NULL;
		mt_err_clear(&e);
		mt_status st = mt_certgen_check_install(rows[i].key, rows[i].cert, rows[i].chain,
		                                        rows[i].now, &out, &notes, &e);
		if (st != rows[i].st)
			fail_msg("%s: status %d, expected %d (%s)", rows[i].name, st, rows[i].st,
			         e.msg);
		if (rows[i].word && !strstr(e.msg, rows[i].word))
			fail_msg("%s: '%s' lacks '%s'", rows[i].name, e.msg, rows[i].word);
		if (st == MT_OK) {
			/* leaf first, then the intermediate */
			assert_true(strncmp(out, p.leaf_pem, strlen(p.leaf_pem)) == 0);
			assert_non_null(strstr(out, p.inter_pem));
		}
		if (i == 1)
			assert_non_null(notes && strstr(notes, "root certificate included"));
		free(out);
		free(notes);
	}
	free(ir);
	free(ri);
	free(ii);
	free(i2);

	/* PKCS#12: round trip, then a wrong password */
	char *chain = cat(p.leaf_pem, p.inter_pem), *k = NULL, *c = NULL;
	unsigned char *der = NULL;
	size_t dl = 0;
	assert_int_equal(mt_certgen_p12_export(p.lkey_pem, chain, "s3cret", "mx", &der, &dl, &e),
	                 MT_OK);
	free(der);
	assert_int_equal(mt_certgen_p12_export(p.lkey_pem, chain, "", "mx", &der, &dl, &e),
	                 MT_ERR_USAGE);
	assert_int_equal(mt_certgen_p12_export(p.lkey_pem, chain, "s3cret", "mx", &der, &dl, &e),
	                 MT_OK);
	assert_int_equal(mt_certgen_p12_import(der, dl, "wrong", &k, &c, &e), MT_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "wrong password"));
	assert_int_equal(mt_certgen_p12_import(der, dl, "s3cret", &k, &c, &e), MT_OK);
	assert_non_null(strstr(c, p.leaf_pem));
	char *out = NULL;
	assert_int_equal(mt_certgen_check_install(k, c, NULL, 0, &out, NULL, &e), MT_OK);
	free(out);
	free(k);
	free(c);
	unsigned char junk[64] = {0x30, 0x03, 0x02, 0x01, 0x03};
	assert_int_equal(mt_certgen_p12_import(junk, sizeof junk, "x", &k, &c, &e),
	                 MT_ERR_BADINPUT);
	free(k);
	free(c);
	free(der);
	free(chain);
	free_pki(&p);
}

static void test_demo(void **state)
{
	struct mt_err e;
	struct mt_certgen_opts o = {.type = MT_KEY_RSA, .cn = "localhost"};
	o.sans[o.nsans++] = "localhost";
	o.sans[o.nsans++] = "127.0.0.1";
	char *ca = NULL, *leaf = NULL, *key = NULL, *desc = NULL;
	assert_int_equal(mt_certgen_demo(&o, &ca, &leaf, &key, &e), MT_OK);
	assert_int_equal(mt_certgen_describe(leaf, &desc, &e), MT_OK);
	assert_non_null(strstr(desc, "demonstration CA"));
	assert_non_null(strstr(desc, "RSA 2048"));
	/* the leaf chains to the CA */
	gnutls_x509_crt_t l, c;
	gnutls_datum_t dl = {(unsigned char *)leaf, (unsigned)strlen(leaf)},
	               dc = {(unsigned char *)ca, (unsigned)strlen(ca)};
	gnutls_x509_crt_init(&l);
	gnutls_x509_crt_init(&c);
	assert_int_equal(gnutls_x509_crt_import(l, &dl, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_crt_import(c, &dc, GNUTLS_X509_FMT_PEM), 0);
	unsigned status = 99;
	assert_int_equal(gnutls_x509_crt_verify(l, &c, 1, 0, &status), 0);
	assert_int_equal(status, 0);
	gnutls_x509_crt_deinit(l);
	gnutls_x509_crt_deinit(c);
	free(ca);
	free(leaf);
	free(key);
	free(desc);
}

int main(void)
{
	gnutls_global_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_install_checks),
	    cmocka_unit_test(test_demo),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	gnutls_global_deinit();
	return rc;
}

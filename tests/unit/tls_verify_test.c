/* tls_verify_test.c — chain analysis (core/tls/tls_verify.c) and certificate file loading
 * (core/tls/tls_certfile.c) on a PKI generated at test start by tests/fixtures/pki.sh.
 *
 * Each scenario file is loaded with mt_certfile_load and analysed by mt_verify_chain with
 * the test root as the only anchor; the test asserts the exact set of faults, trust, the
 * per-certificate verify text, name and fingerprint matching, and validity at pinned times.
 * Skips (exit 77) when certtool is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailtls/tls.h"

static char pki[256];

/* A path inside the PKI directory. Strings live until the end of the run, because options
 * keep pointers to them (a rotating buffer here once made cafile change under a test). */
static const char *path(const char *name)
{
	static char buf[256][320];
	static size_t k;
	if (k == 256)
		k = 0; /* far more than any test uses at once */
	char *p = buf[k++];
	snprintf(p, sizeof buf[0], "%s/%s", pki, name);
	return p;
}

static const char *ca_path(void)
{
	static char ca[320];
	snprintf(ca, sizeof ca, "%s/ca.pem", pki);
	return ca;
}

/* 2020-06-01, 2022-01-01, 2035-06-01, 2050-01-15, all 00:00:00 UTC. */
#define T_2020_06_01 ((time_t)1590969600)
#define T_2022_01_01 ((time_t)1640995200)
#define T_2035_06_01 ((time_t)2064355200)
#define T_2050_01_15 ((time_t)2525817600)

static void base_opts(struct mt_verify_opts *o)
{
	mt_verify_opts_init(o);
	o->cafile = ca_path();
	o->no_system_ca = true;
	struct mt_err err;
	assert_int_equal(mt_verify_opts_add_ref(o, "mx.test.example", true, &err), MT_OK);
}

static void load(const char *file, struct mt_certfile *cf)
{
	struct mt_err err = {{0}};
	mt_status st = mt_certfile_load(path(file), NULL, NULL, cf, &err);
	if (st != MT_OK)
		fail_msg("loading %s: %s", file, err.msg);
}

static void analyse(const char *file, const struct mt_verify_opts *o, struct mt_verify_result *r)
{
	struct mt_certfile cf;
	load(file, &cf);
	struct mt_err err = {{0}};
	mt_status st =
	    mt_verify_chain((const unsigned char *const *)cf.ders, cf.lens, cf.n, o, r, &err);
	mt_certfile_free(&cf);
	if (st != MT_OK)
		fail_msg("verifying %s: %s", file, err.msg);
}

static uint64_t fault_set(const struct mt_verify_result *r)
{
	uint64_t m = 0;
	for (size_t i = 0; i < r->nfindings; i++)
		m |= UINT64_C(1) << r->findings[i].fault;
	return m;
}

static void dump(const char *what, const struct mt_verify_result *r)
{
	fprintf(stderr, "%s: trusted=%d trust=\"%s\"\n", what, r->trusted, r->trust_text);
	for (size_t i = 0; i < r->ncerts; i++)
		fprintf(stderr, "  cert %zu %s: %s\n", i, r->certs[i].subject,
		        r->certs[i].verify_text);
	for (size_t i = 0; i < r->nfindings; i++)
		fprintf(stderr, "  finding %s sev=%d cert=%d: %s\n",
		        mt_fault_name(r->findings[i].fault), r->findings[i].severity,
		        r->findings[i].cert, r->findings[i].detail);
}

static const struct mt_finding *find(const struct mt_verify_result *r, enum mt_fault f)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].fault == f)
			return &r->findings[i];
	return NULL;
}

#define F(x) (UINT64_C(1) << MT_FAULT_##x)

/* ---- scenarios at the real time ---- */

/* clang-format off */
static const struct scenario {
	const char *file;
	bool lint;
	uint64_t faults;  /* exactly these */
	uint64_t ignore;  /* may or may not be present (depends on GnuTLS's default policy) */
	int trusted;      /* 1, 0, or -1 for "depends on policy" */
	const char *leaf_text;
	const char *matched_id; /* NULL: name must not match */
} scenarios[] = {
    {"good.chain.pem", false, 0, 0, 1, "ok", "DNS:mx.test.example"},
    {"good.chain.pem", true, 0, 0, 1, "ok", "DNS:mx.test.example"},
    {"good.noint.pem", false, F(MISSING_INTERMEDIATE) | F(UNTRUSTED), 0, 0, "issuer not found",
     "DNS:mx.test.example"},
    {"good.dup.pem", false, F(DUPLICATE_CERT), 0, 1, "ok", "DNS:mx.test.example"},
    /* the first certificate is what a client takes as the server's: here the intermediate */
    {"good.wrongorder.pem", false, F(WRONG_ORDER) | F(CN_ONLY) | F(NAME_MISMATCH), 0, 1, "ok",
     NULL},
    {"good.withroot.pem", false, F(ROOT_SENT), 0, 1, "ok", "DNS:mx.test.example"},
    {"good.stale.pem", false, 0, 0, 1, "ok", "DNS:mx.test.example"},
    {"good.stale.pem", true, F(STALE_INTERMEDIATE), 0, 1, "ok", "DNS:mx.test.example"},
    {"good.combined.pem", false, 0, 0, 1, "ok", "DNS:mx.test.example"},
    {"expired.chain.pem", false, F(EXPIRED) | F(UNTRUSTED), 0, 0, "certificate has expired",
     "DNS:mx.test.example"},
    {"notyet.chain.pem", false, F(NOT_YET_VALID) | F(UNTRUSTED), 0, 0,
     "certificate is not yet valid", "DNS:mx.test.example"},
    {"mismatch.chain.pem", false, F(NAME_MISMATCH), 0, 1, "ok", NULL},
    {"wildcard.chain.pem", false, 0, 0, 1, "ok", "DNS:*.test.example"},
    {"cnonly.chain.pem", false, F(CN_ONLY), 0, 1, "ok", "CN:mx.test.example"},
    {"weakkey.chain.pem", false, F(WEAK_KEY), F(UNTRUSTED), -1, NULL, "DNS:mx.test.example"},
    {"sha1.chain.pem", false, F(WEAK_SIGNATURE), F(UNTRUSTED), -1,
     "insecure signature algorithm", "DNS:mx.test.example"},
    {"expiring.chain.pem", false, F(EXPIRING), 0, 1, "ok", "DNS:mx.test.example"},
    {"selfsigned.chain.pem", false, F(SELF_SIGNED) | F(UNTRUSTED), 0, 0, "self-signed",
     "DNS:mx.test.example"},
    /* issued by a CA that is not trusted here */
    {"client.pem", false, F(MISSING_INTERMEDIATE) | F(UNTRUSTED) | F(NAME_MISMATCH) | F(CN_ONLY), 0, 0,
     "issuer not found", NULL},
};
/* clang-format on */

static void test_scenarios(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		const struct scenario *s = &scenarios[i];
		struct mt_verify_opts o;
		base_opts(&o);
		o.lint = s->lint;
		struct mt_verify_result r;
		analyse(s->file, &o, &r);
		uint64_t got = fault_set(&r) & ~s->ignore;
		if (got != s->faults || (s->trusted >= 0 && r.trusted != (s->trusted == 1))) {
			dump(s->file, &r);
			fail_msg("%s (lint=%d): faults %#llx, expected %#llx; trusted %d", s->file,
			         s->lint, (unsigned long long)got, (unsigned long long)s->faults,
			         r.trusted);
		}
		if (r.trusted)
			assert_string_equal(r.trust_text, "ok");
		else
			assert_string_not_equal(r.trust_text, "ok");
		if (s->leaf_text && strcmp(r.certs[0].verify_text, s->leaf_text)) {
			dump(s->file, &r);
			fail_msg("%s: leaf verify text \"%s\", expected \"%s\"", s->file,
			         r.certs[0].verify_text, s->leaf_text);
		}
		assert_true(r.name_checked);
		assert_int_equal(r.name_matched, s->matched_id != NULL);
		if (s->matched_id) {
			assert_string_equal(r.matched_id, s->matched_id);
			assert_string_equal(r.matched_ref, "mx.test.example");
			assert_true(r.matched_secure);
		}
		assert_false(r.fingerprint_checked);
		mt_verify_result_free(&r);
	}
}

/* ---- details and severities ---- */

static void test_details(void **state)
{
	(void)state;
	struct mt_verify_opts o;
	struct mt_verify_result r;
	const struct mt_finding *f;

	base_opts(&o);
	analyse("good.dup.pem", &o, &r);
	f = find(&r, MT_FAULT_DUPLICATE_CERT);
	assert_non_null(f);
	assert_int_equal(f->cert, 2);
	assert_non_null(strstr(f->detail, "certificate 3 is a duplicate of certificate 2"));
	assert_string_equal(r.certs[1].sha256, r.certs[2].sha256);
	mt_verify_result_free(&r);

	/* leaf, leaf, int: a duplicate, but not disorder; the copy verifies like the original */
	struct mt_certfile cf;
	load("good.chain.pem", &cf);
	const unsigned char *lli[3] = {cf.ders[0], cf.ders[0], cf.ders[1]};
	size_t llil[3] = {cf.lens[0], cf.lens[0], cf.lens[1]};
	struct mt_err err;
	assert_int_equal(mt_verify_chain(lli, llil, 3, &o, &r, &err), MT_OK);
	if (fault_set(&r) != F(DUPLICATE_CERT) || !r.trusted)
		dump("leaf,leaf,int", &r);
	assert_int_equal(fault_set(&r), F(DUPLICATE_CERT));
	assert_true(r.trusted);
	assert_string_equal(r.certs[1].verify_text, "ok");
	mt_verify_result_free(&r);
	mt_certfile_free(&cf);

	analyse("good.wrongorder.pem", &o, &r);
	f = find(&r, MT_FAULT_WRONG_ORDER);
	assert_non_null(f);
	assert_int_equal(f->cert, 1);
	assert_non_null(
	    strstr(f->detail, "certificate 2 (mx.test.example) is issued by certificate 1"));
	mt_verify_result_free(&r);

	analyse("good.withroot.pem", &o, &r);
	f = find(&r, MT_FAULT_ROOT_SENT);
	assert_non_null(f);
	assert_int_equal(f->cert, 2);
	assert_int_equal(f->severity, MT_SEV_INFO);
	assert_true(r.certs[2].self_signed);
	assert_true(r.certs[2].is_ca);
	assert_true(r.certs[2].is_anchor);
	assert_false(r.certs[1].is_anchor);
	assert_false(r.certs[1].self_signed);
	assert_string_equal(r.certs[2].verify_text, "ok");
	mt_verify_result_free(&r);

	o.lint = true;
	analyse("good.stale.pem", &o, &r);
	f = find(&r, MT_FAULT_STALE_INTERMEDIATE);
	assert_non_null(f);
	assert_int_equal(f->cert, 2);
	assert_non_null(strstr(f->detail, "mailtls Stale Intermediate"));
	mt_verify_result_free(&r);
	o.lint = false;

	analyse("good.noint.pem", &o, &r);
	f = find(&r, MT_FAULT_MISSING_INTERMEDIATE);
	assert_non_null(f);
	assert_int_equal(f->cert, 0);
	assert_int_equal(f->severity, MT_SEV_ERROR);
	assert_non_null(strstr(f->detail, "mailtls Test Intermediate CA"));
	f = find(&r, MT_FAULT_UNTRUSTED);
	assert_non_null(f);
	assert_string_equal(f->detail, r.trust_text);
	mt_verify_result_free(&r);

	analyse("mismatch.chain.pem", &o, &r);
	f = find(&r, MT_FAULT_NAME_MISMATCH);
	assert_non_null(f);
	assert_non_null(strstr(f->detail, "tried mx.test.example"));
	assert_non_null(strstr(f->detail, "DNS:other.example.net"));
	mt_verify_result_free(&r);

	analyse("weakkey.chain.pem", &o, &r);
	f = find(&r, MT_FAULT_WEAK_KEY);
	assert_non_null(f);
	assert_int_equal(f->cert, 0);
	assert_non_null(strstr(f->detail, "1024-bit RSA"));
	assert_int_equal(r.certs[0].key_bits, 1024);
	mt_verify_result_free(&r);

	analyse("sha1.chain.pem", &o, &r);
	f = find(&r, MT_FAULT_WEAK_SIGNATURE);
	assert_non_null(f);
	assert_int_equal(f->cert, 0);
	assert_non_null(strstr(f->detail, "SHA1"));
	assert_string_equal(r.certs[1].verify_text, "ok");
	mt_verify_result_free(&r);

	analyse("expiring.chain.pem", &o, &r);
	f = find(&r, MT_FAULT_EXPIRING);
	assert_non_null(f);
	assert_int_equal(f->severity, MT_SEV_WARN);
	assert_true(strstr(f->detail, "(in 9 days") || strstr(f->detail, "(in 10 days"));
	mt_verify_result_free(&r);
	o.warn_days = 5;
	analyse("expiring.chain.pem", &o, &r);
	assert_false(mt_verify_has_fault(&r, MT_FAULT_EXPIRING));
	mt_verify_result_free(&r);
	o.warn_days = 0;
	analyse("expiring.chain.pem", &o, &r);
	assert_int_equal(r.nfindings, 0);
	mt_verify_result_free(&r);

	/* A self-signed certificate that is itself the anchor: trusted, and only noted. */
	base_opts(&o);
	o.cafile = path("selfsigned.pem");
	analyse("selfsigned.pem", &o, &r);
	assert_true(r.trusted);
	assert_true(r.certs[0].is_anchor);
	assert_true(r.certs[0].self_signed);
	f = find(&r, MT_FAULT_SELF_SIGNED);
	assert_non_null(f);
	assert_int_equal(f->severity, MT_SEV_INFO);
	assert_false(mt_verify_has_fault(&r, MT_FAULT_UNTRUSTED));
	mt_verify_result_free(&r);
}

/* ---- what is recorded about each certificate ---- */

/* Read "sha256:<hex>" after `label` in certtool's description of a certificate. */
static bool certtool_hash(const char *file, const char *label, char out[65])
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "certtool -i --infile '%.400s' 2>/dev/null", path(file));
	FILE *p = popen(cmd, "r");
	if (!p)
		return false;
	char line[512];
	bool want = false, ok = false;
	while (fgets(line, sizeof line, p)) {
		if (strstr(line, label))
			want = true;
		const char *h = want ? strstr(line, "sha256:") : NULL;
		if (h && !ok) {
			ok = sscanf(h + 7, "%64[0-9a-f]", out) == 1 && strlen(out) == 64;
			want = false;
		}
	}
	pclose(p);
	return ok;
}

static void test_cert_info(void **state)
{
	(void)state;
	struct mt_verify_opts o;
	struct mt_verify_result r;
	base_opts(&o);
	analyse("good.chain.pem", &o, &r);
	assert_int_equal(r.ncerts, 2);
	const struct mt_cert_info *c = &r.certs[0];
	assert_string_equal(c->subject, "CN=mx.test.example");
	assert_string_equal(c->issuer, "CN=mailtls Test Intermediate CA,O=mailtls tests");
	assert_string_equal(c->cn, "mx.test.example");
	assert_int_equal(c->n_dns, 2);
	assert_string_equal(c->dns_names[0], "mx.test.example");
	assert_string_equal(c->dns_names[1], "localhost");
	assert_int_equal(c->n_ip, 2);
	assert_string_equal(c->ip_addrs[0], "127.0.0.1");
	assert_string_equal(c->ip_addrs[1], "::1");
	assert_string_equal(c->key_type, "RSA");
	assert_int_equal(c->key_bits, 2048);
	assert_string_equal(c->sig_alg, "ECDSA-SHA256");
	assert_false(c->is_ca);
	assert_false(c->self_signed);
	assert_false(c->is_anchor);
	assert_true(c->der_len > 100);
	assert_int_equal(c->der[0], 0x30);
	long days = (long)((c->not_after - c->not_before) / 86400);
	assert_true(days >= 365 && days <= 366);
	assert_true(c->not_before <= time(NULL) + 60);

	char fp[65];
	assert_true(certtool_hash("good.pem", "Fingerprint", fp));
	assert_string_equal(c->sha256, fp);
	assert_true(certtool_hash("good.pem", "Public Key ID", fp));
	assert_string_equal(c->spki_sha256, fp);
	assert_string_not_equal(c->sha256, c->spki_sha256);

	const struct mt_cert_info *ci = &r.certs[1];
	assert_string_equal(ci->cn, "mailtls Test Intermediate CA");
	assert_string_equal(ci->key_type, "EC");
	assert_int_equal(ci->key_bits, 256);
	assert_true(ci->is_ca);
	assert_int_equal(ci->n_dns, 0);
	assert_int_equal(ci->not_after, (time_t)2524521600); /* 2049-12-31 00:00:00 UTC */
	mt_verify_result_free(&r);

	analyse("wildcard.chain.pem", &o, &r);
	assert_int_equal(r.certs[0].n_dns, 1);
	assert_string_equal(r.certs[0].dns_names[0], "*.test.example");
	mt_verify_result_free(&r);
}

/* ---- pinned time ---- */

static void test_pinned_time(void **state)
{
	(void)state;
	struct mt_verify_opts o;
	struct mt_verify_result r;
	const struct mt_finding *f;
	base_opts(&o);

	/* Inside its validity the expired certificate is fine. */
	o.now = T_2020_06_01;
	analyse("expired.chain.pem", &o, &r);
	if (r.nfindings || !r.trusted)
		dump("expired@2020", &r);
	assert_true(r.trusted);
	assert_int_equal(r.nfindings, 0);
	assert_string_equal(r.certs[0].verify_text, "ok");
	mt_verify_result_free(&r);

	o.now = T_2022_01_01;
	analyse("expired.chain.pem", &o, &r);
	assert_false(r.trusted);
	f = find(&r, MT_FAULT_EXPIRED);
	assert_non_null(f);
	assert_int_equal(f->cert, 0);
	assert_int_equal(f->severity, MT_SEV_ERROR);
	assert_non_null(strstr(f->detail, "expired 2021-01-01 00:00:00 UTC (365 days ago)"));
	assert_non_null(strstr(r.trust_text, "expired"));
	mt_verify_result_free(&r);

	o.now = T_2035_06_01;
	analyse("notyet.chain.pem", &o, &r);
	assert_true(r.trusted);
	assert_false(mt_verify_has_fault(&r, MT_FAULT_NOT_YET_VALID));
	mt_verify_result_free(&r);

	o.now = T_2022_01_01;
	analyse("notyet.chain.pem", &o, &r);
	assert_false(r.trusted);
	f = find(&r, MT_FAULT_NOT_YET_VALID);
	assert_non_null(f);
	assert_non_null(strstr(f->detail, "not valid before 2035-01-01 00:00:00 UTC"));
	mt_verify_result_free(&r);

	/* The intermediate (and the anchor) end on 2049-12-31. */
	o.now = T_2050_01_15;
	analyse("good.chain.pem", &o, &r);
	assert_false(r.trusted);
	assert_string_equal(r.certs[1].verify_text, "certificate has expired");
	size_t expired = 0;
	for (size_t i = 0; i < r.nfindings; i++)
		expired += r.findings[i].fault == MT_FAULT_EXPIRED;
	assert_int_equal(expired, 2);
	mt_verify_result_free(&r);

	/* Expiring, counted from the pinned time. */
	analyse("good.chain.pem", &o, &r);
	time_t na = r.certs[0].not_after;
	mt_verify_result_free(&r);
	o.now = na - 20 * 86400 - 3600;
	analyse("good.chain.pem", &o, &r);
	f = find(&r, MT_FAULT_EXPIRING);
	assert_non_null(f);
	assert_non_null(strstr(f->detail, "(in 20 days"));
	assert_true(r.trusted);
	mt_verify_result_free(&r);
	o.now = na + 5 * 86400 + 3600;
	analyse("good.chain.pem", &o, &r);
	f = find(&r, MT_FAULT_EXPIRED);
	assert_non_null(f);
	assert_non_null(strstr(f->detail, "(5 days ago)"));
	mt_verify_result_free(&r);
}

/* ---- reference names ---- */

static void test_names(void **state)
{
	(void)state;
	struct mt_verify_opts o;
	struct mt_verify_result r;
	struct mt_err err;

	mt_verify_opts_init(&o);
	o.cafile = ca_path();
	o.no_system_ca = true;
	analyse("good.chain.pem", &o, &r);
	assert_false(r.name_checked);
	assert_false(r.name_matched);
	assert_false(mt_verify_has_fault(&r, MT_FAULT_NAME_MISMATCH));
	mt_verify_result_free(&r);

	assert_int_equal(mt_verify_opts_add_ref(&o, "nomatch.example", true, &err), MT_OK);
	assert_int_equal(mt_verify_opts_add_ref(&o, "MX.Test.Example.", false, &err), MT_OK);
	analyse("good.chain.pem", &o, &r);
	assert_true(r.name_matched);
	assert_string_equal(r.matched_ref, "mx.test.example");
	assert_string_equal(r.matched_id, "DNS:mx.test.example");
	assert_false(r.matched_secure);
	mt_verify_result_free(&r);

	static const struct {
		const char *ref, *id;
	} ips[] = {
	    {"127.0.0.1", "IP:127.0.0.1"}, {"::1", "IP:::1"}, {"localhost", "DNS:localhost"}};
	for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
		mt_verify_opts_init(&o);
		o.cafile = ca_path();
		o.no_system_ca = true;
		assert_int_equal(mt_verify_opts_add_ref(&o, ips[i].ref, true, &err), MT_OK);
		analyse("good.chain.pem", &o, &r);
		assert_true(r.name_matched);
		assert_string_equal(r.matched_id, ips[i].id);
		assert_true(r.matched_secure);
		mt_verify_result_free(&r);
	}

	/* No match: every name tried and every name found is listed. */
	mt_verify_opts_init(&o);
	o.cafile = ca_path();
	o.no_system_ca = true;
	assert_int_equal(mt_verify_opts_add_ref(&o, "a.test.example", true, &err), MT_OK);
	assert_int_equal(mt_verify_opts_add_ref(&o, "127.0.0.2", true, &err), MT_OK);
	analyse("good.chain.pem", &o, &r);
	assert_false(r.name_matched);
	const struct mt_finding *f = find(&r, MT_FAULT_NAME_MISMATCH);
	assert_non_null(f);
	assert_non_null(strstr(f->detail, "tried a.test.example, 127.0.0.2"));
	assert_non_null(
	    strstr(f->detail, "DNS:mx.test.example, DNS:localhost, IP:127.0.0.1, IP:::1"));
	mt_verify_result_free(&r);

	/* The wildcard covers one label only. */
	mt_verify_opts_init(&o);
	o.cafile = ca_path();
	o.no_system_ca = true;
	assert_int_equal(mt_verify_opts_add_ref(&o, "a.b.test.example", true, &err), MT_OK);
	analyse("wildcard.chain.pem", &o, &r);
	assert_false(r.name_matched);
	assert_true(mt_verify_has_fault(&r, MT_FAULT_NAME_MISMATCH));
	mt_verify_result_free(&r);
}

/* ---- fingerprints ---- */

static void colonize_upper(const char *hex, char *out)
{
	size_t k = 0;
	for (size_t i = 0; hex[i]; i++) {
		if (i && i % 2 == 0)
			out[k++] = ':';
		out[k++] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
	}
	out[k] = '\0';
}

static void test_fingerprints(void **state)
{
	(void)state;
	struct mt_verify_opts o;
	struct mt_verify_result r;
	base_opts(&o);
	analyse("good.chain.pem", &o, &r);
	char leaf_fp[65], int_spki[65], leaf_spki[65];
	strcpy(leaf_fp, r.certs[0].sha256);
	strcpy(int_spki, r.certs[1].spki_sha256);
	strcpy(leaf_spki, r.certs[0].spki_sha256);
	mt_verify_result_free(&r);

	char colons[100];
	colonize_upper(leaf_fp, colons);
	const char *good_sets[][2] = {
	    {leaf_fp, NULL}, {colons, NULL}, {int_spki, NULL}, {"00", leaf_spki}};
	for (size_t i = 0; i < 4; i++) {
		o.fingerprints[0] = good_sets[i][0];
		o.fingerprints[1] = good_sets[i][1];
		o.nfingerprints = good_sets[i][1] ? 2 : 1;
		analyse("good.chain.pem", &o, &r);
		assert_true(r.fingerprint_checked);
		if (!r.fingerprint_matched)
			fail_msg("fingerprint set %zu did not match", i);
		assert_false(mt_verify_has_fault(&r, MT_FAULT_FINGERPRINT_MISMATCH));
		mt_verify_result_free(&r);
	}

	/* One digit off. */
	char off[65];
	strcpy(off, leaf_fp);
	off[10] = off[10] == '0' ? '1' : '0';
	o.fingerprints[0] = off;
	o.nfingerprints = 1;
	analyse("good.chain.pem", &o, &r);
	assert_true(r.fingerprint_checked);
	assert_false(r.fingerprint_matched);
	const struct mt_finding *f = find(&r, MT_FAULT_FINGERPRINT_MISMATCH);
	assert_non_null(f);
	assert_non_null(strstr(f->detail, leaf_fp));
	mt_verify_result_free(&r);

	/* The pin of another chain's certificate does not match this one. */
	analyse("mismatch.chain.pem", &o, &r);
	char other[65];
	strcpy(other, r.certs[0].sha256);
	mt_verify_result_free(&r);
	o.fingerprints[0] = other;
	analyse("good.chain.pem", &o, &r);
	assert_false(r.fingerprint_matched);
	mt_verify_result_free(&r);
}

/* ---- the result container and bad input ---- */

static void test_findings_cap(void **state)
{
	(void)state;
	struct mt_verify_result r;
	memset(&r, 0, sizeof r);
	mt_verify_result_free(&r); /* zeroed: a no-op */
	assert_false(mt_verify_has_fault(&r, MT_FAULT_EXPIRED));
	for (int i = 0; i < MT_MAX_FINDINGS + 6; i++)
		mt_verify_add_finding(&r, i == 3 ? MT_FAULT_EXPIRED : MT_FAULT_WEAK_KEY,
		                      MT_SEV_WARN, i, "finding %d", i);
	assert_int_equal(r.nfindings, MT_MAX_FINDINGS);
	assert_true(mt_verify_has_fault(&r, MT_FAULT_EXPIRED));
	assert_false(mt_verify_has_fault(&r, MT_FAULT_REVOKED));
	assert_string_equal(r.findings[0].detail, "finding 0");
	assert_non_null(strstr(r.findings[MT_MAX_FINDINGS - 1].detail, "further findings dropped"));
	/* said once, however many are dropped */
	const char *first = strstr(r.findings[MT_MAX_FINDINGS - 1].detail, "further");
	assert_null(strstr(first + 1, "further"));
	mt_verify_result_free(&r);
	assert_int_equal(r.nfindings, 0);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct mt_verify_opts o;
	struct mt_verify_result r;
	struct mt_err err;
	base_opts(&o);

	assert_int_equal(mt_verify_chain(NULL, NULL, 0, &o, &r, &err), MT_ERR_BADINPUT);
	assert_int_equal(r.ncerts, 0);

	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	const unsigned char *ders[1] = {junk};
	size_t lens[1] = {sizeof junk};
	assert_int_equal(mt_verify_chain(ders, lens, 1, &o, &r, &err), MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "cannot be decoded"));
	assert_int_equal(r.ncerts, 0);
	assert_int_equal(r.nfindings, 0);

	struct mt_certfile cf;
	load("good.chain.pem", &cf);
	o.cafile = path("no-such-ca.pem");
	assert_int_equal(
	    mt_verify_chain((const unsigned char *const *)cf.ders, cf.lens, cf.n, &o, &r, &err),
	    MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "no-such-ca.pem"));
	assert_int_equal(r.ncerts, 0);

	o.cafile = path("good.key"); /* readable, but no certificate in it */
	assert_int_equal(
	    mt_verify_chain((const unsigned char *const *)cf.ders, cf.lens, cf.n, &o, &r, &err),
	    MT_ERR_BADINPUT);

	/* More than MT_MAX_CHAIN certificates: the first ones are analysed, the rest noted. */
	const unsigned char *many[MT_MAX_CHAIN + 2];
	size_t manyl[MT_MAX_CHAIN + 2];
	many[0] = cf.ders[0];
	manyl[0] = cf.lens[0];
	for (size_t i = 1; i < MT_MAX_CHAIN + 2; i++) {
		many[i] = cf.ders[1];
		manyl[i] = cf.lens[1];
	}
	o.cafile = ca_path();
	assert_int_equal(mt_verify_chain(many, manyl, MT_MAX_CHAIN + 2, &o, &r, &err), MT_OK);
	assert_int_equal(r.ncerts, MT_MAX_CHAIN);
	assert_true(mt_verify_has_fault(&r, MT_FAULT_CHAIN_TOO_LONG));
	assert_true(mt_verify_has_fault(&r, MT_FAULT_DUPLICATE_CERT));
	mt_verify_result_free(&r);

	/* The system store alone does not trust the test root. */
	mt_verify_opts_init(&o);
	assert_int_equal(
	    mt_verify_chain((const unsigned char *const *)cf.ders, cf.lens, cf.n, &o, &r, &err),
	    MT_OK);
	assert_false(r.trusted);
	assert_true(mt_verify_has_fault(&r, MT_FAULT_UNTRUSTED));
	mt_verify_result_free(&r);
	mt_certfile_free(&cf);
}

/* ---- certificate files ---- */

static void assert_same_der(const struct mt_certfile *a, size_t ai, const struct mt_certfile *b,
                            size_t bi)
{
	assert_int_equal(a->lens[ai], b->lens[bi]);
	assert_memory_equal(a->ders[ai], b->ders[bi], a->lens[ai]);
}

static void b64(const unsigned char *p, size_t n, FILE *f)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(al[v >> 18 & 63], f);
		fputc(al[v >> 12 & 63], f);
		fputc(i + 1 < n ? al[v >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? al[v & 63] : '=', f);
		if ((i / 3) % 16 == 15)
			fputc('\n', f);
	}
	fputc('\n', f);
}

static void test_certfile(void **state)
{
	(void)state;
	struct mt_certfile leaf, inter, cf;
	struct mt_err err;
	load("good.pem", &leaf);
	load("int.pem", &inter);
	assert_int_equal(leaf.n, 1);
	assert_false(leaf.has_key);
	assert_false(leaf.pkcs12);

	/* PKCS#12, right password: leaf first, then the intermediate, key matches. */
	assert_int_equal(mt_certfile_load(path("good.p12"), NULL, "secret", &cf, &err), MT_OK);
	assert_true(cf.pkcs12);
	assert_int_equal(cf.n, 2);
	assert_true(cf.has_key);
	assert_true(cf.key_matches);
	assert_same_der(&cf, 0, &leaf, 0);
	assert_same_der(&cf, 1, &inter, 0);
	mt_certfile_free(&cf);
	assert_int_equal(cf.n, 0);

	/* wrong and missing password */
	memset(&err, 0, sizeof err);
	assert_int_equal(mt_certfile_load(path("good.p12"), NULL, "wrong", &cf, &err),
	                 MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "wrong PKCS#12 password or corrupt file"));
	assert_int_equal(cf.n, 0);
	assert_int_equal(mt_certfile_load(path("good.p12"), NULL, NULL, &cf, &err),
	                 MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "password"));

	/* combined PEM: certificates in file order, key found and matching */
	assert_int_equal(mt_certfile_load(path("good.combined.pem"), NULL, NULL, &cf, &err), MT_OK);
	assert_int_equal(cf.n, 2);
	assert_true(cf.has_key);
	assert_true(cf.key_matches);
	assert_false(cf.pkcs12);
	assert_same_der(&cf, 0, &leaf, 0);
	mt_certfile_free(&cf);

	/* file order is kept, even when it is wrong */
	assert_int_equal(mt_certfile_load(path("good.wrongorder.pem"), NULL, NULL, &cf, &err),
	                 MT_OK);
	assert_int_equal(cf.n, 2);
	assert_same_der(&cf, 0, &inter, 0);
	assert_same_der(&cf, 1, &leaf, 0);
	mt_certfile_free(&cf);

	/* separate key files: matching (RSA) and not matching (an EC key of another cert) */
	assert_int_equal(mt_certfile_load(path("good.pem"), path("good.key"), NULL, &cf, &err),
	                 MT_OK);
	assert_true(cf.has_key);
	assert_true(cf.key_matches);
	mt_certfile_free(&cf);
	assert_int_equal(mt_certfile_load(path("good.pem"), path("mismatch.key"), NULL, &cf, &err),
	                 MT_OK);
	assert_true(cf.has_key);
	assert_false(cf.key_matches);
	mt_certfile_free(&cf);
	assert_int_equal(mt_certfile_load(path("expired.pem"), path("notyet.key"), NULL, &cf, &err),
	                 MT_OK);
	assert_true(cf.has_key);
	assert_false(cf.key_matches);
	mt_certfile_free(&cf);
	assert_int_equal(mt_certfile_load(path("good.pem"), path("int.pem"), NULL, &cf, &err),
	                 MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "no PEM private key"));

	/* missing, empty, key-only, garbage, truncated, corrupt */
	assert_int_equal(mt_certfile_load(path("no-such.pem"), NULL, NULL, &cf, &err), MT_ERR_IO);
	assert_non_null(strstr(err.msg, "no-such.pem"));

	char bad[512];
	snprintf(bad, sizeof bad, "%s/bad.pem", pki);
	static const struct {
		const char *content, *msg;
	} bads[] = {
	    {"", "empty"},
	    {"hello, not a certificate\n", "no certificate found"},
	    {"-----BEGIN CERTIFICATE-----\nMIIB\n", "no END line"},
	    {"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
	     "cannot be decoded"},
	    {"-----BEGIN CERTIFICATE\nAAAA\n", "malformed PEM header"},
	    {"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
	     "private key cannot be read"},
	};
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		FILE *f = fopen(bad, "w");
		assert_non_null(f);
		fputs(bads[i].content, f);
		fclose(f);
		memset(&err, 0, sizeof err);
		assert_int_equal(mt_certfile_load(bad, NULL, NULL, &cf, &err), MT_ERR_BADINPUT);
		if (!strstr(err.msg, bads[i].msg))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, bads[i].msg);
		assert_int_equal(cf.n, 0);
	}
	assert_int_equal(mt_certfile_load(path("good.key"), NULL, NULL, &cf, &err),
	                 MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "only a private key"));

	/* a single DER certificate */
	FILE *f = fopen(bad, "wb");
	assert_non_null(f);
	fwrite(leaf.ders[0], 1, leaf.lens[0], f);
	fclose(f);
	assert_int_equal(mt_certfile_load(bad, NULL, NULL, &cf, &err), MT_OK);
	assert_int_equal(cf.n, 1);
	assert_same_der(&cf, 0, &leaf, 0);
	mt_certfile_free(&cf);

	/* OpenSSL's TRUSTED CERTIFICATE: the certificate followed by trust settings */
	unsigned char aux[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b,
	                       0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
	unsigned char *both = malloc(leaf.lens[0] + sizeof aux);
	assert_non_null(both);
	memcpy(both, leaf.ders[0], leaf.lens[0]);
	memcpy(both + leaf.lens[0], aux, sizeof aux);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("-----BEGIN TRUSTED CERTIFICATE-----\n", f);
	b64(both, leaf.lens[0] + sizeof aux, f);
	fputs("-----END TRUSTED CERTIFICATE-----\n", f);
	fclose(f);
	free(both);
	assert_int_equal(mt_certfile_load(bad, NULL, NULL, &cf, &err), MT_OK);
	assert_int_equal(cf.n, 1);
	assert_same_der(&cf, 0, &leaf, 0);
	mt_certfile_free(&cf);

	mt_certfile_free(&leaf);
	mt_certfile_free(&inter);
}

/* ---- set-up: generate the PKI ---- */

static void cleanup(void)
{
	if (pki[0]) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", pki);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	if (system("command -v certtool >/dev/null 2>&1") != 0) {
		printf("certtool not installed (gnutls-bin): cannot generate the test PKI\n");
		return 77;
	}
	/* The script sits at ../fixtures/pki.sh beside this binary's directory. */
	char script[1024];
	const char *slash = strrchr(argv[0], '/');
	if (slash)
		snprintf(script, sizeof script, "%.*s/../fixtures/pki.sh", (int)(slash - argv[0]),
		         argv[0]);
	else
		snprintf(script, sizeof script, "../fixtures/pki.sh");
	if (access(script, R_OK) != 0)
		snprintf(script, sizeof script, "tests/fixtures/pki.sh");
	const char *tmp = getenv("TMPDIR");
	snprintf(pki, sizeof pki, "%s/mailtls-pki-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(pki)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "bash '%s' '%s' >/dev/null", script, pki);
	int rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
		if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
			printf("pki.sh skipped: certtool unusable\n");
			return 77;
		}
		fprintf(stderr, "%s failed (status %d)\n", script, rc);
		return 1;
	}

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scenarios),    cmocka_unit_test(test_details),
	    cmocka_unit_test(test_cert_info),    cmocka_unit_test(test_pinned_time),
	    cmocka_unit_test(test_names),        cmocka_unit_test(test_fingerprints),
	    cmocka_unit_test(test_findings_cap), cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_certfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

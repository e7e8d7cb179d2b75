/* dane_match_test.c — DANE (core/tls/tls_dane.c, core/smtp/probe_dane.c): TLSA parsing,
 * usability per RFC 7672, matching DANE-EE(3) and DANE-TA(2) with selectors 0/1 and
 * matching types 0/1/2 on chains from the test PKI (tests/fixtures/pki.sh), and the
 * dane / dane-only judgement. Expected digests come from other code than the matcher:
 * the verifier's fingerprints and openssl's command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailtls/dane.h"

static char pki[256];

static const char *path(const char *name)
{
	static char buf[64][320];
	static size_t k;
	char *p = buf[k++ % 64];
	snprintf(p, sizeof buf[0], "%s/%s", pki, name);
	return p;
}

static void chain(const char *file, struct mt_verify_result *r)
{
	struct mt_certfile cf;
	struct mt_err err = {""};
	if (mt_certfile_load(path(file), NULL, NULL, &cf, &err) != MT_OK)
		fail_msg("loading %s: %s", file, err.msg);
	struct mt_verify_opts o;
	mt_verify_opts_init(&o);
	o.cafile = path("ca.pem");
	o.no_system_ca = true;
	if (mt_verify_chain((const unsigned char *const *)cf.ders, cf.lens, cf.n, &o, r, &err) != MT_OK)
		fail_msg("verifying %s: %s", file, err.msg);
	mt_certfile_free(&cf);
}

/* openssl: hex digest (sha256/sha512) of a PEM certificate's DER or its SPKI */
static void ossl(const char *pem, int selector, const char *md, char *hex, size_t hexsz)
{
	char cmd[1024];
	if (selector == 0)
		snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -outform DER | openssl dgst -%s -r", path(pem), md);
	else
		snprintf(cmd, sizeof cmd,
			 "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -%s -r",
			 path(pem), md);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(hex, (int)hexsz, f))
		hex[0] = '\0';
	pclose(f);
	hex[strcspn(hex, " \n")] = '\0';
	if (!hex[0])
		fail_msg("openssl failed: %s", cmd);
}

static void rec(struct mt_tlsa *t, const char *text)
{
	struct mt_err err = {""};
	if (mt_tlsa_parse(text, t, &err) != MT_OK)
		fail_msg("parse \"%s\": %s", text, err.msg);
}

static void rec_hex(struct mt_tlsa *t, int u, int s, int m, const char *hex)
{
	char text[9000];
	snprintf(text, sizeof text, "%d %d %d %s", u, s, m, hex);
	rec(t, text);
}

static void refs1(struct mt_refname *r, const char *name)
{
	memset(r, 0, sizeof *r);
	mt_strlcpy(r->name, name, sizeof r->name);
	r->secure = true;
}

static void expect(const struct mt_tlsa *t, size_t n, const struct mt_verify_result *vr,
		   const char *ref, enum mt_dane_state want, int want_cert, const char *what)
{
	struct mt_refname r;
	refs1(&r, ref);
	struct mt_dane_result d;
	assert_int_equal(mt_dane_match(t, n, vr, &r, 1, 0, &d, NULL), MT_OK);
	if (d.state != want || (want == MT_DANE_VERIFIED && d.cert != want_cert))
		fail_msg("%s: got %s cert %d (%s), want %s cert %d", what, mt_dane_state_name(d.state),
			 d.cert, d.text, mt_dane_state_name(want), want_cert);
}

static void test_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool ok;
		int u, s, m;
		size_t len;
	} rows[] = {
	    {"3 1 1 aabbccdd", true, 3, 1, 1, 4},
	    {"3 1 1 AA BB cc dd", true, 3, 1, 1, 4},
	    {"2\t0  2 00ff", true, 2, 0, 2, 2},
	    {"  3 1 1 00", true, 3, 1, 1, 1},
	    {"255 255 255 00", true, 255, 255, 255, 1},
	    {"3 1 1", false, 0, 0, 0, 0},
	    {"3 1 1 ", false, 0, 0, 0, 0},
	    {"3 1 1 abc", false, 0, 0, 0, 0},
	    {"3 1 1 zz", false, 0, 0, 0, 0},
	    {"256 1 1 aa", false, 0, 0, 0, 0},
	    {"x 1 1 aa", false, 0, 0, 0, 0},
	    {"3 1", false, 0, 0, 0, 0},
	    {"3,1,1 aa", false, 0, 0, 0, 0},
	    {"", false, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mt_tlsa t;
		struct mt_err err = {""};
		mt_status st = mt_tlsa_parse(rows[i].text, &t, &err);
		if ((st == MT_OK) != rows[i].ok)
			fail_msg("row %zu \"%s\": %s (%s)", i, rows[i].text, mt_status_name(st), err.msg);
		if (st == MT_OK) {
			assert_int_equal(t.usage, rows[i].u);
			assert_int_equal(t.selector, rows[i].s);
			assert_int_equal(t.mtype, rows[i].m);
			assert_int_equal(t.len, rows[i].len);
			mt_tlsa_free(&t);
		} else {
			assert_true(err.msg[0] != '\0');
		}
	}
}

static void test_usable(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool usable;
	} rows[] = {
	    {"3 1 1 " "0000000000000000000000000000000000000000000000000000000000000000", true},
	    {"2 0 1 " "0000000000000000000000000000000000000000000000000000000000000000", true},
	    {"3 1 2 " "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", true},
	    {"3 0 0 " "00000000000000000000000000000000", true},
	    {"0 0 1 " "0000000000000000000000000000000000000000000000000000000000000000", false},
	    {"1 1 1 " "0000000000000000000000000000000000000000000000000000000000000000", false},
	    {"4 1 1 " "0000000000000000000000000000000000000000000000000000000000000000", false},
	    {"3 2 1 " "0000000000000000000000000000000000000000000000000000000000000000", false},
	    {"3 1 3 " "0000000000000000000000000000000000000000000000000000000000000000", false},
	    {"3 1 1 " "00000000000000000000000000000000000000000000000000000000000000", false}, /* 31 */
	    {"3 1 2 " "0000000000000000000000000000000000000000000000000000000000000000", false}, /* 32 for 512 */
	    {"3 0 0 00", false},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mt_tlsa t;
		rec(&t, rows[i].text);
		if ((mt_tlsa_unusable(&t) == NULL) != rows[i].usable)
			fail_msg("row %zu \"%.12s\": usable want %d (%s)", i, rows[i].text, rows[i].usable,
				 mt_tlsa_unusable(&t) ? mt_tlsa_unusable(&t) : "usable");
		mt_tlsa_free(&t);
	}
}

static void test_match(void **state)
{
	(void)state;
	struct mt_verify_result good, withroot, expired, mism, self;
	chain("good.chain.pem", &good);
	chain("good.withroot.pem", &withroot);
	chain("expired.chain.pem", &expired);
	chain("mismatch.chain.pem", &mism);
	chain("selfsigned.pem", &self);
	char h[200];
	struct mt_tlsa t[3];

	/* DANE-EE: every selector and matching type */
	rec_hex(&t[0], 3, 1, 1, good.certs[0].spki_sha256);
	expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 0, "3 1 1 leaf");
	expect(t, 1, &good, "nowhere.example", MT_DANE_VERIFIED, 0, "3 1 1 ignores names");
	mt_tlsa_free(&t[0]);
	rec_hex(&t[0], 3, 0, 1, good.certs[0].sha256);
	expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 0, "3 0 1 leaf");
	mt_tlsa_free(&t[0]);
	{
		char *hex = malloc(good.certs[0].der_len * 2 + 1);
		mt_hex(good.certs[0].der, good.certs[0].der_len, hex);
		rec_hex(&t[0], 3, 0, 0, hex);
		free(hex);
		expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 0, "3 0 0 full certificate");
		mt_tlsa_free(&t[0]);
	}
	ossl("good.pem", 0, "sha512", h, sizeof h);
	rec_hex(&t[0], 3, 0, 2, h);
	expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 0, "3 0 2");
	mt_tlsa_free(&t[0]);
	ossl("good.pem", 1, "sha512", h, sizeof h);
	rec_hex(&t[0], 3, 1, 2, h);
	expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 0, "3 1 2");
	mt_tlsa_free(&t[0]);
	ossl("good.pem", 1, "sha256", h, sizeof h);
	assert_string_equal(h, good.certs[0].spki_sha256); /* two oracles agree */

	/* one flipped digit: mismatch */
	mt_strlcpy(h, good.certs[0].spki_sha256, sizeof h);
	h[0] = h[0] == '0' ? '1' : '0';
	rec_hex(&t[0], 3, 1, 1, h);
	expect(t, 1, &good, "mx.test.example", MT_DANE_MISMATCH, -1, "3 1 1 wrong digest");
	/* DANE-EE on the intermediate does not count: only the leaf */
	mt_tlsa_free(&t[0]);
	rec_hex(&t[0], 3, 1, 1, good.certs[1].spki_sha256);
	expect(t, 1, &good, "mx.test.example", MT_DANE_MISMATCH, -1, "3 1 1 of the intermediate");
	mt_tlsa_free(&t[0]);

	/* DANE-EE ignores dates and names (RFC 7672 3.1.1) */
	rec_hex(&t[0], 3, 1, 1, expired.certs[0].spki_sha256);
	expect(t, 1, &expired, "mx.test.example", MT_DANE_VERIFIED, 0, "3 1 1 expired leaf");
	mt_tlsa_free(&t[0]);
	rec_hex(&t[0], 3, 1, 1, mism.certs[0].spki_sha256);
	expect(t, 1, &mism, "mx.test.example", MT_DANE_VERIFIED, 0, "3 1 1 other names");
	mt_tlsa_free(&t[0]);

	/* DANE-TA: the intermediate sent, names checked */
	rec_hex(&t[0], 2, 0, 1, good.certs[1].sha256);
	expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 1, "2 0 1 intermediate");
	expect(t, 1, &good, "localhost", MT_DANE_VERIFIED, 1, "2 0 1 second SAN");
	expect(t, 1, &good, "other.example", MT_DANE_MISMATCH, -1, "2 0 1 wrong name");
	mt_tlsa_free(&t[0]);
	rec_hex(&t[0], 2, 1, 1, good.certs[1].spki_sha256);
	expect(t, 1, &good, "mx.test.example", MT_DANE_VERIFIED, 1, "2 1 1 intermediate");
	mt_tlsa_free(&t[0]);
	/* the root as TA: only when the server sends it */
	ossl("ca.pem", 0, "sha256", h, sizeof h);
	rec_hex(&t[0], 2, 0, 1, h);
	expect(t, 1, &good, "mx.test.example", MT_DANE_MISMATCH, -1, "2 0 1 root not sent");
	expect(t, 1, &withroot, "mx.test.example", MT_DANE_VERIFIED, 2, "2 0 1 root sent");
	mt_tlsa_free(&t[0]);
	/* an expired leaf under a matching TA fails (dates count for DANE-TA) */
	rec_hex(&t[0], 2, 0, 1, expired.certs[1].sha256);
	expect(t, 1, &expired, "mx.test.example", MT_DANE_MISMATCH, -1, "2 0 1 expired leaf");
	mt_tlsa_free(&t[0]);
	/* a DANE-TA record naming the leaf of a self-signed server: the leaf is the anchor */
	rec_hex(&t[0], 2, 0, 1, self.certs[0].sha256);
	expect(t, 1, &self, "mx.test.example", MT_DANE_VERIFIED, 0, "2 0 1 self-signed");
	mt_tlsa_free(&t[0]);

	/* usability */
	expect(t, 0, &good, "mx.test.example", MT_DANE_NO_TLSA, -1, "no records");
	rec_hex(&t[0], 1, 1, 1, good.certs[0].spki_sha256);
	expect(t, 1, &good, "mx.test.example", MT_DANE_NO_USABLE, -1, "PKIX-EE only");
	/* a mix: unusable, a wrong DANE-EE, a good DANE-TA -> verified by record 2 */
	mt_strlcpy(h, good.certs[0].spki_sha256, sizeof h);
	h[1] = h[1] == 'a' ? 'b' : 'a';
	rec_hex(&t[1], 3, 1, 1, h);
	rec_hex(&t[2], 2, 0, 1, good.certs[1].sha256);
	struct mt_refname r;
	refs1(&r, "mx.test.example");
	struct mt_dane_result d;
	assert_int_equal(mt_dane_match(t, 3, &good, &r, 1, 0, &d, NULL), MT_OK);
	assert_int_equal(d.state, MT_DANE_VERIFIED);
	assert_int_equal(d.rec, 2);
	assert_int_equal(d.cert, 1);
	assert_int_equal(d.nusable, 2);
	assert_non_null(strstr(d.text, "DANE-TA 2 0 1"));
	for (int i = 0; i < 3; i++)
		mt_tlsa_free(&t[i]);

	mt_verify_result_free(&good);
	mt_verify_result_free(&withroot);
	mt_verify_result_free(&expired);
	mt_verify_result_free(&mism);
	mt_verify_result_free(&self);
}

/* ---- the dane / dane-only judgement on a hand-made probe record ---- */

static void probe(struct mt_probe *p, enum mt_level lvl, bool tls, bool trusted)
{
	memset(p, 0, sizeof *p);
	for (int i = 0; i < MT_PH__COUNT; i++)
		p->phase_ms[i] = -1;
	p->policy.level = lvl;
	p->status = MT_OK;
	p->connected = p->banner_ok = p->esmtp = true;
	p->starttls_offered = p->starttls_attempted = tls;
	p->tls = tls;
	p->verified = tls;
	p->vr.trusted = trusted;
	p->vr.name_checked = tls;
	p->vr.name_matched = trusted;
	if (!tls)
		mt_verify_add_finding(&p->vr, MT_FAULT_NO_STARTTLS, MT_SEV_WARN, -1, "not offered");
	if (tls && !trusted)
		mt_verify_add_finding(&p->vr, MT_FAULT_UNTRUSTED, MT_SEV_ERROR, 0, "untrusted");
}

static void test_judge(void **state)
{
	(void)state;
	static const struct {
		enum mt_level lvl;
		bool tls, trusted;
		enum mt_dane_state dane;
		enum mt_verdict verdict;
		enum mt_outcome outcome;
		enum mt_level reached;
	} rows[] = {
	    /* DANE applies: verified passes at dane even without PKIX trust */
	    {MT_LEVEL_DANE, true, false, MT_DANE_VERIFIED, MT_VERDICT_WARN, MT_OUTCOME_OK, MT_LEVEL_DANE},
	    {MT_LEVEL_DANE, true, true, MT_DANE_VERIFIED, MT_VERDICT_PASS, MT_OUTCOME_OK, MT_LEVEL_DANE},
	    {MT_LEVEL_DANE_ONLY, true, false, MT_DANE_VERIFIED, MT_VERDICT_WARN, MT_OUTCOME_OK, MT_LEVEL_DANE},
	    {MT_LEVEL_DANE, true, true, MT_DANE_MISMATCH, MT_VERDICT_FAIL, MT_OUTCOME_CHECK_FAILED, MT_LEVEL_VERIFY},
	    {MT_LEVEL_DANE_ONLY, true, true, MT_DANE_MISMATCH, MT_VERDICT_FAIL, MT_OUTCOME_CHECK_FAILED, MT_LEVEL_VERIFY},
	    /* usable records need TLS */
	    {MT_LEVEL_DANE, false, false, MT_DANE_MISMATCH, MT_VERDICT_FAIL, MT_OUTCOME_NO_TLS, MT_LEVEL_NONE},
	    {MT_LEVEL_DANE, false, false, MT_DANE_NO_USABLE, MT_VERDICT_FAIL, MT_OUTCOME_NO_TLS, MT_LEVEL_NONE},
	    {MT_LEVEL_DANE, true, false, MT_DANE_NO_USABLE, MT_VERDICT_WARN, MT_OUTCOME_OK, MT_LEVEL_ENCRYPT},
	    {MT_LEVEL_DANE_ONLY, true, true, MT_DANE_NO_USABLE, MT_VERDICT_FAIL, MT_OUTCOME_CHECK_FAILED, MT_LEVEL_VERIFY},
	    /* DANE does not apply: dane is "may", dane-only fails */
	    {MT_LEVEL_DANE, false, false, MT_DANE_NO_TLSA, MT_VERDICT_WARN, MT_OUTCOME_OK, MT_LEVEL_NONE},
	    {MT_LEVEL_DANE, true, false, MT_DANE_INSECURE, MT_VERDICT_WARN, MT_OUTCOME_OK, MT_LEVEL_ENCRYPT},
	    {MT_LEVEL_DANE_ONLY, true, true, MT_DANE_INSECURE, MT_VERDICT_FAIL, MT_OUTCOME_CHECK_FAILED, MT_LEVEL_VERIFY},
	    {MT_LEVEL_DANE_ONLY, true, true, MT_DANE_NO_TLSA, MT_VERDICT_FAIL, MT_OUTCOME_CHECK_FAILED, MT_LEVEL_VERIFY},
	    /* lookup failure defers: a DNS failure */
	    {MT_LEVEL_DANE, true, true, MT_DANE_LOOKUP_FAILED, MT_VERDICT_FAIL, MT_OUTCOME_CONNECT, MT_LEVEL_VERIFY},
	    /* other levels: a mismatch is a warning */
	    {MT_LEVEL_VERIFY, true, true, MT_DANE_MISMATCH, MT_VERDICT_WARN, MT_OUTCOME_OK, MT_LEVEL_VERIFY},
	    {MT_LEVEL_VERIFY, true, true, MT_DANE_VERIFIED, MT_VERDICT_PASS, MT_OUTCOME_OK, MT_LEVEL_VERIFY},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mt_probe p;
		probe(&p, rows[i].lvl, rows[i].tls, rows[i].trusted);
		struct mt_dane_result d;
		memset(&d, 0, sizeof d);
		d.state = rows[i].dane;
		snprintf(d.text, sizeof d.text, "test");
		mt_probe_dane_judge(&p, &d);
		if (p.verdict != rows[i].verdict || p.outcome != rows[i].outcome ||
		    p.reached != rows[i].reached)
			fail_msg("row %zu (%s, tls %d, %s): got %s outcome %d reached %s: %s", i,
				 mt_level_name(rows[i].lvl), rows[i].tls, mt_dane_state_name(rows[i].dane),
				 mt_verdict_name(p.verdict), p.outcome, mt_level_name(p.reached),
				 p.verdict_text);
		char want[64];
		snprintf(want, sizeof want, "requested %s, reached %s", mt_level_name(rows[i].lvl),
			 mt_level_name(rows[i].reached));
		if (!strstr(p.verdict_text, want))
			fail_msg("row %zu: verdict line \"%s\" lacks \"%s\"", i, p.verdict_text, want);
		if (rows[i].dane == MT_DANE_MISMATCH &&
		    !mt_verify_has_fault(&p.vr, MT_FAULT_DANE_MISMATCH))
			fail_msg("row %zu: no dane-mismatch finding", i);
		mt_verify_result_free(&p.vr);
	}
}

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
	if (system("command -v certtool >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1") != 0) {
		printf("certtool or openssl not installed: cannot generate the test PKI\n");
		return 77;
	}
	char script[1024];
	const char *slash = strrchr(argv[0], '/');
	if (slash)
		snprintf(script, sizeof script, "%.*s/../fixtures/pki.sh", (int)(slash - argv[0]), argv[0]);
	else
		snprintf(script, sizeof script, "../fixtures/pki.sh");
	if (access(script, R_OK) != 0)
		snprintf(script, sizeof script, "tests/fixtures/pki.sh");
	const char *tmp = getenv("TMPDIR");
	snprintf(pki, sizeof pki, "%s/mailtls-dane-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(pki)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "bash '%s' '%s' >/dev/null", script, pki);
	int rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
		fprintf(stderr, "%s failed (status %d)\n", script, rc);
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_usable),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_judge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

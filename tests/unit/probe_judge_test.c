/* probe_judge_test.c — the policy table: what each level (and ESA alias) decides for each
 * situation the probe can end in. Rows state the situation and the expected verdict,
 * level reached and outcome (which the programs map to exit codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "mailtls/probe.h"

enum situation {
	S_GOOD,		/* TLS, trusted, name matched */
	S_UNTRUSTED,	/* TLS, self-signed */
	S_MISMATCH,	/* TLS, trusted, name mismatch */
	S_EXPIRING,	/* TLS, verified, expiring soon (warning) */
	S_NO_STARTTLS,	/* STARTTLS not offered */
	S_REFUSED,	/* 454 to STARTTLS */
	S_HANDSHAKE,	/* handshake failed after 220 */
	S_CONNECT,	/* connection refused */
	S_INJECTION,	/* TLS verified but bytes after the 220 */
	S_FP_MATCH,	/* TLS, self-signed, fingerprint matched */
};

static void build(struct mt_probe *p, enum situation s, const char *level)
{
	memset(p, 0, sizeof *p);
	struct mt_err err;
	assert_int_equal(mt_policy_parse(level, &p->policy, &err), MT_OK);
	p->connected = p->banner_ok = p->esmtp = true;
	struct mt_verify_result *vr = &p->vr;
	switch (s) {
	case S_CONNECT:
		p->connected = p->banner_ok = p->esmtp = false;
		p->status = MT_ERR_CONNECT;
		return;
	case S_NO_STARTTLS:
		mt_verify_add_finding(vr, MT_FAULT_NO_STARTTLS, MT_SEV_ERROR, -1, "x");
		return;
	case S_REFUSED:
		p->starttls_offered = true;
		mt_verify_add_finding(vr, MT_FAULT_STARTTLS_REFUSED, MT_SEV_ERROR, -1, "x");
		return;
	case S_HANDSHAKE:
		p->starttls_offered = true;
		p->status = MT_ERR_TLS;
		mt_verify_add_finding(vr, MT_FAULT_HANDSHAKE, MT_SEV_ERROR, -1, "x");
		return;
	default:
		break;
	}
	p->starttls_offered = p->tls = p->verified = true;
	vr->ncerts = 0;
	vr->name_checked = true;
	switch (s) {
	case S_GOOD:
	case S_EXPIRING:
	case S_INJECTION:
		vr->trusted = vr->name_matched = vr->matched_secure = true;
		if (s == S_EXPIRING)
			mt_verify_add_finding(vr, MT_FAULT_EXPIRING, MT_SEV_WARN, 0, "x");
		if (s == S_INJECTION)
			mt_verify_add_finding(vr, MT_FAULT_STARTTLS_INJECTION, MT_SEV_ERROR, -1, "x");
		break;
	case S_UNTRUSTED:
	case S_FP_MATCH:
		vr->name_matched = vr->matched_secure = true;
		mt_verify_add_finding(vr, MT_FAULT_SELF_SIGNED, MT_SEV_ERROR, 0, "x");
		mt_verify_add_finding(vr, MT_FAULT_UNTRUSTED, MT_SEV_ERROR, -1, "x");
		if (s == S_FP_MATCH)
			vr->fingerprint_checked = vr->fingerprint_matched = true;
		break;
	case S_MISMATCH:
		vr->trusted = true;
		mt_verify_add_finding(vr, MT_FAULT_NAME_MISMATCH, MT_SEV_ERROR, 0, "x");
		break;
	default:
		break;
	}
}

static void test_table(void **state)
{
	(void)state;
	static const struct {
		enum situation s;
		const char *level;
		enum mt_verdict verdict;
		enum mt_level reached;
		enum mt_outcome outcome;
	} rows[] = {
	    {S_GOOD, "verify", MT_VERDICT_PASS, MT_LEVEL_SECURE, MT_OUTCOME_OK},
	    {S_GOOD, "secure", MT_VERDICT_PASS, MT_LEVEL_SECURE, MT_OUTCOME_OK},
	    {S_GOOD, "may", MT_VERDICT_PASS, MT_LEVEL_SECURE, MT_OUTCOME_OK},
	    {S_GOOD, "Required-Verify", MT_VERDICT_PASS, MT_LEVEL_SECURE, MT_OUTCOME_OK},
	    {S_EXPIRING, "verify", MT_VERDICT_WARN, MT_LEVEL_SECURE, MT_OUTCOME_OK},
	    {S_UNTRUSTED, "verify", MT_VERDICT_FAIL, MT_LEVEL_ENCRYPT, MT_OUTCOME_CHECK_FAILED},
	    {S_UNTRUSTED, "Required-Verify", MT_VERDICT_FAIL, MT_LEVEL_ENCRYPT,
	     MT_OUTCOME_CHECK_FAILED},
	    /* ESA: negotiated, not verified -> still delivered encrypted */
	    {S_UNTRUSTED, "Preferred-Verify", MT_VERDICT_WARN, MT_LEVEL_ENCRYPT, MT_OUTCOME_OK},
	    {S_UNTRUSTED, "encrypt", MT_VERDICT_WARN, MT_LEVEL_ENCRYPT, MT_OUTCOME_OK},
	    {S_UNTRUSTED, "Required", MT_VERDICT_WARN, MT_LEVEL_ENCRYPT, MT_OUTCOME_OK},
	    {S_UNTRUSTED, "fingerprint", MT_VERDICT_FAIL, MT_LEVEL_ENCRYPT,
	     MT_OUTCOME_CHECK_FAILED},
	    {S_FP_MATCH, "fingerprint", MT_VERDICT_PASS, MT_LEVEL_FINGERPRINT, MT_OUTCOME_OK},
	    {S_MISMATCH, "verify", MT_VERDICT_FAIL, MT_LEVEL_ENCRYPT, MT_OUTCOME_CHECK_FAILED},
	    {S_MISMATCH, "may", MT_VERDICT_WARN, MT_LEVEL_ENCRYPT, MT_OUTCOME_OK},
	    /* no TLS: opportunistic levels continue in clear, mandatory ones fail */
	    {S_NO_STARTTLS, "may", MT_VERDICT_WARN, MT_LEVEL_NONE, MT_OUTCOME_OK},
	    {S_NO_STARTTLS, "Preferred", MT_VERDICT_WARN, MT_LEVEL_NONE, MT_OUTCOME_OK},
	    {S_NO_STARTTLS, "Preferred-Verify", MT_VERDICT_WARN, MT_LEVEL_NONE, MT_OUTCOME_OK},
	    {S_NO_STARTTLS, "none", MT_VERDICT_PASS, MT_LEVEL_NONE, MT_OUTCOME_OK},
	    {S_NO_STARTTLS, "encrypt", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_NO_TLS},
	    {S_NO_STARTTLS, "Required-Verify", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_NO_TLS},
	    {S_REFUSED, "may", MT_VERDICT_WARN, MT_LEVEL_NONE, MT_OUTCOME_OK},
	    {S_REFUSED, "verify", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_NO_TLS},
	    /* ESA: an error after the 220 never falls back to clear text */
	    {S_HANDSHAKE, "may", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_NO_TLS},
	    {S_HANDSHAKE, "Preferred", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_NO_TLS},
	    {S_HANDSHAKE, "verify", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_NO_TLS},
	    {S_CONNECT, "may", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_CONNECT},
	    {S_CONNECT, "verify", MT_VERDICT_FAIL, MT_LEVEL_NONE, MT_OUTCOME_CONNECT},
	    {S_INJECTION, "may", MT_VERDICT_FAIL, MT_LEVEL_SECURE, MT_OUTCOME_CHECK_FAILED},
	    {S_INJECTION, "verify", MT_VERDICT_FAIL, MT_LEVEL_SECURE, MT_OUTCOME_CHECK_FAILED},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mt_probe p;
		build(&p, rows[i].s, rows[i].level);
		mt_probe_judge(&p);
		if (p.verdict != rows[i].verdict || p.reached != rows[i].reached ||
		    p.outcome != rows[i].outcome)
			fail_msg("row %zu (%s): got %s/%s/%d, want %s/%s/%d (%s)", i, rows[i].level,
				 mt_verdict_name(p.verdict), mt_level_name(p.reached), p.outcome,
				 mt_verdict_name(rows[i].verdict), mt_level_name(rows[i].reached),
				 rows[i].outcome, p.verdict_text);
	}
}

static void test_text(void **state)
{
	(void)state;
	struct mt_probe p;
	build(&p, S_MISMATCH, "verify");
	mt_probe_judge(&p);
	assert_string_equal(p.verdict_text,
			    "FAIL: requested verify, reached encrypt; faults: name-mismatch");
	assert_string_equal(p.reason, "host name not verified");
	build(&p, S_GOOD, "Required-Verify");
	mt_probe_judge(&p);
	assert_string_equal(p.verdict_text,
			    "PASS: requested Required-Verify, reached secure; faults: none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

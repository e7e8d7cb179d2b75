/* probe_judge.c — policy: turn what the probe and the verifier recorded into the level
 * reached, a verdict (pass / warn / fail) and an outcome class for exit codes.
 *
 * The rules follow Postfix's levels and the ESA guide: a failure after the server's 220 to
 * STARTTLS never falls back to clear text (so a failed handshake fails even at "may");
 * opportunistic levels pass without TLS but warn; certificate faults are warnings below
 * "verify" and failures at and above it (except "fingerprint", where the pin decides).
 */
#include <stdio.h>
#include <string.h>

#include "mailtls/probe.h"

static enum mt_level level_reached(const struct mt_probe *p)
{
	if (!p->tls && !p->offline)
		return MT_LEVEL_NONE;
	const struct mt_verify_result *vr = &p->vr;
	if (p->verified && vr->trusted && vr->name_matched)
		return vr->matched_secure ? MT_LEVEL_SECURE : MT_LEVEL_VERIFY;
	if (p->verified && vr->fingerprint_checked && vr->fingerprint_matched)
		return MT_LEVEL_FINGERPRINT;
	return MT_LEVEL_ENCRYPT;
}

static bool has_error_finding(const struct mt_verify_result *vr)
{
	for (size_t i = 0; i < vr->nfindings; i++)
		if (vr->findings[i].severity == MT_SEV_ERROR)
			return true;
	return false;
}

/* Faults about PKIX trust and names: a fingerprint pin replaces both (as in Postfix). */
static bool pkix_fault(enum mt_fault f)
{
	return f == MT_FAULT_UNTRUSTED || f == MT_FAULT_SELF_SIGNED ||
	       f == MT_FAULT_MISSING_INTERMEDIATE || f == MT_FAULT_NAME_MISMATCH ||
	       f == MT_FAULT_ROOT_SENT || f == MT_FAULT_WRONG_ORDER;
}

static bool has_any_finding(const struct mt_verify_result *vr, bool pinned)
{
	for (size_t i = 0; i < vr->nfindings; i++)
		if (vr->findings[i].severity >= MT_SEV_WARN &&
		    !(pinned && pkix_fault(vr->findings[i].fault)))
			return true;
	return false;
}

void mt_probe_judge(struct mt_probe *p)
{
	const struct mt_policy *pol = &p->policy;
	const struct mt_verify_result *vr = &p->vr;
	p->reached = level_reached(p);
	p->verdict = MT_VERDICT_PASS;
	p->outcome = MT_OUTCOME_OK;
	const char *why = NULL;

	bool handshake_failed = mt_verify_has_fault(vr, MT_FAULT_HANDSHAKE);
	bool tls_refused = mt_verify_has_fault(vr, MT_FAULT_STARTTLS_REFUSED) ||
			   mt_verify_has_fault(vr, MT_FAULT_NO_STARTTLS) ||
			   mt_verify_has_fault(vr, MT_FAULT_NO_ESMTP);

	if (p->status == MT_ERR_NOMEM || p->status == MT_ERR_INTERNAL) {
		p->verdict = MT_VERDICT_FAIL;
		p->outcome = MT_OUTCOME_INTERNAL;
		why = p->err.msg;
	} else if (p->status == MT_ERR_USAGE || p->status == MT_ERR_BADINPUT) {
		p->verdict = MT_VERDICT_FAIL;
		p->outcome = MT_OUTCOME_INTERNAL;
		why = p->err.msg;
	} else if (handshake_failed) {
		/* after the 220 there is no way back to clear text, at any level */
		p->verdict = MT_VERDICT_FAIL;
		p->outcome = MT_OUTCOME_NO_TLS;
		why = "TLS handshake failed after the server accepted STARTTLS";
	} else if (p->offline) {
		bool ok = true;
		if (mt_verify_has_fault(vr, MT_FAULT_KEY_MISMATCH))
			ok = false, why = "the private key does not belong to the certificate";
		else if (mt_policy_verify_mandatory(pol) && pol->level != MT_LEVEL_FINGERPRINT &&
			 (!vr->trusted || (vr->name_checked && !vr->name_matched) ||
			  has_error_finding(vr)))
			ok = false, why = "the certificate would not verify";
		else if (pol->level == MT_LEVEL_FINGERPRINT && !vr->fingerprint_matched)
			ok = false, why = "no certificate matched the fingerprints";
		if (!ok) {
			p->verdict = MT_VERDICT_FAIL;
			p->outcome = MT_OUTCOME_CHECK_FAILED;
		} else if (has_any_finding(vr, pol->level == MT_LEVEL_FINGERPRINT)) {
			p->verdict = MT_VERDICT_WARN;
		}
	} else if (p->status != MT_OK && !p->tls) {
		p->verdict = MT_VERDICT_FAIL;
		p->outcome = MT_OUTCOME_CONNECT;
		why = p->err.msg;
	} else if (!p->tls) {
		if (pol->level == MT_LEVEL_NONE) {
			why = NULL;
		} else if (!mt_policy_tls_mandatory(pol)) {
			p->verdict = MT_VERDICT_WARN;
			why = tls_refused ? "TLS not available: the session would continue in clear"
					  : "no TLS";
		} else {
			p->verdict = MT_VERDICT_FAIL;
			p->outcome = MT_OUTCOME_NO_TLS;
			why = "TLS is required but not available";
		}
	} else {
		bool ok = true;
		switch (pol->level) {
		case MT_LEVEL_FINGERPRINT:
			ok = vr->fingerprint_checked && vr->fingerprint_matched;
			if (!ok)
				why = "no certificate matched the fingerprints";
			break;
		case MT_LEVEL_VERIFY:
		case MT_LEVEL_SECURE:
			if (!vr->trusted)
				ok = false, why = "certificate chain not trusted";
			else if (!vr->name_matched)
				ok = false, why = "host name not verified";
			else if (pol->level == MT_LEVEL_SECURE && !vr->matched_secure)
				ok = false, why = "name matched only a name from insecure DNS";
			else if (has_error_finding(vr))
				ok = false, why = "certificate faults";
			break;
		case MT_LEVEL_DANE_ONLY:
			ok = false;
			why = "no DANE verification was possible (no usable TLSA records)";
			break;
		default:
			break;
		}
		if (mt_verify_has_fault(vr, MT_FAULT_STARTTLS_INJECTION)) {
			ok = false;
			why = "server is open to STARTTLS command injection";
		}
		if (!ok) {
			p->verdict = MT_VERDICT_FAIL;
			p->outcome = MT_OUTCOME_CHECK_FAILED;
		} else if (p->status != MT_OK) {
			p->verdict = MT_VERDICT_FAIL;
			p->outcome = MT_OUTCOME_CONNECT;
			why = p->err.msg;
		} else if (has_any_finding(vr, pol->level == MT_LEVEL_FINGERPRINT)) {
			p->verdict = MT_VERDICT_WARN;
		}
	}

	/* "FAIL: requested verify, reached encrypt; faults: untrusted, name-mismatch" */
	int n = snprintf(p->verdict_text, sizeof p->verdict_text, "%s: requested %s, reached %s",
			 p->verdict == MT_VERDICT_PASS   ? "PASS"
			 : p->verdict == MT_VERDICT_WARN ? "WARN"
							 : "FAIL",
			 mt_policy_name(pol), mt_level_name(p->reached));
	n += snprintf(p->verdict_text + n, sizeof p->verdict_text - (size_t)n, "; faults: ");
	bool any = false;
	for (size_t i = 0; i < vr->nfindings && (size_t)n < sizeof p->verdict_text; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			if (vr->findings[j].fault == vr->findings[i].fault)
				dup = true;
		if (dup)
			continue;
		n += snprintf(p->verdict_text + n, sizeof p->verdict_text - (size_t)n, "%s%s",
			      any ? ", " : "", mt_fault_name(vr->findings[i].fault));
		any = true;
	}
	if (!any && (size_t)n < sizeof p->verdict_text)
		snprintf(p->verdict_text + n, sizeof p->verdict_text - (size_t)n, "none");
	p->reason[0] = '\0';
	if (why && p->verdict == MT_VERDICT_FAIL)
		mt_strlcpy(p->reason, why, sizeof p->reason);
}

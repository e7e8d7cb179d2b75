/* probe_dane.c — the dane and dane-only levels: a DANE outcome on top of the probe's
 * record, judged per RFC 7672 section 2.2 and Postfix's meanings of the levels.
 *
 * mt_probe_judge() knows nothing of TLSA; we judge with the level DANE implies (mandatory
 * TLS when usable records exist, opportunistic when DANE does not apply) and then put back
 * the requested level and the DANE decision. Nothing here allocates.
 */
#include <stdio.h>
#include <string.h>

#include "mailtls/dane.h"

static void fail(struct mt_probe *p, enum mt_outcome o, const char *why)
{
	p->verdict = MT_VERDICT_FAIL;
	p->outcome = o;
	mt_strlcpy(p->reason, why, sizeof p->reason);
}

void mt_probe_dane_judge(struct mt_probe *p, const struct mt_dane_result *d)
{
	struct mt_policy asked = p->policy;
	bool dane_level = asked.level == MT_LEVEL_DANE || asked.level == MT_LEVEL_DANE_ONLY;
	if (d->state == MT_DANE_MISMATCH && !mt_verify_has_fault(&p->vr, MT_FAULT_DANE_MISMATCH))
		mt_verify_add_finding(&p->vr, MT_FAULT_DANE_MISMATCH,
				      dane_level ? MT_SEV_ERROR : MT_SEV_WARN, -1, "%s", d->text);
	if (!dane_level) {
		mt_probe_judge(p);
		return;
	}
	bool applies = d->state == MT_DANE_VERIFIED || d->state == MT_DANE_MISMATCH ||
		       d->state == MT_DANE_NO_USABLE;
	p->policy.level = applies ? MT_LEVEL_ENCRYPT : MT_LEVEL_MAY;
	p->policy.alias = MT_ALIAS_NONE;
	mt_probe_judge(p);
	p->policy = asked;
	bool failed = p->verdict == MT_VERDICT_FAIL;
	switch (d->state) {
	case MT_DANE_VERIFIED:
		if (!failed && (p->tls || p->offline))
			p->reached = MT_LEVEL_DANE;
		break;
	case MT_DANE_MISMATCH:
		if (!failed)
			fail(p, MT_OUTCOME_CHECK_FAILED,
			     "DANE: no TLSA record matched the server's certificate chain");
		break;
	case MT_DANE_LOOKUP_FAILED:
		if (!failed)
			fail(p, MT_OUTCOME_CONNECT,
			     "DANE: the TLSA lookup failed, delivery would be deferred");
		break;
	case MT_DANE_NO_USABLE:
		if (!failed && asked.level == MT_LEVEL_DANE_ONLY)
			fail(p, MT_OUTCOME_CHECK_FAILED, "dane-only: no usable TLSA records");
		break;
	default:
		if (!failed && asked.level == MT_LEVEL_DANE_ONLY)
			fail(p, MT_OUTCOME_CHECK_FAILED,
			     d->state == MT_DANE_INSECURE
				 ? "dane-only: the TLSA records (or the host's addresses) are not "
				   "DNSSEC-secure"
				 : "dane-only: no DNSSEC-secure TLSA records");
		break;
	}
	/* rebuild the verdict line with the level asked for */
	const char *faults = strstr(p->verdict_text, "; faults: ");
	char tail[sizeof p->verdict_text];
	mt_strlcpy(tail, faults ? faults : "; faults: none", sizeof tail);
	int k = snprintf(p->verdict_text, sizeof p->verdict_text, "%s: requested %s, reached %s",
			 p->verdict == MT_VERDICT_PASS   ? "PASS"
			 : p->verdict == MT_VERDICT_WARN ? "WARN"
							 : "FAIL",
			 mt_policy_name(&asked), mt_level_name(p->reached));
	if (k > 0 && (size_t)k < sizeof p->verdict_text)
		mt_strlcpy(p->verdict_text + k, tail, sizeof p->verdict_text - (size_t)k);
}

void mt_probe_dane_hook(struct mt_probe *p, void *arg)
{
	struct mt_dane_ctx *c = arg;
	struct mt_dane_result *dr = &c->result;
	memset(dr, 0, sizeof *dr);
	dr->rec = dr->cert = -1;
	if (!c->asked) {
		dr->state = MT_DANE_INSECURE;
		mt_strlcpy(dr->text, c->why[0] ? c->why : "no DNSSEC-secure TLSA lookup",
			   sizeof dr->text);
	} else if (c->lookup_failed) {
		dr->state = MT_DANE_LOOKUP_FAILED;
		mt_strlcpy(dr->text, c->why[0] ? c->why : "TLSA lookup failed", sizeof dr->text);
	} else if (!c->secure) {
		dr->state = MT_DANE_INSECURE;
		mt_strlcpy(dr->text, "TLSA records insecure: ignored", sizeof dr->text);
	} else if (p->verified || c->n == 0) {
		if (mt_dane_match(c->recs, c->n, &p->vr, c->refs, c->nrefs, c->now, dr, NULL) !=
		    MT_OK) {
			dr->state = MT_DANE_MISMATCH;
			mt_strlcpy(dr->text, "TLSA records could not be matched", sizeof dr->text);
		}
	} else {
		/* secure TLSA but no chain (no TLS): whether DANE applies decides the verdict */
		bool usable = false;
		for (size_t i = 0; i < c->n; i++)
			usable |= mt_tlsa_unusable(&c->recs[i]) == NULL;
		dr->state = usable ? MT_DANE_MISMATCH : MT_DANE_NO_USABLE;
		mt_strlcpy(dr->text,
			   usable ? "no certificate chain to match (no TLS)" : "no usable TLSA records",
			   sizeof dr->text);
	}
	mt_probe_dane_judge(p, dr);
}

/* logscan_tlsrpt.c — logscan's outbound sessions into RFC 8460 aggregate reports (the
 * aggregation and the report itself are core's, mailtls/tlsrpt_report.h).
 *
 * Each session is put under the policy the log shows the sender applied: "tlsa" where it
 * shows DANE (Postfix 3.11's tls= with a desired level dane, dane-only or halfdane; Exim's
 * CV=dane, its "DANE attempt failed" and DANE deferrals; an AsyncOS consolidated event's
 * ESADaneStatus), otherwise "no-policy-found" (a log does not show MTA-STS).  Sessions
 * counted: successful TLS sessions, and failures (TLS failed, TLS required and not used, a
 * DANE level downgraded) with a result-type mapped from the failure cause.  Sessions in
 * clear that no policy required are neither, as in RFC 8460.
 */
#include "logscan_out.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *result_type(int cause, const char *reason)
{
	/* DANE's own (RFC 8460 4.3.2.2): the TLSA lookup failed (Exim "DANE error: tlsa lookup
	 * DEFER|FAIL"): no valid records came back */
	if (strcasestr(reason, "tlsa lookup"))
		return "dnssec-invalid";
	switch (cause) {
	case MT_LS_CAUSE_NO_ESMTP:
	case MT_LS_CAUSE_NOT_ADVERTISED:
	case MT_LS_CAUSE_STARTTLS_ERROR: return "starttls-not-supported";
	case MT_LS_CAUSE_VERIFY:
		if (strcasestr(reason, "expired"))
			return "certificate-expired";
		if (strcasestr(reason, "mismatch") || strcasestr(reason, "hostname") || strcasestr(reason, "name"))
			return "certificate-host-mismatch";
		return "certificate-not-trusted";
	default: return "validation-failure";
	}
}

/* Does Postfix's tls= say DANE was the policy (the desired level)? */
static bool level_dane(const char *level, struct mt_ls_tls_status *st)
{
	if (!mt_ls_postfix_tls_status((struct mt_ls_str){level, strlen(level)}, st) || !st->level.present)
		return false;
	const char *n = st->level.name;
	return !strcmp(n, "dane") || !strcmp(n, "dane-only") || !strcmp(n, "halfdane");
}

void mt_ls_rpt_conn(struct mt_tlsrpt_agg *a, const struct mt_ls_conn *c)
{
	if (c->reqfail)
		return; /* counted by its required-failure record */
	struct mt_ls_tls_status st;
	bool dane = level_dane(c->level, &st);
	/* Exim's CV=dane and "DANE attempt failed", AsyncOS's ESADaneStatus */
	bool dane_failed = !strcmp(c->verify, "dane-failed");
	int pol = dane || dane_failed || !strcmp(c->verify, "dane") ? MT_TLSRPT_TLSA : MT_TLSRPT_NO_POLICY;
	if (c->tls == MT_LS_TLS_FAILED) {
		int cause = mt_ls_cause_from_text((struct mt_ls_str){c->reason, strlen(c->reason)});
		mt_tlsrpt_agg_failure(a, c->domain, pol, result_type(cause, c->reason), c->host, c->ip, c->reason);
	} else if (dane && st.level.final[0]) { /* DANE not met: went on at a lower level */
		char info[64];
		snprintf(info, sizeof info, "tls=%s", c->level);
		mt_tlsrpt_agg_failure(a, c->domain, pol, "validation-failure", c->host, c->ip, info);
	} else if (dane_failed) { /* TLS, but DANE not verified */
		mt_tlsrpt_agg_failure(a, c->domain, pol, "validation-failure", c->host, c->ip, "DANE not verified");
	} else if (c->tls == MT_LS_TLS_OK)
		mt_tlsrpt_agg_success(a, c->domain, pol);
}

void mt_ls_rpt_reqfail(struct mt_tlsrpt_agg *a, const struct mt_ls_reqfail *f)
{
	struct mt_ls_tls_status st;
	bool dane = f->dane || level_dane(f->level, &st) || (f->fmt == MT_LS_FMT_EXIM && strstr(f->reason, "DANE"));
	mt_tlsrpt_agg_failure(a, f->domain, dane ? MT_TLSRPT_TLSA : MT_TLSRPT_NO_POLICY, result_type(f->cause, f->reason),
			      f->host, f->ip, f->reason);
}

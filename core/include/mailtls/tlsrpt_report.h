/* tlsrpt_report.h — RFC 8460 aggregate reports, built from the sessions a sender saw.
 *
 * Sessions are added per policy domain and policy type; the report is one JSON document per
 * domain (its policies, each with its successful and failed session counts and failure
 * details), as RFC 8460 section 4.4 lays it out.  Memory is bounded: at most max_domains
 * domains (later ones are dropped and counted) and 16 failure details per domain and policy
 * (further failures are counted in the totals, without a detail of their own).
 */
#ifndef MAILTLS_TLSRPT_REPORT_H
#define MAILTLS_TLSRPT_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum mt_tlsrpt_policy {
	MT_TLSRPT_NO_POLICY = 0, /* "no-policy-found" */
	MT_TLSRPT_TLSA,		 /* "tlsa"; its policy-string (the TLSA records) is written as [] */
	MT_TLSRPT_POLICY_COUNT
};

struct mt_tlsrpt_agg;

struct mt_tlsrpt_agg *mt_tlsrpt_agg_new(uint32_t max_domains);
void mt_tlsrpt_agg_free(struct mt_tlsrpt_agg *a);
/* A successful session to domain (case folded; "" is ignored) under policy. */
void mt_tlsrpt_agg_success(struct mt_tlsrpt_agg *a, const char *domain, int policy);
/* A failed one: its RFC 8460 result-type (a string that outlives a), the receiving MX's
 * host name and address and a failure-reason-code (each "" when not known).  Failures with
 * the same type, host and address share a detail. */
void mt_tlsrpt_agg_failure(struct mt_tlsrpt_agg *a, const char *domain, int policy, const char *result_type,
			   const char *mx, const char *ip, const char *reason);
/* Sessions not counted: their domain came beyond max_domains (or no memory). */
uint64_t mt_tlsrpt_agg_dropped(const struct mt_tlsrpt_agg *a);

struct mt_tlsrpt_report_opts {
	const char *org, *contact, *sending_ip; /* sending_ip: NULL to leave it out */
	const char *generator;			/* the report-id's last part when org is NULL */
	time_t start, end;			/* the date-range */
};
/* One report per domain with sessions, by domain name, a JSON document per line; 0, or -1
 * on a write error. */
int mt_tlsrpt_agg_write(const struct mt_tlsrpt_agg *a, FILE *f, const struct mt_tlsrpt_report_opts *o);

#endif

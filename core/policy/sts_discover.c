/* sts_discover.c — MTA-STS discovery (RFC 8461 3): the _mta-sts TXT record, the policy
 * host's address through the caller's resolver, the HTTPS fetch and the parse, as one
 * result with a state a report or a relay can act on. Shared by mxprobe and the relay.
 * Nothing here allocates beyond the call; *out holds no pointers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/dns.h"
#include "mailtls/policy.h"

const char *mt_sts_state_name(enum mt_sts_state s)
{
	static const char *const n[] = {"not-checked", "none", "txt-error", "fetch-error", "parse-error", "ok", "unchanged"};
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

void mt_sts_discover(struct mt_dns *dns, const char *domain, const struct mt_sts_discover_opts *o,
		     struct mt_sts_result *out)
{
	memset(out, 0, sizeof *out);
	char q[300];
	snprintf(q, sizeof q, "_mta-sts.%s", domain);
	struct mt_dns_answer a;
	mt_dns_query(dns, q, MT_DNS_TXT, &a);
	const char *rec = NULL;
	size_t nrec = 0;
	for (size_t i = 0; i < a.n; i++)
		if (!strncmp((const char *)a.rrs[i].data, "v=STSv1", 7))
			rec = (const char *)a.rrs[i].data, nrec++;
	struct mt_err err = {0};
	if (a.state == MT_DNS_NXDOMAIN ||
	    ((a.state == MT_DNS_SECURE || a.state == MT_DNS_INSECURE) && nrec == 0)) {
		out->state = MT_STS_NONE;
		goto done;
	}
	if (a.state != MT_DNS_SECURE && a.state != MT_DNS_INSECURE) {
		out->state = MT_STS_TXT_ERROR;
		snprintf(out->error, sizeof out->error, "%.200s: %.380s", q, a.error);
		goto done;
	}
	if (nrec > 1) {
		out->state = MT_STS_TXT_ERROR;
		snprintf(out->error, sizeof out->error,
			 "%.250s has %zu v=STSv1 TXT records (RFC 8461 3.1: exactly one)", q, nrec);
		goto done;
	}
	struct mt_sts_txt txt;
	if (mt_sts_txt_parse(rec, &txt, &err) != MT_OK) {
		out->state = MT_STS_TXT_ERROR;
		snprintf(out->error, sizeof out->error, "%.200s: %.380s", q, err.msg);
		goto done;
	}
	mt_strlcpy(out->id, txt.id, sizeof out->id);
	if (o && o->known_id && o->known_id[0] && !strcmp(o->known_id, txt.id)) {
		out->state = MT_STS_UNCHANGED;
		goto done;
	}
	char host[300];
	snprintf(host, sizeof host, "mta-sts.%s", domain);
	struct mt_dns_answer ha;
	int family = o ? o->family : 0;
	mt_dns_query(dns, host, family == 6 ? MT_DNS_AAAA : MT_DNS_A, &ha);
	if (ha.n == 0 && family == 0) {
		mt_dns_answer_free(&ha);
		mt_dns_query(dns, host, MT_DNS_AAAA, &ha);
	}
	if (ha.n == 0) {
		out->state = MT_STS_FETCH_ERROR;
		snprintf(out->error, sizeof out->error, "cannot resolve %.250s: %.300s", host,
			 ha.error[0] ? ha.error : "no address records");
		mt_dns_answer_free(&ha);
		goto done;
	}
	struct mt_sts_fetch_opts fo = {
	    .domain = domain,
	    .address = ha.rrs[0].host,
	    .port = o ? o->port : 0,
	    .cafile = o ? o->cafile : NULL,
	    .timeout_ms = o && o->timeout_ms ? o->timeout_ms : 10000,
	};
	char *body = NULL;
	size_t len = 0;
	mt_status st = mt_sts_fetch(&fo, &body, &len, &err);
	mt_dns_answer_free(&ha);
	if (st != MT_OK) {
		out->state = MT_STS_FETCH_ERROR;
		mt_strlcpy(out->error, err.msg, sizeof out->error);
		goto done;
	}
	st = mt_sts_policy_parse(body, len, &out->policy, &err);
	free(body);
	if (st != MT_OK) {
		out->state = MT_STS_PARSE_ERROR;
		snprintf(out->error, sizeof out->error, "policy of %.250s: %.300s", domain, err.msg);
		goto done;
	}
	out->state = MT_STS_OK;
done:
	mt_dns_answer_free(&a);
}

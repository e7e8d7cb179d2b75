/* logscan_tlsrpt.c — RFC 8460 aggregate reports from outbound sessions.
 *
 * Each domain's sessions are reported under the policy the log shows the sender applied:
 * "tlsa" where it shows DANE (Postfix 3.11's tls= with a desired level dane, dane-only or
 * halfdane; Exim's CV=dane, its "DANE attempt failed" and DANE deferrals; an AsyncOS
 * consolidated event's ESADaneStatus), otherwise "no-policy-found" (a log does not show
 * MTA-STS).  A tlsa policy's policy-string, the TLSA records, is not in the log: it is
 * written as an empty array.  Sessions counted:
 * successful TLS sessions, and failures (TLS failed, TLS required and not used, a DANE
 * level downgraded) with a result-type mapped from the failure cause.  Sessions in clear
 * that no policy required are neither, as in RFC 8460.  Domains beyond the cap are dropped
 * and counted.
 */
#include "logscan_out.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DETAILS 16

struct detail {
	const char *type;
	char mx[96], ip[48], info[192];
	uint64_t count;
};

enum { POL_NONE, POL_TLSA, POL_N };
static const char *const pol_name[POL_N] = {"no-policy-found", "tlsa"};

struct pol {
	uint64_t ok, fail;
	int nd, cap;
	struct detail *d; /* grown as failures come, up to MAX_DETAILS: most domains have none */
	uint64_t other_fail;
};

struct dom {
	struct pol p[POL_N];
};

struct mt_ls_rpt {
	struct mt_ls_keytab t;
	uint64_t dropped;
};

struct mt_ls_rpt *mt_ls_rpt_new(uint32_t max_domains)
{
	struct mt_ls_rpt *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->t.max_keys = max_domains;
	r->t.slots = malloc(64 * sizeof *r->t.slots);
	if (!r->t.slots) {
		free(r);
		return NULL;
	}
	memset(r->t.slots, 0xff, 64 * sizeof *r->t.slots);
	r->t.mask = 63;
	return r;
}

void mt_ls_rpt_free(struct mt_ls_rpt *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->t.n; i++) {
		struct dom *d = (struct dom *)(uintptr_t)r->t.ents[i].aux;
		if (!d)
			continue;
		for (int k = 0; k < POL_N; k++)
			free(d->p[k].d);
		free(d);
	}
	mt_ls_keytab_free(&r->t);
	free(r);
}

static struct dom *dom_get(struct mt_ls_rpt *r, const char *domain)
{
	if (!domain[0])
		return NULL;
	char low[96];
	size_t n = 0;
	for (; domain[n] && n + 1 < sizeof low; n++)
		low[n] = (domain[n] >= 'A' && domain[n] <= 'Z') ? (char)(domain[n] + 32) : domain[n];
	low[n] = '\0';
	struct mt_ls_kent *e = mt_ls_keytab_get(&r->t, low, n);
	if (!e) {
		r->dropped++;
		return NULL;
	}
	if (!e->aux)
		e->aux = (uint64_t)(uintptr_t)calloc(1, sizeof(struct dom));
	return (struct dom *)(uintptr_t)e->aux;
}

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

static void fail(struct pol *d, const char *type, const char *mx, const char *ip, const char *info)
{
	d->fail++;
	for (int i = 0; i < d->nd; i++)
		if (d->d[i].type == type && !strcmp(d->d[i].mx, mx) && !strcmp(d->d[i].ip, ip)) {
			d->d[i].count++;
			return;
		}
	if (d->nd == d->cap) {
		int nc = d->cap ? d->cap * 2 : 2;
		struct detail *nd = nc <= MAX_DETAILS ? realloc(d->d, (size_t)nc * sizeof *nd) : NULL;
		if (!nd) { /* full (or no memory): counted, without detail */
			d->other_fail++;
			return;
		}
		d->d = nd;
		d->cap = nc;
	}
	struct detail *x = &d->d[d->nd++];
	x->type = type;
	snprintf(x->mx, sizeof x->mx, "%s", mx);
	snprintf(x->ip, sizeof x->ip, "%s", ip);
	snprintf(x->info, sizeof x->info, "%s", info);
	x->count = 1;
}

void mt_ls_rpt_conn(struct mt_ls_rpt *r, const struct mt_ls_conn *c)
{
	if (c->reqfail)
		return; /* counted by its required-failure record */
	struct dom *dd = dom_get(r, c->domain);
	if (!dd)
		return;
	struct mt_ls_tls_status st;
	bool dane = level_dane(c->level, &st);
	/* Exim's CV=dane and "DANE attempt failed", AsyncOS's ESADaneStatus */
	bool dane_failed = !strcmp(c->verify, "dane-failed");
	bool log_dane = dane_failed || !strcmp(c->verify, "dane");
	struct pol *d = &dd->p[dane || log_dane ? POL_TLSA : POL_NONE];
	if (c->tls == MT_LS_TLS_FAILED) {
		int cause = mt_ls_cause_from_text((struct mt_ls_str){c->reason, strlen(c->reason)});
		fail(d, result_type(cause, c->reason), c->host, c->ip, c->reason);
	} else if (dane && st.level.final[0]) { /* DANE not met: went on at a lower level */
		char info[64];
		snprintf(info, sizeof info, "tls=%s", c->level);
		fail(d, "validation-failure", c->host, c->ip, info);
	} else if (dane_failed) { /* TLS, but DANE not verified */
		fail(d, "validation-failure", c->host, c->ip, "DANE not verified");
	} else if (c->tls == MT_LS_TLS_OK)
		d->ok++;
}

void mt_ls_rpt_reqfail(struct mt_ls_rpt *r, const struct mt_ls_reqfail *f)
{
	struct dom *dd = dom_get(r, f->domain);
	if (!dd)
		return;
	struct mt_ls_tls_status st;
	bool dane = f->dane || level_dane(f->level, &st) || (f->fmt == MT_LS_FMT_EXIM && strstr(f->reason, "DANE"));
	fail(&dd->p[dane ? POL_TLSA : POL_NONE], result_type(f->cause, f->reason), f->host, f->ip, f->reason);
}

static void iso(time_t t, char *out, size_t n)
{
	struct tm tm;
	if (!t || !gmtime_r(&t, &tm))
		snprintf(out, n, "1970-01-01T00:00:00Z");
	else
		strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int mt_ls_rpt_write(struct mt_ls_rpt *r, FILE *f, const struct mt_ls_tlsrpt_opts *o, time_t t_min, time_t t_max)
{
	char a[32], b[32];
	iso(t_min, a, sizeof a);
	iso(t_max, b, sizeof b);
	struct mt_ls_kent **v = mt_ls_keytab_sorted(&r->t, 1);
	if (!v)
		return -1;
	for (uint32_t i = 0; i < r->t.n; i++) {
		struct dom *dd = (struct dom *)(uintptr_t)v[i]->aux;
		if (!dd)
			continue;
		json_t *pols = json_array();
		for (int pi = 0; pi < POL_N; pi++) {
			const struct pol *d = &dd->p[pi];
			if (!d->ok && !d->fail)
				continue;
			json_t *fd = json_array();
			for (int k = 0; k < d->nd; k++) {
				json_t *e = json_pack("{ss sI}", "result-type", d->d[k].type, "failed-session-count",
						      (json_int_t)d->d[k].count);
				if (o->sending_ip)
					json_object_set_new(e, "sending-mta-ip", json_string(o->sending_ip));
				if (d->d[k].mx[0])
					json_object_set_new(e, "receiving-mx-hostname", json_string(d->d[k].mx));
				if (d->d[k].ip[0])
					json_object_set_new(e, "receiving-ip", json_string(d->d[k].ip));
				if (d->d[k].info[0])
					json_object_set_new(e, "failure-reason-code", json_string(d->d[k].info));
				json_array_append_new(fd, e);
			}
			json_t *pol = json_pack("{ss ss}", "policy-type", pol_name[pi], "policy-domain", v[i]->key);
			if (pi == POL_TLSA) /* the records are not in the log */
				json_object_set_new(pol, "policy-string", json_array());
			json_array_append_new(
			    pols, json_pack("{so s{sI sI} so}", "policy", pol, "summary", "total-successful-session-count",
					    (json_int_t)d->ok, "total-failure-session-count", (json_int_t)d->fail,
					    "failure-details", fd));
		}
		if (!json_array_size(pols)) {
			json_decref(pols);
			continue;
		}
		char rid[256];
		snprintf(rid, sizeof rid, "%s_%s_%s", a, v[i]->key, o->org ? o->org : "logscan");
		json_t *rep = json_pack("{ss s{ss ss} ss ss so}", "organization-name", o->org ? o->org : "",
					"date-range", "start-datetime", a, "end-datetime", b, "contact-info",
					o->contact ? o->contact : "", "report-id", rid, "policies", pols);
		char *s = json_dumps(rep, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (s)
			fprintf(f, "%s\n", s);
		free(s);
		json_decref(rep);
	}
	free(v);
	return ferror(f) ? -1 : 0;
}

/* tlsrpt_report.c — see mailtls/tlsrpt_report.h. */
#include "mailtls/tlsrpt_report.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DETAILS 16

static const char *const policy_type[MT_TLSRPT_POLICY_COUNT] = {"no-policy-found", "tlsa"};

struct detail {
	const char *type;
	char mx[96], ip[48], info[192];
	uint64_t count;
};

struct pol {
	uint64_t ok, fail;
	int nd, cap;
	struct detail *d; /* grown as failures come, up to MAX_DETAILS: most domains have none */
};

struct dom {
	char name[96]; /* lower case */
	uint64_t hash;
	struct pol p[MT_TLSRPT_POLICY_COUNT];
};

struct mt_tlsrpt_agg {
	struct dom **doms; /* in the order first seen */
	uint32_t n, cap, max;
	uint32_t *slots; /* index + 1 into doms, 0 = empty; open addressing, at most half full */
	uint32_t mask;
	uint64_t dropped;
};

struct mt_tlsrpt_agg *mt_tlsrpt_agg_new(uint32_t max_domains)
{
	struct mt_tlsrpt_agg *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->max = max_domains;
	a->mask = 63;
	a->slots = calloc(a->mask + 1, sizeof *a->slots);
	if (!a->slots) {
		free(a);
		return NULL;
	}
	return a;
}

void mt_tlsrpt_agg_free(struct mt_tlsrpt_agg *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->n; i++) {
		for (int k = 0; k < MT_TLSRPT_POLICY_COUNT; k++)
			free(a->doms[i]->p[k].d);
		free(a->doms[i]);
	}
	free(a->doms);
	free(a->slots);
	free(a);
}

uint64_t mt_tlsrpt_agg_dropped(const struct mt_tlsrpt_agg *a)
{
	return a->dropped;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool grow(struct mt_tlsrpt_agg *a)
{
	uint32_t ns = (a->mask + 1) * 2;
	uint32_t *sl = calloc(ns, sizeof *sl);
	if (!sl)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t s = (uint32_t)a->doms[i]->hash & (ns - 1);
		while (sl[s])
			s = (s + 1) & (ns - 1);
		sl[s] = i + 1;
	}
	free(a->slots);
	a->slots = sl;
	a->mask = ns - 1;
	return true;
}

/* The domain's entry (created when absent), or NULL: "", beyond the cap, no memory. */
static struct dom *dom_get(struct mt_tlsrpt_agg *a, const char *domain)
{
	if (!domain[0])
		return NULL;
	char low[96];
	size_t n = 0;
	for (; domain[n] && n + 1 < sizeof low; n++)
		low[n] = (domain[n] >= 'A' && domain[n] <= 'Z') ? (char)(domain[n] + 32) : domain[n];
	low[n] = '\0';
	uint64_t h = name_hash(low);
	uint32_t s = (uint32_t)h & a->mask;
	for (; a->slots[s]; s = (s + 1) & a->mask) {
		struct dom *d = a->doms[a->slots[s] - 1];
		if (d->hash == h && strcmp(d->name, low) == 0)
			return d;
	}
	if (a->n >= a->max)
		goto drop;
	if (a->n == a->cap) {
		uint32_t nc = a->cap ? a->cap * 2 : 32;
		struct dom **nd = realloc(a->doms, nc * sizeof *nd);
		if (!nd)
			goto drop;
		a->doms = nd;
		a->cap = nc;
	}
	struct dom *d = calloc(1, sizeof *d);
	if (!d)
		goto drop;
	memcpy(d->name, low, n + 1);
	d->hash = h;
	a->doms[a->n++] = d;
	a->slots[s] = a->n;
	if (a->n * 2 > a->mask + 1)
		grow(a); /* without memory the table only fills up more: still correct */
	return d;
drop:
	a->dropped++;
	return NULL;
}

static struct pol *pol_get(struct mt_tlsrpt_agg *a, const char *domain, int policy)
{
	struct dom *d = dom_get(a, domain);
	return d ? &d->p[policy >= 0 && policy < MT_TLSRPT_POLICY_COUNT ? policy : MT_TLSRPT_NO_POLICY] : NULL;
}

void mt_tlsrpt_agg_success(struct mt_tlsrpt_agg *a, const char *domain, int policy)
{
	struct pol *p = pol_get(a, domain, policy);
	if (p)
		p->ok++;
}

void mt_tlsrpt_agg_failure(struct mt_tlsrpt_agg *a, const char *domain, int policy, const char *result_type,
			   const char *mx, const char *ip, const char *reason)
{
	struct pol *d = pol_get(a, domain, policy);
	if (!d)
		return;
	d->fail++;
	for (int i = 0; i < d->nd; i++)
		if (d->d[i].type == result_type && !strcmp(d->d[i].mx, mx) && !strcmp(d->d[i].ip, ip)) {
			d->d[i].count++;
			return;
		}
	if (d->nd == d->cap) {
		int nc = d->cap ? d->cap * 2 : 2;
		struct detail *nd = nc <= MAX_DETAILS ? realloc(d->d, (size_t)nc * sizeof *nd) : NULL;
		if (!nd) /* full (or no memory): in the totals, without a detail */
			return;
		d->d = nd;
		d->cap = nc;
	}
	struct detail *x = &d->d[d->nd++];
	x->type = result_type;
	snprintf(x->mx, sizeof x->mx, "%s", mx);
	snprintf(x->ip, sizeof x->ip, "%s", ip);
	snprintf(x->info, sizeof x->info, "%s", reason);
	x->count = 1;
}

static void iso(time_t t, char *out, size_t n)
{
	struct tm tm;
	if (!t || !gmtime_r(&t, &tm))
		snprintf(out, n, "1970-01-01T00:00:00Z");
	else
		strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int by_name(const void *x, const void *y)
{
	return strcmp((*(struct dom *const *)x)->name, (*(struct dom *const *)y)->name);
}

static json_t *policy_json(const struct pol *d, int pi, const char *domain, const char *sending_ip)
{
	json_t *fd = json_array();
	for (int k = 0; k < d->nd; k++) {
		json_t *e = json_pack("{ss sI}", "result-type", d->d[k].type, "failed-session-count", (json_int_t)d->d[k].count);
		if (sending_ip)
			json_object_set_new(e, "sending-mta-ip", json_string(sending_ip));
		if (d->d[k].mx[0])
			json_object_set_new(e, "receiving-mx-hostname", json_string(d->d[k].mx));
		if (d->d[k].ip[0])
			json_object_set_new(e, "receiving-ip", json_string(d->d[k].ip));
		if (d->d[k].info[0])
			json_object_set_new(e, "failure-reason-code", json_string(d->d[k].info));
		json_array_append_new(fd, e);
	}
	json_t *pol = json_pack("{ss ss}", "policy-type", policy_type[pi], "policy-domain", domain);
	if (pi == MT_TLSRPT_TLSA) /* the records are not known here */
		json_object_set_new(pol, "policy-string", json_array());
	return json_pack("{so s{sI sI} so}", "policy", pol, "summary", "total-successful-session-count", (json_int_t)d->ok,
			 "total-failure-session-count", (json_int_t)d->fail, "failure-details", fd);
}

int mt_tlsrpt_agg_write(const struct mt_tlsrpt_agg *a, FILE *f, const struct mt_tlsrpt_report_opts *o)
{
	char from[32], to[32];
	iso(o->start, from, sizeof from);
	iso(o->end, to, sizeof to);
	struct dom **v = malloc((a->n + 1) * sizeof *v);
	if (!v)
		return -1;
	memcpy(v, a->doms, a->n * sizeof *v);
	qsort(v, a->n, sizeof *v, by_name);
	for (uint32_t i = 0; i < a->n; i++) {
		json_t *pols = json_array();
		for (int pi = 0; pi < MT_TLSRPT_POLICY_COUNT; pi++)
			if (v[i]->p[pi].ok || v[i]->p[pi].fail)
				json_array_append_new(pols, policy_json(&v[i]->p[pi], pi, v[i]->name, o->sending_ip));
		char rid[256];
		snprintf(rid, sizeof rid, "%s_%s_%s", from, v[i]->name, o->org ? o->org : o->generator ? o->generator : "");
		json_t *rep = json_pack("{ss s{ss ss} ss ss so}", "organization-name", o->org ? o->org : "", "date-range",
					"start-datetime", from, "end-datetime", to, "contact-info", o->contact ? o->contact : "",
					"report-id", rid, "policies", pols);
		char *s = json_dumps(rep, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (s)
			fprintf(f, "%s\n", s);
		free(s);
		json_decref(rep);
	}
	free(v);
	return ferror(f) ? -1 : 0;
}

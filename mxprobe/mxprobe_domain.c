/* mxprobe_domain.c — one domain: MX (or null or implicit MX), every MX host's addresses with
 * their DNSSEC state, TLSA where the addresses are secure, MTA-STS and TLS-RPT, then a probe
 * of every address with the core engine, judged by the core's DANE judge
 * (mt_probe_dane_hook, the one DANE path relay and checktls also use), then MTA-STS.
 * When an MX name is a CNAME, its target is a second reference name (RFC 7672 2.2.2 and
 * 3.2.2; Postfix accepts both names for PKIX too).
 *
 * The domain result owns its hosts' address arrays and the probes in them (mx_domain_free).
 */
/* Messages are composed from DNS names and peer text into fixed buffers; cutting an
 * overlong message short is intended, so GCC's truncation analysis is off here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxprobe.h"

const char *mx_sts_state_name(enum mx_sts_state s)
{
	static const char *const n[] = {"not-checked", "none", "txt-error", "fetch-error",
					"policy-error", "ok"};
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

const char *mx_rpt_state_name(enum mx_rpt_state s)
{
	static const char *const n[] = {"not-checked", "none", "error", "ok"};
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

void mx_domain_free(struct mx_domain *d)
{
	for (size_t i = 0; i < d->nhosts; i++) {
		struct mx_host *h = &d->hosts[i];
		for (size_t k = 0; k < h->ntlsa; k++)
			mt_tlsa_free(&h->tlsa[k]);
		for (size_t k = 0; k < h->naddrs; k++)
			if (h->addrs[k].probed)
				mt_probe_free(&h->addrs[k].probe);
		free(h->addrs);
		h->addrs = NULL;
		h->naddrs = 0;
	}
	d->nhosts = 0;
}

static void chain_text(const struct mt_dns_answer *a, char *out, size_t outsz)
{
	out[0] = '\0';
	if (!a->ncnames)
		return;
	size_t k = mt_strlcpy(out, a->qname, outsz);
	for (size_t i = 0; i < a->ncnames && k < outsz; i++)
		k += (size_t)snprintf(out + k, outsz - k, " -> %s", a->cnames[i]);
}

static int exit_for_probe(const struct mt_probe *p)
{
	if (p->status == MT_ERR_USAGE || p->status == MT_ERR_BADINPUT)
		return MX_EXIT_USAGE;
	switch (p->outcome) {
	case MT_OUTCOME_OK: return MX_EXIT_PASS;
	case MT_OUTCOME_CHECK_FAILED: return MX_EXIT_CHECK;
	case MT_OUTCOME_NO_TLS: return MX_EXIT_NOTLS;
	case MT_OUTCOME_CONNECT: return MX_EXIT_CONNECT;
	case MT_OUTCOME_INTERNAL: return MX_EXIT_INTERNAL;
	}
	return MX_EXIT_INTERNAL;
}

/* The worse of two DNS states for a host's combined address state. */
static enum mt_dns_state worse(enum mt_dns_state a, enum mt_dns_state b)
{
	static const int rank[] = {[MT_DNS_SECURE] = 0, [MT_DNS_INSECURE] = 1,
				   [MT_DNS_NXDOMAIN] = 2, [MT_DNS_TEMPFAIL] = 3, [MT_DNS_BOGUS] = 4};
	return rank[a] >= rank[b] ? a : b;
}

static void set_reason(struct mx_domain *d, const char *fmt, const char *a, const char *b)
{
	if (!d->reason[0])
		snprintf(d->reason, sizeof d->reason, fmt, a, b);
}

static void add_addrs(struct mx_host *h, const struct mt_dns_answer *a, bool v6)
{
	for (size_t i = 0; i < a->n && h->naddrs < MX_MAX_ADDRS; i++) {
		struct mx_addr *x = &h->addrs[h->naddrs++];
		memset(x, 0, sizeof *x);
		mt_strlcpy(x->addr, a->rrs[i].host, sizeof x->addr);
		x->v6 = v6;
		x->sts = -1;
	}
}

static void resolve_host(const struct mx_cfg *cfg, struct mt_dns *dns, struct mx_host *h)
{
	h->addrs = calloc(MX_MAX_ADDRS, sizeof *h->addrs);
	h->a_state = h->aaaa_state = MT_DNS_INSECURE;
	bool any_answer = false;
	enum mt_dns_state st = MT_DNS_SECURE;
	char canon[256] = "";
	if (!h->addrs) {
		h->addr_state = MT_DNS_TEMPFAIL;
		mt_strlcpy(h->dns_error, "out of memory", sizeof h->dns_error);
		return;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		if ((v6 && cfg->family == MT_AF_INET4) || (!v6 && cfg->family == MT_AF_INET6))
			continue;
		struct mt_dns_answer a;
		mt_dns_query(dns, h->name, v6 ? MT_DNS_AAAA : MT_DNS_A, &a);
		if (v6) {
			h->aaaa_state = a.state;
			h->aaaa_asked = true;
		} else {
			h->a_state = a.state;
			h->a_asked = true;
		}
		if (a.state == MT_DNS_SECURE || a.state == MT_DNS_INSECURE) {
			any_answer = true;
			st = worse(st, a.state);
			add_addrs(h, &a, v6);
			if (a.ncnames && !h->cname[0])
				chain_text(&a, h->cname, sizeof h->cname);
			if (a.ncnames) {
				mt_strlcpy(canon, a.canon, sizeof canon);
				if (mt_strcasecmp(a.canon, h->name))
					mt_strlcpy(h->canon, a.canon, sizeof h->canon);
			}
		} else {
			/* NXDOMAIN for AAAA alone is odd, but a failed family must show */
			st = worse(st, a.state);
			if (!h->dns_error[0])
				mt_strlcpy(h->dns_error, a.error, sizeof h->dns_error);
		}
		mt_dns_answer_free(&a);
	}
	h->addr_state = any_answer && (st == MT_DNS_SECURE || st == MT_DNS_INSECURE)
			    ? st
			    : (any_answer ? MT_DNS_INSECURE : st);
	if (any_answer && h->naddrs == 0 && !h->dns_error[0])
		snprintf(h->dns_error, sizeof h->dns_error, "%s has no %s address records",
			 h->name,
			 cfg->family == MT_AF_INET4   ? "A"
			 : cfg->family == MT_AF_INET6 ? "AAAA"
						      : "A or AAAA");

	/* DANE applies only when the host's address records are DNSSEC-secure (RFC 7672 2.2) */
	if (cfg->no_dane || h->addr_state != MT_DNS_SECURE || h->naddrs == 0)
		return;
	/* the CNAME-expanded name first, then the name the MX gave (RFC 7672 2.2.2) */
	const char *bases[2] = {canon[0] ? canon : h->name, canon[0] ? h->name : NULL};
	for (int b = 0; b < 2 && bases[b]; b++) {
		char q[300];
		snprintf(q, sizeof q, "_25._tcp.%s", bases[b]);
		struct mt_dns_answer a;
		mt_dns_query(dns, q, MT_DNS_TLSA, &a);
		h->tlsa_asked = true;
		h->tlsa_state = a.state;
		if (a.state == MT_DNS_NXDOMAIN)
			h->tlsa_state = a.ad ? MT_DNS_SECURE : MT_DNS_INSECURE;
		if (a.state == MT_DNS_BOGUS || a.state == MT_DNS_TEMPFAIL)
			mt_strlcpy(h->tlsa_error, a.error, sizeof h->tlsa_error);
		for (size_t i = 0; i < a.n && h->ntlsa < MX_MAX_TLSA; i++)
			if (mt_tlsa_set(&h->tlsa[h->ntlsa], a.rrs[i].usage, a.rrs[i].selector,
					a.rrs[i].mtype, a.rrs[i].data, a.rrs[i].len, NULL) == MT_OK)
				h->ntlsa++;
		mt_dns_answer_free(&a);
		if (h->ntlsa || h->tlsa_state != MT_DNS_SECURE)
			break;
	}
}

/* MTA-STS discovery is the core's (the relay uses the same); here it is timed and its state
 * kept in mxprobe's terms. */
static void check_sts(const struct mx_cfg *cfg, struct mt_dns *dns, struct mx_domain *d)
{
	int64_t t0 = mt_now_ms();
	struct mt_sts_discover_opts so = {
	    .port = cfg->sts_port,
	    .cafile = cfg->sts_cafile ? cfg->sts_cafile : cfg->cafile,
	    .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000,
	    .family = cfg->family == MT_AF_INET6 ? 6 : cfg->family == MT_AF_INET4 ? 4 : 0,
	};
	struct mt_sts_result r;
	mt_sts_discover(dns, d->domain, &so, &r);
	switch (r.state) {
	case MT_STS_NONE: d->sts = MX_STS_NONE; break;
	case MT_STS_TXT_ERROR: d->sts = MX_STS_TXT_ERROR; break;
	case MT_STS_FETCH_ERROR: d->sts = MX_STS_FETCH_ERROR; break;
	case MT_STS_PARSE_ERROR: d->sts = MX_STS_PARSE_ERROR; break;
	case MT_STS_OK: d->sts = MX_STS_OK; break;
	default: d->sts = MX_STS_NOT_CHECKED; break; /* not asked for (no known id) */
	}
	mt_strlcpy(d->sts_id, r.id, sizeof d->sts_id);
	mt_strlcpy(d->sts_error, r.error, sizeof d->sts_error);
	if (r.state == MT_STS_OK)
		d->sts_policy = r.policy;
	d->sts_ms = mt_now_ms() - t0;
}

static void check_tlsrpt(struct mt_dns *dns, struct mx_domain *d)
{
	char q[300];
	snprintf(q, sizeof q, "_smtp._tls.%s", d->domain);
	struct mt_dns_answer a;
	mt_dns_query(dns, q, MT_DNS_TXT, &a);
	const char *rec = NULL;
	size_t nrec = 0;
	for (size_t i = 0; i < a.n; i++)
		if (!strncmp((const char *)a.rrs[i].data, "v=TLSRPTv1", 10))
			rec = (const char *)a.rrs[i].data, nrec++;
	struct mt_err err = {""};
	if (a.state == MT_DNS_BOGUS || a.state == MT_DNS_TEMPFAIL) {
		d->rpt = MX_RPT_ERROR;
		mt_strlcpy(d->rpt_text, a.error, sizeof d->rpt_text);
	} else if (nrec == 0) {
		d->rpt = MX_RPT_NONE;
		snprintf(d->rpt_text, sizeof d->rpt_text, "no TLS-RPT record at %s", q);
	} else if (nrec > 1) {
		d->rpt = MX_RPT_ERROR;
		snprintf(d->rpt_text, sizeof d->rpt_text,
			 "%s has %zu v=TLSRPTv1 records (RFC 8460 3: exactly one)", q, nrec);
	} else if (mt_tlsrpt_parse(rec, &d->rpt_rec, &err) != MT_OK) {
		d->rpt = MX_RPT_ERROR;
		snprintf(d->rpt_text, sizeof d->rpt_text, "%s: %s", q, err.msg);
	} else {
		d->rpt = MX_RPT_OK;
		size_t k = (size_t)snprintf(d->rpt_text, sizeof d->rpt_text, "reports to ");
		for (size_t i = 0; i < d->rpt_rec.nrua && k < sizeof d->rpt_text; i++)
			k += (size_t)snprintf(d->rpt_text + k, sizeof d->rpt_text - k, "%s%s",
					      i ? ", " : "", d->rpt_rec.rua[i]);
	}
	mt_dns_answer_free(&a);
}

/* The probe's judge: DANE per the host's TLSA answer through the core's hook; with
 * --no-dane no lookup was made on purpose, which the core judges as "not tried". */
struct mx_judge {
	bool no_dane;
	struct mt_dane_ctx dane;
};

static void mx_judge(struct mt_probe *p, void *arg)
{
	struct mx_judge *j = arg;
	if (!j->no_dane) {
		mt_probe_dane_hook(p, &j->dane);
		return;
	}
	struct mt_dane_result *dr = &j->dane.result;
	memset(dr, 0, sizeof *dr);
	dr->state = MT_DANE_NOT_TRIED;
	dr->rec = dr->cert = -1;
	mt_strlcpy(dr->text, "not checked", sizeof dr->text);
	mt_probe_dane_judge(p, dr);
}

static void probe_addr(const struct mx_cfg *cfg, struct mx_domain *d, struct mx_host *h,
		       struct mx_addr *x)
{
	struct mt_probe_opts po;
	mt_probe_opts_init(&po);
	po.host = x->addr;
	po.port = cfg->port ? cfg->port : 25;
	po.family = x->v6 ? MT_AF_INET6 : MT_AF_INET4;
	po.ehlo = cfg->ehlo;
	po.policy = cfg->policy;
	po.timeout_ms = cfg->timeout_ms;
	po.deadline_ms = cfg->deadline_ms;
	po.tls.sni = h->name;
	po.tls.priority = cfg->priority;
	po.verify.cafile = cfg->cafile;
	po.verify.capath = cfg->capath;
	po.verify.no_system_ca = cfg->cafile || cfg->capath;
	po.verify.now = cfg->now;
	if (cfg->warn_days >= 0)
		po.verify.warn_days = cfg->warn_days;
	/* the MX host name is the reference name; secure only when it came from secure DNS */
	bool secure = d->mx_state == MT_DNS_SECURE && h->addr_state == MT_DNS_SECURE;
	mt_verify_opts_add_ref(&po.verify, h->name, secure, NULL);
	if (h->canon[0])
		mt_verify_opts_add_ref(&po.verify, h->canon, secure, NULL);

	/* DANE: what DNS said about this host's TLSA records */
	struct mx_judge j;
	memset(&j, 0, sizeof j);
	j.no_dane = cfg->no_dane;
	struct mt_dane_ctx *dc = &j.dane;
	dc->asked = h->tlsa_asked;
	dc->lookup_failed = h->tlsa_state == MT_DNS_BOGUS || h->tlsa_state == MT_DNS_TEMPFAIL;
	dc->secure = h->tlsa_state == MT_DNS_SECURE;
	dc->recs = h->tlsa;
	dc->n = h->ntlsa;
	dc->now = cfg->now;
	/* the TLSA base domain (the CNAME-expanded name when the lookup went there) first */
	const char *refs[2] = {h->canon[0] ? h->canon : h->name, h->canon[0] ? h->name : NULL};
	for (int i = 0; i < 2 && refs[i]; i++) {
		mt_strlcpy(dc->refs[dc->nrefs].name, refs[i], sizeof dc->refs[0].name);
		dc->refs[dc->nrefs++].secure = true;
	}
	if (!h->tlsa_asked)
		mt_strlcpy(dc->why, "address records not DNSSEC-secure: no TLSA lookup",
			   sizeof dc->why);
	else if (dc->lookup_failed)
		mt_strlcpy(dc->why, h->tlsa_error, sizeof dc->why);
	dc->result.rec = dc->result.cert = -1;
	po.judge = mx_judge;
	po.judge_arg = &j;

	mx_limit_acquire(x->addr);
	mt_probe_run(&po, &x->probe);
	mx_limit_release(x->addr);
	x->probed = true;
	struct mt_probe *p = &x->probe;
	x->dane = dc->result;
	x->exit_code = exit_for_probe(p);

	/* MTA-STS for this address */
	if (d->sts == MX_STS_OK && d->sts_policy.mode != MT_STS_MODE_NONE) {
		bool enforce = d->sts_policy.mode == MT_STS_MODE_ENFORCE;
		if (!h->sts_pattern) {
			x->sts = 0;
			snprintf(x->sts_text, sizeof x->sts_text, "MX matches no mx pattern%s",
				 enforce ? ": STS senders would not deliver here" : "");
		} else if (!p->tls) {
			x->sts = 0;
			snprintf(x->sts_text, sizeof x->sts_text, "no TLS%s",
				 enforce ? ": STS senders would not deliver here" : "");
		} else if (!p->vr.trusted || !p->vr.name_matched) {
			x->sts = 0;
			snprintf(x->sts_text, sizeof x->sts_text, "certificate does not verify%s",
				 enforce ? ": STS senders would not deliver here" : "");
		} else {
			x->sts = 1;
			snprintf(x->sts_text, sizeof x->sts_text, "ok (mx: %.120s)", h->sts_pattern);
		}
	}
}

void mx_domain_run(const struct mx_cfg *cfg, struct mt_dns *dns, const char *input,
		   struct mx_domain *d)
{
	memset(d, 0, sizeof *d);
	int64_t t0 = mt_now_ms();
	mt_strlcpy(d->input, input, sizeof d->input);
	d->verdict = MT_VERDICT_PASS;
	struct mt_err err;
	if (mt_dns_normalize(input, d->domain, sizeof d->domain, &err) != MT_OK) {
		d->exit_code = MX_EXIT_USAGE;
		d->verdict = MT_VERDICT_FAIL;
		d->mx_state = MT_DNS_TEMPFAIL;
		mt_strlcpy(d->reason, err.msg, sizeof d->reason);
		goto done;
	}
	struct mt_dns_answer mx;
	mt_dns_query(dns, d->domain, MT_DNS_MX, &mx);
	d->mx_state = mx.state;
	chain_text(&mx, d->mx_cname, sizeof d->mx_cname);
	if (mx.state == MT_DNS_BOGUS || mx.state == MT_DNS_TEMPFAIL ||
	    mx.state == MT_DNS_NXDOMAIN) {
		mt_strlcpy(d->mx_error, mx.error, sizeof d->mx_error);
		d->exit_code = MX_EXIT_CONNECT;
		d->verdict = MT_VERDICT_FAIL;
		snprintf(d->reason, sizeof d->reason, "MX lookup failed: %s", mx.error);
		mt_dns_answer_free(&mx);
		goto done;
	}
	if (mx.n == 1 && mx.rrs[0].host[0] == '\0') {
		d->null_mx = true;
		snprintf(d->reason, sizeof d->reason,
			 "null MX (RFC 7505): %s accepts no mail", d->domain);
		mt_dns_answer_free(&mx);
		goto done;
	}
	if (mx.n == 0) {
		d->implicit_mx = true;
		d->nhosts = 1;
		mt_strlcpy(d->hosts[0].name, mx.canon[0] ? mx.canon : d->domain,
			   sizeof d->hosts[0].name);
	}
	for (size_t i = 0; i < mx.n; i++) {
		if (mx.rrs[i].host[0] == '\0')
			continue; /* a "." among real MX is meaningless: skipped */
		if (d->nhosts >= MX_MAX_HOSTS) {
			d->mx_dropped++;
			continue;
		}
		struct mx_host *h = &d->hosts[d->nhosts++];
		mt_strlcpy(h->name, mx.rrs[i].host, sizeof h->name);
		h->pref = mx.rrs[i].pref;
	}
	mt_dns_answer_free(&mx);

	if (!cfg->no_sts)
		check_sts(cfg, dns, d);
	if (!cfg->no_tlsrpt)
		check_tlsrpt(dns, d);

	for (size_t i = 0; i < d->nhosts; i++) {
		struct mx_host *h = &d->hosts[i];
		resolve_host(cfg, dns, h);
		if (d->sts == MX_STS_OK)
			h->sts_pattern = mt_sts_policy_match(&d->sts_policy, h->name);
		for (size_t k = 0; k < h->naddrs; k++)
			probe_addr(cfg, d, h, &h->addrs[k]);
	}

	/* the domain's verdict: the worst address, then the policies */
	int worst = 0;
	bool warn = false;
	for (size_t i = 0; i < d->nhosts; i++) {
		struct mx_host *h = &d->hosts[i];
		if (h->naddrs == 0) {
			worst = worst > MX_EXIT_CONNECT ? worst : MX_EXIT_CONNECT;
			set_reason(d, "%s: %s", h->name, h->dns_error[0] ? h->dns_error : "no addresses");
		}
		for (size_t k = 0; k < h->naddrs; k++) {
			struct mx_addr *x = &h->addrs[k];
			d->naddrs_total++;
			if (x->exit_code == 0)
				d->naddrs_ok++;
			if (x->exit_code > worst)
				worst = x->exit_code;
			if (x->exit_code)
				set_reason(d, "%s: %s", x->addr,
					   x->probe.reason[0] ? x->probe.reason : x->probe.err.msg);
			if (x->probe.verdict == MT_VERDICT_WARN)
				warn = true;
			if (x->sts == 0) {
				if (d->sts_policy.mode == MT_STS_MODE_ENFORCE) {
					worst = worst > MX_EXIT_CHECK ? worst : MX_EXIT_CHECK;
					set_reason(d, "MTA-STS enforce: %s %s", x->addr, x->sts_text);
				} else {
					warn = true;
				}
			}
		}
	}
	if (d->sts == MX_STS_TXT_ERROR || d->sts == MX_STS_FETCH_ERROR ||
	    d->sts == MX_STS_PARSE_ERROR) {
		worst = worst > MX_EXIT_CHECK ? worst : MX_EXIT_CHECK;
		set_reason(d, "MTA-STS: %s%s", d->sts_error, "");
	}
	if (d->rpt == MX_RPT_ERROR)
		warn = true;
	d->exit_code = worst;
	d->verdict = worst ? MT_VERDICT_FAIL : warn ? MT_VERDICT_WARN : MT_VERDICT_PASS;
	if (!worst)
		d->reason[0] = '\0';
done:
	d->total_ms = mt_now_ms() - t0;
}

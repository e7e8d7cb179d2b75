/* mxprobe_out.c — printing a domain result: the MX matrix (one row per MX address, like
 * CheckTLS's MX Matrix), transcripts for -v, one JSON object per domain, one XML element
 * per domain, the Nagios line and the JUnit testsuite.
 *
 * JSON: the per-address probe object comes from the core renderer (mt_report_json) and is
 * embedded as is; the domain wrapper is built with jansson here. Returned strings are heap
 * (caller frees).
 * XML: the same jansson object, written element by element through the core's streaming
 * libxml2 writer (mt_lsxml; libxml2 itself stays in core/report/), so --xml and --json
 * always carry the same fields: object keys become elements, arrays an element holding one
 * child per item (named by item_name), null values are left out.
 */
/* Messages are composed from DNS names and peer text into fixed buffers; cutting an
 * overlong message short is intended, so GCC's truncation analysis is off here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/logscan_report.h"
#include "mailtls/report_junit.h"
#include "mxprobe.h"

static const char *verdict_word(enum mt_verdict v)
{
	return v == MT_VERDICT_PASS ? "PASS" : v == MT_VERDICT_WARN ? "WARN" : "FAIL";
}

/* "word 12ms" or "-" when the phase was not reached */
static void cell(char *out, size_t sz, const char *word, int64_t ms)
{
	if (ms < 0)
		snprintf(out, sz, "%s", word ? word : "-");
	else
		snprintf(out, sz, "%s %lldms", word, (long long)ms);
}

static void addr_cells(const struct mx_domain *d, const struct mx_addr *x, char c[10][80])
{
	const struct mt_probe *p = &x->probe;
	char w[40];
	cell(c[0], 80, p->connected ? "ok" : "FAIL", p->phase_ms[MT_PH_CONNECT]);
	if (p->banner_code)
		snprintf(w, sizeof w, "%d", p->banner_code);
	else
		snprintf(w, sizeof w, "%s", p->connected ? "none" : "-");
	cell(c[1], 80, w, p->connected ? p->phase_ms[MT_PH_BANNER] : -1);
	cell(c[2], 80, p->esmtp ? "ok" : (p->banner_ok ? "FAIL" : "-"),
	     p->banner_ok ? p->phase_ms[MT_PH_EHLO] : -1);
	if (!p->esmtp)
		snprintf(w, sizeof w, "-");
	else if (!p->starttls_offered)
		snprintf(w, sizeof w, "not offered");
	else if (p->starttls_code && p->starttls_code != 220)
		snprintf(w, sizeof w, "%d", p->starttls_code);
	else
		snprintf(w, sizeof w, "ok");
	cell(c[3], 80, w, p->starttls_attempted ? p->phase_ms[MT_PH_STARTTLS] : -1);
	if (p->tls)
		cell(c[4], 80, p->tlsinfo.protocol, p->phase_ms[MT_PH_HANDSHAKE]);
	else
		cell(c[4], 80, p->starttls_attempted ? "FAIL" : "-",
		     p->starttls_attempted ? p->phase_ms[MT_PH_HANDSHAKE] : -1);
	snprintf(c[5], 80, "%s", p->tls ? p->tlsinfo.cipher : "-");
	snprintf(c[6], 80, "%s", !p->verified ? "-" : p->vr.trusted ? "ok" : "FAIL");
	snprintf(c[7], 80, "%s", !p->verified ? "-" : p->vr.name_matched ? "ok" : "FAIL");
	snprintf(c[8], 80, "%s", mt_dane_state_name(x->dane.state));
	if (x->sts < 0)
		snprintf(c[9], 80, "-");
	else
		snprintf(c[9], 80, "%s",
			 x->sts ? "ok" : d->sts_policy.mode == MT_STS_MODE_ENFORCE ? "FAIL" : "warn");
}

static void replay(FILE *f, const struct mt_probe *p, bool color)
{
	struct mt_text_out to = {.f = f, .color = color};
	for (size_t i = 0; i < p->nevents; i++) {
		struct mt_event ev = {p->events[i].kind, p->events[i].t_ms,
				      mt_probe_event_text(p, i)};
		mt_report_text_event(&ev, p, &to);
	}
}

void mx_out_matrix(FILE *f, const struct mx_domain *d, bool color, bool verbose)
{
	fprintf(f, "Domain %s", d->domain[0] ? d->domain : d->input);
	if (d->domain[0] && strcmp(d->domain, d->input) && mt_strcasecmp(d->domain, d->input))
		fprintf(f, " (%s)", d->input);
	fprintf(f, ": MX %s", mt_dns_state_name(d->mx_state));
	if (d->mx_cname[0])
		fprintf(f, ", CNAME %s", d->mx_cname);
	fputc('\n', f);
	if (d->mx_error[0])
		fprintf(f, "  DNS: %s\n", d->mx_error);
	if (d->null_mx)
		fprintf(f, "  null MX (RFC 7505): the domain accepts no mail\n");
	if (d->implicit_mx)
		fprintf(f, "  no MX records: implicit MX %s (RFC 5321 5.1)\n", d->hosts[0].name);
	if (d->mx_dropped)
		fprintf(f, "  %zu more MX records not probed (limit %d)\n", d->mx_dropped, MX_MAX_HOSTS);
	if (d->sts != MX_STS_NOT_CHECKED) {
		fprintf(f, "  MTA-STS: %s", mx_sts_state_name(d->sts));
		if (d->sts == MX_STS_OK) {
			fprintf(f, ", mode %s, max_age %ld, id %s, mx:", mt_sts_mode_name(d->sts_policy.mode),
				d->sts_policy.max_age, d->sts_id);
			for (size_t i = 0; i < d->sts_policy.nmx; i++)
				fprintf(f, " %s", d->sts_policy.mx[i]);
		} else if (d->sts_error[0]) {
			fprintf(f, ": %s", d->sts_error);
		}
		fprintf(f, " (%lldms)\n", (long long)d->sts_ms);
	}
	if (d->rpt != MX_RPT_NOT_CHECKED)
		fprintf(f, "  TLS-RPT: %s: %s\n", mx_rpt_state_name(d->rpt), d->rpt_text);
	if (d->nhosts) {
		fprintf(f, "%-4s %-24s %-16s %-8s %-10s %-10s %-9s %-13s %-14s %-28s %-5s %-5s %-14s %-7s %s\n",
			"Pref", "MX", "Address", "DNSSEC", "Connect", "Banner", "EHLO", "STARTTLS",
			"TLS", "Cipher", "Trust", "Name", "DANE", "STS", "Verdict");
	}
	for (size_t i = 0; i < d->nhosts; i++) {
		const struct mx_host *h = &d->hosts[i];
		if (h->naddrs == 0)
			fprintf(f, "%-4u %-24s %-16s %-8s %s\n", h->pref, h->name, "-",
				mt_dns_state_name(h->addr_state),
				h->dns_error[0] ? h->dns_error : "no addresses");
		for (size_t k = 0; k < h->naddrs; k++) {
			const struct mx_addr *x = &h->addrs[k];
			char c[10][80];
			addr_cells(d, x, c);
			fprintf(f, "%-4u %-24s %-16s %-8s %-10s %-10s %-9s %-13s %-14s %-28s %-5s %-5s %-14s %-7s %s\n",
				h->pref, h->name, x->addr, mt_dns_state_name(h->addr_state), c[0],
				c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9],
				verdict_word(x->probe.verdict));
		}
	}
	/* the notes under the matrix: what each address's verdict and checks said */
	for (size_t i = 0; i < d->nhosts; i++) {
		const struct mx_host *h = &d->hosts[i];
		if (h->cname[0])
			fprintf(f, "  %s: CNAME %s\n", h->name, h->cname);
		/* one family's lookup failed while the other gave addresses: the host is probed
		 * on those, but counts as insecure (no DANE), and the failure must show */
		if (h->naddrs)
			for (int v6 = 0; v6 < 2; v6++) {
				enum mt_dns_state st = v6 ? h->aaaa_state : h->a_state;
				if ((v6 ? h->aaaa_asked : h->a_asked) && (st == MT_DNS_BOGUS || st == MT_DNS_TEMPFAIL))
					fprintf(f, "  %s: %s lookup %s%s%s; the host counts as DNSSEC-insecure (no DANE)\n",
						h->name, v6 ? "AAAA" : "A", mt_dns_state_name(st),
						h->dns_error[0] ? ": " : "", h->dns_error);
			}
		if (h->tlsa_asked && h->ntlsa) {
			for (size_t t = 0; t < h->ntlsa; t++) {
				char r[200];
				mt_tlsa_format(&h->tlsa[t], r, sizeof r);
				const char *why = mt_tlsa_unusable(&h->tlsa[t]);
				fprintf(f, "  %s: TLSA %s (%s)%s%s\n", h->name, r,
					mt_dns_state_name(h->tlsa_state), why ? " unusable: " : "",
					why ? why : "");
			}
		}
		for (size_t k = 0; k < h->naddrs; k++) {
			const struct mx_addr *x = &h->addrs[k];
			fprintf(f, "  [%s] %s\n", x->addr, x->probe.verdict_text);
			if (x->probe.reason[0])
				fprintf(f, "  [%s] reason: %s\n", x->addr, x->probe.reason);
			if (x->dane.state != MT_DANE_NOT_TRIED)
				fprintf(f, "  [%s] DANE %s: %s\n", x->addr,
					mt_dane_state_name(x->dane.state), x->dane.text);
			if (x->sts >= 0)
				fprintf(f, "  [%s] MTA-STS: %s\n", x->addr, x->sts_text);
		}
	}
	if (verbose) {
		for (size_t i = 0; i < d->nhosts; i++)
			for (size_t k = 0; k < d->hosts[i].naddrs; k++) {
				const struct mx_addr *x = &d->hosts[i].addrs[k];
				fprintf(f, "\n=== Transcript: MX %u %s [%s] ===\n", d->hosts[i].pref,
					d->hosts[i].name, x->addr);
				replay(f, &x->probe, color);
			}
		fputc('\n', f);
	}
	fprintf(f, "Verdict: %s: %s: %zu of %zu MX addresses passed", verdict_word(d->verdict),
		d->domain[0] ? d->domain : d->input, d->naddrs_ok, d->naddrs_total);
	if (d->null_mx)
		fprintf(f, "; accepts no mail (null MX)");
	fputc('\n', f);
	if (d->reason[0] && !d->null_mx)
		fprintf(f, "Reason: %s\n", d->reason);
}

/* The domain result as a jansson object (caller decrefs); NULL on no memory. */
static json_t *domain_json(const struct mx_domain *d)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "domain", json_string(d->domain[0] ? d->domain : d->input));
	json_object_set_new(o, "input", json_string(d->input));
	json_object_set_new(o, "verdict", json_string(mt_verdict_name(d->verdict)));
	json_object_set_new(o, "exit_code", json_integer(d->exit_code));
	json_object_set_new(o, "reason", json_string(d->reason));
	json_object_set_new(o, "time_ms", json_integer(d->total_ms));
	json_t *mx = json_object();
	json_object_set_new(mx, "dnssec", json_string(mt_dns_state_name(d->mx_state)));
	json_object_set_new(mx, "error", json_string(d->mx_error));
	json_object_set_new(mx, "cname", json_string(d->mx_cname));
	json_object_set_new(mx, "null_mx", json_boolean(d->null_mx));
	json_object_set_new(mx, "implicit", json_boolean(d->implicit_mx));
	json_object_set_new(o, "mx", mx);
	json_t *hosts = json_array();
	for (size_t i = 0; i < d->nhosts; i++) {
		const struct mx_host *h = &d->hosts[i];
		json_t *ho = json_object();
		json_object_set_new(ho, "name", json_string(h->name));
		json_object_set_new(ho, "preference", json_integer(h->pref));
		json_object_set_new(ho, "cname", json_string(h->cname));
		json_object_set_new(ho, "dnssec", json_string(mt_dns_state_name(h->addr_state)));
		/* each family's own answer (a failed one makes the host insecure) */
		json_object_set_new(ho, "a_dnssec", h->a_asked ? json_string(mt_dns_state_name(h->a_state)) : json_null());
		json_object_set_new(ho, "aaaa_dnssec", h->aaaa_asked ? json_string(mt_dns_state_name(h->aaaa_state)) : json_null());
		json_object_set_new(ho, "dns_error", json_string(h->dns_error));
		json_t *tl = json_object();
		json_object_set_new(tl, "asked", json_boolean(h->tlsa_asked));
		json_object_set_new(tl, "dnssec", h->tlsa_asked ? json_string(mt_dns_state_name(h->tlsa_state)) : json_null());
		json_t *recs = json_array();
		for (size_t t = 0; t < h->ntlsa; t++) {
			char r[200];
			mt_tlsa_format(&h->tlsa[t], r, sizeof r);
			json_t *ro = json_object();
			json_object_set_new(ro, "record", json_string(r));
			const char *why = mt_tlsa_unusable(&h->tlsa[t]);
			json_object_set_new(ro, "usable", json_boolean(!why));
			if (why)
				json_object_set_new(ro, "unusable", json_string(why));
			json_array_append_new(recs, ro);
		}
		json_object_set_new(tl, "records", recs);
		json_object_set_new(ho, "tlsa", tl);
		json_object_set_new(ho, "mta_sts_match", h->sts_pattern ? json_string(h->sts_pattern) : json_null());
		json_t *addrs = json_array();
		for (size_t k = 0; k < h->naddrs; k++) {
			const struct mx_addr *x = &h->addrs[k];
			json_t *ao = json_object();
			json_object_set_new(ao, "address", json_string(x->addr));
			json_object_set_new(ao, "family", json_string(x->v6 ? "ipv6" : "ipv4"));
			json_object_set_new(ao, "exit_code", json_integer(x->exit_code));
			json_t *da = json_object();
			json_object_set_new(da, "state", json_string(mt_dane_state_name(x->dane.state)));
			json_object_set_new(da, "text", json_string(x->dane.text));
			json_object_set_new(da, "record", json_integer(x->dane.rec));
			json_object_set_new(da, "certificate", json_integer(x->dane.cert));
			json_object_set_new(ao, "dane", da);
			if (x->sts >= 0) {
				json_t *so = json_object();
				json_object_set_new(so, "ok", json_boolean(x->sts == 1));
				json_object_set_new(so, "text", json_string(x->sts_text));
				json_object_set_new(ao, "mta_sts", so);
			}
			char *pj = mt_report_json(&x->probe, x->exit_code, false);
			json_t *pv = pj ? json_loads(pj, 0, NULL) : NULL;
			free(pj);
			json_object_set_new(ao, "probe", pv ? pv : json_null());
			json_array_append_new(addrs, ao);
		}
		json_object_set_new(ho, "addresses", addrs);
		json_array_append_new(hosts, ho);
	}
	json_object_set_new(o, "hosts", hosts);
	json_t *sts = json_object();
	json_object_set_new(sts, "state", json_string(mx_sts_state_name(d->sts)));
	json_object_set_new(sts, "error", json_string(d->sts_error));
	json_object_set_new(sts, "id", json_string(d->sts_id));
	if (d->sts == MX_STS_OK) {
		json_object_set_new(sts, "mode", json_string(mt_sts_mode_name(d->sts_policy.mode)));
		json_object_set_new(sts, "max_age", json_integer(d->sts_policy.max_age));
		json_t *m = json_array();
		for (size_t i = 0; i < d->sts_policy.nmx; i++)
			json_array_append_new(m, json_string(d->sts_policy.mx[i]));
		json_object_set_new(sts, "mx", m);
	}
	json_object_set_new(sts, "time_ms", json_integer(d->sts_ms));
	json_object_set_new(o, "mta_sts", sts);
	json_t *rpt = json_object();
	json_object_set_new(rpt, "state", json_string(mx_rpt_state_name(d->rpt)));
	json_object_set_new(rpt, "text", json_string(d->rpt_text));
	json_t *rua = json_array();
	for (size_t i = 0; i < d->rpt_rec.nrua; i++)
		json_array_append_new(rua, json_string(d->rpt_rec.rua[i]));
	json_object_set_new(rpt, "rua", rua);
	json_object_set_new(o, "tls_rpt", rpt);
	return o;
}

char *mx_out_json(const struct mx_domain *d, bool pretty)
{
	json_t *o = domain_json(d);
	if (!o)
		return NULL;
	char *s = json_dumps(o, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
				       : JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* The element name for one item of the JSON array `key` (XPath-friendly singulars). */
static const char *item_name(const char *key)
{
	static const char *const map[][2] = {
	    {"hosts", "host"},	       {"addresses", "address"}, {"records", "tlsa"},
	    {"rua", "uri"},	       {"mx", "pattern"},	 {"certs", "cert"},
	    {"dns_names", "dns_name"}, {"ip_addresses", "ip_address"},
	    {"faults", "fault"},       {"transcript", "line"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(key, map[i][0]))
			return map[i][1];
	return "item";
}

/* An XML name from a JSON key: our keys are already [a-z_0-9]; anything else becomes '_'
 * so that a future key can never make the document ill-formed. */
static void xml_name(const char *key, char *out, size_t outsz)
{
	size_t o = 0;
	for (; *key && o + 1 < outsz; key++) {
		char c = *key;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (o > 0 && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
		out[o++] = ok ? c : '_';
	}
	if (o == 0)
		out[o++] = '_';
	out[o] = '\0';
}

static mt_status xml_children(struct mt_lsxml *x, json_t *obj);

/* One JSON value as the element `name` (a null writes nothing). */
static mt_status xml_value(struct mt_lsxml *x, const char *name, json_t *v)
{
	char n[64], num[40];
	xml_name(name, n, sizeof n);
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		mt_status st = mt_lsxml_start(x, n);
		if (st == MT_OK)
			st = xml_children(x, v);
		return st == MT_OK ? mt_lsxml_end(x) : st;
	}
	case JSON_ARRAY: {
		mt_status st = mt_lsxml_start(x, n);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (st == MT_OK)
				st = xml_value(x, item_name(name), e);
		}
		return st == MT_OK ? mt_lsxml_end(x) : st;
	}
	case JSON_STRING: return mt_lsxml_text(x, n, json_string_value(v));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return mt_lsxml_text(x, n, num);
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(v));
		return mt_lsxml_text(x, n, num);
	case JSON_TRUE: return mt_lsxml_text(x, n, "true");
	case JSON_FALSE: return mt_lsxml_text(x, n, "false");
	case JSON_NULL: return MT_OK;
	}
	return MT_OK;
}

static mt_status xml_children(struct mt_lsxml *x, json_t *obj)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		mt_status st = xml_value(x, k, v);
		if (st != MT_OK)
			return st;
	}
	return MT_OK;
}

mt_status mx_out_xml(struct mt_lsxml *x, const struct mx_domain *d, struct mt_err *err)
{
	json_t *o = domain_json(d);
	if (!o)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	/* the name and verdict also as attributes, for a quick //domain[@verdict="fail"] */
	mt_status st = mt_lsxml_start(x, "domain");
	if (st == MT_OK)
		st = mt_lsxml_attr(x, "name", d->domain[0] ? d->domain : d->input);
	if (st == MT_OK)
		st = mt_lsxml_attr(x, "verdict", mt_verdict_name(d->verdict));
	if (st == MT_OK)
		st = xml_children(x, o);
	if (st == MT_OK)
		st = mt_lsxml_end(x);
	json_decref(o);
	if (st != MT_OK)
		return mt_err_set(err, st, "cannot write the XML output");
	return MT_OK;
}

char *mx_out_nagios(const struct mx_domain *d, int *rc)
{
	const char *state;
	if (d->exit_code == MX_EXIT_USAGE || d->exit_code == MX_EXIT_INTERNAL)
		*rc = 3, state = "UNKNOWN";
	else if (d->exit_code)
		*rc = 2, state = "CRITICAL";
	else if (d->verdict == MT_VERDICT_WARN)
		*rc = 1, state = "WARNING";
	else
		*rc = 0, state = "OK";
	char *s = NULL;
	char msg[800];
	if (d->null_mx)
		snprintf(msg, sizeof msg, "null MX, accepts no mail");
	else
		snprintf(msg, sizeof msg, "%zu of %zu MX addresses passed%s%.600s", d->naddrs_ok,
			 d->naddrs_total, d->reason[0] ? "; " : "", d->reason);
	if (asprintf(&s, "MXPROBE %s - %s: %s | time=%.3fs addresses=%zu passed=%zu sts_time=%.3fs",
		     state, d->domain[0] ? d->domain : d->input, msg, d->total_ms / 1000.0,
		     d->naddrs_total, d->naddrs_ok, d->sts_ms / 1000.0) < 0)
		return NULL;
	return s;
}

mt_status mx_out_junit(struct mt_junit *j, const struct mx_domain *d, struct mt_err *err)
{
	size_t n = 3;
	for (size_t i = 0; i < d->nhosts; i++)
		n += d->hosts[i].naddrs ? d->hosts[i].naddrs : 1;
	struct mt_junit_case *c = calloc(n, sizeof *c);
	char (*names)[400] = calloc(n, sizeof *names);
	if (!c || !names) {
		free(c);
		free(names);
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
	const char *dom = d->domain[0] ? d->domain : d->input;
	size_t k = 0;
	snprintf(names[k], sizeof names[0], "DNS MX (%s)", mt_dns_state_name(d->mx_state));
	c[k].name = names[k];
	c[k].classname = dom;
	if (d->mx_error[0] || d->exit_code == MX_EXIT_USAGE)
		c[k].failure = d->mx_error[0] ? d->mx_error : d->reason, c[k].failure_type = "dns";
	k++;
	for (size_t i = 0; i < d->nhosts; i++) {
		const struct mx_host *h = &d->hosts[i];
		if (!h->naddrs) {
			snprintf(names[k], sizeof names[0], "MX %u %s", h->pref, h->name);
			c[k].name = names[k];
			c[k].classname = dom;
			c[k].failure = h->dns_error[0] ? h->dns_error : "no addresses";
			c[k].failure_type = "dns";
			k++;
		}
		for (size_t a = 0; a < h->naddrs; a++) {
			const struct mx_addr *x = &h->addrs[a];
			snprintf(names[k], sizeof names[0], "MX %u %s [%s]", h->pref, h->name, x->addr);
			c[k].name = names[k];
			c[k].classname = dom;
			c[k].time_s = x->probe.total_ms / 1000.0;
			c[k].detail = x->probe.verdict_text;
			if (x->exit_code) {
				c[k].failure = x->probe.reason[0] ? x->probe.reason : x->probe.verdict_text;
				c[k].failure_type = x->probe.nevents ? "probe" : "connect";
			} else if (x->sts == 0 && d->sts_policy.mode == MT_STS_MODE_ENFORCE) {
				c[k].failure = x->sts_text;
				c[k].failure_type = "mta-sts";
			}
			k++;
		}
	}
	c[k].name = "MTA-STS";
	c[k].classname = dom;
	c[k].time_s = d->sts_ms / 1000.0;
	if (d->sts == MX_STS_NONE || d->sts == MX_STS_NOT_CHECKED)
		c[k].skipped = true, c[k].detail = "no MTA-STS policy";
	else if (d->sts != MX_STS_OK)
		c[k].failure = d->sts_error, c[k].failure_type = mx_sts_state_name(d->sts);
	k++;
	c[k].name = "TLS-RPT";
	c[k].classname = dom;
	if (d->rpt == MX_RPT_NONE || d->rpt == MX_RPT_NOT_CHECKED)
		c[k].skipped = true, c[k].detail = "no TLS-RPT record";
	else if (d->rpt == MX_RPT_ERROR)
		c[k].failure = d->rpt_text, c[k].failure_type = "tls-rpt";
	else
		c[k].detail = d->rpt_text;
	k++;
	mt_status st = mt_junit_suite(j, dom, d->total_ms / 1000.0, c, k, err);
	free(c);
	free(names);
	return st;
}

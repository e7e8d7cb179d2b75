/* dns.c — ldns-backed lookups with the DNSSEC state of every answer.
 *
 * We ask with the DO bit (and RD) so that a validating resolver sets AD on answers it
 * validated; the AD bit is trusted as the validation result, which is only sound with a
 * resolver on a trusted path (loopback or the local network), as with Postfix's
 * smtp_dns_support_level=dnssec. SERVFAIL is reported as bogus: that is how validating
 * resolvers signal failed validation to stub clients.
 * Memory: answers own their records (mt_dns_answer_free); the resolver is mt_dns_free'd.
 */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/dns.h"
#include "mailtls/net.h"
#include "mailtls/tls.h"

struct mt_dns {
	ldns_resolver *res;
	int timeout_ms;
};

const char *mt_dns_state_name(enum mt_dns_state s)
{
	static const char *const n[] = {"secure", "insecure", "bogus", "nxdomain", "tempfail"};
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

const char *mt_dns_type_name(uint16_t t)
{
	switch (t) {
	case MT_DNS_A: return "A";
	case MT_DNS_AAAA: return "AAAA";
	case MT_DNS_MX: return "MX";
	case MT_DNS_TXT: return "TXT";
	case MT_DNS_CNAME: return "CNAME";
	case MT_DNS_TLSA: return "TLSA";
	}
	return "?";
}

mt_status mt_dns_normalize(const char *in, char *out, size_t outsz, struct mt_err *err)
{
	bool ascii = in != NULL;
	for (const char *q = in; q && *q; q++)
		if ((unsigned char)*q >= 0x80)
			ascii = false;
	if (ascii && strchr(in, '_')) {
		/* service owner names (_25._tcp, _mta-sts) are not host names: no IDNA */
		size_t n = mt_strlcpy(out, in, outsz);
		if (n >= outsz)
			return mt_err_set(err, MT_ERR_BADINPUT, "\"%.64s...\" is too long", in);
		if (n > 1 && out[n - 1] == '.')
			out[--n] = '\0';
		for (char *q = out; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
	} else {
		mt_status st = mt_name_to_alabel(in, out, outsz, err);
		if (st != MT_OK)
			return st;
	}
	size_t len = strlen(out);
	if (len > 253)
		return mt_err_set(err, MT_ERR_BADINPUT, "\"%.64s...\" is too long for a domain name", out);
	const char *l = out;
	for (;;) {
		const char *dot = strchr(l, '.');
		size_t n = dot ? (size_t)(dot - l) : strlen(l);
		if (n == 0 || n > 63)
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "\"%s\" is not a valid domain name: a label is %s", out,
					  n ? "longer than 63 octets" : "empty");
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)l[i];
			/* letters, digits, hyphen; underscore for _25._tcp style owner names */
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "\"%s\" is not a valid domain name: character '%c' "
						  "is not allowed", out, c >= 0x20 && c < 0x7f ? c : '?');
		}
		if (!dot)
			break;
		l = dot + 1;
	}
	return MT_OK;
}

mt_status mt_dns_new(const char *server, int timeout_ms, struct mt_dns **out, struct mt_err *err)
{
	*out = NULL;
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	ldns_resolver *res = NULL;
	if (!server) {
		ldns_status s = ldns_resolver_new_frm_file(&res, NULL);
		if (s != LDNS_STATUS_OK)
			return mt_err_set(err, MT_ERR_IO, "cannot read /etc/resolv.conf: %s",
					  ldns_get_errorstr_by_id(s));
		if (ldns_resolver_nameserver_count(res) == 0) {
			ldns_resolver_deep_free(res);
			return mt_err_set(err, MT_ERR_IO, "/etc/resolv.conf names no nameserver");
		}
	} else {
		char host[128];
		unsigned port = 0;
		if (mt_net_split_hostport(server, host, sizeof host, &port, err) != MT_OK)
			return MT_ERR_USAGE;
		ldns_rdf *ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
		if (!ns)
			ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, host);
		if (!ns)
			return mt_err_set(err, MT_ERR_USAGE,
					  "resolver '%s' is not an IP address (IP, IP:port or [v6]:port)",
					  server);
		res = ldns_resolver_new();
		if (!res) {
			ldns_rdf_deep_free(ns);
			return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		}
		ldns_resolver_push_nameserver(res, ns);
		ldns_rdf_deep_free(ns);
		if (port)
			ldns_resolver_set_port(res, (uint16_t)port);
	}
	/* one try per server within the lookup budget: ldns multiplies timeout by retries */
	ldns_resolver_set_retry(res, 1);
	ldns_resolver_set_retrans(res, 1);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_dnssec(res, true);
	ldns_resolver_set_dnssec_cd(res, false);
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_fallback(res, true); /* TCP when truncated */
	ldns_resolver_set_edns_udp_size(res, 1232);
	ldns_resolver_set_defnames(res, false);
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_random(res, false);
	struct mt_dns *d = calloc(1, sizeof *d);
	if (!d) {
		ldns_resolver_deep_free(res);
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
	d->res = res;
	d->timeout_ms = timeout_ms;
	*out = d;
	return MT_OK;
}

void mt_dns_free(struct mt_dns *d)
{
	if (!d)
		return;
	ldns_resolver_deep_free(d->res);
	free(d);
}

void mt_dns_answer_free(struct mt_dns_answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->rrs[i].data);
	free(a->rrs);
	a->rrs = NULL;
	a->n = 0;
}

/* Owner name text without the trailing dot, lower case. */
static void dname_str(const ldns_rdf *r, char *out, size_t outsz)
{
	out[0] = '\0';
	char *s = r ? ldns_rdf2str(r) : NULL;
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '.')
		s[--n] = '\0';
	else if (n == 1 && s[0] == '.')
		s[0] = '\0';
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	mt_strlcpy(out, s, outsz);
	free(s);
}

static int cmp_mx(const void *x, const void *y)
{
	const struct mt_dns_rr *a = x, *b = y;
	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	return strcmp(a->host, b->host);
}

static mt_status decode_rr(const ldns_rr *rr, struct mt_dns_rr *o)
{
	memset(o, 0, sizeof *o);
	o->type = (uint16_t)ldns_rr_get_type(rr);
	o->ttl = ldns_rr_ttl(rr);
	switch (o->type) {
	case MT_DNS_MX:
		if (ldns_rr_rd_count(rr) < 2)
			return MT_ERR_PROTO;
		o->pref = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		dname_str(ldns_rr_rdf(rr, 1), o->host, sizeof o->host);
		break;
	case MT_DNS_CNAME:
		dname_str(ldns_rr_rdf(rr, 0), o->host, sizeof o->host);
		break;
	case MT_DNS_A:
	case MT_DNS_AAAA: {
		const ldns_rdf *r = ldns_rr_rdf(rr, 0);
		size_t want = o->type == MT_DNS_A ? 4 : 16;
		if (!r || ldns_rdf_size(r) != want)
			return MT_ERR_PROTO;
		inet_ntop(o->type == MT_DNS_A ? AF_INET : AF_INET6, ldns_rdf_data(r), o->host,
			  sizeof o->host);
		break;
	}
	case MT_DNS_TLSA: {
		if (ldns_rr_rd_count(rr) < 4)
			return MT_ERR_PROTO;
		o->usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
		o->selector = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
		o->mtype = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
		const ldns_rdf *r = ldns_rr_rdf(rr, 3);
		o->len = ldns_rdf_size(r);
		o->data = malloc(o->len ? o->len : 1);
		if (!o->data)
			return MT_ERR_NOMEM;
		memcpy(o->data, ldns_rdf_data(r), o->len);
		break;
	}
	case MT_DNS_TXT: {
		/* each rdf is one <character-string>: length octet then bytes; joined as RFC
		 * 7208/8461 say multi-string TXT records are read */
		size_t total = 0;
		for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
			size_t sz = ldns_rdf_size(ldns_rr_rdf(rr, i));
			total += sz ? sz - 1 : 0;
		}
		o->data = malloc(total + 1);
		if (!o->data)
			return MT_ERR_NOMEM;
		size_t off = 0;
		for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
			const ldns_rdf *r = ldns_rr_rdf(rr, i);
			size_t sz = ldns_rdf_size(r);
			if (sz > 1) {
				memcpy(o->data + off, ldns_rdf_data(r) + 1, sz - 1);
				off += sz - 1;
			}
		}
		o->data[off] = '\0';
		o->len = off;
		break;
	}
	default:
		return MT_ERR_PROTO;
	}
	return MT_OK;
}

/* One round trip. Returns the packet or NULL (a->state/error set). */
static ldns_pkt *ask(struct mt_dns *d, const char *name, uint16_t type, struct mt_dns_answer *a)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	if (!dn) {
		a->state = MT_DNS_TEMPFAIL;
		snprintf(a->error, sizeof a->error, "cannot encode \"%.255s\" as a DNS name", name);
		return NULL;
	}
	ldns_pkt *pkt = NULL;
	ldns_status s = ldns_resolver_send(&pkt, d->res, dn, (ldns_rr_type)type, LDNS_RR_CLASS_IN,
					   LDNS_RD);
	ldns_rdf_deep_free(dn);
	if (s != LDNS_STATUS_OK || !pkt) {
		ldns_pkt_free(pkt);
		a->state = MT_DNS_TEMPFAIL;
		a->rcode = -1;
		snprintf(a->error, sizeof a->error, "%.255s %s: no answer from the resolver (%s)", name,
			 mt_dns_type_name(type), ldns_get_errorstr_by_id(s));
		return NULL;
	}
	return pkt;
}

mt_status mt_dns_query(struct mt_dns *d, const char *name, uint16_t type, struct mt_dns_answer *a)
{
	memset(a, 0, sizeof *a);
	a->qtype = type;
	a->rcode = -1;
	int64_t t0 = mt_now_ms();
	struct mt_err err;
	char cur[256];
	if (mt_dns_normalize(name, cur, sizeof cur, &err) != MT_OK) {
		mt_strlcpy(a->qname, name ? name : "", sizeof a->qname);
		a->state = MT_DNS_TEMPFAIL;
		mt_strlcpy(a->error, err.msg, sizeof a->error);
		return MT_ERR_BADINPUT;
	}
	mt_strlcpy(a->qname, cur, sizeof a->qname);
	bool all_secure = true;
	mt_status ret = MT_OK;
	/* each pass asks for cur; a CNAME whose target's records were not in the answer
	 * (out-of-zone target at an authoritative server) costs one more pass */
	for (int pass = 0; pass <= MT_DNS_MAX_CNAMES; pass++) {
		ldns_pkt *pkt = ask(d, cur, type, a);
		if (!pkt)
			goto done;
		a->rcode = ldns_pkt_get_rcode(pkt);
		a->ad = ldns_pkt_ad(pkt);
		if (!a->ad)
			all_secure = false;
		ldns_rr_list *ans = ldns_pkt_answer(pkt);
		size_t nans = ans ? ldns_rr_list_rr_count(ans) : 0;
		/* follow CNAMEs inside this answer */
		for (size_t hop = 0; hop < MT_DNS_MAX_CNAMES; hop++) {
			bool moved = false;
			for (size_t i = 0; i < nans; i++) {
				ldns_rr *rr = ldns_rr_list_rr(ans, i);
				if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || type == MT_DNS_CNAME)
					continue;
				char owner[256];
				dname_str(ldns_rr_owner(rr), owner, sizeof owner);
				if (strcmp(owner, cur) != 0)
					continue;
				if (a->ncnames >= MT_DNS_MAX_CNAMES) {
					a->state = MT_DNS_TEMPFAIL;
					snprintf(a->error, sizeof a->error,
						 "%.255s: CNAME chain longer than %d", a->qname,
						 MT_DNS_MAX_CNAMES);
					ldns_pkt_free(pkt);
					goto done;
				}
				dname_str(ldns_rr_rdf(rr, 0), cur, sizeof cur);
				mt_strlcpy(a->cnames[a->ncnames++], cur, sizeof a->cnames[0]);
				moved = true;
				break;
			}
			if (!moved)
				break;
		}
		size_t found = 0;
		for (size_t i = 0; i < nans; i++) {
			ldns_rr *rr = ldns_rr_list_rr(ans, i);
			char owner[256];
			dname_str(ldns_rr_owner(rr), owner, sizeof owner);
			if (ldns_rr_get_type(rr) != type || strcmp(owner, cur) != 0)
				continue;
			found++;
			if (a->n >= MT_DNS_MAX_RRS) {
				a->dropped++;
				continue;
			}
			if (!a->rrs) {
				a->rrs = calloc(MT_DNS_MAX_RRS, sizeof *a->rrs);
				if (!a->rrs) {
					ldns_pkt_free(pkt);
					ret = MT_ERR_NOMEM;
					goto done;
				}
			}
			mt_status st = decode_rr(rr, &a->rrs[a->n]);
			if (st == MT_ERR_NOMEM) {
				ldns_pkt_free(pkt);
				ret = st;
				goto done;
			}
			if (st == MT_OK)
				a->n++;
		}
		ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
		ldns_pkt_free(pkt);
		mt_strlcpy(a->canon, cur, sizeof a->canon);
		if (rc == LDNS_RCODE_NXDOMAIN) {
			a->state = MT_DNS_NXDOMAIN;
			snprintf(a->error, sizeof a->error, "%.255s does not exist (NXDOMAIN)", cur);
			goto done;
		}
		if (rc == LDNS_RCODE_SERVFAIL) {
			a->state = MT_DNS_BOGUS;
			snprintf(a->error, sizeof a->error,
				 "%.255s %s: SERVFAIL (DNSSEC validation failed, or the zone is broken)",
				 cur, mt_dns_type_name(type));
			goto done;
		}
		if (rc != LDNS_RCODE_NOERROR) {
			a->state = MT_DNS_TEMPFAIL;
			char *rs = ldns_pkt_rcode2str(rc);
			snprintf(a->error, sizeof a->error, "%.255s %s: resolver answered %.40s", cur,
				 mt_dns_type_name(type), rs ? rs : "an error");
			free(rs);
			goto done;
		}
		/* answered here, or NODATA at a name we did not reach by a CNAME just now */
		if (found || a->ncnames == 0 || type == MT_DNS_CNAME)
			break;
		if (pass == MT_DNS_MAX_CNAMES)
			break;
		/* the CNAME target's records were not included: ask for the target (once) */
		if (pass > 0)
			break;
	}
	a->state = all_secure ? MT_DNS_SECURE : MT_DNS_INSECURE;
	if (type == MT_DNS_MX && a->n > 1)
		qsort(a->rrs, a->n, sizeof *a->rrs, cmp_mx);
done:
	a->ms = mt_now_ms() - t0;
	return ret;
}

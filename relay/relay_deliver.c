/* relay_deliver.c — one delivery: a message's pending recipients for one destination
 * domain, through the destination control in force.
 *
 * Routing: a fixed route ([host]:port) or MX hosts by preference (null MX bounces, no MX
 * means the domain's own address, RFC 5321 5.1), each address in turn. Security: the
 * destination's level; MTA-STS in enforce mode skips MX hosts its policy does not list and
 * raises the level to verify (testing mode is only recorded); DANE TLSA records that are
 * DNSSEC-secure make the level dane (dane-only when configured). Each connection is one
 * mt_probe_run() with a struct mt_delivery: the core judges the session before MAIL, so a
 * session the policy rejects never carries the message, and the verdict logged here is the
 * one checktls would print for the same server.
 */
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailtls/dane.h"
#include "mailtls/dns.h"
#include "mailtls/net.h"
#include "mailtls/policy.h"
#include "mailtls/probe.h"
#include "mailtls/report.h"
#include "relay_int.h"

/* ---- per-destination connection limits ---- */

static struct rl_slot *slot_for(struct rl_ctx *x, const char *domain)
{
	for (struct rl_slot *s = x->slots; s; s = s->next)
		if (!strcmp(s->domain, domain))
			return s;
	struct rl_slot *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	mt_strlcpy(s->domain, domain, sizeof s->domain);
	s->next = x->slots;
	x->slots = s;
	return s;
}

static void limit_acquire(struct rl_ctx *x, const char *domain, unsigned max)
{
	pthread_mutex_lock(&x->mu);
	struct rl_slot *s = slot_for(x, domain);
	while (s && s->busy >= max)
		pthread_cond_wait(&x->slot_cv, &x->mu);
	if (s)
		s->busy++;
	pthread_mutex_unlock(&x->mu);
}

static void limit_release(struct rl_ctx *x, const char *domain)
{
	pthread_mutex_lock(&x->mu);
	struct rl_slot *s = slot_for(x, domain);
	if (s && s->busy)
		s->busy--;
	pthread_cond_broadcast(&x->slot_cv);
	pthread_mutex_unlock(&x->mu);
}

/* ---- MTA-STS (RFC 8461) ----
 *
 * A policy is cached for its max_age, in memory and under the queue (sts/<domain>), so a
 * restart keeps it. It is looked up again after a day (or its max_age, if shorter): when
 * the TXT record still names the cached policy's id, the policy has not changed and is not
 * fetched again (it still ends at its max_age); when the lookup fails while the cached policy
 * has not expired, the cached policy applies (RFC 8461 5.1: blocking the policy fetch must
 * not downgrade delivery). Without a policy, a failed lookup is retried after five minutes. */

/* A cache file: two lines of ours and the policy (32 MX names of up to 255 bytes at most). */
#define STS_FILE_MAX (MT_STS_MAX_MX * 270 + 256)

/* The policy file of a domain under the queue, or false for a name we will not use as one. */
static bool sts_path(const struct rl_config *c, const char *domain, char *out, size_t n)
{
	if (!domain[0] || domain[0] == '.' || strlen(domain) > 253)
		return false;
	for (const char *p = domain; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return snprintf(out, n, "%s/sts/%s", c->queue_dir, domain) < (int)n;
}

/* Write the policy (as a policy file, after two lines of ours), atomically. */
static void sts_save(const struct rl_config *c, const struct rl_sts *s, const char *id)
{
	char path[900], tmp[920], dir[700];
	if (!sts_path(c, s->domain, path, sizeof path))
		return;
	snprintf(dir, sizeof dir, "%s/sts", c->queue_dir);
	mkdir(dir, 0700);
	static unsigned seq; /* workers may save the same domain at once */
	snprintf(tmp, sizeof tmp, "%s.tmp%ld.%u", path, (long)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	char text[STS_FILE_MAX];
	if (mt_sts_policy_format(&s->policy, text, sizeof text) < 0)
		return;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "expires: %lld\nid: %s\n%s", (long long)s->expires, id, text);
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path) != 0)
		unlink(tmp);
}

/* The cached policy of a domain from the queue; false when none (or unreadable: logged). */
static bool sts_load(const struct rl_config *c, const char *domain, struct rl_sts *out)
{
	char path[900], buf[STS_FILE_MAX + 64];
	if (!sts_path(c, domain, path, sizeof path))
		return false;
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	long long exp = 0;
	char *nl1 = strchr(buf, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
	struct mt_err err;
	/* longer than any file of ours, or cut short: not trusted (the parser sees every byte,
	 * NULs included) */
	size_t idn = nl2 && nl1 + 5 <= nl2 ? (size_t)(nl2 - (nl1 + 5)) : 0;
	if (n == sizeof buf - 1 || !nl2 || sscanf(buf, "expires: %lld", &exp) != 1 || strncmp(nl1 + 1, "id: ", 4) != 0 ||
	    idn >= sizeof out->id ||
	    mt_sts_policy_parse(nl2 + 1, (size_t)(buf + n - (nl2 + 1)), &out->policy, &err) != MT_OK) {
		rl_maillog("Warning", "MTA-STS: cached policy %s unreadable: ignored", path);
		return false;
	}
	memcpy(out->id, nl1 + 5, idn);
	out->id[idn] = '\0';
	mt_strlcpy(out->domain, domain, sizeof out->domain);
	out->has_policy = true;
	out->expires = (time_t)exp;
	return true;
}

static void sts_lookup(struct rl_ctx *x, const struct rl_config *c, struct mt_dns *dns,
		       const char *domain, struct rl_sts *out)
{
	time_t now = time(NULL);
	struct rl_sts cached = {0};
	bool have_cached = false;
	pthread_mutex_lock(&x->mu);
	for (struct rl_sts *s = x->sts; s; s = s->next)
		if (!strcmp(s->domain, domain)) {
			if (s->refresh > now) {
				*out = *s;
				out->next = NULL;
				pthread_mutex_unlock(&x->mu);
				return;
			}
			if (s->has_policy && s->expires > now) {
				cached = *s;
				have_cached = true;
			}
			break;
		}
	pthread_mutex_unlock(&x->mu);
	if (!have_cached)
		have_cached = sts_load(c, domain, &cached) && cached.expires > now;

	memset(out, 0, sizeof *out);
	mt_strlcpy(out->domain, domain, sizeof out->domain);
	struct mt_sts_discover_opts so = {
	    .port = c->mta_sts_port,
	    .cafile = c->cafile[0] ? c->cafile : NULL,
	    .timeout_ms = c->timeout_s * 1000,
	    .known_id = have_cached ? cached.id : NULL,
	};
	struct mt_sts_result res;
	mt_sts_discover(dns, domain, &so, &res);
	if (res.state == MT_STS_OK) {
		out->has_policy = true;
		out->policy = res.policy;
		mt_strlcpy(out->id, res.id, sizeof out->id);
		snprintf(out->text, sizeof out->text, "MTA-STS mode %s, id %s",
			 mt_sts_mode_name(res.policy.mode), res.id);
		out->expires = now + res.policy.max_age;
		out->refresh = now + (res.policy.max_age < 86400 ? res.policy.max_age : 86400);
		sts_save(c, out, res.id);
	} else if (res.state == MT_STS_UNCHANGED && have_cached) {
		/* the TXT record names the cached policy: it stands, until its own end */
		*out = cached;
		out->next = NULL;
		snprintf(out->text, sizeof out->text, "MTA-STS mode %s, id %s (cached, unchanged)",
			 mt_sts_mode_name(cached.policy.mode), cached.id);
		time_t left = cached.expires - now;
		out->refresh = now + (left < 86400 ? left : 86400);
		rl_maillog("Info", "MTA-STS: policy of %s unchanged (id %.40s): not fetched again", domain, cached.id);
	} else if (have_cached) {
		/* RFC 8461 5.1: a valid cached policy stands when the lookup fails */
		*out = cached;
		out->next = NULL;
		snprintf(out->text, sizeof out->text, "MTA-STS mode %s (cached; lookup %s)",
			 mt_sts_mode_name(cached.policy.mode), mt_sts_state_name(res.state));
		out->refresh = now + 300;
		char until[32];
		struct tm tm;
		strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&cached.expires, &tm));
		rl_maillog("Info", "MTA-STS: policy of %s not refreshed (%s%s%.250s): the cached one (mode %s) "
				   "applies until %s",
			   domain, mt_sts_state_name(res.state), res.error[0] ? ": " : "", res.error,
			   mt_sts_mode_name(cached.policy.mode), until);
	} else {
		/* RFC 8461 5: without a valid (or cached) policy, deliver as if there were none */
		snprintf(out->text, sizeof out->text, "MTA-STS %s%s%.250s", mt_sts_state_name(res.state),
			 res.error[0] ? ": " : "", res.error);
		out->refresh = now + 300;
	}
	pthread_mutex_lock(&x->mu);
	struct rl_sts *s = x->sts;
	while (s && strcmp(s->domain, domain))
		s = s->next;
	if (s) {
		struct rl_sts *next = s->next;
		*s = *out;
		s->next = next;
	} else if ((s = malloc(sizeof *s)) != NULL) {
		*s = *out;
		s->next = x->sts;
		x->sts = s;
	}
	pthread_mutex_unlock(&x->mu);
}

/* ---- routing ---- */

struct hop {
	char name[256]; /* MX host or route host */
	unsigned port;
	char addrs[8][64];
	size_t naddrs;
	bool secure;	    /* MX and address records DNSSEC-secure */
	struct mt_dane_ctx dane;
	struct mt_tlsa tlsa[16];
	bool sts_listed;
	char error[300];
};

static void resolve_addrs(struct mt_dns *dns, struct hop *h, bool *secure)
{
	if (mt_net_is_ip(h->name)) {
		mt_strlcpy(h->addrs[0], h->name, sizeof h->addrs[0]);
		h->naddrs = 1;
		*secure = false;
		return;
	}
	bool sec = true;
	uint16_t types[2] = {MT_DNS_A, MT_DNS_AAAA};
	for (int t = 0; t < 2; t++) {
		struct mt_dns_answer a;
		mt_dns_query(dns, h->name, types[t], &a);
		if (a.state != MT_DNS_SECURE)
			sec = false;
		for (size_t i = 0; i < a.n && h->naddrs < 8; i++)
			mt_strlcpy(h->addrs[h->naddrs++], a.rrs[i].host, sizeof h->addrs[0]);
		if (!h->naddrs && a.error[0])
			mt_strlcpy(h->error, a.error, sizeof h->error);
		mt_dns_answer_free(&a);
	}
	if (!h->naddrs && !h->error[0])
		snprintf(h->error, sizeof h->error, "%s has no address records", h->name);
	*secure = sec;
}

static void lookup_tlsa(struct mt_dns *dns, struct hop *h)
{
	struct mt_dane_ctx *d = &h->dane;
	char q[300];
	snprintf(q, sizeof q, "_25._tcp.%s", h->name); /* RFC 7672 2.2.3 */
	struct mt_dns_answer a;
	mt_dns_query(dns, q, MT_DNS_TLSA, &a);
	d->asked = true;
	if (a.state == MT_DNS_BOGUS || a.state == MT_DNS_TEMPFAIL) {
		d->lookup_failed = true;
		snprintf(d->why, sizeof d->why, "TLSA %.80s: %.160s", q, a.error);
	} else {
		d->secure = a.state == MT_DNS_SECURE || (a.state == MT_DNS_NXDOMAIN && a.ad);
		for (size_t i = 0; i < a.n && d->n < 16; i++)
			if (mt_tlsa_set(&h->tlsa[d->n], a.rrs[i].usage, a.rrs[i].selector,
					a.rrs[i].mtype, a.rrs[i].data, a.rrs[i].len, NULL) == MT_OK)
				d->n++;
	}
	d->recs = h->tlsa;
	mt_strlcpy(d->refs[0].name, h->name, sizeof d->refs[0].name);
	d->refs[0].secure = true;
	d->nrefs = 1;
	mt_dns_answer_free(&a);
}

/* Fill hops; on a DNS answer that settles the matter, return RL_BOUNCED/RL_DEFERRED with
 * why, else -1. */
static int route(const struct rl_config *c, const struct rl_dest *dest, struct mt_dns *dns,
		 const char *domain, struct hop *hops, size_t *nhops, char *why, size_t whysz)
{
	*nhops = 0;
	if (dest->route_host[0]) {
		struct hop *h = &hops[0];
		memset(h, 0, sizeof *h);
		mt_strlcpy(h->name, dest->route_host, sizeof h->name);
		h->port = dest->route_port;
		bool sec;
		resolve_addrs(dns, h, &sec);
		*nhops = 1;
		return -1;
	}
	struct mt_dns_answer mx;
	mt_dns_query(dns, domain, MT_DNS_MX, &mx);
	int ret = -1;
	if (mx.state == MT_DNS_NXDOMAIN) {
		snprintf(why, whysz, "550 5.1.2 domain %s does not exist", domain);
		ret = RL_BOUNCED;
	} else if (mx.state == MT_DNS_BOGUS || mx.state == MT_DNS_TEMPFAIL) {
		snprintf(why, whysz, "451 4.4.3 MX lookup for %s failed: %s", domain, mx.error);
		ret = RL_DEFERRED;
	} else if (mx.n == 1 && mx.rrs[0].host[0] == '\0') {
		snprintf(why, whysz, "556 5.1.10 %s accepts no mail (null MX, RFC 7505)", domain);
		ret = RL_BOUNCED;
	} else {
		bool mx_secure = mx.state == MT_DNS_SECURE;
		size_t n = mx.n ? mx.n : 1;
		for (size_t i = 0; i < n && *nhops < 16; i++) {
			struct hop *h = &hops[*nhops];
			memset(h, 0, sizeof *h);
			if (mx.n && mx.rrs[i].host[0] == '\0')
				continue;
			mt_strlcpy(h->name, mx.n ? mx.rrs[i].host : domain, sizeof h->name);
			h->port = c->mx_port;
			bool sec = false;
			resolve_addrs(dns, h, &sec);
			h->secure = mx_secure && sec;
			(*nhops)++;
		}
	}
	mt_dns_answer_free(&mx);
	return ret;
}

/* ---- one attempt's record ---- */

static void record(const struct rl_msg *m, uint64_t dcid, const char *domain, const struct hop *h,
		   const char *addr, const struct mt_probe *p, const struct mt_delivery *d,
		   const char *result, const char *reply, const char *policy, const char *dane,
		   const char *sts)
{
	json_t *o = json_object();
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "mid", json_integer((json_int_t)m->mid));
	json_object_set_new(o, "dcid", json_integer((json_int_t)dcid));
	json_object_set_new(o, "domain", json_string(domain));
	json_object_set_new(o, "host", json_string(h ? h->name : ""));
	json_object_set_new(o, "address", json_string(addr ? addr : ""));
	json_object_set_new(o, "port", json_integer(h ? h->port : 0));
	json_object_set_new(o, "policy", json_string(policy));
	json_t *rc = json_array();
	for (size_t i = 0; i < m->nrcpts; i++) {
		char rd[256];
		rl_addr_domain(m->rcpts[i].addr, rd, sizeof rd);
		if (!strcmp(rd, domain))
			json_array_append_new(rc, json_string(m->rcpts[i].addr));
	}
	json_object_set_new(o, "rcpts", rc);
	json_object_set_new(o, "result", json_string(result));
	json_object_set_new(o, "reply", json_string(reply ? reply : ""));
	if (d && d->held[0])
		json_object_set_new(o, "held", json_string(d->held));
	if (p) {
		json_object_set_new(o, "tls", json_boolean(p->tls));
		if (p->tls) {
			json_object_set_new(o, "protocol", json_string(p->tlsinfo.protocol));
			json_object_set_new(o, "cipher", json_string(p->tlsinfo.cipher));
		}
		json_object_set_new(o, "verdict", json_string(mt_verdict_name(p->verdict)));
		json_object_set_new(o, "reached", json_string(mt_level_name(p->reached)));
		json_object_set_new(o, "reason", json_string(p->reason));
		json_object_set_new(o, "verdict_text", json_string(p->verdict_text));
		json_object_set_new(o, "refnames", json_string(p->refnames));
		json_object_set_new(o, "trusted", json_boolean(p->vr.trusted));
		json_object_set_new(o, "name_matched", json_boolean(p->vr.name_matched));
		json_t *f = json_array(), *fd = json_array();
		for (size_t i = 0; i < p->vr.nfindings; i++) {
			const char *fn = mt_fault_name(p->vr.findings[i].fault);
			bool dup = false;
			for (size_t j = 0; j < i; j++)
				dup |= p->vr.findings[j].fault == p->vr.findings[i].fault;
			if (!dup)
				json_array_append_new(f, json_string(fn));
			json_array_append_new(fd, json_string(p->vr.findings[i].detail));
		}
		json_object_set_new(o, "faults", f);
		json_object_set_new(o, "findings", fd);
		if (p->vr.ncerts) {
			json_object_set_new(o, "subject", json_string(p->vr.certs[0].subject));
			json_object_set_new(o, "issuer", json_string(p->vr.certs[0].issuer));
		}
	}
	json_object_set_new(o, "dane", json_string(dane ? dane : "not-tried"));
	json_object_set_new(o, "mta_sts", json_string(sts ? sts : "none"));
	char *s = json_dumps(o, JSON_COMPACT);
	rl_attempt_record(s);
	free(s);
	json_decref(o);
}

/* Cause words the ESA guide uses for "TLS was required but could not be negotiated". */
static const char *tls_cause(const struct mt_probe *p)
{
	const struct mt_verify_result *vr = &p->vr;
	if (mt_verify_has_fault(vr, MT_FAULT_NO_ESMTP))
		return "the remote MTA does not support ESMTP";
	if (mt_verify_has_fault(vr, MT_FAULT_NO_STARTTLS))
		return "STARTTLS not advertised by the remote MTA";
	if (mt_verify_has_fault(vr, MT_FAULT_STARTTLS_REFUSED))
		return "STARTTLS unexpected response";
	if (mt_verify_has_fault(vr, MT_FAULT_HANDSHAKE))
		return "TLS handshake failed";
	if (mt_verify_has_fault(vr, MT_FAULT_STARTTLS_INJECTION))
		return "bytes injected after the 220 to STARTTLS";
	if (mt_verify_has_fault(vr, MT_FAULT_DANE_MISMATCH))
		return "certificate verification failed: DANE mismatch";
	return "certificate verification failed";
}

static const char *rl_policy_label(const struct mt_policy *pol)
{
	return mt_policy_name(pol);
}

/* Record a transaction's answers in the message's recipients and log it; returns the
 * attempt's result word. */
static const char *apply_txn(struct rl_msg *m, const size_t *idx, size_t nr, const int *codes,
			     const struct mt_delivery *d, const struct mt_probe *p, uint64_t dcid)
{
	char rids[256];
	size_t rl = 0;
	rids[0] = '\0';
	for (size_t k = 0; k < nr && rl < sizeof rids - 24; k++)
		rl += (size_t)snprintf(rids + rl, sizeof rids - rl, "%s%zu", k ? ", " : "", idx[k]);
	rl_maillog("Info", "Delivery start DCID %" PRIu64 " MID %" PRIu64 " to RID [%s]", dcid,
		   m->mid, rids);
	for (size_t k = 0; k < nr; k++) {
		struct rl_rcpt *rr = &m->rcpts[idx[k]];
		int code = codes[k];
		if (d->mail_code / 100 == 5) {
			rr->state = RL_RCPT_FAILED;
			mt_strlcpy(rr->reply, d->reply, sizeof rr->reply);
		} else if (code / 100 == 5) {
			rr->state = RL_RCPT_FAILED;
			if (d->rcpt_replies && d->rcpt_replies[k][0])
				mt_strlcpy(rr->reply, d->rcpt_replies[k], sizeof rr->reply);
			else
				snprintf(rr->reply, sizeof rr->reply, "%d (RCPT)", code);
		} else if (code / 100 == 2 && d->delivered) {
			rr->state = RL_RCPT_DONE;
			mt_strlcpy(rr->reply, d->reply, sizeof rr->reply);
		} else if (code / 100 == 2 && d->data_code / 100 == 5) {
			rr->state = RL_RCPT_FAILED;
			mt_strlcpy(rr->reply, d->reply, sizeof rr->reply);
		} else {
			mt_strlcpy(rr->reply, d->reply[0] ? d->reply : p->err.msg, sizeof rr->reply);
		}
	}
	if (d->delivered) {
		rl_maillog("Info", "Message done DCID %" PRIu64 " MID %" PRIu64 " to RID [%s] [('%s')]",
			   dcid, m->mid, rids, d->reply);
		return "delivered";
	}
	size_t failed = 0;
	for (size_t k = 0; k < nr; k++)
		failed += m->rcpts[idx[k]].state == RL_RCPT_FAILED;
	if (d->mail_code / 100 == 5 || d->data_code / 100 == 5 || (nr && failed == nr))
		return "bounced";
	return "deferred";
}

/* ---- connection reuse: more messages for the same destination on one session ---- */

struct extra {
	struct rl_msg m;
	int lockfd;
	struct mt_delivery d;
	const char **rcpts;
	size_t *idx;
	int *codes;
	size_t nr;
	bool settled; /* its outcome is recorded and the message handed back */
};

/* One session's context: the messages it carries after the first, and what is needed to
 * settle each transaction as soon as it ends (so that a crash later in a long session does
 * not send again what the server already took). */
struct reuse {
	struct rl_ctx *x;
	const struct rl_config *c;
	const char *domain;
	struct extra *ex;
	size_t n, cap;
	/* the session */
	const struct mt_probe *p;
	uint64_t dcid;
	const struct hop *h;
	const char *addr, *policy, *sts;
	bool use_dane;
	/* the first message */
	struct rl_msg *m0;
	const size_t *idx0;
	size_t nr0;
	const int *codes0;
	const struct mt_delivery *d0;
	const char *res0; /* set once settled */
	bool opened;      /* the session's New SMTP and TLS lines are in the log */
};

/* The session's opening lines, once, before its first transaction is logged. */
static void log_open(struct reuse *u)
{
	if (u->opened)
		return;
	u->opened = true;
	const struct mt_probe *p = u->p;
	uint64_t dcid = u->dcid;
	rl_maillog("Info", "New SMTP DCID %" PRIu64 " interface %s address %s port %u", dcid,
		   u->c->hostname, p->address[0] ? p->address : u->addr, u->h->port);
	if (p->tls)
		rl_maillog("Info", "DCID %" PRIu64 " TLS success protocol %s cipher %s", dcid,
			   p->tlsinfo.protocol,
			   p->tlsinfo.openssl_cipher[0] ? p->tlsinfo.openssl_cipher : p->tlsinfo.cipher);
	else if (p->starttls_attempted && p->starttls_code && p->starttls_code != 220) {
		rl_maillog("Info",
			   "Connection Error: DCID %" PRIu64 " domain: %s IP:%s port: %u details: %s "
			   "interface: %s reason: unexpected SMTP response",
			   dcid, u->domain, u->addr, u->h->port, p->starttls_reply, u->c->hostname);
		rl_maillog("Info", "DCID %" PRIu64 " TLS failed: STARTTLS unexpected response", dcid);
	} else if (mt_verify_has_fault(&p->vr, MT_FAULT_HANDSHAKE))
		rl_maillog("Info", "DCID %" PRIu64 " TLS failed: %s", dcid,
			   p->err.msg[0] ? p->err.msg : "handshake failed");
}

static void extra_free(struct extra *e)
{
	if (e->d.body_fd >= 0)
		close(e->d.body_fd);
	e->d.body_fd = -1;
	free(e->rcpts), free(e->idx), free(e->codes), free(e->d.rcpt_replies);
	e->rcpts = NULL, e->idx = NULL, e->codes = NULL, e->d.rcpt_replies = NULL;
	rl_msg_free(&e->m);
}

static const char *apply_txn(struct rl_msg *m, const size_t *idx, size_t nr, const int *codes,
			     const struct mt_delivery *d, const struct mt_probe *p, uint64_t dcid);

/* A message that followed on the session: record its transaction, hand it back (the runner
 * finishes it: removed when done, rescheduled otherwise), release its lock. */
static void settle_extra(struct reuse *u, struct extra *e)
{
	char ewhy[512];
	const char *er = apply_txn(&e->m, e->idx, e->nr, e->codes, &e->d, u->p, u->dcid);
	snprintf(ewhy, sizeof ewhy, "%s", e->d.reply[0] ? e->d.reply : u->p->err.msg);
	for (size_t j = 0; j < e->nr; j++)
		if (e->m.rcpts[e->idx[j]].state == RL_RCPT_PENDING)
			mt_strlcpy(e->m.rcpts[e->idx[j]].reply, ewhy, sizeof e->m.rcpts[0].reply);
	mt_strlcpy(e->m.last, ewhy, sizeof e->m.last);
	record(&e->m, u->dcid, u->domain, u->h, u->addr, u->p, &e->d, er, ewhy, u->policy,
	       u->use_dane ? mt_dane_state_name(u->h->dane.result.state) : "not-tried", u->sts);
	close(e->d.body_fd);
	e->d.body_fd = -1;
	u->x->giveback(u->x->runner, e->m.mid, &e->m); /* finishes the message */
	close(e->lockfd);
	extra_free(e);
	e->settled = true;
}

/* The first message's transaction has ended: apply it and commit its state now. When no
 * recipient is left to do, its queue entry goes at once (the worker's finish then only logs). */
static void settle_first(struct reuse *u)
{
	log_open(u);
	u->res0 = apply_txn(u->m0, u->idx0, u->nr0, u->codes0, u->d0, u->p, u->dcid);
	size_t pending = 0, undsn = 0;
	for (size_t i = 0; i < u->m0->nrcpts; i++) {
		pending += u->m0->rcpts[i].state == RL_RCPT_PENDING;
		undsn += u->m0->rcpts[i].state == RL_RCPT_FAILED && !u->m0->rcpts[i].dsn_sent;
	}
	struct mt_err err;
	if (!pending && !undsn)
		rl_queue_remove(u->c->queue_dir, u->m0->mid, &err);
	else if (rl_queue_save(u->c->queue_dir, u->m0, &err) != MT_OK)
		rl_maillog("Warning", "MID %" PRIu64 ": %s", u->m0->mid, err.msg);
}

static struct mt_delivery *next_delivery(void *arg, struct mt_delivery *done)
{
	struct reuse *u = arg;
	if (done == u->d0 && !u->res0)
		settle_first(u);
	else if (u->n && done == &u->ex[u->n - 1].d && !u->ex[u->n - 1].settled)
		settle_extra(u, &u->ex[u->n - 1]);
	if (!u->x->steal || u->n >= u->x->reuse_max)
		return NULL;
	for (int tries = 0; tries < 4; tries++) {
		uint64_t mid;
		if (!u->x->steal(u->x->runner, u->domain, &mid))
			return NULL;
		if (u->n == u->cap) {
			size_t nc = u->cap ? u->cap * 2 : 16;
			struct extra *ne = realloc(u->ex, nc * sizeof *ne);
			if (!ne) {
				u->x->giveback(u->x->runner, mid, NULL);
				return NULL;
			}
			u->ex = ne;
			u->cap = nc;
		}
		struct extra *e = &u->ex[u->n];
		memset(e, 0, sizeof *e);
		e->d.body_fd = -1;
		struct mt_err err;
		e->lockfd = rl_queue_lock_msg(u->c->queue_dir, mid);
		if (e->lockfd < 0 || rl_queue_load(u->c->queue_dir, mid, &e->m, &err) != MT_OK) {
			if (e->lockfd >= 0)
				close(e->lockfd);
			u->x->giveback(u->x->runner, mid, NULL);
			continue;
		}
		e->rcpts = calloc(e->m.nrcpts, sizeof *e->rcpts);
		e->idx = calloc(e->m.nrcpts, sizeof *e->idx);
		e->codes = calloc(e->m.nrcpts, sizeof *e->codes);
		e->d.rcpt_replies = calloc(e->m.nrcpts, sizeof *e->d.rcpt_replies); /* optional */
		for (size_t i = 0; e->rcpts && e->idx && e->codes && i < e->m.nrcpts; i++) {
			char rd[256];
			rl_addr_domain(e->m.rcpts[i].addr, rd, sizeof rd);
			if (e->m.rcpts[i].state == RL_RCPT_PENDING && !strcmp(rd, u->domain)) {
				e->idx[e->nr] = i;
				e->rcpts[e->nr++] = e->m.rcpts[i].addr;
			}
		}
		e->d.body_fd = rl_queue_open_msg(u->c->queue_dir, mid);
		if (!e->rcpts || !e->idx || !e->codes || e->nr == 0 || e->d.body_fd < 0) {
			extra_free(e);
			close(e->lockfd);
			u->x->giveback(u->x->runner, mid, NULL);
			continue;
		}
		e->m.attempts++;
		e->d.mail_from = e->m.from;
		e->d.rcpts = e->rcpts;
		e->d.nrcpts = e->nr;
		e->d.rcpt_codes = e->codes;
		u->n++;
		return &e->d;
	}
	return NULL;
}

enum rl_result rl_deliver(struct rl_ctx *x, const struct rl_config *c, struct rl_msg *m,
			  const char *domain, char *why, size_t whysz)
{
	const struct rl_dest *dest = rl_config_dest(c, domain);
	unsigned max_conn = dest->max_conn ? dest->max_conn : c->max_conn;
	why[0] = '\0';
	struct mt_dns *dns = NULL;
	struct mt_err err;
	if (mt_dns_new(c->resolver[0] ? c->resolver : NULL, c->timeout_s * 1000, &dns, &err) !=
	    MT_OK) {
		snprintf(why, whysz, "451 4.4.3 no resolver: %s", err.msg);
		return RL_DEFERRED;
	}
	struct hop *hops = calloc(16, sizeof *hops);
	if (!hops) {
		mt_dns_free(dns);
		snprintf(why, whysz, "451 4.3.0 out of memory");
		return RL_DEFERRED;
	}
	size_t nhops = 0;
	enum rl_result res = RL_DEFERRED;
	int r = route(c, dest, dns, domain, hops, &nhops, why, whysz);
	if (r >= 0) {
		res = (enum rl_result)r;
		for (size_t i = 0; i < m->nrcpts; i++) {
			char rd[256];
			rl_addr_domain(m->rcpts[i].addr, rd, sizeof rd);
			if (m->rcpts[i].state != RL_RCPT_PENDING || strcmp(rd, domain))
				continue;
			mt_strlcpy(m->rcpts[i].reply, why, sizeof m->rcpts[i].reply);
			if (res == RL_BOUNCED)
				m->rcpts[i].state = RL_RCPT_FAILED;
		}
		record(m, 0, domain, NULL, NULL, NULL, NULL, res == RL_BOUNCED ? "bounced" : "deferred",
		       why, mt_policy_name(&dest->policy), NULL, NULL);
		goto out;
	}

	/* MTA-STS */
	struct rl_sts sts = {0};
	bool sts_enforce = false;
	const char *sts_label = "none";
	if (dest->mta_sts && !dest->route_host[0] && dest->policy.level != MT_LEVEL_NONE) {
		sts_lookup(x, c, dns, domain, &sts);
		if (sts.has_policy) {
			sts_enforce = sts.policy.mode == MT_STS_MODE_ENFORCE;
			sts_label = mt_sts_mode_name(sts.policy.mode);
			for (size_t i = 0; i < nhops; i++)
				hops[i].sts_listed = mt_sts_policy_match(&sts.policy, hops[i].name) != NULL;
		}
	}

	/* the recipients of this group */
	const char **rcpts = calloc(m->nrcpts, sizeof *rcpts);
	size_t *idx = calloc(m->nrcpts, sizeof *idx);
	int *codes = calloc(m->nrcpts, sizeof *codes);
	char (*rrep)[MT_RCPT_REPLY_MAX] = calloc(m->nrcpts, sizeof *rrep); /* optional */
	size_t nr = 0;
	for (size_t i = 0; rcpts && idx && i < m->nrcpts; i++) {
		char rd[256];
		rl_addr_domain(m->rcpts[i].addr, rd, sizeof rd);
		if (m->rcpts[i].state == RL_RCPT_PENDING && !strcmp(rd, domain)) {
			idx[nr] = i;
			rcpts[nr++] = m->rcpts[i].addr;
		}
	}
	if (!rcpts || !idx || !codes || nr == 0) {
		free(rcpts), free(idx), free(codes), free(rrep);
		res = nr == 0 ? RL_DELIVERED : RL_DEFERRED;
		goto out;
	}

	bool done = false;
	bool tried_any = false;
	for (size_t hi = 0; hi < nhops && !done; hi++) {
		struct hop *h = &hops[hi];
		struct mt_policy pol = dest->policy;
		if (sts_enforce && !h->sts_listed) {
			snprintf(why, whysz, "451 4.7.5 MX %s is not listed in the MTA-STS policy of %s",
				 h->name, domain);
			rl_maillog("Info", "MID %" PRIu64 " MTA-STS: MX %s of %s not in the enforced policy: skipped",
				   m->mid, h->name, domain);
			record(m, 0, domain, h, NULL, NULL, NULL, "held", why, mt_policy_name(&pol),
			       NULL, sts_label);
			continue;
		}
		bool sts_testing = sts.has_policy && sts.policy.mode == MT_STS_MODE_TESTING;
		if (sts_testing && !h->sts_listed)
			rl_maillog("Info", "MID %" PRIu64 " MTA-STS (testing): MX %s of %s is not in the "
					   "policy; an enforcing sender would not deliver here",
				   m->mid, h->name, domain);
		if (sts_enforce && pol.level < MT_LEVEL_VERIFY && pol.level != MT_LEVEL_NONE &&
		    pol.level != MT_LEVEL_DANE_ONLY) { /* dane-only stays DANE-mandatory */
			pol.level = MT_LEVEL_VERIFY; /* RFC 8461 4.2: validated TLS required */
			pol.alias = MT_ALIAS_NONE;
		}
		bool use_dane = false;
		if (dest->dane && !dest->route_host[0] && h->secure && pol.level != MT_LEVEL_NONE) {
			lookup_tlsa(dns, h);
			bool usable = false;
			for (size_t i = 0; i < h->dane.n; i++)
				usable |= mt_tlsa_unusable(&h->tlsa[i]) == NULL;
			if ((h->dane.secure && usable) || h->dane.lookup_failed ||
			    pol.level == MT_LEVEL_DANE_ONLY) {
				use_dane = true;
				if (pol.level != MT_LEVEL_DANE_ONLY) {
					pol.level = MT_LEVEL_DANE; /* RFC 7672 2.2: DANE wins */
					pol.alias = MT_ALIAS_NONE;
				}
			}
		}
		if ((pol.level == MT_LEVEL_DANE || pol.level == MT_LEVEL_DANE_ONLY) && !use_dane) {
			if (pol.level == MT_LEVEL_DANE_ONLY) {
				snprintf(why, whysz, "451 4.7.5 dane-only: no DNSSEC-secure TLSA for %s",
					 h->name);
				record(m, 0, domain, h, NULL, NULL, NULL, "held", why,
				       mt_policy_name(&pol), "insecure", sts_label);
				continue;
			}
			pol.level = MT_LEVEL_MAY;
		}
		if (h->naddrs == 0) {
			snprintf(why, whysz, "451 4.4.4 %s", h->error);
			continue;
		}
		for (size_t ai = 0; ai < h->naddrs && !done; ai++) {
			const char *addr = h->addrs[ai];
			struct mt_probe_opts po;
			mt_probe_opts_init(&po);
			po.host = addr;
			po.port = h->port;
			po.ehlo = c->hostname;
			po.policy = pol;
			po.timeout_ms = c->timeout_s * 1000;
			po.deadline_ms = c->timeout_s * 1000 * 10;
			if (c->cafile[0]) {
				po.verify.cafile = c->cafile;
				po.verify.no_system_ca = true;
			}
			/* reference names: the MX host (secure when from DNSSEC), and for a fixed
			 * route the destination domain as well */
			mt_verify_opts_add_ref(&po.verify, h->name, h->secure, NULL);
			if (dest->route_host[0])
				mt_verify_opts_add_ref(&po.verify, domain, true, NULL);
			if (!mt_net_is_ip(h->name))
				po.tls.sni = h->name;
			if (use_dane) {
				po.judge = mt_probe_dane_hook;
				po.judge_arg = &h->dane;
				if (dest->route_host[0] == '\0' && h->dane.nrefs < 2) {
					mt_strlcpy(h->dane.refs[1].name, domain, sizeof h->dane.refs[1].name);
					h->dane.refs[1].secure = true;
					h->dane.nrefs = 2;
				}
			}
			struct mt_delivery d = {0};
			d.mail_from = m->from;
			d.rcpts = rcpts;
			d.nrcpts = nr;
			d.rcpt_codes = codes;
			memset(codes, 0, nr * sizeof *codes);
			d.rcpt_replies = rrep;
			if (rrep)
				memset(rrep, 0, nr * sizeof *rrep);
			d.body_fd = rl_queue_open_msg(c->queue_dir, m->mid);
			if (d.body_fd < 0) {
				snprintf(why, whysz, "451 4.3.0 message file of MID %" PRIu64 " is missing",
					 m->mid);
				free(rcpts), free(idx), free(codes), free(rrep);
				res = RL_DEFERRED;
				goto out;
			}
			po.deliver = &d;
			uint64_t dcid = __atomic_add_fetch(&x->dcid, 1, __ATOMIC_RELAXED);
			struct mt_probe p;
			struct reuse u = {.x = x, .c = c, .domain = domain, .p = &p, .dcid = dcid,
					  .h = h, .addr = addr, .policy = rl_policy_label(&pol),
					  .use_dane = use_dane, .sts = sts_label, .m0 = m, .idx0 = idx,
					  .nr0 = nr, .codes0 = codes, .d0 = &d};
			po.deliver_next = next_delivery;
			po.deliver_arg = &u;

			/* -v: the attempt's transcript (CheckTLS style, the message itself only as
			 * its size), collected and written to stderr in one piece, since workers
			 * deliver at the same time */
			char *vbuf = NULL;
			size_t vlen = 0;
			FILE *vf = c->verbose ? open_memstream(&vbuf, &vlen) : NULL;
			struct mt_text_out vto = {.f = vf, .stamp = true};
			if (vf) {
				po.cb = mt_report_text_event;
				po.cb_arg = &vto;
			}

			limit_acquire(x, domain, max_conn);
			mt_probe_run(&po, &p);
			limit_release(x, domain);
			if (vf) {
				fclose(vf);
				flockfile(stderr);
				fprintf(stderr,
					"relay: DCID %" PRIu64 " MID %" PRIu64 " to %s: %s [%s]:%u, policy %s, DANE %s\n",
					dcid, m->mid, domain, h->name, addr, h->port, rl_policy_label(&pol),
					use_dane ? "on" : "off");
				if (vbuf)
					fwrite(vbuf, 1, vlen, stderr);
				funlockfile(stderr);
				free(vbuf);
			}
			close(d.body_fd);
			tried_any = true;

			const char *dane_label =
			    use_dane ? mt_dane_state_name(h->dane.result.state) : "not-tried";
			const char *result = "deferred";
			if (!p.connected) {
				rl_maillog("Info",
					   "Connection Error: DCID %" PRIu64 " domain: %s IP:%s port: %u "
					   "details: %s interface: %s reason: connection failed",
					   dcid, domain, addr, h->port, p.err.msg, c->hostname);
				snprintf(why, whysz, "451 4.4.1 %s: %s", addr, p.err.msg);
				record(m, dcid, domain, h, addr, &p, &d, result, why,
				       rl_policy_label(&pol), dane_label, sts_label);
				mt_probe_free(&p);
				continue;
			}
			log_open(&u);

			if (sts_testing && h->sts_listed && !(p.tls && p.vr.trusted && p.vr.name_matched))
				rl_maillog("Info", "DCID %" PRIu64 " MTA-STS (testing): %s of %s would fail "
						   "the policy (%s); delivered under %s",
					   dcid, h->name, domain,
					   !p.tls ? "no TLS" : !p.vr.trusted ? "certificate not trusted"
									  : "name not verified",
					   mt_policy_name(&pol));
			bool tls_problem = d.held[0] || mt_verify_has_fault(&p.vr, MT_FAULT_HANDSHAKE);
			if (tls_problem) {
				const char *cause = tls_cause(&p);
				/* a Preferred level (nor DANE nor the configured control made TLS
				 * mandatory): TLS was not required, but the session may not carry the
				 * message (an error after the 220 to STARTTLS does not fall back to
				 * clear, the ESA guide's rule) */
				bool preferred_hold = d.held[0] && pol.level == MT_LEVEL_MAY &&
						      !mt_policy_tls_mandatory(&dest->policy);
				if (preferred_hold) {
					if (!(p.starttls_attempted && p.starttls_code && p.starttls_code != 220))
						rl_maillog("Info",
							   "Connection Error: DCID %" PRIu64 " domain: %s IP:%s "
							   "port: %u details: %s interface: %s reason: message "
							   "held under %s",
							   dcid, domain, addr, h->port, cause, c->hostname,
							   mt_policy_name(&pol));
					rl_maillog("Info", "DCID %" PRIu64 " message held under %s (no fall back "
							   "to clear after STARTTLS was accepted): %s",
						   dcid, mt_policy_name(&pol), d.held);
				} else if (mt_policy_tls_mandatory(&pol) || d.held[0]) {
					/* name the destination on this connection (a 454 has already) */
					if (!(p.starttls_attempted && p.starttls_code && p.starttls_code != 220))
						rl_maillog("Info",
							   "Connection Error: DCID %" PRIu64 " domain: %s IP:%s "
							   "port: %u details: %s interface: %s reason: TLS "
							   "required",
							   dcid, domain, addr, h->port, cause, c->hostname);
					rl_maillog("Info",
						   "DCID %" PRIu64 " TLS was required but could not be "
						   "successfully negotiated: %s",
						   dcid, cause);
					/* the configured control counts too: DANE may have
					 * replaced a Required* level for this MX */
					if (!m->is_alert && (mt_policy_tls_mandatory(&pol) ||
							     mt_policy_tls_mandatory(&dest->policy)))
						rl_alert(x, c, domain, cause, m->mid);
				}
				snprintf(why, whysz, "451 4.7.5 %s: %s", addr,
					 d.held[0] ? d.held : p.reason[0] ? p.reason : cause);
				result = d.held[0] ? "held" : "deferred";
			} else if (d.attempted) {
				result = u.res0 ? u.res0 : apply_txn(m, idx, nr, codes, &d, &p, dcid);
				snprintf(why, whysz, "%s", d.reply[0] ? d.reply : p.err.msg);
				done = true; /* the server answered: no other host for this attempt */
			} else {
				snprintf(why, whysz, "451 4.4.2 %s: %s", addr,
					 p.err.msg[0] ? p.err.msg : "session ended before MAIL");
			}
			/* the messages that followed on this session */
			for (size_t k = 0; k < u.n; k++) {
				struct extra *e = &u.ex[k];
				if (e->settled)
					continue;
				if (!e->d.attempted) { /* the session ended first: not an attempt */
					e->m.attempts--;
					close(e->lockfd);
					u.x->giveback(x->runner, e->m.mid, NULL);
					extra_free(e);
					continue;
				}
				settle_extra(&u, e);
			}
			free(u.ex);
			rl_maillog("Info", "DCID %" PRIu64 " close", dcid);
			record(m, dcid, domain, h, addr, &p, &d, result, why, rl_policy_label(&pol),
			       dane_label, sts_label);
			mt_probe_free(&p);
		}
	}
	(void)tried_any;
	/* the group's outcome */
	size_t pending = 0, failed = 0;
	for (size_t k = 0; k < nr; k++) {
		pending += m->rcpts[idx[k]].state == RL_RCPT_PENDING;
		failed += m->rcpts[idx[k]].state == RL_RCPT_FAILED;
	}
	if (pending == 0)
		res = failed == nr ? RL_BOUNCED : RL_DELIVERED;
	else
		res = RL_DEFERRED;
	if (pending && !why[0])
		snprintf(why, whysz, "451 4.4.0 no host of %s could be reached", domain);
	for (size_t k = 0; k < nr; k++)
		if (m->rcpts[idx[k]].state == RL_RCPT_PENDING && why[0])
			mt_strlcpy(m->rcpts[idx[k]].reply, why, sizeof m->rcpts[0].reply);
	free(rcpts), free(idx), free(codes), free(rrep);
out:
	for (size_t i = 0; i < nhops; i++)
		for (size_t k = 0; k < hops[i].dane.n; k++)
			mt_tlsa_free(&hops[i].tlsa[k]);
	free(hops);
	mt_dns_free(dns);
	return res;
}

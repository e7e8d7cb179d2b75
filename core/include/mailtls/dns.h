/* dns.h — DNS lookups for mail (MX, A, AAAA, TLSA, TXT, CNAME), each answer carrying its
 * DNSSEC state as a validating resolver reported it through the AD bit.
 *
 * ldns is used only inside core/dns/: callers see plain C types. One struct mt_dns is one
 * resolver; it is not thread-safe, so threads each open their own (mt_dns_new is cheap).
 * Memory: an mt_dns_answer owns its records; release it with mt_dns_answer_free().
 * mt_dns_free() releases the resolver.
 */
#ifndef MAILTLS_DNS_H
#define MAILTLS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailtls/util.h"

/* RR types we ask for (IANA numbers, so no ldns header is needed by callers). */
enum {
	MT_DNS_A = 1,
	MT_DNS_CNAME = 5,
	MT_DNS_MX = 15,
	MT_DNS_TXT = 16,
	MT_DNS_AAAA = 28,
	MT_DNS_TLSA = 52,
};

/* The DNSSEC state of an answer. NODATA (the name exists, no records of the type) is not a
 * state of its own: it is secure or insecure with n == 0, because "no TLSA records,
 * securely" must stay distinguishable from "lookup failed". */
enum mt_dns_state {
	MT_DNS_SECURE,	 /* NOERROR with the AD bit: validated */
	MT_DNS_INSECURE, /* NOERROR without AD: unsigned zone or non-validating resolver */
	MT_DNS_BOGUS,	 /* SERVFAIL: validation failed (or the server failed) */
	MT_DNS_NXDOMAIN, /* the name does not exist */
	MT_DNS_TEMPFAIL, /* no answer (timeout, unreachable, REFUSED, malformed) */
};
/* "secure" "insecure" "bogus" "nxdomain" "tempfail" (static). */
const char *mt_dns_state_name(enum mt_dns_state s);

#define MT_DNS_MAX_RRS 64
#define MT_DNS_MAX_CNAMES 8

/* One record of the asked type, decoded. */
struct mt_dns_rr {
	uint16_t type;
	uint32_t ttl;
	unsigned pref;	       /* MX preference */
	char host[256];	       /* MX exchange (no trailing dot, "" for null MX ".");
				  A/AAAA printable address; CNAME target */
	uint8_t usage, selector, mtype; /* TLSA */
	unsigned char *data;   /* TLSA association data, or TXT strings joined (NUL-terminated) */
	size_t len;
};

struct mt_dns_answer {
	char qname[256];	/* as asked, no trailing dot */
	uint16_t qtype;
	enum mt_dns_state state;
	int rcode;		/* DNS RCODE, -1 when there was no answer */
	bool ad;
	char canon[256];	/* owner of the records after following CNAMEs */
	char cnames[MT_DNS_MAX_CNAMES][256]; /* the chain: qname -> cnames[0] -> ... */
	size_t ncnames;
	struct mt_dns_rr *rrs;	/* n records of qtype at canon; sorted by preference for MX */
	size_t n;
	size_t dropped;		/* records beyond MT_DNS_MAX_RRS, ignored */
	char error[640];	/* why, when state is bogus/tempfail/nxdomain */
	int64_t ms;		/* time the lookup took */
};

struct mt_dns;

/* Open a resolver: server NULL reads /etc/resolv.conf; else "IP", "IP:port" or "[v6]:port".
 * timeout_ms bounds each lookup (all retries together); 0 = 5000. */
mt_status mt_dns_new(const char *server, int timeout_ms, struct mt_dns **out, struct mt_err *err);
void mt_dns_free(struct mt_dns *d);

/* Look up name/type. Always fills *a (free with mt_dns_answer_free); returns MT_OK when the
 * lookup produced a DNS answer of any state, MT_ERR_BADINPUT for a malformed name (a->error
 * says why), MT_ERR_NOMEM. CNAMEs are followed (in the answer, then by asking again). */
mt_status mt_dns_query(struct mt_dns *d, const char *name, uint16_t type, struct mt_dns_answer *a);
void mt_dns_answer_free(struct mt_dns_answer *a);

/* "MX" "A" ... (static). */
const char *mt_dns_type_name(uint16_t type);

/* Check a domain name given by a user: converts U-labels to A-labels, lower-cases, drops the
 * trailing dot, rejects empty labels, labels over 63 octets and names over 253. */
mt_status mt_dns_normalize(const char *in, char *out, size_t outsz, struct mt_err *err);

#endif

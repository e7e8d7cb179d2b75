/* policy.h — MTA-STS (RFC 8461): the _mta-sts TXT record, the policy file and its fetch over
 * HTTPS, MX pattern matching; TLS-RPT (RFC 8460): the _smtp._tls TXT record.
 *
 * Parsers are pure and name the first error they find. The fetch is one HTTPS/1.0 GET with
 * the core's TLS client, PKIX-verified against mta-sts.<domain>, no redirects, size-capped,
 * within a deadline. Memory: mt_sts_fetch() returns a heap body the caller frees with
 * free(); everything else is filled into caller-owned structs.
 */
#ifndef MAILTLS_POLICY_H
#define MAILTLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "mailtls/util.h"

/* ---- MTA-STS ---- */

struct mt_sts_txt {
	char id[33]; /* 1-32 alphanumerics */
};
/* Parse "v=STSv1; id=20240101T000000;" (v first, id required, unknown keys ignored). */
mt_status mt_sts_txt_parse(const char *txt, struct mt_sts_txt *out, struct mt_err *err);

enum mt_sts_mode { MT_STS_MODE_NONE, MT_STS_MODE_TESTING, MT_STS_MODE_ENFORCE };
const char *mt_sts_mode_name(enum mt_sts_mode m); /* "none" "testing" "enforce" */

#define MT_STS_MAX_MX 32
#define MT_STS_MAX_BODY 65536 /* RFC 8461 3.3: senders may cap policies at 64 KB */

struct mt_sts_policy {
	enum mt_sts_mode mode;
	long max_age;	   /* seconds, 0..31557600 */
	char mx[MT_STS_MAX_MX][256];
	size_t nmx;
};
/* Parse a policy file (CRLF or LF lines, "key: value"). version, mode, max_age required;
 * mx required unless mode is none. */
mt_status mt_sts_policy_parse(const char *text, size_t len, struct mt_sts_policy *out,
			      struct mt_err *err);
/* The policy as a policy file (RFC 8461 3.2, LF line ends) that mt_sts_policy_parse reads
 * back to the same policy: written into out (size bytes); the length, or -1 when it does not
 * fit. */
int mt_sts_policy_format(const struct mt_sts_policy *p, char *out, size_t size);
/* RFC 8461 4.1: exact host, or "*.example.com" matching exactly one more left-most label. */
bool mt_sts_mx_match(const char *pattern, const char *host);
/* The first pattern of the policy matching host, or NULL. */
const char *mt_sts_policy_match(const struct mt_sts_policy *p, const char *host);

struct mt_sts_fetch_opts {
	const char *domain;	  /* the policy domain; the host is mta-sts.<domain> */
	const char *address;	  /* IP literal to connect to (resolved by the caller's DNS) */
	unsigned port;		  /* 0: 443 */
	const char *cafile;	  /* NULL: the system store */
	int timeout_ms;		  /* whole fetch; 0: 10 s */
};
/* GET https://mta-sts.<domain>/.well-known/mta-sts.txt. On MT_OK *body (heap, NUL-
 * terminated) holds the policy of a 200 answer; any other status, a redirect, a wrong
 * content type, a body over MT_STS_MAX_BODY, or a certificate that does not verify for
 * the name fails with a message naming it. */
mt_status mt_sts_fetch(const struct mt_sts_fetch_opts *o, char **body, size_t *len,
		       struct mt_err *err);

/* ---- discovery: TXT record, policy host, fetch, parse (RFC 8461 3) ---- */

enum mt_sts_state {
	MT_STS_NOT_CHECKED = 0,
	MT_STS_NONE,	    /* no _mta-sts TXT record: the domain has no policy */
	MT_STS_TXT_ERROR,   /* malformed TXT, several records, or a DNS failure */
	MT_STS_FETCH_ERROR, /* the policy could not be fetched */
	MT_STS_PARSE_ERROR, /* fetched but malformed */
	MT_STS_OK,
	MT_STS_UNCHANGED, /* the TXT record names the caller's known_id: not fetched again */
};
/* "not-checked" "none" "txt-error" "fetch-error" "parse-error" "ok" "unchanged" */
const char *mt_sts_state_name(enum mt_sts_state s);

struct mt_sts_result {
	enum mt_sts_state state;
	char id[33];		   /* the TXT record's id */
	struct mt_sts_policy policy; /* when state is MT_STS_OK */
	char error[600];	   /* why, for the error states */
};
struct mt_dns;
struct mt_sts_discover_opts {
	unsigned port;	    /* HTTPS port, 0: 443 (tests use another) */
	const char *cafile; /* NULL: the system store */
	int timeout_ms;	    /* the fetch; 0: 10 s */
	int family;	    /* the policy host's addresses: 0 both (AAAA when there is no A),
			     * 4 IPv4 only, 6 IPv6 only */
	/* the id of a policy the caller holds (cached, unexpired), or NULL: when the TXT
	 * record names the same id the policy has not changed (RFC 8461 3.1), and it is not
	 * fetched again (state MT_STS_UNCHANGED) */
	const char *known_id;
};
/* Look up _mta-sts.<domain> TXT through dns, resolve mta-sts.<domain> through the same
 * resolver (so tests stay on loopback), fetch and parse the policy. Fills *out. */
void mt_sts_discover(struct mt_dns *dns, const char *domain, const struct mt_sts_discover_opts *o,
		     struct mt_sts_result *out);

/* ---- TLS-RPT ---- */

#define MT_TLSRPT_MAX_RUA 8
struct mt_tlsrpt {
	char rua[MT_TLSRPT_MAX_RUA][512];
	size_t nrua;
};
/* Parse "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x" (RFC 8460 3):
 * v first, rua required, each URI mailto: with an address or https: with a host. */
mt_status mt_tlsrpt_parse(const char *txt, struct mt_tlsrpt *out, struct mt_err *err);

#endif

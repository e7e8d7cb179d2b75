/* mxprobe.h — mxprobe's own types: configuration, the result for one domain, and the
 * modules that fill and print it (mxprobe_domain.c, mxprobe_out.c, mxprobe_batch.c).
 *
 * A struct mx_domain owns everything it holds (mx_domain_free). One domain is probed by one
 * thread with its own resolver; nothing in a domain result is shared.
 */
#ifndef MXPROBE_H
#define MXPROBE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "mailtls/dane.h"
#include "mailtls/dns.h"
#include "mailtls/policy.h"
#include "mailtls/probe.h"
#include "mailtls/report.h"

enum {
	MX_EXIT_PASS = 0,
	MX_EXIT_CHECK = 1,
	MX_EXIT_NOTLS = 2,
	MX_EXIT_CONNECT = 3,
	MX_EXIT_USAGE = 64,
	MX_EXIT_INTERNAL = 70,
};

#define MX_MAX_HOSTS 16
#define MX_MAX_ADDRS 8
#define MX_MAX_TLSA 16

struct mx_cfg {
	const char *resolver;	/* NULL: /etc/resolv.conf */
	unsigned port;		/* SMTP port (25) */
	enum mt_family family;
	struct mt_policy policy;
	const char *cafile, *capath;
	const char *ehlo;
	const char *priority;
	int timeout_ms, deadline_ms, dns_timeout_ms;
	int warn_days;
	bool no_sts, no_tlsrpt, no_dane;
	unsigned sts_port;	/* MTA-STS HTTPS port (443) */
	const char *sts_cafile;
	int per_ip;		/* concurrent probes per destination address */
	int spacing_ms;		/* between connection starts to one address */
	bool verbose;
	time_t now;		/* 0: the clock */
};

struct mx_addr {
	char addr[64];
	bool v6;
	bool probed;
	struct mt_probe probe;
	struct mt_dane_result dane;
	int sts;		/* -1 not applicable, 0 fails the policy, 1 satisfies it */
	char sts_text[160];
	int exit_code;
};

struct mx_host {
	char name[256];
	unsigned pref;
	char cname[300];	/* "a -> b" when the MX name is an alias (shown) */
	char canon[256];	/* b: the alias's target, a second reference name; "" if none */
	enum mt_dns_state a_state, aaaa_state, addr_state;
	bool a_asked, aaaa_asked; /* the family was looked up (not left out by -4 / -6) */
	char dns_error[640];
	bool tlsa_asked;
	enum mt_dns_state tlsa_state;
	struct mt_tlsa tlsa[MX_MAX_TLSA];
	size_t ntlsa;
	char tlsa_error[640];
	const char *sts_pattern; /* points into the domain's policy, NULL: no match */
	struct mx_addr *addrs;
	size_t naddrs;
};

enum mx_sts_state {
	MX_STS_NOT_CHECKED,
	MX_STS_NONE,	    /* no _mta-sts TXT record */
	MX_STS_TXT_ERROR,   /* malformed TXT or DNS failure */
	MX_STS_FETCH_ERROR, /* policy could not be fetched */
	MX_STS_PARSE_ERROR, /* policy fetched but malformed */
	MX_STS_OK,
};
const char *mx_sts_state_name(enum mx_sts_state s);

enum mx_rpt_state { MX_RPT_NOT_CHECKED, MX_RPT_NONE, MX_RPT_ERROR, MX_RPT_OK };
const char *mx_rpt_state_name(enum mx_rpt_state s);

struct mx_domain {
	char input[300];	/* as given */
	char domain[256];	/* A-label form */
	enum mt_dns_state mx_state;
	char mx_error[640];
	char mx_cname[300];
	bool null_mx;		/* RFC 7505: accepts no mail */
	bool implicit_mx;	/* no MX: the domain's own address records (RFC 5321 5.1) */
	struct mx_host hosts[MX_MAX_HOSTS];
	size_t nhosts;
	size_t mx_dropped;	/* MX records beyond MX_MAX_HOSTS */
	enum mx_sts_state sts;
	char sts_id[33];
	char sts_error[640];
	struct mt_sts_policy sts_policy;
	int64_t sts_ms;
	enum mx_rpt_state rpt;
	char rpt_text[640];
	struct mt_tlsrpt rpt_rec;
	int exit_code;
	enum mt_verdict verdict;
	char reason[640];
	int64_t total_ms;
	size_t naddrs_total, naddrs_ok;
};

/* Resolve and probe one domain (mxprobe_domain.c). dns is this thread's resolver. */
void mx_domain_run(const struct mx_cfg *cfg, struct mt_dns *dns, const char *input,
		   struct mx_domain *d);
void mx_domain_free(struct mx_domain *d);

/* Output (mxprobe_out.c). */
void mx_out_matrix(FILE *f, const struct mx_domain *d, bool color, bool verbose);
/* One JSON object (no newline); heap string, caller frees; NULL on no memory. */
char *mx_out_json(const struct mx_domain *d, bool pretty);
/* One <domain> element (the fields of mx_out_json) on a document the caller opened with
 * mt_lsxml_new(f, "mxprobe") and closes with mt_lsxml_finish(). */
struct mt_lsxml;
mt_status mx_out_xml(struct mt_lsxml *x, const struct mx_domain *d, struct mt_err *err);
/* Nagios line; *rc gets 0..3. Heap string. */
char *mx_out_nagios(const struct mx_domain *d, int *rc);
struct mt_junit;
mt_status mx_out_junit(struct mt_junit *j, const struct mx_domain *d, struct mt_err *err);

/* Per-destination connection limiter (mxprobe_batch.c). */
void mx_limit_init(int per_ip, int spacing_ms);
void mx_limit_acquire(const char *addr);
void mx_limit_release(const char *addr);

/* Batch: read domains from f, probe with nthreads, emit each result as it completes. */
struct mx_batch_out {
	bool json;		/* JSON Lines */
	struct mt_lsxml *xml;	/* one <domain> per domain on this document, or NULL */
	bool text;		/* matrices */
	bool color, verbose, progress;
	struct mt_junit *junit;
	FILE *f;
};
/* Returns the worst exit code over all domains (or 64/70 for input/internal failures). */
int mx_batch_run(const struct mx_cfg *cfg, FILE *in, const char *inname, int nthreads,
		 struct mx_batch_out *out);
/* Convert one input line to a domain (comments, blanks -> false; IDN -> A-label). */
bool mx_batch_line(char *line, char *out, size_t outsz);

#endif

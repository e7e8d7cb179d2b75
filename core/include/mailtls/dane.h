/* dane.h — DANE for SMTP (RFC 7672, RFC 7671): TLSA records, which are usable, matching
 * them against the chain a server sent, and the dane / dane-only levels on top of a probe.
 *
 * Matching works on the DER the verifier kept (mt_verify_result.certs[i].der), so it needs
 * no TLS session. DANE-EE(3) ignores names and dates (RFC 7672 3.1.1); DANE-TA(2) needs the
 * leaf to chain to the matched certificate and a reference name to match (3.1.2, 3.2.2).
 * PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (3.1.3).
 * Memory: struct mt_tlsa owns data (mt_tlsa_free); results hold no pointers.
 */
#ifndef MAILTLS_DANE_H
#define MAILTLS_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailtls/probe.h"
#include "mailtls/tls.h"
#include "mailtls/util.h"

struct mt_tlsa {
	uint8_t usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

#define MT_TLSA_MAX_DATA 8192 /* a full certificate (matching type 0) fits */

/* Parse presentation form "3 1 1 <hex>" (hex may contain blanks); out->data is heap. */
mt_status mt_tlsa_parse(const char *text, struct mt_tlsa *out, struct mt_err *err);
/* Copy fields and data into out (heap). */
mt_status mt_tlsa_set(struct mt_tlsa *out, uint8_t usage, uint8_t selector, uint8_t mtype,
		      const unsigned char *data, size_t len, struct mt_err *err);
void mt_tlsa_free(struct mt_tlsa *t);
/* NULL when usable for SMTP, else why not (static text). */
const char *mt_tlsa_unusable(const struct mt_tlsa *t);
/* "3 1 1 8a0f...c2" with the data shortened to its first and last 8 hex digits. */
void mt_tlsa_format(const struct mt_tlsa *t, char *out, size_t outsz);

enum mt_dane_state {
	MT_DANE_NOT_TRIED = 0, /* no TLS or no lookup made */
	MT_DANE_VERIFIED,      /* a usable record matched */
	MT_DANE_MISMATCH,      /* usable records, none matched */
	MT_DANE_NO_USABLE,     /* secure TLSA RRset, every record unusable */
	MT_DANE_NO_TLSA,       /* securely no TLSA records */
	MT_DANE_INSECURE,      /* TLSA (or the host's addresses) insecure: ignored */
	MT_DANE_LOOKUP_FAILED, /* bogus or tempfail TLSA lookup */
};
/* "verified" "mismatch" "no-usable-tlsa" "no-tlsa" "insecure" "lookup-failed" "not-tried" */
const char *mt_dane_state_name(enum mt_dane_state s);

struct mt_dane_result {
	enum mt_dane_state state;
	size_t nrecs, nusable;
	int rec;	 /* index of the record that matched, -1 */
	int cert;	 /* index (chain as sent) of the certificate it matched, -1 */
	char text[512];	 /* for people: "3 1 1 8a0f...c2 matched certificate 0 (CN=...)" */
};

/* Match records against a verified chain (vr->certs[].der). refs are the reference names for
 * DANE-TA (the TLSA base domain, i.e. the MX host name, and optionally the next-hop domain);
 * now = 0 uses the clock. Fills *out; fails only for unusable input or no memory. */
mt_status mt_dane_match(const struct mt_tlsa *recs, size_t n, const struct mt_verify_result *vr,
			const struct mt_refname *refs, size_t nrefs, time_t now,
			struct mt_dane_result *out, struct mt_err *err);

/* Judge a probe with a DANE outcome (core/smtp/probe_dane.c). For levels dane and dane-only
 * this replaces mt_probe_judge(): verified -> passes at "dane" (PKIX faults become warnings),
 * mismatch -> fails, no usable records -> mandatory TLS, no secure TLSA -> "may" at dane and
 * a failure at dane-only, lookup failure -> fails (a DNS failure). For other levels it runs
 * mt_probe_judge() and records a mismatch as a warning. */
void mt_probe_dane_judge(struct mt_probe *p, const struct mt_dane_result *d);


/* What DNS said about one host's TLSA records, for mt_probe_dane_hook. The caller owns
 * recs; result is filled by the hook (each time it runs). */
struct mt_dane_ctx {
	bool asked;	    /* a TLSA lookup was made (the host's addresses were secure) */
	bool lookup_failed; /* the lookup was bogus or failed temporarily */
	bool secure;	    /* the TLSA answer (records or their denial) is DNSSEC-secure */
	const struct mt_tlsa *recs;
	size_t n;
	struct mt_refname refs[2]; /* the MX host name, optionally the next-hop domain */
	size_t nrefs;
	time_t now; /* 0: the clock */
	char why[256]; /* shown when !asked or lookup_failed: "addresses insecure", DNS error */
	struct mt_dane_result result;
};
/* An mt_probe_judge_fn (probe.h) that matches ctx's records against the chain the probe
 * recorded and judges with mt_probe_dane_judge(): pass it as opts.judge with the context as
 * judge_arg, and a relay's transaction or a probe's verdict follows DANE. */
void mt_probe_dane_hook(struct mt_probe *p, void *ctx);
#endif

/* tls.h — security levels, the verifier's findings, name matching, chain analysis,
 * certificate files, and the TLS client session.
 *
 * The verifier never decides delivery: it fills a struct mt_verify_result (what was sent,
 * what is wrong with it, what matched). Probes print it, the relay enforces it through
 * mt_level_satisfied(), the receiver records it. GnuTLS types never appear here, so
 * programs do not include GnuTLS; the TLS library knows nothing of SMTP.
 *
 * Memory: a struct mt_verify_result owns everything it points to; release it with
 * mt_verify_result_free(). Strings returned by *_name() functions are static.
 */
#ifndef MAILTLS_TLS_H
#define MAILTLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailtls/util.h"

/* ---- security levels: one ordered enum, Postfix's names and order ---- */
enum mt_level {
	MT_LEVEL_NONE = 0, /* no TLS */
	MT_LEVEL_MAY,	   /* opportunistic: TLS if offered, no check enforced */
	MT_LEVEL_ENCRYPT,  /* mandatory TLS, no certificate check */
	MT_LEVEL_FINGERPRINT, /* mandatory TLS, leaf or any chain cert matches a --fingerprint */
	MT_LEVEL_DANE,	    /* DANE when TLSA records are DNSSEC-secure, else may */
	MT_LEVEL_DANE_ONLY, /* mandatory DANE */
	MT_LEVEL_VERIFY,    /* mandatory TLS, PKIX trust, name from (possibly insecure) DNS */
	MT_LEVEL_SECURE,    /* mandatory TLS, PKIX trust, name from a secure source */
	MT_LEVEL__COUNT
};

/* How a level name was spelled: Postfix's, or a Cisco ESA destination-control alias. */
enum mt_level_alias {
	MT_ALIAS_NONE = 0,
	MT_ALIAS_ESA_NONE,	      /* None             -> none */
	MT_ALIAS_ESA_PREFERRED,	      /* Preferred        -> may */
	MT_ALIAS_ESA_REQUIRED,	      /* Required         -> encrypt */
	MT_ALIAS_ESA_PREFERRED_VERIFY, /* Preferred-Verify -> may, verification reported */
	MT_ALIAS_ESA_REQUIRED_VERIFY,  /* Required-Verify  -> verify */
};

struct mt_policy {
	enum mt_level level;
	enum mt_level_alias alias;
};

/* "none", "may", ... "secure". */
const char *mt_level_name(enum mt_level l);
/* Name to show for a policy: the ESA spelling when it was given as one. */
const char *mt_policy_name(const struct mt_policy *p);
/* Parse a level or ESA alias, case-insensitive ("Required-Verify", "secure", "tls-required"...). */
mt_status mt_policy_parse(const char *s, struct mt_policy *out, struct mt_err *err);
/* True if the level requires TLS (no clear-text fallback at all). */
bool mt_policy_tls_mandatory(const struct mt_policy *p);
/* True if the level requires a verified peer (delivery is refused when unverified). */
bool mt_policy_verify_mandatory(const struct mt_policy *p);

/* ---- faults the verifier can name ---- */
enum mt_fault {
	MT_FAULT_NONE = 0,
	MT_FAULT_NO_STARTTLS,	    /* STARTTLS not advertised */
	MT_FAULT_NO_ESMTP,	    /* EHLO refused */
	MT_FAULT_STARTTLS_REFUSED,  /* STARTTLS answered with a non-220 */
	MT_FAULT_STARTTLS_INJECTION, /* bytes after the 220 to STARTTLS, before the handshake */
	MT_FAULT_HANDSHAKE,	    /* TLS handshake failed */
	MT_FAULT_UNTRUSTED,	    /* PKIX: no path to a trusted anchor */
	MT_FAULT_EXPIRED,
	MT_FAULT_NOT_YET_VALID,
	MT_FAULT_SELF_SIGNED,
	MT_FAULT_WEAK_KEY,	 /* RSA/DSA < 2048 bits, EC < 224 */
	MT_FAULT_WEAK_SIGNATURE, /* SHA-1 or MD5 signature */
	MT_FAULT_EXPIRING,	 /* expires within warn_days */
	MT_FAULT_CN_ONLY,	 /* no subjectAltName */
	MT_FAULT_MISSING_INTERMEDIATE, /* issuer not sent and not a trust anchor */
	MT_FAULT_DUPLICATE_CERT,
	MT_FAULT_WRONG_ORDER,
	MT_FAULT_ROOT_SENT,
	MT_FAULT_STALE_INTERMEDIATE, /* an intermediate that issues nothing in the chain */
	MT_FAULT_NAME_MISMATCH,
	MT_FAULT_FINGERPRINT_MISMATCH,
	MT_FAULT_KEY_MISMATCH, /* lint: private key does not belong to the leaf */
	MT_FAULT_REVOKED,
	MT_FAULT_CHAIN_TOO_LONG,
	MT_FAULT_LEGACY_PROTOCOL, /* SSL 3.0, TLS 1.0, TLS 1.1 */
	MT_FAULT_DANE_MISMATCH,
	MT_FAULT_OVERLONG_LINE, /* reply line over RFC 5321's 512 octets */
	MT_FAULT__COUNT
};

enum mt_severity { MT_SEV_INFO = 0, MT_SEV_WARN, MT_SEV_ERROR };

/* Stable token for JSON/logs ("missing-intermediate"). */
const char *mt_fault_name(enum mt_fault f);
/* Words for people ("issuer not sent (missing intermediate)"). */
const char *mt_fault_text(enum mt_fault f);

struct mt_finding {
	enum mt_fault fault;
	enum mt_severity severity;
	int cert;	   /* index in the chain as sent, -1 for the session */
	char detail[256];
};

/* ---- one certificate as sent ---- */
struct mt_cert_info {
	char subject[512]; /* RFC 4514 DN */
	char issuer[512];
	char cn[256];	   /* last CN of the subject, "" if none */
	time_t not_before, not_after;
	char **dns_names;  /* subjectAltName dNSName values as presented */
	size_t n_dns;
	char **ip_addrs;   /* subjectAltName iPAddress values, printable */
	size_t n_ip;
	char key_type[16]; /* "RSA", "EC", "Ed25519", ... */
	unsigned key_bits;
	char sig_alg[64];  /* "RSA-SHA256" */
	char sha256[65];   /* hex fingerprint of the DER */
	char spki_sha256[65]; /* hex SHA-256 of the SubjectPublicKeyInfo (pinning, DANE 3 1 1) */
	bool is_ca;
	bool self_signed;  /* issuer == subject and the signature verifies with its own key */
	bool is_anchor;    /* found in the trust store */
	unsigned char *der;
	size_t der_len;
	char verify_text[256]; /* CheckTLS-style: "ok", or the reasons */
};

#define MT_MAX_CHAIN 16
#define MT_MAX_FINDINGS 64
#define MT_MAX_REFNAMES 16

struct mt_refname {
	char name[256];	  /* A-label form, lower case, no trailing dot */
	bool secure;	  /* from the user or DNSSEC (secure), or from insecure DNS (verify) */
};

/* What the verifier is asked. */
struct mt_verify_opts {
	const char *cafile;	/* NULL: system store (unless capath) */
	const char *capath;
	bool no_system_ca;	/* trust only cafile/capath */
	struct mt_refname refs[MT_MAX_REFNAMES];
	size_t nrefs;
	const char *fingerprints[16]; /* hex SHA-256 (colons allowed) of a cert or its SPKI */
	size_t nfingerprints;
	int warn_days;	 /* default 30 */
	time_t now;	 /* 0 = time(NULL); tests pin it */
	bool lint;	 /* offline file: also check key match, stale intermediates */
};

/* What the verifier found. */
struct mt_verify_result {
	struct mt_cert_info certs[MT_MAX_CHAIN];
	size_t ncerts;
	bool trusted;		/* PKIX chain to an anchor, in validity, signatures good */
	char trust_text[256];	/* "ok" or GnuTLS's reasons */
	bool name_checked;
	bool name_matched;
	char matched_ref[256];	/* which reference name matched */
	char matched_id[256];	/* which presented identifier it matched ("DNS:*.example.com") */
	bool matched_secure;	/* the matching reference name came from a secure source */
	bool fingerprint_checked;
	bool fingerprint_matched;
	struct mt_finding findings[MT_MAX_FINDINGS];
	size_t nfindings;
};

void mt_verify_opts_init(struct mt_verify_opts *o);
/* Add a reference name (U-labels converted to A-labels, trailing dot dropped). */
mt_status mt_verify_opts_add_ref(struct mt_verify_opts *o, const char *name, bool secure,
				 struct mt_err *err);

/* Add a finding (dropped silently once MT_MAX_FINDINGS are held; the last slot then says so). */
void mt_verify_add_finding(struct mt_verify_result *r, enum mt_fault f, enum mt_severity sev,
			   int cert, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool mt_verify_has_fault(const struct mt_verify_result *r, enum mt_fault f);
void mt_verify_result_free(struct mt_verify_result *r);

/* Analyse a chain as sent (DER, leaf first as the peer sent it): parse every certificate,
 * PKIX-verify against the trust store, name-check against opts->refs, check fingerprints,
 * and record every fault. Fills *r (caller frees with mt_verify_result_free). Fails only
 * for unusable input (no certificate, undecodable DER, unreadable CA file). */
mt_status mt_verify_chain(const unsigned char *const *ders, const size_t *lens, size_t n,
			  const struct mt_verify_opts *opts, struct mt_verify_result *r,
			  struct mt_err *err);

/* ---- RFC 6125 name matching ---- */

/* Convert a host name to its lower-case A-label form without trailing dot.
 * Returns MT_ERR_BADINPUT for names that are not valid host names. */
mt_status mt_name_to_alabel(const char *in, char *out, size_t outsz, struct mt_err *err);
/* Does reference name `ref` (A-label, lower case) match presented DNS-ID `id`?
 * Wildcard only as the whole left-most label, matching exactly one label, never on a
 * label directly under a public-suffix-like single label ("*.com"). */
bool mt_name_match_dns(const char *ref, const char *id);
/* Match a reference against a certificate: DNS SANs first; iPAddress SANs when ref is an
 * IP literal; CN only when there is no DNS SAN. On match, writes the presented identifier
 * ("DNS:mx.example.com", "CN:mx.example.com", "IP:127.0.0.1") into matched. */
bool mt_name_match_cert(const char *ref, const struct mt_cert_info *c, char *matched,
			size_t matchedsz);

/* ---- certificate files (offline lint, client certificates, servers) ---- */

/* Load a chain from a PEM file (certificates and optionally a key) or a PKCS#12 file
 * (password may be NULL). keyfile, if set, is a separate PEM key. DERs are returned as
 * heap arrays (caller frees with mt_certfile_free). has_key tells whether a key was found;
 * key_matches whether it belongs to the first certificate. */
struct mt_certfile {
	unsigned char *ders[MT_MAX_CHAIN];
	size_t lens[MT_MAX_CHAIN];
	size_t n;
	bool has_key;
	bool key_matches;
	bool pkcs12;
	size_t extra_certs; /* certificates beyond MT_MAX_CHAIN, ignored */
};
mt_status mt_certfile_load(const char *certfile, const char *keyfile, const char *password,
			   struct mt_certfile *cf, struct mt_err *err);
void mt_certfile_free(struct mt_certfile *cf);

/* ---- TLS client session over a connected socket ---- */

struct mt_tls_client_opts {
	const char *sni;	  /* NULL: no SNI */
	const char *priority;	  /* GnuTLS priority string, NULL = "NORMAL" */
	const char *tls_min;	  /* "1.0" "1.1" "1.2" "1.3" or NULL */
	const char *tls_max;
	const char *client_cert;  /* PEM (or PKCS#12) file */
	const char *client_key;
	const char *client_password;
};

struct mt_tls;	/* opaque */

/* What the handshake negotiated. */
struct mt_tls_info {
	char protocol[16];   /* "TLSv1.3" */
	char cipher[128];    /* IANA-ish suite name, e.g. "TLS_AES_256_GCM_SHA384" */
	char openssl_cipher[128]; /* OpenSSL-style name where known, "" otherwise */
	char kx[64];	     /* "ECDHE-X25519", "DHE-2048", "RSA" */
	char sig[64];	     /* server signature algorithm when known */
	bool client_cert_requested;
	bool client_cert_sent;
	bool resumed;
};

/* Build a client session on fd (not yet handshaken). */
mt_status mt_tls_client_new(int fd, const struct mt_tls_client_opts *o, struct mt_tls **out,
			    struct mt_err *err);
/* Handshake within deadline. On failure err carries GnuTLS's error text and, when the peer
 * sent one, its alert. */
mt_status mt_tls_handshake(struct mt_tls *t, struct mt_deadline d, struct mt_err *err);
void mt_tls_get_info(struct mt_tls *t, struct mt_tls_info *info);
/* The chain as the peer sent it: pointers into the session, valid until mt_tls_free. */
size_t mt_tls_peer_chain(struct mt_tls *t, const unsigned char **ders, size_t *lens, size_t max);
/* Read up to n bytes within deadline; 0 bytes means the peer closed. */
mt_status mt_tls_read(struct mt_tls *t, void *buf, size_t n, size_t *got, struct mt_deadline d,
		      struct mt_err *err);
mt_status mt_tls_write(struct mt_tls *t, const void *buf, size_t n, struct mt_deadline d,
		       struct mt_err *err);
/* Bytes already decrypted and buffered inside the TLS layer. */
size_t mt_tls_pending(struct mt_tls *t);
/* Send close_notify (best effort, bounded by d) and free. */
void mt_tls_close(struct mt_tls *t, struct mt_deadline d);
void mt_tls_free(struct mt_tls *t);

/* OpenSSL's name for an IANA TLS suite name ("" if unknown shape). */
void mt_tls_openssl_cipher_name(const char *iana, char *out, size_t outsz);

/* One-time global init (idempotent, thread-safe). */
mt_status mt_tls_global_init(struct mt_err *err);

#endif

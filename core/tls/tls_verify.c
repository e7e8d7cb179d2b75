/* tls_verify.c — chain analysis: parse the chain as sent, PKIX-verify it with GnuTLS, and name
 * every fault a person can fix (expired, missing intermediate, wrong order, ...).
 *
 * The verifier records; it never decides. mt_verify_chain() fills a struct mt_verify_result
 * that owns all it points to (SAN arrays, DER copies); mt_verify_result_free() releases it and
 * leaves the struct zeroed, ready for reuse. GnuTLS objects never leave this file.
 *
 * Finding details count certificates from 1, as people and the reports do ("certificate 2
 * (mailtls Test Intermediate CA)"); struct mt_finding.cert stays a 0-based index.
 *
 * Time: GnuTLS checks validity against the wall clock only. When the caller pins opts->now
 * (tests, re-judging an old transcript), GnuTLS's time checks are switched off and the
 * validity of every certificate on the path, and of the store anchor, is judged here against
 * opts->now instead, so the verdict is the same one GnuTLS would give at that moment.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "mailtls/tls.h"

void mt_verify_add_finding(struct mt_verify_result *r, enum mt_fault f, enum mt_severity sev,
                           int cert, const char *fmt, ...)
{
	if (!r)
		return;
	if (r->nfindings >= MT_MAX_FINDINGS) {
		/* Keep what the last slot said, and say that more was dropped. */
		struct mt_finding *last = &r->findings[MT_MAX_FINDINGS - 1];
		static const char more[] = " [further findings dropped]";
		size_t len = strlen(last->detail);
		if (len < sizeof more - 1 || strcmp(last->detail + len - (sizeof more - 1), more)) {
			if (len > sizeof last->detail - sizeof more)
				len = sizeof last->detail - sizeof more;
			memcpy(last->detail + len, more, sizeof more);
		}
		return;
	}
	struct mt_finding *x = &r->findings[r->nfindings++];
	x->fault = f;
	x->severity = sev;
	x->cert = cert;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->detail, sizeof x->detail, fmt, ap);
	va_end(ap);
}

bool mt_verify_has_fault(const struct mt_verify_result *r, enum mt_fault f)
{
	if (!r)
		return false;
	for (size_t i = 0; i < r->nfindings && i < MT_MAX_FINDINGS; i++)
		if (r->findings[i].fault == f)
			return true;
	return false;
}

static void cert_info_free(struct mt_cert_info *c)
{
	for (size_t i = 0; i < c->n_dns; i++)
		free(c->dns_names[i]);
	free(c->dns_names);
	for (size_t i = 0; i < c->n_ip; i++)
		free(c->ip_addrs[i]);
	free(c->ip_addrs);
	free(c->der);
}

void mt_verify_result_free(struct mt_verify_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ncerts && i < MT_MAX_CHAIN; i++)
		cert_info_free(&r->certs[i]);
	memset(r, 0, sizeof *r);
}

/* ---- helpers ---- */

static void fmt_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	if (t == (time_t)-1 || !gmtime_r(&t, &tm) ||
	    !strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm))
		mt_strlcpy(out, "(unknown time)", outsz);
}

/* Whole days from a to b (b later), rounded down. */
static long days_between(time_t a, time_t b)
{
	return (long)(difftime(b, a) / 86400.0);
}

/* Copy a presented name, replacing bytes that cannot be part of it with '?', so that
 * "good.example\0.evil" can never match anything. A dNSName is printable ASCII without
 * spaces; a CN may hold spaces and UTF-8, but never NUL or control bytes. */
static char *presented_dup(const unsigned char *p, size_t n, bool is_cn)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool bad = is_cn ? (p[i] < 0x20 || p[i] == 0x7f) : (p[i] < 0x21 || p[i] > 0x7e);
		s[i] = bad ? '?' : (char)p[i];
	}
	s[n] = '\0';
	return s;
}

static bool push_str(char ***arr, size_t *n, char *s)
{
	if (!s)
		return false;
	char **na = realloc(*arr, (*n + 1) * sizeof *na);
	if (!na) {
		free(s);
		return false;
	}
	na[(*n)++] = s;
	*arr = na;
	return true;
}

/* The tbsCertificate bytes of a DER certificate: the first element inside the outer
 * SEQUENCE. GnuTLS has no public accessor for it, and we need it to check signatures
 * directly (GnuTLS's own path check short-cuts certificates found in its CA list). */
static bool der_tlv(const unsigned char *p, size_t n, size_t *hdr, size_t *len)
{
	if (n < 2)
		return false;
	size_t h = 2, l = p[1];
	if (l & 0x80) {
		size_t k = l & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return false;
		l = 0;
		for (size_t i = 0; i < k; i++)
			l = (l << 8) | p[2 + i];
		h += k;
	}
	if (l > n - h)
		return false;
	*hdr = h;
	*len = l;
	return true;
}

static bool der_tbs(const unsigned char *der, size_t n, gnutls_datum_t *tbs)
{
	size_t h, l, h2, l2;
	if (!der_tlv(der, n, &h, &l) || der[0] != 0x30)
		return false;
	if (!der_tlv(der + h, l, &h2, &l2) || der[h] != 0x30)
		return false;
	tbs->data = (unsigned char *)der + h;
	tbs->size = (unsigned)(h2 + l2);
	return true;
}

/* Working state for one analysis. */
struct ctx {
	gnutls_x509_crt_t crt[MT_MAX_CHAIN];
	size_t n;
	int dup_of[MT_MAX_CHAIN]; /* index of the first identical certificate, or -1 */
	int issuer[MT_MAX_CHAIN]; /* index in the chain of the certificate's issuer, or -1 */
	gnutls_x509_crt_t store_issuer[MT_MAX_CHAIN]; /* issuer found in the trust store */
	bool on_path[MT_MAX_CHAIN];
	gnutls_x509_trust_list_t tl;
	time_t now;
	struct mt_verify_result *r;
};

/* Does `issuer` sign `cert`? Names must chain and the signature must verify with the
 * issuer's key. Weak algorithms are allowed here: that fault is reported on its own. */
static bool signed_by(gnutls_x509_crt_t cert, const unsigned char *der, size_t derlen,
                      gnutls_x509_crt_t issuer)
{
	if (!gnutls_x509_crt_check_issuer(cert, issuer))
		return false;
	gnutls_datum_t tbs;
	if (!der_tbs(der, derlen, &tbs))
		return false;
	unsigned char sigbuf[2048];
	size_t siglen = sizeof sigbuf;
	if (gnutls_x509_crt_get_signature(cert, (char *)sigbuf, &siglen) < 0)
		return false;
	gnutls_datum_t sig = {sigbuf, (unsigned)siglen};
	int algo = gnutls_x509_crt_get_signature_algorithm(cert);
	if (algo < 0)
		return false;
	unsigned flags = GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 | GNUTLS_VERIFY_ALLOW_BROKEN |
	                 GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD5;
	return gnutls_x509_crt_verify_data2(issuer, (gnutls_sign_algorithm_t)algo, flags, &tbs,
	                                    &sig) >= 0;
}

static const char *key_type_name(int pk)
{
	switch (pk) {
	case GNUTLS_PK_RSA:
		return "RSA";
	case GNUTLS_PK_RSA_PSS:
		return "RSA-PSS";
	case GNUTLS_PK_DSA:
		return "DSA";
	case GNUTLS_PK_ECDSA:
		return "EC";
	case GNUTLS_PK_EDDSA_ED25519:
		return "Ed25519";
	case GNUTLS_PK_EDDSA_ED448:
		return "Ed448";
	default: {
		const char *s = gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)pk);
		return s ? s : "unknown";
	}
	}
}

static mt_status fill_info(gnutls_x509_crt_t crt, const unsigned char *der, size_t len,
                           struct mt_cert_info *c, struct mt_err *err)
{
	gnutls_datum_t d = {NULL, 0};
	if (gnutls_x509_crt_get_dn3(crt, &d, 0) >= 0) {
		mt_strlcpy(c->subject, (const char *)d.data, sizeof c->subject);
		gnutls_free(d.data);
	}
	d.data = NULL;
	if (gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) >= 0) {
		mt_strlcpy(c->issuer, (const char *)d.data, sizeof c->issuer);
		gnutls_free(d.data);
	}
	/* The last CN of the subject is the most specific one. */
	for (unsigned idx = 0;; idx++) {
		char buf[256];
		size_t sz = sizeof buf;
		int rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, idx, 0,
		                                       buf, &sz);
		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (rc < 0)
			break;
		char *clean = presented_dup((const unsigned char *)buf, sz, true);
		if (!clean)
			return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		mt_strlcpy(c->cn, clean, sizeof c->cn);
		free(clean);
	}
	c->not_before = gnutls_x509_crt_get_activation_time(crt);
	c->not_after = gnutls_x509_crt_get_expiration_time(crt);

	for (unsigned seq = 0;; seq++) {
		unsigned char buf[1024];
		size_t sz = sizeof buf;
		unsigned type = 0, crit = 0;
		int rc = gnutls_x509_crt_get_subject_alt_name2(crt, seq, buf, &sz, &type, &crit);
		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* absurdly long name: not a host name, skip it */
		if (rc < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			if (!push_str(&c->dns_names, &c->n_dns, presented_dup(buf, sz, false)))
				return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			char ip[INET6_ADDRSTRLEN];
			int fam = sz == 4 ? AF_INET : sz == 16 ? AF_INET6 : 0;
			if (!fam || !inet_ntop(fam, buf, ip, sizeof ip))
				snprintf(ip, sizeof ip, "(invalid %zu-byte address)", sz);
			if (!push_str(&c->ip_addrs, &c->n_ip, mt_strdup(ip)))
				return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		}
	}

	unsigned bits = 0;
	int pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
	mt_strlcpy(c->key_type, key_type_name(pk), sizeof c->key_type);
	c->key_bits = bits;
	int sa = gnutls_x509_crt_get_signature_algorithm(crt);
	const char *san = sa >= 0 ? gnutls_sign_get_name((gnutls_sign_algorithm_t)sa) : NULL;
	mt_strlcpy(c->sig_alg, san ? san : "unknown", sizeof c->sig_alg);

	unsigned char md[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, md) == 0)
		mt_hex(md, sizeof md, c->sha256);
	gnutls_pubkey_t pub;
	if (gnutls_pubkey_init(&pub) == 0) {
		gnutls_datum_t spki = {NULL, 0};
		if (gnutls_pubkey_import_x509(pub, crt, 0) == 0 &&
		    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) == 0) {
			if (gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, md) == 0)
				mt_hex(md, sizeof md, c->spki_sha256);
			gnutls_free(spki.data);
		}
		gnutls_pubkey_deinit(pub);
	}
	unsigned crit = 0;
	c->is_ca = gnutls_x509_crt_get_ca_status(crt, &crit) > 0;
	c->self_signed = signed_by(crt, der, len, crt);
	c->der = malloc(len ? len : 1);
	if (!c->der)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	memcpy(c->der, der, len);
	c->der_len = len;
	return MT_OK;
}

/* Is this exact certificate a trust anchor in the list? */
static bool in_store(gnutls_x509_trust_list_t tl, gnutls_x509_crt_t crt)
{
	gnutls_datum_t dn;
	if (gnutls_x509_crt_get_raw_dn(crt, &dn) < 0)
		return false;
	gnutls_x509_crt_t found = NULL;
	bool eq = false;
	if (gnutls_x509_trust_list_get_issuer_by_dn(tl, &dn, &found, 0) == 0 && found) {
		eq = gnutls_x509_crt_equals(found, crt) != 0;
		gnutls_x509_crt_deinit(found);
	}
	gnutls_free(dn.data);
	return eq;
}

/* Load the trust anchors the options ask for. */
static mt_status load_trust(const struct mt_verify_opts *o, gnutls_x509_trust_list_t *out,
                            struct mt_err *err)
{
	gnutls_x509_trust_list_t tl;
	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		return mt_err_set(err, MT_ERR_NOMEM, "cannot create a trust list");
	if (!o->no_system_ca) {
		/* A machine without a system store still gets cafile/capath; a failure here
		 * shows up later as "issuer unknown", which is the truth. */
		(void)gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	}
	if (o->cafile) {
		FILE *f = fopen(o->cafile, "r");
		if (!f) {
			int e = errno;
			gnutls_x509_trust_list_deinit(tl, 1);
			return mt_err_set(err, MT_ERR_BADINPUT, "cannot read CA file %s: %s",
			                  o->cafile, strerror(e));
		}
		fclose(f);
		int rc = gnutls_x509_trust_list_add_trust_file(tl, o->cafile, NULL,
		                                               GNUTLS_X509_FMT_PEM, 0, 0);
		if (rc <= 0) {
			gnutls_x509_trust_list_deinit(tl, 1);
			return mt_err_set(
			    err, MT_ERR_BADINPUT, "CA file %s holds no usable PEM certificate%s%s",
			    o->cafile, rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
		}
	}
	if (o->capath) {
		int rc = gnutls_x509_trust_list_add_trust_dir(tl, o->capath, NULL,
		                                              GNUTLS_X509_FMT_PEM, 0, 0);
		if (rc < 0) {
			gnutls_x509_trust_list_deinit(tl, 1);
			return mt_err_set(err, MT_ERR_BADINPUT, "cannot read CA directory %s: %s",
			                  o->capath, gnutls_strerror(rc));
		}
	}
	*out = tl;
	return MT_OK;
}

/* Pick the issuer of certificate i among the chain: the next certificate if it signs i,
 * else any later one, else an earlier one (a chain in the wrong order). Duplicates and
 * i itself are never candidates. */
static int chain_issuer(struct ctx *x, size_t i)
{
	const struct mt_cert_info *c = &x->r->certs[i];
	if (x->r->certs[i].self_signed)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t j = pass ? 0 : i + 1; j < x->n; j++) {
			if (j == i || x->dup_of[j] >= 0)
				continue;
			if (signed_by(x->crt[i], c->der, c->der_len, x->crt[j]))
				return (int)j;
		}
	}
	return -1;
}

/* Append ", s" (or s when empty) to a list, silently cut at bufsz. */
static void append(char *buf, size_t bufsz, const char *s)
{
	size_t len = strlen(buf);
	if (len && len + 2 < bufsz) {
		mt_strlcpy(buf + len, ", ", bufsz - len);
		len += 2;
	}
	if (len + 1 < bufsz)
		mt_strlcpy(buf + len, s, bufsz - len);
}

/* Status bits of certificate i checked against one issuer, time checks left to us. */
static unsigned check_against(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer)
{
	unsigned st = 0;
	unsigned flags =
	    GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
	if (gnutls_x509_crt_verify(crt, &issuer, 1, flags, &st) < 0)
		return GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNATURE_FAILURE;
	return st;
}

static bool weak_hash(int sa)
{
	if (sa < 0)
		return false;
	gnutls_digest_algorithm_t h = gnutls_sign_get_hash_algorithm((gnutls_sign_algorithm_t)sa);
	return h == GNUTLS_DIG_SHA1 || h == GNUTLS_DIG_MD5 || h == GNUTLS_DIG_MD2;
}

static void describe(const struct mt_cert_info *c, int i, char *out, size_t outsz)
{
	snprintf(out, outsz, "certificate %d (%s)", i + 1, c->cn[0] ? c->cn : c->subject);
}

/* Per-certificate checks: validity, key, signature, verify_text. */
static void judge_cert(struct ctx *x, size_t i, int warn_days)
{
	struct mt_verify_result *r = x->r;
	struct mt_cert_info *c = &r->certs[i];
	char when[64], who[300];
	char reasons[sizeof c->verify_text] = "";
	describe(c, (int)i, who, sizeof who);
	bool dup = x->dup_of[i] >= 0;
	/* An expired certificate off the path (an old cross-sign sent along) breaks nothing. */
	enum mt_severity tsev = x->on_path[i] ? MT_SEV_ERROR : MT_SEV_WARN;

	if (c->not_after != (time_t)-1 && x->now > c->not_after) {
		fmt_time(c->not_after, when, sizeof when);
		if (!dup)
			mt_verify_add_finding(r, MT_FAULT_EXPIRED, tsev, (int)i,
			                      "%s expired %s (%ld days ago)", who, when,
			                      days_between(c->not_after, x->now));
		append(reasons, sizeof reasons, "certificate has expired");
	} else if (c->not_before != (time_t)-1 && x->now < c->not_before) {
		fmt_time(c->not_before, when, sizeof when);
		if (!dup)
			mt_verify_add_finding(r, MT_FAULT_NOT_YET_VALID, tsev, (int)i,
			                      "%s is not valid before %s (in %ld days)", who, when,
			                      days_between(x->now, c->not_before));
		append(reasons, sizeof reasons, "certificate is not yet valid");
	} else if (warn_days > 0 && c->not_after != (time_t)-1 &&
	           difftime(c->not_after, x->now) <= (double)warn_days * 86400.0 && !dup) {
		fmt_time(c->not_after, when, sizeof when);
		mt_verify_add_finding(r, MT_FAULT_EXPIRING, MT_SEV_WARN, (int)i,
		                      "%s expires %s (in %ld days, warning at %d)", who, when,
		                      days_between(x->now, c->not_after), warn_days);
	}

	if (!dup && !c->is_anchor) {
		bool rsa = !strcmp(c->key_type, "RSA") || !strcmp(c->key_type, "RSA-PSS") ||
		           !strcmp(c->key_type, "DSA");
		bool ec = !strcmp(c->key_type, "EC");
		if ((rsa && c->key_bits < 2048) || (ec && c->key_bits < 224))
			mt_verify_add_finding(r, MT_FAULT_WEAK_KEY, MT_SEV_WARN, (int)i,
			                      "%s has a %u-bit %s key (at least %u expected)", who,
			                      c->key_bits, c->key_type, rsa ? 2048u : 224u);
	}

	int sa = gnutls_x509_crt_get_signature_algorithm(x->crt[i]);
	bool weak = weak_hash(sa);
	/* A self-signature proves nothing, so its hash does not matter; neither does an
	 * anchor's, which is trusted by being in the store. */
	if (weak && !c->self_signed && !c->is_anchor) {
		if (!dup)
			mt_verify_add_finding(r, MT_FAULT_WEAK_SIGNATURE, MT_SEV_ERROR, (int)i,
			                      "%s is signed with %s, which can be forged", who,
			                      c->sig_alg);
		append(reasons, sizeof reasons, "insecure signature algorithm");
	}

	if (c->is_anchor) {
		/* trusted as it is */
	} else if (c->self_signed) {
		append(reasons, sizeof reasons, "self-signed");
	} else {
		gnutls_x509_crt_t iss = NULL;
		if (x->issuer[i] >= 0)
			iss = x->crt[x->issuer[i]];
		else if (x->store_issuer[i])
			iss = x->store_issuer[i];
		if (!iss) {
			append(reasons, sizeof reasons, "issuer not found");
		} else {
			unsigned st = check_against(x->crt[i], iss);
			if (st & GNUTLS_CERT_SIGNATURE_FAILURE)
				append(reasons, sizeof reasons, "signature does not verify");
			if (st & GNUTLS_CERT_SIGNER_NOT_FOUND)
				append(reasons, sizeof reasons, "issuer not found");
			if (st & GNUTLS_CERT_SIGNER_NOT_CA)
				append(reasons, sizeof reasons, "issuer is not a CA");
			if (st & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE)
				append(reasons, sizeof reasons, "issuer's constraints violated");
			if ((st & GNUTLS_CERT_INSECURE_ALGORITHM) && !weak)
				append(reasons, sizeof reasons, "insecure algorithm or key");
			if (st & GNUTLS_CERT_REVOKED)
				append(reasons, sizeof reasons, "revoked");
			if (st & GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS)
				append(reasons, sizeof reasons, "unknown critical extension");
		}
	}
	mt_strlcpy(c->verify_text, reasons[0] ? reasons : "ok", sizeof c->verify_text);
}

/* Build the path from the leaf through chain issuers and mark it. Returns its last index. */
static size_t walk_path(struct ctx *x)
{
	size_t at = 0;
	bool seen[MT_MAX_CHAIN] = {false};
	for (;;) {
		seen[at] = true;
		x->on_path[at] = true;
		if (x->r->certs[at].is_anchor)
			break;
		int j = x->issuer[at];
		if (j < 0 || seen[j])
			break;
		at = (size_t)j;
	}
	return at;
}

static void check_structure(struct ctx *x, size_t end, const struct mt_verify_opts *o)
{
	struct mt_verify_result *r = x->r;
	char who[300], who2[300];

	for (size_t i = 1; i < x->n; i++) {
		if (x->dup_of[i] < 0)
			continue;
		mt_verify_add_finding(r, MT_FAULT_DUPLICATE_CERT, MT_SEV_WARN, (int)i,
		                      "certificate %zu is a duplicate of certificate %d (%s)",
		                      i + 1, x->dup_of[i] + 1,
		                      r->certs[i].cn[0] ? r->certs[i].cn : r->certs[i].subject);
	}

	/* Each certificate should be followed by its issuer (RFC 5246 7.4.2); duplicates in
	 * between are reported as duplicates, not again as disorder. */
	for (size_t i = 0; i < x->n; i++) {
		int j = x->issuer[i];
		if (x->dup_of[i] >= 0 || j < 0)
			continue;
		size_t next = i + 1;
		while (next < x->n && x->dup_of[next] >= 0)
			next++;
		if ((size_t)j == next)
			continue;
		describe(&r->certs[i], (int)i, who, sizeof who);
		describe(&r->certs[j], j, who2, sizeof who2);
		mt_verify_add_finding(r, MT_FAULT_WRONG_ORDER, MT_SEV_WARN, (int)i,
		                      "%s is issued by %s, which should come right after it", who,
		                      who2);
	}

	for (size_t i = 1; i < x->n; i++) {
		const struct mt_cert_info *c = &r->certs[i];
		if (x->dup_of[i] >= 0 || !c->self_signed || !c->is_ca)
			continue;
		describe(c, (int)i, who, sizeof who);
		mt_verify_add_finding(r, MT_FAULT_ROOT_SENT, MT_SEV_INFO, (int)i,
		                      "%s is a self-signed root; clients use their own copy, so "
		                      "sending it only adds bytes",
		                      who);
	}

	if (o->lint) {
		for (size_t i = 1; i < x->n; i++) {
			const struct mt_cert_info *c = &r->certs[i];
			if (x->dup_of[i] >= 0 || !c->is_ca)
				continue;
			bool issues = false;
			for (size_t k = 0; k < x->n && !issues; k++)
				issues = k != i && x->issuer[k] == (int)i;
			if (issues)
				continue;
			describe(c, (int)i, who, sizeof who);
			mt_verify_add_finding(r, MT_FAULT_STALE_INTERMEDIATE, MT_SEV_WARN, (int)i,
			                      "%s issues no other certificate in the chain", who);
		}
	}

	/* The path stops short of an anchor: its last issuer was neither sent nor trusted. */
	const struct mt_cert_info *e = &r->certs[end];
	if (!e->is_anchor && !e->self_signed && !x->store_issuer[end])
		mt_verify_add_finding(
		    r, MT_FAULT_MISSING_INTERMEDIATE, MT_SEV_ERROR, (int)end,
		    "the issuer \"%.200s\" of certificate %zu was not sent and is "
		    "not a trust anchor",
		    e->issuer, end + 1);

	const struct mt_cert_info *leaf = &r->certs[0];
	if (leaf->self_signed)
		mt_verify_add_finding(
		    r, MT_FAULT_SELF_SIGNED, leaf->is_anchor ? MT_SEV_INFO : MT_SEV_ERROR, 0,
		    leaf->is_anchor ? "the server certificate is self-signed, and is itself "
		                      "a trust anchor here"
		                    : "the server certificate (%s) is self-signed",
		    leaf->subject);
	if (leaf->n_dns == 0 && leaf->n_ip == 0 && leaf->cn[0])
		mt_verify_add_finding(r, MT_FAULT_CN_ONLY, MT_SEV_WARN, 0,
		                      "no subjectAltName; only the subject CN \"%s\" names the "
		                      "server (RFC 6125 deprecates this)",
		                      leaf->cn);
	else if (leaf->n_dns == 0 && leaf->n_ip == 0)
		mt_verify_add_finding(r, MT_FAULT_CN_ONLY, MT_SEV_WARN, 0,
		                      "the server certificate names no host: no subjectAltName "
		                      "and no subject CN");
}

/* Validity at `now` of a store anchor, folded into the GnuTLS status bits. */
static unsigned time_status(time_t nb, time_t na, time_t now)
{
	if (na != (time_t)-1 && now > na)
		return GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED;
	if (nb != (time_t)-1 && now < nb)
		return GNUTLS_CERT_INVALID | GNUTLS_CERT_NOT_ACTIVATED;
	return 0;
}

static void check_names(struct ctx *x, const struct mt_verify_opts *o)
{
	struct mt_verify_result *r = x->r;
	if (o->nrefs == 0)
		return;
	r->name_checked = true;
	const struct mt_cert_info *leaf = &r->certs[0];
	for (size_t i = 0; i < o->nrefs && i < MT_MAX_REFNAMES; i++) {
		char id[256];
		if (mt_name_match_cert(o->refs[i].name, leaf, id, sizeof id)) {
			r->name_matched = true;
			mt_strlcpy(r->matched_ref, o->refs[i].name, sizeof r->matched_ref);
			mt_strlcpy(r->matched_id, id, sizeof r->matched_id);
			r->matched_secure = o->refs[i].secure;
			return;
		}
	}
	char tried[256] = "", found[256] = "", tmp[300];
	for (size_t i = 0; i < o->nrefs && i < MT_MAX_REFNAMES; i++)
		append(tried, sizeof tried, o->refs[i].name);
	for (size_t i = 0; i < leaf->n_dns; i++) {
		snprintf(tmp, sizeof tmp, "DNS:%s", leaf->dns_names[i]);
		append(found, sizeof found, tmp);
	}
	for (size_t i = 0; i < leaf->n_ip; i++) {
		snprintf(tmp, sizeof tmp, "IP:%s", leaf->ip_addrs[i]);
		append(found, sizeof found, tmp);
	}
	if (leaf->n_dns == 0 && leaf->cn[0]) {
		snprintf(tmp, sizeof tmp, "CN:%s", leaf->cn);
		append(found, sizeof found, tmp);
	}
	mt_verify_add_finding(r, MT_FAULT_NAME_MISMATCH, MT_SEV_ERROR, 0,
	                      "tried %.100s; the certificate names %.130s", tried,
	                      found[0] ? found : "nothing");
}

/* Lower-case hex without ':' or spaces; false if it is not 64 hex digits. */
static bool norm_fp(const char *in, char out[65])
{
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ':' || *p == ' ' || *p == '-')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= 64)
			return false;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n == 64;
}

static void check_fingerprints(struct ctx *x, const struct mt_verify_opts *o)
{
	struct mt_verify_result *r = x->r;
	if (o->nfingerprints == 0)
		return;
	r->fingerprint_checked = true;
	size_t nf = o->nfingerprints < 16 ? o->nfingerprints : 16;
	for (size_t f = 0; f < nf; f++) {
		char want[65];
		if (!o->fingerprints[f] || !norm_fp(o->fingerprints[f], want))
			continue;
		for (size_t i = 0; i < x->n; i++) {
			if (!strcmp(want, r->certs[i].sha256) ||
			    !strcmp(want, r->certs[i].spki_sha256)) {
				r->fingerprint_matched = true;
				return;
			}
		}
	}
	mt_verify_add_finding(r, MT_FAULT_FINGERPRINT_MISMATCH, MT_SEV_ERROR, 0,
	                      "none of the %zu given fingerprint(s) matches a certificate or key "
	                      "in the chain; the server certificate's SHA-256 is %s",
	                      nf, r->certs[0].sha256);
}

mt_status mt_verify_chain(const unsigned char *const *ders, const size_t *lens, size_t n,
                          const struct mt_verify_opts *opts, struct mt_verify_result *r,
                          struct mt_err *err)
{
	if (!r)
		return mt_err_set(err, MT_ERR_USAGE, "mt_verify_chain: no result");
	memset(r, 0, sizeof *r);
	if (!ders || !lens || n == 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "no certificate to verify");
	struct mt_verify_opts defaults;
	if (!opts) {
		mt_verify_opts_init(&defaults);
		opts = &defaults;
	}
	mt_status st = mt_tls_global_init(err);
	if (st != MT_OK)
		return st;

	struct ctx x;
	memset(&x, 0, sizeof x);
	x.r = r;
	x.now = opts->now ? opts->now : time(NULL);
	x.n = n < MT_MAX_CHAIN ? n : MT_MAX_CHAIN;

	for (size_t i = 0; i < x.n; i++) {
		gnutls_datum_t d = {(unsigned char *)ders[i], (unsigned)lens[i]};
		if (!ders[i] || lens[i] == 0 || gnutls_x509_crt_init(&x.crt[i]) < 0) {
			st = mt_err_set(err, MT_ERR_BADINPUT, "certificate %zu is empty", i);
			goto out;
		}
		int rc = gnutls_x509_crt_import(x.crt[i], &d, GNUTLS_X509_FMT_DER);
		if (rc < 0) {
			st = mt_err_set(err, MT_ERR_BADINPUT,
			                "certificate %zu cannot be decoded: %s", i,
			                gnutls_strerror(rc));
			goto out;
		}
		r->ncerts = i + 1;
		st = fill_info(x.crt[i], ders[i], lens[i], &r->certs[i], err);
		if (st != MT_OK)
			goto out;
		x.dup_of[i] = -1;
		for (size_t j = 0; j < i; j++)
			if (r->certs[j].der_len == lens[i] &&
			    !memcmp(r->certs[j].der, ders[i], lens[i])) {
				x.dup_of[i] = (int)j;
				break;
			}
	}

	st = load_trust(opts, &x.tl, err);
	if (st != MT_OK)
		goto out;

	for (size_t i = 0; i < x.n; i++)
		r->certs[i].is_anchor = in_store(x.tl, x.crt[i]);
	for (size_t i = 0; i < x.n; i++) {
		/* A duplicate shares its original's issuer; it is never one itself. */
		x.issuer[i] = x.dup_of[i] >= 0 ? x.issuer[x.dup_of[i]] : chain_issuer(&x, i);
		if (x.issuer[i] < 0 && !r->certs[i].self_signed && !r->certs[i].is_anchor) {
			gnutls_x509_crt_t iss = NULL;
			if (gnutls_x509_trust_list_get_issuer(x.tl, x.crt[i], &iss,
			                                      GNUTLS_TL_GET_COPY) == 0 &&
			    iss) {
				if (signed_by(x.crt[i], r->certs[i].der, r->certs[i].der_len, iss))
					x.store_issuer[i] = iss;
				else
					gnutls_x509_crt_deinit(iss);
			}
		}
	}
	size_t end = walk_path(&x);

	/* PKIX over the chain as sent; GnuTLS sorts and trims it the way a client would. */
	bool pinned = opts->now != 0;
	unsigned vflags =
	    pinned ? (GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS)
	           : 0;
	unsigned status = 0;
	int rc = gnutls_x509_trust_list_verify_crt2(x.tl, x.crt, (unsigned)x.n, NULL, 0, vflags,
	                                            &status, NULL);
	if (rc < 0)
		status |= GNUTLS_CERT_INVALID;
	if (pinned) {
		for (size_t i = 0; i < x.n; i++)
			if (x.on_path[i])
				status |= time_status(r->certs[i].not_before, r->certs[i].not_after,
				                      x.now);
		if (x.store_issuer[end])
			status |= time_status(
			    gnutls_x509_crt_get_activation_time(x.store_issuer[end]),
			    gnutls_x509_crt_get_expiration_time(x.store_issuer[end]), x.now);
	}
	r->trusted = rc >= 0 && status == 0;
	if (r->trusted) {
		mt_strlcpy(r->trust_text, "ok", sizeof r->trust_text);
	} else {
		gnutls_datum_t txt = {NULL, 0};
		if (rc >= 0 && gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
		                                                            &txt, 0) == 0) {
			mt_strlcpy(r->trust_text, (const char *)txt.data, sizeof r->trust_text);
			gnutls_free(txt.data);
			size_t tl = strlen(r->trust_text);
			while (tl && isspace((unsigned char)r->trust_text[tl - 1]))
				r->trust_text[--tl] = '\0';
		} else {
			snprintf(r->trust_text, sizeof r->trust_text, "verification failed: %s",
			         rc < 0 ? gnutls_strerror(rc) : "unknown reason");
		}
	}

	int warn_days = opts->warn_days;
	for (size_t i = 0; i < x.n; i++)
		judge_cert(&x, i, warn_days);
	check_structure(&x, end, opts);
	if (n > MT_MAX_CHAIN)
		mt_verify_add_finding(r, MT_FAULT_CHAIN_TOO_LONG, MT_SEV_WARN, -1,
		                      "%zu certificates sent; only the first %d were analysed", n,
		                      MT_MAX_CHAIN);
	if (!r->trusted)
		mt_verify_add_finding(r, MT_FAULT_UNTRUSTED, MT_SEV_ERROR, -1, "%s", r->trust_text);
	check_names(&x, opts);
	check_fingerprints(&x, opts);
	st = MT_OK;

out:
	for (size_t i = 0; i < MT_MAX_CHAIN; i++) {
		if (x.crt[i])
			gnutls_x509_crt_deinit(x.crt[i]);
		if (x.store_issuer[i])
			gnutls_x509_crt_deinit(x.store_issuer[i]);
	}
	if (x.tl)
		gnutls_x509_trust_list_deinit(x.tl, 1);
	if (st != MT_OK)
		mt_verify_result_free(r);
	return st;
}

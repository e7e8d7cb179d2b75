/* tls_dane.c — TLSA record parsing and DANE matching on raw DER (RFC 7671, RFC 7672).
 *
 * Own code rather than libgnutls-dane: we must say which record matched which certificate,
 * and dane_verify_crt_raw() reports only a yes/no status. GnuTLS still does the hashing,
 * the SubjectPublicKeyInfo extraction and the DANE-TA chain signature checks.
 * Memory: mt_tlsa owns its data; nothing else here allocates beyond a call.
 */
#include <ctype.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/dane.h"

const char *mt_dane_state_name(enum mt_dane_state s)
{
	switch (s) {
	case MT_DANE_NOT_TRIED: return "not-tried";
	case MT_DANE_VERIFIED: return "verified";
	case MT_DANE_MISMATCH: return "mismatch";
	case MT_DANE_NO_USABLE: return "no-usable-tlsa";
	case MT_DANE_NO_TLSA: return "no-tlsa";
	case MT_DANE_INSECURE: return "insecure";
	case MT_DANE_LOOKUP_FAILED: return "lookup-failed";
	}
	return "?";
}

void mt_tlsa_free(struct mt_tlsa *t)
{
	if (!t)
		return;
	free(t->data);
	t->data = NULL;
	t->len = 0;
}

mt_status mt_tlsa_set(struct mt_tlsa *out, uint8_t usage, uint8_t selector, uint8_t mtype,
		      const unsigned char *data, size_t len, struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	if (len > MT_TLSA_MAX_DATA)
		return mt_err_set(err, MT_ERR_TOOBIG, "TLSA data of %zu octets is over %d", len,
				  MT_TLSA_MAX_DATA);
	out->data = malloc(len ? len : 1);
	if (!out->data)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	if (len)
		memcpy(out->data, data, len);
	out->len = len;
	out->usage = usage, out->selector = selector, out->mtype = mtype;
	return MT_OK;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

mt_status mt_tlsa_parse(const char *text, struct mt_tlsa *out, struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	if (!text)
		return mt_err_set(err, MT_ERR_BADINPUT, "empty TLSA record");
	const char *p = text;
	unsigned v[3];
	static const char *const field[] = {"usage", "selector", "matching type"};
	for (int i = 0; i < 3; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "TLSA record \"%.80s\": %s is not a number (want \"3 1 1 "
					  "<hex>\")", text, field[i]);
		unsigned long x = 0;
		while (isdigit((unsigned char)*p) && x <= 255)
			x = x * 10 + (unsigned)(*p++ - '0');
		if (x > 255 || isdigit((unsigned char)*p))
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "TLSA record \"%.80s\": %s is over 255", text, field[i]);
		if (*p != ' ' && *p != '\t')
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "TLSA record \"%.80s\": expected a blank after the %s",
					  text, field[i]);
		v[i] = (unsigned)x;
	}
	size_t nhex = 0;
	for (const char *q = p; *q; q++) {
		if (hexval((unsigned char)*q) >= 0)
			nhex++;
		else if (!isspace((unsigned char)*q))
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "TLSA record \"%.80s\": '%c' in the data is not a hex digit",
					  text, *q);
	}
	if (nhex == 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "TLSA record \"%.80s\": no data", text);
	if (nhex % 2)
		return mt_err_set(err, MT_ERR_BADINPUT,
				  "TLSA record \"%.80s\": odd number of hex digits", text);
	if (nhex / 2 > MT_TLSA_MAX_DATA)
		return mt_err_set(err, MT_ERR_TOOBIG, "TLSA record data is over %d octets",
				  MT_TLSA_MAX_DATA);
	unsigned char *d = malloc(nhex / 2);
	if (!d)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	size_t k = 0;
	int hi = -1;
	for (const char *q = p; *q; q++) {
		int h = hexval((unsigned char)*q);
		if (h < 0)
			continue;
		if (hi < 0)
			hi = h;
		else
			d[k++] = (unsigned char)(hi << 4 | h), hi = -1;
	}
	out->usage = (uint8_t)v[0], out->selector = (uint8_t)v[1], out->mtype = (uint8_t)v[2];
	out->data = d;
	out->len = k;
	return MT_OK;
}

const char *mt_tlsa_unusable(const struct mt_tlsa *t)
{
	if (t->usage == 0 || t->usage == 1)
		return "PKIX-TA(0) and PKIX-EE(1) are not usable for SMTP (RFC 7672 3.1.3)";
	if (t->usage > 3)
		return "unknown certificate usage";
	if (t->selector > 1)
		return "unknown selector";
	if (t->mtype > 2)
		return "unknown matching type";
	if (t->mtype == 1 && t->len != 32)
		return "SHA2-256 data is not 32 octets";
	if (t->mtype == 2 && t->len != 64)
		return "SHA2-512 data is not 64 octets";
	if (t->mtype == 0 && t->len < 16)
		return "full data too short to be a certificate or key";
	return NULL;
}

void mt_tlsa_format(const struct mt_tlsa *t, char *out, size_t outsz)
{
	char hex[2 * 64 + 1];
	if (t->len <= 16) {
		mt_hex(t->data, t->len, hex);
	} else {
		char a[17], b[17];
		mt_hex(t->data, 8, a);
		mt_hex(t->data + t->len - 8, 8, b);
		snprintf(hex, sizeof hex, "%s...%s", a, b);
	}
	snprintf(out, outsz, "%u %u %u %s", t->usage, t->selector, t->mtype, hex);
}

/* The bytes a record's selector picks out of a certificate: the DER, or its SPKI. */
static int selected(const struct mt_cert_info *c, unsigned selector, gnutls_datum_t *out,
		    bool *owned)
{
	*owned = false;
	if (selector == 0) {
		out->data = c->der;
		out->size = (unsigned)c->der_len;
		return 0;
	}
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t pub;
	gnutls_datum_t der = {c->der, (unsigned)c->der_len};
	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	int rc = gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER);
	if (rc == 0 && (rc = gnutls_pubkey_init(&pub)) == 0) {
		rc = gnutls_pubkey_import_x509(pub, crt, 0);
		if (rc == 0)
			rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, out);
		gnutls_pubkey_deinit(pub);
	}
	gnutls_x509_crt_deinit(crt);
	if (rc == 0)
		*owned = true;
	return rc;
}

static bool record_matches(const struct mt_tlsa *t, const struct mt_cert_info *c)
{
	if (!c->der || !c->der_len)
		return false;
	gnutls_datum_t sel;
	bool owned;
	if (selected(c, t->selector, &sel, &owned) != 0)
		return false;
	bool ok = false;
	unsigned char md[64];
	if (t->mtype == 0) {
		ok = t->len == sel.size && memcmp(t->data, sel.data, sel.size) == 0;
	} else if (t->mtype == 1) {
		ok = gnutls_hash_fast(GNUTLS_DIG_SHA256, sel.data, sel.size, md) == 0 &&
		     memcmp(md, t->data, 32) == 0;
	} else if (t->mtype == 2) {
		ok = gnutls_hash_fast(GNUTLS_DIG_SHA512, sel.data, sel.size, md) == 0 &&
		     memcmp(md, t->data, 64) == 0;
	}
	if (owned)
		gnutls_free(sel.data);
	return ok;
}

/* Does the leaf (certs[0]) chain up to certs[ta] through the certificates sent before it?
 * The chain must be issued link by link as sent; RFC 7672 asks servers to send the TA. */
static bool chains_to(const struct mt_verify_result *vr, size_t ta, time_t now, char *why,
		      size_t whysz)
{
	if (ta == 0)
		return true; /* the leaf is its own trust anchor */
	gnutls_x509_crt_t crts[MT_MAX_CHAIN];
	size_t n = 0;
	bool ok = false;
	gnutls_x509_trust_list_t tl = NULL;
	for (; n <= ta; n++) {
		gnutls_datum_t der = {vr->certs[n].der, (unsigned)vr->certs[n].der_len};
		if (gnutls_x509_crt_init(&crts[n]) < 0)
			goto out;
		if (gnutls_x509_crt_import(crts[n], &der, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[n]);
			goto out;
		}
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		goto out;
	/* the list takes ownership of the anchor */
	if (gnutls_x509_trust_list_add_cas(tl, &crts[ta], 1, 0) != 1)
		goto out;
	n--; /* crts[ta] now belongs to tl */
	unsigned status = 0;
	unsigned flags = now ? GNUTLS_VERIFY_DISABLE_TIME_CHECKS : 0;
	int rc = gnutls_x509_trust_list_verify_crt2(tl, crts, (unsigned)ta, NULL, 0, flags,
						    &status, NULL);
	ok = rc >= 0 && status == 0;
	if (ok && now) {
		/* the clock is pinned (tests): check the leaf's dates ourselves */
		if (now < vr->certs[0].not_before || now > vr->certs[0].not_after) {
			ok = false;
			snprintf(why, whysz, "the leaf is outside its validity period");
		}
	} else if (!ok) {
		gnutls_datum_t txt = {NULL, 0};
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0) ==
			0 &&
		    txt.data) {
			snprintf(why, whysz, "%s", (const char *)txt.data);
			gnutls_free(txt.data);
		} else {
			snprintf(why, whysz, "the chain does not verify up to the matched certificate");
		}
	}
out:
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (size_t i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return ok;
}

mt_status mt_dane_match(const struct mt_tlsa *recs, size_t n, const struct mt_verify_result *vr,
			const struct mt_refname *refs, size_t nrefs, time_t now,
			struct mt_dane_result *out, struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	out->rec = out->cert = -1;
	out->nrecs = n;
	for (size_t i = 0; i < n; i++)
		if (!mt_tlsa_unusable(&recs[i]))
			out->nusable++;
	if (n == 0) {
		out->state = MT_DANE_NO_TLSA;
		snprintf(out->text, sizeof out->text, "no TLSA records");
		return MT_OK;
	}
	if (out->nusable == 0) {
		out->state = MT_DANE_NO_USABLE;
		snprintf(out->text, sizeof out->text,
			 "%zu TLSA record%s, none usable (%s): TLS is mandatory, unauthenticated", n,
			 n == 1 ? "" : "s", mt_tlsa_unusable(&recs[0]));
		return MT_OK;
	}
	if (!vr || vr->ncerts == 0) {
		out->state = MT_DANE_NOT_TRIED;
		snprintf(out->text, sizeof out->text, "no certificate to match");
		return MT_OK;
	}
	char why[512] = "";
	/* DANE-EE first: it needs nothing but the leaf */
	for (size_t i = 0; i < n; i++) {
		const struct mt_tlsa *t = &recs[i];
		if (mt_tlsa_unusable(t) || t->usage != 3)
			continue;
		if (record_matches(t, &vr->certs[0])) {
			char f[160];
			mt_tlsa_format(t, f, sizeof f);
			out->state = MT_DANE_VERIFIED;
			out->rec = (int)i, out->cert = 0;
			snprintf(out->text, sizeof out->text,
				 "DANE-EE %s matched certificate 0 (%.200s)", f, vr->certs[0].subject);
			return MT_OK;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct mt_tlsa *t = &recs[i];
		if (mt_tlsa_unusable(t) || t->usage != 2)
			continue;
		for (size_t c = 0; c < vr->ncerts; c++) {
			if (!record_matches(t, &vr->certs[c]))
				continue;
			char f[160];
			mt_tlsa_format(t, f, sizeof f);
			char cwhy[200] = "";
			if (!chains_to(vr, c, now, cwhy, sizeof cwhy)) {
				snprintf(why, sizeof why,
					 "DANE-TA %s matched certificate %zu but the leaf does not "
					 "chain to it: %.150s", f, c, cwhy);
				continue;
			}
			const char *matched_ref = NULL;
			char id[300] = "";
			for (size_t r = 0; r < nrefs && !matched_ref; r++)
				if (mt_name_match_cert(refs[r].name, &vr->certs[0], id, sizeof id))
					matched_ref = refs[r].name;
			if (!matched_ref) {
				snprintf(why, sizeof why,
					 "DANE-TA %s matched certificate %zu but the leaf names none "
					 "of the reference names (%.200s%s)", f, c,
					 nrefs ? refs[0].name : "none", nrefs > 1 ? ", ..." : "");
				continue;
			}
			out->state = MT_DANE_VERIFIED;
			out->rec = (int)i, out->cert = (int)c;
			snprintf(out->text, sizeof out->text,
				 "DANE-TA %s matched certificate %zu (%.150s); name %s matched %.100s",
				 f, c, vr->certs[c].subject, matched_ref, id);
			return MT_OK;
		}
	}
	out->state = MT_DANE_MISMATCH;
	if (why[0])
		snprintf(out->text, sizeof out->text, "%s", why);
	else
		snprintf(out->text, sizeof out->text,
			 "none of %zu usable TLSA record%s matched the %zu certificate%s sent",
			 out->nusable, out->nusable == 1 ? "" : "s", vr->ncerts,
			 vr->ncerts == 1 ? "" : "s");
	(void)err;
	return MT_OK;
}

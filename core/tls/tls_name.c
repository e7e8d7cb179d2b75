/* tls_name.c — RFC 6125 reference-name handling: U-label to A-label conversion (libidn2),
 * DNS-ID matching with the restricted wildcard rule, IP-ID matching, the CN fallback, and
 * the verifier options' reference-name list.
 *
 * Pure functions: nothing here allocates memory that outlives a call; every output goes
 * into a buffer the caller owns.
 */
#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/tls.h"

#define NAME_MAX_LEN 253 /* RFC 1035 limit on a name's text form without the trailing dot */
#define LABEL_MAX_LEN 63

/* Render untrusted input for an error message: control bytes as \xNN, long input cut. */
static void show(const char *in, char *out, size_t outsz)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (o + 8 >= outsz) {
			memcpy(out + o, "...", 4);
			return;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '"') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hx[*p >> 4];
			out[o++] = hx[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

static bool is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/* "xn--" in any case: an A-label, which libidn2 must check decodes to a valid U-label. */
static bool has_xn_prefix(const char *s)
{
	return (s[0] == 'x' || s[0] == 'X') && (s[1] == 'n' || s[1] == 'N') && s[2] == '-' &&
	       s[3] == '-';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Convert one label (not NUL-terminated) that holds non-ASCII bytes, or is an A-label to
 * check, with libidn2: IDNA2008 with non-transitional TR46 processing first (what browsers
 * and curl use, so "faß" stays distinct from "fass"), transitional as the fallback for
 * names only IDNA2003 allowed. Returns the idn2 status; *res is heap (free()). */
static int idna_label(const char *label, size_t n, char **res)
{
	char *tmp = malloc(n + 1);
	if (!tmp)
		return IDN2_MALLOC;
	memcpy(tmp, label, n);
	tmp[n] = '\0';
	uint8_t *o = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)tmp, &o, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		int rc2 =
		    idn2_lookup_u8((const uint8_t *)tmp, &o, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
		if (rc2 == IDN2_OK)
			rc = IDN2_OK;
	}
	free(tmp);
	*res = rc == IDN2_OK ? (char *)o : NULL;
	if (rc != IDN2_OK)
		free(o);
	return rc;
}

/* Check a finished name: labels of 1..63 letters/digits/hyphens, no hyphen at either end of
 * a label, at most 253 octets. Returns NULL when fine, else why not. */
static const char *check_ldh(const char *s)
{
	size_t total = strlen(s);
	if (total == 0)
		return "it is empty";
	if (total > NAME_MAX_LEN)
		return "it is longer than 253 octets";
	const char *label = s;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);
			if (n == 0)
				return "it has an empty label";
			if (n > LABEL_MAX_LEN)
				return "a label is longer than 63 octets";
			if (label[0] == '-' || label[n - 1] == '-')
				return "a label starts or ends with a hyphen";
			if (*p == '\0')
				return NULL;
			label = p + 1;
		} else if (*p == '*') {
			return "it contains a wildcard '*' (reference names are never wildcards)";
		} else if (!is_ldh((unsigned char)*p)) {
			return "it contains a character other than letters, digits, '-' and '.'";
		}
	}
}

mt_status mt_name_to_alabel(const char *in, char *out, size_t outsz, struct mt_err *err)
{
	char shown[96];
	if (out && outsz)
		out[0] = '\0';
	if (!out || outsz == 0)
		return mt_err_set(err, MT_ERR_USAGE, "mt_name_to_alabel: no output buffer");
	if (!in || !*in)
		return mt_err_set(err, MT_ERR_BADINPUT, "empty host name");
	size_t len = strlen(in);
	show(in, shown, sizeof shown);
	if (len > 4 * (NAME_MAX_LEN + 1)) /* longer than any U-label form of a valid name */
		return mt_err_set(err, MT_ERR_BADINPUT,
		                  "\"%s\" is not a valid host name: it is too long", shown);
	/* One trailing dot (absolute form) is the same name; drop it before anything else. */
	if (in[len - 1] == '.')
		len--;
	if (len == 0)
		return mt_err_set(err, MT_ERR_BADINPUT,
		                  "\"%s\" is not a valid host name: it is empty", shown);

	struct mt_buf b;
	mt_buf_init(&b, 4 * (NAME_MAX_LEN + 1));
	mt_status st = MT_OK;
	const char *why = NULL;
	const char *label = in;
	const char *end = in + len;
	while (st == MT_OK && !why) {
		const char *dot = memchr(label, '.', (size_t)(end - label));
		const char *lend = dot ? dot : end;
		size_t n = (size_t)(lend - label);
		bool ascii = true;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)label[i] >= 0x80)
				ascii = false;
		if (n == 0) {
			why = "it has an empty label";
		} else if (ascii && !(n >= 4 && has_xn_prefix(label))) {
			/* Plain LDH labels skip IDNA: IDNA2008 would refuse valid host names
			 * such as "r3--sn" (hyphens in positions 3 and 4). */
			for (size_t i = 0; i < n && st == MT_OK; i++)
				st = mt_buf_addc(&b, lower(label[i]));
		} else {
			char *conv = NULL;
			int rc = idna_label(label, n, &conv);
			if (rc != IDN2_OK) {
				char lab[64 * 4 + 1], lshown[96];
				size_t ln = n < sizeof lab - 1 ? n : sizeof lab - 1;
				memcpy(lab, label, ln);
				lab[ln] = '\0';
				show(lab, lshown, sizeof lshown);
				mt_buf_free(&b);
				return mt_err_set(err, MT_ERR_BADINPUT,
				                  "\"%s\" is not a valid host name: label \"%s\" "
				                  "is not a valid IDNA label (%s)",
				                  shown, lshown, idn2_strerror(rc));
			}
			for (char *c = conv; *c && st == MT_OK; c++)
				st = mt_buf_addc(&b, lower(*c));
			free(conv);
		}
		if (!dot)
			break;
		if (st == MT_OK)
			st = mt_buf_addc(&b, '.');
		label = dot + 1;
		if (label == end)
			why = "it has an empty label";
	}
	if (st == MT_ERR_TOOBIG)
		why = "it is longer than 253 octets";
	else if (st != MT_OK) {
		mt_buf_free(&b);
		return mt_err_set(err, st, "out of memory converting a host name");
	}
	if (!why)
		why = check_ldh(mt_buf_str(&b));
	if (why) {
		mt_buf_free(&b);
		return mt_err_set(err, MT_ERR_BADINPUT, "\"%s\" is not a valid host name: %s",
		                  shown, why);
	}
	if (b.len + 1 > outsz) {
		mt_buf_free(&b);
		return mt_err_set(err, MT_ERR_USAGE, "host name \"%s\" does not fit in %zu bytes",
		                  shown, outsz);
	}
	memcpy(out, mt_buf_str(&b), b.len + 1);
	mt_buf_free(&b);
	return MT_OK;
}

/* Length without one trailing dot; 0 for NULL. */
static size_t name_len(const char *s)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (n && s[n - 1] == '.')
		n--;
	return n;
}

/* Labels all non-empty and LDH; the left-most label may be exactly "*" when allow_wild.
 * Anything else (spaces, control bytes, '_', '*' elsewhere, a partial wildcard) fails. */
static bool valid_name(const char *s, size_t n, bool allow_wild)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t ln = i - start;
			if (ln == 0 || ln > LABEL_MAX_LEN)
				return false;
			start = i + 1;
		} else if (s[i] == '*') {
			if (!(allow_wild && start == 0 && i == 0 && (n == 1 || s[1] == '.')))
				return false;
		} else if (!is_ldh((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool same_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

bool mt_name_match_dns(const char *ref, const char *id)
{
	size_t rn = name_len(ref), in = name_len(id);
	if (!valid_name(ref, rn, false) || !valid_name(id, in, true))
		return false;
	if (id[0] != '*')
		return rn == in && same_ci(ref, id, rn);
	/* "*.rest": rest must itself have two labels, so "*.com" (one label under a TLD)
	 * never matches; the wildcard stands for exactly one non-empty label of ref. */
	if (in < 2)
		return false;
	const char *rest = id + 2;
	size_t restn = in - 2;
	if (!memchr(rest, '.', restn))
		return false;
	const char *rdot = memchr(ref, '.', rn);
	if (!rdot)
		return false;
	const char *rrest = rdot + 1;
	size_t rrestn = rn - (size_t)(rrest - ref);
	return rrestn == restn && same_ci(rrest, rest, restn);
}

/* Parse an IP literal (IPv6 may be bracketed). Returns AF_INET/AF_INET6, or 0 if not one. */
static int parse_ip(const char *s, unsigned char bin[16])
{
	if (!s)
		return 0;
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, bin) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, tmp, bin) == 1)
		return AF_INET6;
	return 0;
}

static void set_matched(char *matched, size_t matchedsz, const char *kind, const char *id)
{
	if (matched && matchedsz)
		snprintf(matched, matchedsz, "%s:%s", kind, id);
}

bool mt_name_match_cert(const char *ref, const struct mt_cert_info *c, char *matched,
                        size_t matchedsz)
{
	if (matched && matchedsz)
		matched[0] = '\0';
	if (!ref || !c)
		return false;

	/* An IP reference is checked only against iPAddress SANs: a DNS SAN or CN that
	 * happens to spell the address is not an IP-ID (RFC 6125 1.7.2, RFC 9525 6.2). */
	unsigned char rbin[16];
	int rfam = parse_ip(ref, rbin);
	if (rfam) {
		for (size_t i = 0; i < c->n_ip; i++) {
			unsigned char ibin[16];
			if (!c->ip_addrs || !c->ip_addrs[i])
				continue;
			int ifam = parse_ip(c->ip_addrs[i], ibin);
			if (ifam == rfam && memcmp(rbin, ibin, rfam == AF_INET ? 4 : 16) == 0) {
				set_matched(matched, matchedsz, "IP", c->ip_addrs[i]);
				return true;
			}
		}
		return false;
	}

	/* A caller may hand us a U-label; compare in A-label form. */
	char conv[256];
	for (const unsigned char *p = (const unsigned char *)ref; *p; p++) {
		if (*p >= 0x80) {
			if (mt_name_to_alabel(ref, conv, sizeof conv, NULL) != MT_OK)
				return false;
			ref = conv;
			break;
		}
	}

	size_t ndns = 0;
	for (size_t i = 0; i < c->n_dns; i++) {
		if (!c->dns_names || !c->dns_names[i])
			continue;
		ndns++;
		if (mt_name_match_dns(ref, c->dns_names[i])) {
			set_matched(matched, matchedsz, "DNS", c->dns_names[i]);
			return true;
		}
	}
	/* The subject CN counts only when the certificate has no DNS-ID at all. */
	if (ndns == 0 && c->cn[0] && mt_name_match_dns(ref, c->cn)) {
		set_matched(matched, matchedsz, "CN", c->cn);
		return true;
	}
	return false;
}

void mt_verify_opts_init(struct mt_verify_opts *o)
{
	memset(o, 0, sizeof *o);
	o->warn_days = 30;
}

mt_status mt_verify_opts_add_ref(struct mt_verify_opts *o, const char *name, bool secure,
                                 struct mt_err *err)
{
	if (!o || !name)
		return mt_err_set(err, MT_ERR_USAGE, "mt_verify_opts_add_ref: no options or name");
	if (o->nrefs >= MT_MAX_REFNAMES)
		return mt_err_set(err, MT_ERR_USAGE, "too many reference names (at most %d)",
		                  MT_MAX_REFNAMES);
	struct mt_refname *r = &o->refs[o->nrefs];
	unsigned char bin[16];
	int fam = parse_ip(name, bin);
	if (fam) {
		/* Keep IP references in one canonical printable form ("::1", not "0:0::1"). */
		if (!inet_ntop(fam, bin, r->name, sizeof r->name))
			return mt_err_set(err, MT_ERR_INTERNAL, "cannot format an IP address");
	} else {
		mt_status st = mt_name_to_alabel(name, r->name, sizeof r->name, err);
		if (st != MT_OK) {
			r->name[0] = '\0';
			return st;
		}
	}
	r->secure = secure;
	o->nrefs++;
	return MT_OK;
}

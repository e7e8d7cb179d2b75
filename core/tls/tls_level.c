/* tls_level.c — the security level name table, ESA aliases, and the fault name table. */
#include <stdio.h>
#include <string.h>

#include "mailtls/tls.h"

static const char *const level_names[MT_LEVEL__COUNT] = {
    [MT_LEVEL_NONE] = "none",	       [MT_LEVEL_MAY] = "may",
    [MT_LEVEL_ENCRYPT] = "encrypt",    [MT_LEVEL_FINGERPRINT] = "fingerprint",
    [MT_LEVEL_DANE] = "dane",	       [MT_LEVEL_DANE_ONLY] = "dane-only",
    [MT_LEVEL_VERIFY] = "verify",      [MT_LEVEL_SECURE] = "secure",
};

/* Every accepted spelling. The ESA names follow the guide's destination controls: Preferred
 * is opportunistic, Required is mandatory without a certificate check, Preferred-Verify
 * checks and reports but still delivers (encrypted if possible, else clear), Required-Verify
 * delivers only over a verified session. */
static const struct {
	const char *name;
	enum mt_level level;
	enum mt_level_alias alias;
} spellings[] = {
    {"none", MT_LEVEL_NONE, MT_ALIAS_NONE},
    {"may", MT_LEVEL_MAY, MT_ALIAS_NONE},
    {"encrypt", MT_LEVEL_ENCRYPT, MT_ALIAS_NONE},
    {"fingerprint", MT_LEVEL_FINGERPRINT, MT_ALIAS_NONE},
    {"dane", MT_LEVEL_DANE, MT_ALIAS_NONE},
    {"dane-only", MT_LEVEL_DANE_ONLY, MT_ALIAS_NONE},
    {"verify", MT_LEVEL_VERIFY, MT_ALIAS_NONE},
    {"secure", MT_LEVEL_SECURE, MT_ALIAS_NONE},
    {"Preferred-Verify", MT_LEVEL_MAY, MT_ALIAS_ESA_PREFERRED_VERIFY},
    {"Required-Verify", MT_LEVEL_VERIFY, MT_ALIAS_ESA_REQUIRED_VERIFY},
    {"Preferred", MT_LEVEL_MAY, MT_ALIAS_ESA_PREFERRED},
    {"Required", MT_LEVEL_ENCRYPT, MT_ALIAS_ESA_REQUIRED},
    {"Off", MT_LEVEL_NONE, MT_ALIAS_ESA_NONE},
    {"None", MT_LEVEL_NONE, MT_ALIAS_ESA_NONE},
};

static const char *const alias_names[] = {
    [MT_ALIAS_NONE] = NULL,
    [MT_ALIAS_ESA_NONE] = "None",
    [MT_ALIAS_ESA_PREFERRED] = "Preferred",
    [MT_ALIAS_ESA_REQUIRED] = "Required",
    [MT_ALIAS_ESA_PREFERRED_VERIFY] = "Preferred-Verify",
    [MT_ALIAS_ESA_REQUIRED_VERIFY] = "Required-Verify",
};

const char *mt_level_name(enum mt_level l)
{
	return (unsigned)l < MT_LEVEL__COUNT ? level_names[l] : "unknown";
}

const char *mt_policy_name(const struct mt_policy *p)
{
	if (p->alias != MT_ALIAS_NONE && (size_t)p->alias < sizeof alias_names / sizeof alias_names[0])
		return alias_names[p->alias];
	return mt_level_name(p->level);
}

/* Compare ignoring case and treating '_' and ' ' like '-' ("required_verify", "Required Verify"). */
static bool same_name(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 32;
		if (cb >= 'A' && cb <= 'Z')
			cb += 32;
		if (ca == '_' || ca == ' ')
			ca = '-';
		if (cb == '_' || cb == ' ')
			cb = '-';
		if (ca != cb)
			return false;
		if (!ca)
			return true;
	}
}

mt_status mt_policy_parse(const char *s, struct mt_policy *out, struct mt_err *err)
{
	if (!s || !*s)
		return mt_err_set(err, MT_ERR_USAGE, "empty security level");
	/* an exact spelling keeps its alias ("None" is the ESA's, "none" Postfix's) */
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		if (!strcmp(s, spellings[i].name)) {
			out->level = spellings[i].level;
			out->alias = spellings[i].alias;
			return MT_OK;
		}
	}
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		if (same_name(s, spellings[i].name)) {
			out->level = spellings[i].level;
			out->alias = spellings[i].alias;
			return MT_OK;
		}
	}
	return mt_err_set(err, MT_ERR_USAGE,
			  "unknown security level '%s' (expected none, may, encrypt, fingerprint, "
			  "dane, dane-only, verify, secure, or the ESA names None, Preferred, "
			  "Required, Preferred-Verify, Required-Verify)",
			  s);
}

bool mt_policy_tls_mandatory(const struct mt_policy *p)
{
	return p->level >= MT_LEVEL_ENCRYPT && p->level != MT_LEVEL_DANE;
}

bool mt_policy_verify_mandatory(const struct mt_policy *p)
{
	return p->level == MT_LEVEL_FINGERPRINT || p->level == MT_LEVEL_DANE_ONLY ||
	       p->level >= MT_LEVEL_VERIFY;
}

static const struct {
	const char *name, *text;
} faults[MT_FAULT__COUNT] = {
    [MT_FAULT_NONE] = {"none", "no fault"},
    [MT_FAULT_NO_STARTTLS] = {"no-starttls", "STARTTLS not advertised"},
    [MT_FAULT_NO_ESMTP] = {"no-esmtp", "server does not support ESMTP (EHLO refused)"},
    [MT_FAULT_STARTTLS_REFUSED] = {"starttls-refused", "STARTTLS answered with an error"},
    [MT_FAULT_STARTTLS_INJECTION] = {"starttls-injection",
				     "data sent after the 220 to STARTTLS, before the handshake "
				     "(command injection flaw, CVE-2011-0411 class)"},
    [MT_FAULT_HANDSHAKE] = {"handshake-failed", "TLS handshake failed"},
    [MT_FAULT_UNTRUSTED] = {"untrusted", "certificate chain not trusted"},
    [MT_FAULT_EXPIRED] = {"expired", "certificate expired"},
    [MT_FAULT_NOT_YET_VALID] = {"not-yet-valid", "certificate not yet valid"},
    [MT_FAULT_SELF_SIGNED] = {"self-signed", "self-signed certificate"},
    [MT_FAULT_WEAK_KEY] = {"weak-key", "weak key"},
    [MT_FAULT_WEAK_SIGNATURE] = {"weak-signature", "weak signature algorithm"},
    [MT_FAULT_EXPIRING] = {"expiring", "certificate expires soon"},
    [MT_FAULT_CN_ONLY] = {"cn-only", "no subjectAltName (CN only)"},
    [MT_FAULT_MISSING_INTERMEDIATE] = {"missing-intermediate",
				       "issuer not sent (missing intermediate)"},
    [MT_FAULT_DUPLICATE_CERT] = {"duplicate-certificate", "duplicate certificate in chain"},
    [MT_FAULT_WRONG_ORDER] = {"wrong-order", "chain in wrong order"},
    [MT_FAULT_ROOT_SENT] = {"root-sent", "root certificate sent in chain"},
    [MT_FAULT_STALE_INTERMEDIATE] = {"stale-intermediate",
				     "intermediate that issues nothing in the chain"},
    [MT_FAULT_NAME_MISMATCH] = {"name-mismatch", "host name does not match certificate"},
    [MT_FAULT_FINGERPRINT_MISMATCH] = {"fingerprint-mismatch", "no fingerprint matched"},
    [MT_FAULT_KEY_MISMATCH] = {"key-mismatch", "private key does not match certificate"},
    [MT_FAULT_REVOKED] = {"revoked", "certificate revoked"},
    [MT_FAULT_CHAIN_TOO_LONG] = {"chain-too-long", "chain longer than 16 certificates"},
    [MT_FAULT_LEGACY_PROTOCOL] = {"legacy-protocol", "deprecated TLS protocol version"},
    [MT_FAULT_DANE_MISMATCH] = {"dane-mismatch", "no TLSA record matched"},
    [MT_FAULT_OVERLONG_LINE] = {"overlong-line", "reply line longer than 512 octets"},
};

const char *mt_fault_name(enum mt_fault f)
{
	return (unsigned)f < MT_FAULT__COUNT && faults[f].name ? faults[f].name : "unknown";
}

const char *mt_fault_text(enum mt_fault f)
{
	return (unsigned)f < MT_FAULT__COUNT && faults[f].text ? faults[f].text : "unknown fault";
}

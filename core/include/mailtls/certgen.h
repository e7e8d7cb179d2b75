/* certgen.h — the ESA certificate workflow in library form: make a key, a self-signed
 * certificate and a CSR whose CN and SANs match the host name; check a CA-signed
 * certificate and its intermediates before installing them (key match, duplicate or
 * stale intermediates, order, validity); export and import PKCS#12 with a password; make a
 * throw-away demonstration CA and leaf.
 *
 * Memory: every char ** / unsigned char ** out-parameter receives a heap buffer the caller
 * frees with free(). PEM strings are NUL-terminated.
 */
#ifndef MAILTLS_CERTGEN_H
#define MAILTLS_CERTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailtls/util.h"

enum mt_keytype { MT_KEY_RSA = 0, MT_KEY_ECDSA_P256 };

#define MT_CERTGEN_MAX_SANS 32

struct mt_certgen_opts {
	enum mt_keytype type;
	unsigned bits;                         /* RSA only; 0 = 2048; below 2048 is refused */
	const char *cn;                        /* common name (required) */
	const char *org;                       /* O=, optional */
	const char *sans[MT_CERTGEN_MAX_SANS]; /* DNS names or IP literals; none = the CN */
	size_t nsans;
	int days; /* validity of self-signed certificates; 0 = 365 */
};

/* A fresh private key as unencrypted PKCS#8 PEM. */
mt_status mt_certgen_key(const struct mt_certgen_opts *o, char **key_pem, struct mt_err *err);
/* A self-signed server certificate for key_pem with o's CN and SANs. */
mt_status mt_certgen_selfsigned(const char *key_pem, const struct mt_certgen_opts *o,
                                char **cert_pem, struct mt_err *err);
/* A PKCS#10 request signed with key_pem carrying o's CN and SANs. */
mt_status mt_certgen_csr(const char *key_pem, const struct mt_certgen_opts *o, char **csr_pem,
                         struct mt_err *err);
/* A demonstration CA and a leaf it signs for o's CN/SANs (RSA-2048 or P-256 per o->type). */
mt_status mt_certgen_demo(const struct mt_certgen_opts *o, char **ca_pem, char **leaf_pem,
                          char **leaf_key_pem, struct mt_err *err);

/* Check a CA-signed certificate (cert_pem: the leaf, optionally followed by intermediates)
 * plus optional chain_pem (intermediates) against key_pem before installing. On success
 * *out_pem is the leaf followed by the intermediates in issuing order (a root, if given,
 * last), and *notes (may be NULL) says what was noticed but accepted ("root included").
 * Fails with MT_ERR_VERIFY and a message naming the fault: key mismatch, a duplicate
 * certificate, an intermediate that issues nothing in the chain (stale), a broken order,
 * a certificate expired or not yet valid at `now` (0 = time(NULL)); MT_ERR_BADINPUT for
 * unparsable PEM. */
mt_status mt_certgen_check_install(const char *key_pem, const char *cert_pem, const char *chain_pem,
                                   time_t now, char **out_pem, char **notes, struct mt_err *err);

/* PKCS#12 (key + chain, both protected by password, SHA-256 MAC), DER. */
mt_status mt_certgen_p12_export(const char *key_pem, const char *chain_pem, const char *password,
                                const char *friendly_name, unsigned char **der, size_t *der_len,
                                struct mt_err *err);
/* Read a PKCS#12: the MAC is checked first so a wrong password is named as such. */
mt_status mt_certgen_p12_import(const unsigned char *der, size_t der_len, const char *password,
                                char **key_pem, char **chain_pem, struct mt_err *err);

/* One line per certificate in a PEM bundle: "subject | issuer | not after | SANs | key". */
mt_status mt_certgen_describe(const char *pem, char **text, struct mt_err *err);

/* DER certificates of a PEM bundle (for mt_verify_chain); free each and the arrays. */
mt_status mt_certgen_pem_to_ders(const char *pem, unsigned char ***ders, size_t **lens, size_t *n,
                                 struct mt_err *err);

#endif

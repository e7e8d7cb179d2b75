/* tls_client.c — a GnuTLS client session over an already connected socket.
 *
 * The handshake never fails for certificate reasons: no verification callback is set, so
 * the handshake completes and mt_verify_chain() judges the chain afterwards (verify,
 * record, then let policy decide). GnuTLS's EAGAIN is mapped onto poll() with the caller's
 * deadline, in the direction gnutls_record_get_direction() reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "mailtls/tls.h"

struct mt_tls {
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	int fd;
	bool handshaken;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
	init_rc = gnutls_global_init();
}

mt_status mt_tls_global_init(struct mt_err *err)
{
	pthread_once(&init_once, do_init);
	if (init_rc < 0)
		return mt_err_set(err, MT_ERR_TLS, "GnuTLS initialisation failed: %s",
				  gnutls_strerror(init_rc));
	return MT_OK;
}

static const char *vers_token(const char *v)
{
	if (!v)
		return NULL;
	if (!strcmp(v, "1.0") || !strcmp(v, "TLSv1") || !strcmp(v, "TLSv1.0"))
		return "VERS-TLS1.0";
	if (!strcmp(v, "1.1") || !strcmp(v, "TLSv1.1"))
		return "VERS-TLS1.1";
	if (!strcmp(v, "1.2") || !strcmp(v, "TLSv1.2"))
		return "VERS-TLS1.2";
	if (!strcmp(v, "1.3") || !strcmp(v, "TLSv1.3"))
		return "VERS-TLS1.3";
	return NULL;
}

/* Build "BASE:-VERS-ALL:+VERS-TLS1.x..." for a min/max range. */
static mt_status build_priority(const struct mt_tls_client_opts *o, char *out, size_t outsz,
				struct mt_err *err)
{
	const char *base = o->priority && *o->priority ? o->priority : "NORMAL";
	if (!o->tls_min && !o->tls_max) {
		mt_strlcpy(out, base, outsz);
		return MT_OK;
	}
	static const char *const all[] = {"VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2",
					  "VERS-TLS1.3"};
	int lo = 0, hi = 3;
	if (o->tls_min) {
		const char *t = vers_token(o->tls_min);
		if (!t)
			return mt_err_set(err, MT_ERR_USAGE,
					  "bad --tls-min '%s' (expected 1.0, 1.1, 1.2 or 1.3)",
					  o->tls_min);
		for (lo = 0; strcmp(all[lo], t); lo++)
			;
	}
	if (o->tls_max) {
		const char *t = vers_token(o->tls_max);
		if (!t)
			return mt_err_set(err, MT_ERR_USAGE,
					  "bad --tls-max '%s' (expected 1.0, 1.1, 1.2 or 1.3)",
					  o->tls_max);
		for (hi = 0; strcmp(all[hi], t); hi++)
			;
	}
	if (lo > hi)
		return mt_err_set(err, MT_ERR_USAGE, "--tls-min is above --tls-max");
	int n = snprintf(out, outsz, "%s:-VERS-ALL", base);
	for (int i = lo; i <= hi && n > 0 && (size_t)n < outsz; i++)
		n += snprintf(out + n, outsz - (size_t)n, ":+%s", all[i]);
	if (n < 0 || (size_t)n >= outsz)
		return mt_err_set(err, MT_ERR_USAGE, "priority string too long");
	return MT_OK;
}

static mt_status load_client_cert(struct mt_tls *t, const struct mt_tls_client_opts *o,
				  struct mt_err *err)
{
	int rc;
	const char *c = o->client_cert;
	size_t cl = strlen(c);
	bool p12 = (cl > 4 && (!strcmp(c + cl - 4, ".p12") || !strcmp(c + cl - 4, ".pfx")));
	if (p12)
		rc = gnutls_certificate_set_x509_simple_pkcs12_file(
		    t->cred, c, GNUTLS_X509_FMT_DER, o->client_password ? o->client_password : "");
	else
		rc = gnutls_certificate_set_x509_key_file2(t->cred, c,
							   o->client_key ? o->client_key : c,
							   GNUTLS_X509_FMT_PEM, o->client_password, 0);
	if (rc < 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "cannot load client certificate %s%s%s: %s",
				  c, o->client_key ? " with key " : "",
				  o->client_key ? o->client_key : "", gnutls_strerror(rc));
	return MT_OK;
}

mt_status mt_tls_client_new(int fd, const struct mt_tls_client_opts *o, struct mt_tls **out,
			    struct mt_err *err)
{
	*out = NULL;
	mt_status st = mt_tls_global_init(err);
	if (st != MT_OK)
		return st;
	char prio[512];
	if ((st = build_priority(o, prio, sizeof prio, err)) != MT_OK)
		return st;
	struct mt_tls *t = calloc(1, sizeof *t);
	if (!t)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	t->fd = fd;
	int rc = gnutls_certificate_allocate_credentials(&t->cred);
	if (rc < 0) {
		free(t);
		return mt_err_set(err, MT_ERR_TLS, "GnuTLS credentials: %s", gnutls_strerror(rc));
	}
	if (o->client_cert && (st = load_client_cert(t, o, err)) != MT_OK) {
		gnutls_certificate_free_credentials(t->cred);
		free(t);
		return st;
	}
	rc = gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (rc < 0) {
		gnutls_certificate_free_credentials(t->cred);
		free(t);
		return mt_err_set(err, MT_ERR_TLS, "GnuTLS session: %s", gnutls_strerror(rc));
	}
	const char *errpos = NULL;
	rc = gnutls_priority_set_direct(t->s, prio, &errpos);
	if (rc < 0) {
		mt_err_set(err, MT_ERR_USAGE, "bad TLS priority string '%s' near '%s': %s", prio,
			   errpos ? errpos : "", gnutls_strerror(rc));
		mt_tls_free(t);
		return MT_ERR_USAGE;
	}
	gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->cred);
	if (o->sni && *o->sni)
		gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, o->sni, strlen(o->sni));
	gnutls_transport_set_int(t->s, fd);
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	*out = t;
	return MT_OK;
}

/* Wait in the direction GnuTLS was blocked on. 1 ready, 0 timeout, -1 error. */
static int tls_wait(struct mt_tls *t, struct mt_deadline d)
{
	struct pollfd pfd = {.fd = t->fd,
			     .events = gnutls_record_get_direction(t->s) ? POLLOUT : POLLIN};
	for (;;) {
		int left = mt_deadline_left(d);
		if (left == 0)
			return 0;
		int r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0 ? 1 : r;
	}
}

mt_status mt_tls_handshake(struct mt_tls *t, struct mt_deadline d, struct mt_err *err)
{
	for (;;) {
		int rc = gnutls_handshake(t->s);
		if (rc == GNUTLS_E_SUCCESS) {
			t->handshaken = true;
			return MT_OK;
		}
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
			int w = tls_wait(t, d);
			if (w == 0)
				return mt_err_set(err, MT_ERR_TIMEOUT, "TLS handshake timed out");
			if (w < 0)
				return mt_err_set(err, MT_ERR_IO, "poll: %s", strerror(errno));
			continue;
		}
		if (!gnutls_error_is_fatal(rc))
			continue;
		if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
			return mt_err_set(err, MT_ERR_TLS, "%s: %s", gnutls_strerror(rc),
					  gnutls_alert_get_name(gnutls_alert_get(t->s)));
		return mt_err_set(err, MT_ERR_TLS, "%s", gnutls_strerror(rc));
	}
}

static void proto_name(gnutls_protocol_t p, char *out, size_t n)
{
	switch (p) {
	case GNUTLS_SSL3: mt_strlcpy(out, "SSLv3", n); break;
	case GNUTLS_TLS1_0: mt_strlcpy(out, "TLSv1", n); break;
	case GNUTLS_TLS1_1: mt_strlcpy(out, "TLSv1.1", n); break;
	case GNUTLS_TLS1_2: mt_strlcpy(out, "TLSv1.2", n); break;
	case GNUTLS_TLS1_3: mt_strlcpy(out, "TLSv1.3", n); break;
	default: {
		const char *s = gnutls_protocol_get_name(p);
		mt_strlcpy(out, s ? s : "unknown", n);
	}
	}
}

/* OpenSSL's name for an IANA suite name, as mail logs and CheckTLS print them
 * ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" -> "ECDHE-RSA-AES256-GCM-SHA384"). TLS 1.3
 * suites keep their IANA names. Unknown shapes give "". */
void mt_tls_openssl_cipher_name(const char *iana, char *out, size_t outsz)
{
	out[0] = '\0';
	const char *w = strstr(iana, "_WITH_");
	if (strncmp(iana, "TLS_", 4) || !w) {
		if (!strncmp(iana, "TLS_", 4))
			mt_strlcpy(out, iana, outsz);
		return;
	}
	char kx[64] = "", ciph[64] = "", b[192];
	size_t kl = (size_t)(w - (iana + 4));
	if (kl >= sizeof kx)
		return;
	memcpy(kx, iana + 4, kl);
	kx[kl] = '\0';
	mt_strlcpy(ciph, w + 6, sizeof ciph);
	/* key exchange: RSA alone is implied in OpenSSL names */
	for (char *c = kx; *c; c++)
		if (*c == '_')
			*c = '-';
	if (!strcmp(kx, "RSA"))
		kx[0] = '\0';
	/* cipher and MAC: AES_256_GCM_SHA384 -> AES256-GCM-SHA384; AES_128_CBC_SHA -> AES128-SHA */
	const char *mac = strrchr(ciph, '_');
	if (!mac)
		return;
	char body[64];
	size_t bl = (size_t)(mac - ciph);
	memcpy(body, ciph, bl);
	body[bl] = '\0';
	mac++;
	char *cbc = strstr(body, "_CBC");
	if (cbc)
		*cbc = '\0';
	if (!strncmp(body, "AES_", 4)) {
		char tmp[64];
		snprintf(tmp, sizeof tmp, "AES%s", body + 4);
		mt_strlcpy(body, tmp, sizeof body);
	}
	for (char *c = body; *c; c++)
		if (*c == '_')
			*c = '-';
	if (!strcmp(body, "CHACHA20-POLY1305"))
		mac = ""; /* OpenSSL leaves the PRF hash out of AEAD ChaCha names */
	snprintf(b, sizeof b, "%s%s%s%s%s", kx, kx[0] ? "-" : "", body, *mac ? "-" : "", mac);
	mt_strlcpy(out, b, outsz);
}

void mt_tls_get_info(struct mt_tls *t, struct mt_tls_info *info)
{
	memset(info, 0, sizeof *info);
	gnutls_protocol_t p = gnutls_protocol_get_version(t->s);
	proto_name(p, info->protocol, sizeof info->protocol);
	const char *cs = gnutls_ciphersuite_get(t->s);
	mt_strlcpy(info->cipher, cs ? cs : "unknown", sizeof info->cipher);
	mt_tls_openssl_cipher_name(info->cipher, info->openssl_cipher, sizeof info->openssl_cipher);
	const char *grp = gnutls_group_get_name(gnutls_group_get(t->s));
	gnutls_kx_algorithm_t kx = gnutls_kx_get(t->s);
	const char *kxn = gnutls_kx_get_name(kx);
	if (p == GNUTLS_TLS1_3)
		snprintf(info->kx, sizeof info->kx, "%s%s", grp ? "ECDHE-" : "(EC)DHE",
			 grp ? grp : "");
	else if (grp)
		snprintf(info->kx, sizeof info->kx, "%s %s", kxn ? kxn : "?", grp);
	else
		snprintf(info->kx, sizeof info->kx, "%s", kxn ? kxn : "unknown");
	if (grp && (!strncmp(grp, "FFDHE", 5)) && p == GNUTLS_TLS1_3)
		snprintf(info->kx, sizeof info->kx, "DHE-%s", grp);
	gnutls_sign_algorithm_t sig = gnutls_sign_algorithm_get(t->s);
	const char *sn = gnutls_sign_get_name(sig);
	mt_strlcpy(info->sig, sn ? sn : "", sizeof info->sig);
	info->client_cert_requested = gnutls_certificate_client_get_request_status(t->s) != 0;
	info->client_cert_sent = gnutls_certificate_get_ours(t->s) != NULL;
	info->resumed = gnutls_session_is_resumed(t->s) != 0;
}

size_t mt_tls_peer_chain(struct mt_tls *t, const unsigned char **ders, size_t *lens, size_t max)
{
	unsigned n = 0;
	const gnutls_datum_t *list = gnutls_certificate_get_peers(t->s, &n);
	if (!list)
		return 0;
	size_t k = 0;
	for (; k < n && k < max; k++) {
		ders[k] = list[k].data;
		lens[k] = list[k].size;
	}
	return n; /* may exceed max: the caller reports the overflow */
}

mt_status mt_tls_read(struct mt_tls *t, void *buf, size_t n, size_t *got, struct mt_deadline d,
		      struct mt_err *err)
{
	*got = 0;
	for (;;) {
		ssize_t r = gnutls_record_recv(t->s, buf, n);
		if (r >= 0) {
			*got = (size_t)r;
			return MT_OK;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			int w = tls_wait(t, d);
			if (w == 0)
				return mt_err_set(err, MT_ERR_TIMEOUT,
						  "timed out waiting for the server (TLS)");
			if (w < 0)
				return mt_err_set(err, MT_ERR_IO, "poll: %s", strerror(errno));
			continue;
		}
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return mt_err_set(err, MT_ERR_CLOSED,
					  "connection closed without TLS close_notify");
		if (r == GNUTLS_E_REHANDSHAKE || !gnutls_error_is_fatal((int)r))
			continue;
		return mt_err_set(err, MT_ERR_TLS, "TLS read: %s", gnutls_strerror((int)r));
	}
}

mt_status mt_tls_write(struct mt_tls *t, const void *buf, size_t n, struct mt_deadline d,
		       struct mt_err *err)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = gnutls_record_send(t->s, p, n);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			int w = tls_wait(t, d);
			if (w == 0)
				return mt_err_set(err, MT_ERR_TIMEOUT, "timed out sending (TLS)");
			if (w < 0)
				return mt_err_set(err, MT_ERR_IO, "poll: %s", strerror(errno));
			/* GnuTLS wants the same call repeated with the same data */
			continue;
		}
		return mt_err_set(err, MT_ERR_TLS, "TLS write: %s", gnutls_strerror((int)r));
	}
	return MT_OK;
}

size_t mt_tls_pending(struct mt_tls *t)
{
	return gnutls_record_check_pending(t->s);
}

void mt_tls_close(struct mt_tls *t, struct mt_deadline d)
{
	if (!t)
		return;
	if (t->handshaken) {
		for (int i = 0; i < 20; i++) {
			int rc = gnutls_bye(t->s, GNUTLS_SHUT_WR);
			if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
				break;
			if (tls_wait(t, d) <= 0)
				break;
		}
	}
	mt_tls_free(t);
}

void mt_tls_free(struct mt_tls *t)
{
	if (!t)
		return;
	gnutls_deinit(t->s);
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

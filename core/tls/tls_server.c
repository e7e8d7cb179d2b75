/* tls_server.c — GnuTLS server sessions for a non-blocking event loop.
 *
 * Every step maps GnuTLS's EAGAIN onto WANT_READ/WANT_WRITE by asking
 * gnutls_record_get_direction(), so the caller's poll()/epoll set follows what the TLS layer
 * is actually blocked on. No certificate verification happens during the handshake: the
 * client's chain is judged afterwards by mt_verify_chain() (verify, record, then decide).
 */
#include "mailtls/tls_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct mt_tls_srv_cred {
	gnutls_certificate_credentials_t x509;
	gnutls_priority_t prio;
	int refs;
};

struct mt_tls_srv {
	gnutls_session_t s;
	struct mt_tls_srv_cred *cred;
	int fd;
	bool handshaken;
};

static bool is_p12(const char *f)
{
	size_t n = strlen(f);
	return n > 4 && (!strcmp(f + n - 4, ".p12") || !strcmp(f + n - 4, ".pfx"));
}

mt_status mt_tls_srv_cred_new(const struct mt_tls_srv_cred_opts *o, struct mt_tls_srv_cred **out,
                              struct mt_err *err)
{
	*out = NULL;
	mt_status st = mt_tls_global_init(err);
	if (st != MT_OK)
		return st;
	if (!o->cert_file)
		return mt_err_set(err, MT_ERR_USAGE, "no certificate file given");
	struct mt_tls_srv_cred *c = calloc(1, sizeof *c);
	if (!c)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	c->refs = 1;
	int rc = gnutls_certificate_allocate_credentials(&c->x509);
	if (rc < 0) {
		free(c);
		return mt_err_set(err, MT_ERR_TLS, "GnuTLS credentials: %s", gnutls_strerror(rc));
	}
	if (is_p12(o->cert_file))
		rc = gnutls_certificate_set_x509_simple_pkcs12_file(
		    c->x509, o->cert_file, GNUTLS_X509_FMT_DER, o->password ? o->password : "");
	else
		rc = gnutls_certificate_set_x509_key_file2(c->x509, o->cert_file,
		                                           o->key_file ? o->key_file : o->cert_file,
		                                           GNUTLS_X509_FMT_PEM, o->password, 0);
	if (rc < 0) {
		mt_err_set(err, MT_ERR_BADINPUT, "cannot load certificate %s%s%s: %s", o->cert_file,
		           o->key_file ? " with key " : "", o->key_file ? o->key_file : "",
		           gnutls_strerror(rc));
		gnutls_certificate_free_credentials(c->x509);
		free(c);
		return MT_ERR_BADINPUT;
	}
	/* finite-field DHE only with the RFC 7919 groups GnuTLS knows */
	gnutls_certificate_set_known_dh_params(c->x509, GNUTLS_SEC_PARAM_MEDIUM);
	const char *errpos = NULL;
	const char *p = o->priority && *o->priority ? o->priority : "NORMAL";
	rc = gnutls_priority_init(&c->prio, p, &errpos);
	if (rc < 0) {
		mt_err_set(err, MT_ERR_USAGE, "bad TLS priority string '%s' near '%s': %s", p,
		           errpos ? errpos : "", gnutls_strerror(rc));
		gnutls_certificate_free_credentials(c->x509);
		free(c);
		return MT_ERR_USAGE;
	}
	*out = c;
	return MT_OK;
}

void mt_tls_srv_cred_ref(struct mt_tls_srv_cred *c)
{
	if (c)
		c->refs++;
}

void mt_tls_srv_cred_unref(struct mt_tls_srv_cred *c)
{
	if (!c || --c->refs > 0)
		return;
	gnutls_priority_deinit(c->prio);
	gnutls_certificate_free_credentials(c->x509);
	free(c);
}

mt_status mt_tls_srv_new(int fd, struct mt_tls_srv_cred *c, bool request_cert,
                         struct mt_tls_srv **out, struct mt_err *err)
{
	*out = NULL;
	struct mt_tls_srv *t = calloc(1, sizeof *t);
	if (!t)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	int rc = gnutls_init(&t->s, GNUTLS_SERVER | GNUTLS_NONBLOCK);
	if (rc < 0) {
		free(t);
		return mt_err_set(err, MT_ERR_TLS, "GnuTLS session: %s", gnutls_strerror(rc));
	}
	t->fd = fd;
	t->cred = c;
	mt_tls_srv_cred_ref(c);
	gnutls_priority_set(t->s, c->prio);
	gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, c->x509);
	gnutls_certificate_server_set_request(t->s, request_cert ? GNUTLS_CERT_REQUEST
	                                                         : GNUTLS_CERT_IGNORE);
	gnutls_transport_set_int(t->s, fd);
	gnutls_handshake_set_timeout(t->s, 0); /* the caller's deadlines rule */
	*out = t;
	return MT_OK;
}

static enum mt_tls_io want(struct mt_tls_srv *t)
{
	return gnutls_record_get_direction(t->s) ? MT_TLS_IO_WANT_WRITE : MT_TLS_IO_WANT_READ;
}

enum mt_tls_io mt_tls_srv_handshake_step(struct mt_tls_srv *t, struct mt_err *err)
{
	for (;;) {
		int rc = gnutls_handshake(t->s);
		if (rc == GNUTLS_E_SUCCESS) {
			t->handshaken = true;
			return MT_TLS_IO_OK;
		}
		if (rc == GNUTLS_E_AGAIN)
			return want(t);
		if (rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc))
			continue;
		if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
			mt_err_set(err, MT_ERR_TLS, "%s: %s", gnutls_strerror(rc),
			           gnutls_alert_get_name(gnutls_alert_get(t->s)));
		else
			mt_err_set(err, MT_ERR_TLS, "%s", gnutls_strerror(rc));
		return MT_TLS_IO_ERROR;
	}
}

mt_status mt_tls_srv_handshake(struct mt_tls_srv *t, struct mt_deadline d, struct mt_err *err)
{
	for (;;) {
		enum mt_tls_io r = mt_tls_srv_handshake_step(t, err);
		if (r == MT_TLS_IO_OK)
			return MT_OK;
		if (r != MT_TLS_IO_WANT_READ && r != MT_TLS_IO_WANT_WRITE)
			return MT_ERR_TLS;
		struct pollfd pfd = {.fd = t->fd,
		                     .events = r == MT_TLS_IO_WANT_WRITE ? POLLOUT : POLLIN};
		int left = mt_deadline_left(d);
		if (left == 0)
			return mt_err_set(err, MT_ERR_TIMEOUT, "TLS handshake timed out");
		int pr = poll(&pfd, 1, left);
		if (pr < 0 && errno != EINTR)
			return mt_err_set(err, MT_ERR_IO, "poll: %s", strerror(errno));
		if (pr == 0)
			return mt_err_set(err, MT_ERR_TIMEOUT, "TLS handshake timed out");
	}
}

enum mt_tls_io mt_tls_srv_recv(struct mt_tls_srv *t, void *buf, size_t n, size_t *got,
                               struct mt_err *err)
{
	*got = 0;
	for (;;) {
		ssize_t r = gnutls_record_recv(t->s, buf, n);
		if (r > 0) {
			*got = (size_t)r;
			return MT_TLS_IO_OK;
		}
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
			return MT_TLS_IO_EOF;
		if (r == GNUTLS_E_AGAIN)
			return want(t);
		if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_REHANDSHAKE ||
		    !gnutls_error_is_fatal((int)r))
			continue;
		mt_err_set(err, MT_ERR_TLS, "TLS read: %s", gnutls_strerror((int)r));
		return MT_TLS_IO_ERROR;
	}
}

enum mt_tls_io mt_tls_srv_send(struct mt_tls_srv *t, const void *buf, size_t n, size_t *sent,
                               struct mt_err *err)
{
	*sent = 0;
	for (;;) {
		ssize_t r = gnutls_record_send(t->s, buf, n);
		if (r >= 0) {
			*sent = (size_t)r;
			return MT_TLS_IO_OK;
		}
		if (r == GNUTLS_E_AGAIN)
			return want(t);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		mt_err_set(err, MT_ERR_TLS, "TLS write: %s", gnutls_strerror((int)r));
		return MT_TLS_IO_ERROR;
	}
}

size_t mt_tls_srv_pending(struct mt_tls_srv *t)
{
	return gnutls_record_check_pending(t->s);
}

static void proto_name(gnutls_protocol_t p, char *out, size_t n)
{
	const char *s;
	switch (p) {
	case GNUTLS_TLS1_0:
		s = "TLSv1";
		break;
	case GNUTLS_TLS1_1:
		s = "TLSv1.1";
		break;
	case GNUTLS_TLS1_2:
		s = "TLSv1.2";
		break;
	case GNUTLS_TLS1_3:
		s = "TLSv1.3";
		break;
	default:
		s = gnutls_protocol_get_name(p);
		break;
	}
	mt_strlcpy(out, s ? s : "unknown", n);
}

void mt_tls_srv_get_info(struct mt_tls_srv *t, struct mt_tls_info *info)
{
	memset(info, 0, sizeof *info);
	gnutls_protocol_t p = gnutls_protocol_get_version(t->s);
	proto_name(p, info->protocol, sizeof info->protocol);
	const char *cs = gnutls_ciphersuite_get(t->s);
	mt_strlcpy(info->cipher, cs ? cs : "unknown", sizeof info->cipher);
	mt_tls_openssl_cipher_name(info->cipher, info->openssl_cipher, sizeof info->openssl_cipher);
	const char *grp = gnutls_group_get_name(gnutls_group_get(t->s));
	const char *kxn = gnutls_kx_get_name(gnutls_kx_get(t->s));
	if (p == GNUTLS_TLS1_3 && grp)
		snprintf(info->kx, sizeof info->kx, "%s-%s",
		         strncmp(grp, "FFDHE", 5) ? "ECDHE" : "DHE", grp);
	else if (grp)
		snprintf(info->kx, sizeof info->kx, "%s %s", kxn ? kxn : "?", grp);
	else
		mt_strlcpy(info->kx, kxn ? kxn : "unknown", sizeof info->kx);
	const char *sn = gnutls_sign_get_name(gnutls_sign_algorithm_get(t->s));
	mt_strlcpy(info->sig, sn ? sn : "", sizeof info->sig);
	unsigned n = 0;
	info->client_cert_sent = gnutls_certificate_get_peers(t->s, &n) != NULL && n > 0;
	info->resumed = gnutls_session_is_resumed(t->s) != 0;
}

void mt_tls_srv_sni(struct mt_tls_srv *t, char *out, size_t outsz)
{
	char name[256];
	size_t len = sizeof name - 1;
	unsigned type = 0;
	out[0] = '\0';
	if (gnutls_server_name_get(t->s, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS) {
		name[len < sizeof name ? len : sizeof name - 1] = '\0';
		mt_strlcpy(out, name, outsz);
	}
}

size_t mt_tls_srv_peer_chain(struct mt_tls_srv *t, const unsigned char **ders, size_t *lens,
                             size_t max)
{
	unsigned n = 0;
	const gnutls_datum_t *list = gnutls_certificate_get_peers(t->s, &n);
	if (!list)
		return 0;
	for (size_t k = 0; k < n && k < max; k++) {
		ders[k] = list[k].data;
		lens[k] = list[k].size;
	}
	return n;
}

enum mt_tls_io mt_tls_srv_bye(struct mt_tls_srv *t)
{
	if (!t->handshaken)
		return MT_TLS_IO_OK;
	int rc = gnutls_bye(t->s, GNUTLS_SHUT_WR);
	if (rc == GNUTLS_E_AGAIN)
		return want(t);
	return rc < 0 ? MT_TLS_IO_ERROR : MT_TLS_IO_OK;
}

void mt_tls_srv_free(struct mt_tls_srv *t)
{
	if (!t)
		return;
	gnutls_deinit(t->s);
	mt_tls_srv_cred_unref(t->cred);
	free(t);
}

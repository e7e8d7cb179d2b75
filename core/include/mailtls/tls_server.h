/* tls_server.h — GnuTLS server sessions for an event loop: per-listener credentials, an
 * optional client-certificate request, SNI capture, non-blocking handshake/read/write
 * steps (and a blocking handshake bounded by a deadline via poll()).
 *
 * Like the client, the server never refuses a handshake for certificate reasons: the
 * client's chain (if any) is handed to mt_verify_chain() afterwards and recorded; policy
 * decides. GnuTLS types never appear here.
 *
 * Memory: credentials are reference counted (a SIGHUP reload swaps them while sessions in
 * flight keep the old ones): mt_tls_srv_cred_new() returns one reference, each session takes
 * another, mt_tls_srv_cred_unref() drops one. A session is freed with mt_tls_srv_free().
 */
#ifndef MAILTLS_TLS_SERVER_H
#define MAILTLS_TLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mailtls/tls.h"
#include "mailtls/util.h"

struct mt_tls_srv_cred_opts {
	const char *cert_file; /* PEM: leaf first, then intermediates; or PKCS#12 (.p12/.pfx) */
	const char *key_file;  /* PEM key; NULL when in cert_file */
	const char *password;  /* PKCS#12 or encrypted key; NULL = none */
	const char *priority;  /* GnuTLS priority string; NULL = "NORMAL" */
};

struct mt_tls_srv_cred;
struct mt_tls_srv;

/* Load a certificate chain and key for a listener. */
mt_status mt_tls_srv_cred_new(const struct mt_tls_srv_cred_opts *o, struct mt_tls_srv_cred **out,
                              struct mt_err *err);
void mt_tls_srv_cred_ref(struct mt_tls_srv_cred *c);
void mt_tls_srv_cred_unref(struct mt_tls_srv_cred *c);

/* Outcome of a non-blocking step. */
enum mt_tls_io {
	MT_TLS_IO_OK = 0,     /* done (handshake finished, or bytes moved) */
	MT_TLS_IO_WANT_READ,  /* call again when the socket is readable */
	MT_TLS_IO_WANT_WRITE, /* call again when the socket is writable (same arguments) */
	MT_TLS_IO_EOF,        /* the peer closed (close_notify or TCP close) */
	MT_TLS_IO_ERROR,      /* fatal; err says why */
};

/* Server session on a connected, non-blocking socket; request_cert asks the client for a
 * certificate (never required: verification is reported, not enforced here). */
mt_status mt_tls_srv_new(int fd, struct mt_tls_srv_cred *c, bool request_cert,
                         struct mt_tls_srv **out, struct mt_err *err);
enum mt_tls_io mt_tls_srv_handshake_step(struct mt_tls_srv *t, struct mt_err *err);
/* Blocking handshake within deadline (for simple servers and tests). */
mt_status mt_tls_srv_handshake(struct mt_tls_srv *t, struct mt_deadline d, struct mt_err *err);
enum mt_tls_io mt_tls_srv_recv(struct mt_tls_srv *t, void *buf, size_t n, size_t *got,
                               struct mt_err *err);
/* After WANT_WRITE/WANT_READ, call again with the same buf and n. */
enum mt_tls_io mt_tls_srv_send(struct mt_tls_srv *t, const void *buf, size_t n, size_t *sent,
                               struct mt_err *err);
/* Decrypted bytes buffered inside GnuTLS (poll() will not announce them). */
size_t mt_tls_srv_pending(struct mt_tls_srv *t);
/* What was negotiated (same struct as the client's). */
void mt_tls_srv_get_info(struct mt_tls_srv *t, struct mt_tls_info *info);
/* The host name the client sent in SNI, "" if none. */
void mt_tls_srv_sni(struct mt_tls_srv *t, char *out, size_t outsz);
/* The client's chain as sent: pointers valid until mt_tls_srv_free; returns the count sent. */
size_t mt_tls_srv_peer_chain(struct mt_tls_srv *t, const unsigned char **ders, size_t *lens,
                             size_t max);
/* One non-blocking attempt to send close_notify. */
enum mt_tls_io mt_tls_srv_bye(struct mt_tls_srv *t);
void mt_tls_srv_free(struct mt_tls_srv *t);

#endif

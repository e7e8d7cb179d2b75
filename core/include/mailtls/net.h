/* net.h — TCP connect with a deadline, and a connection that reads lines and bytes over
 * plain TCP or TLS through the same poll()-based waits.
 *
 * struct mt_conn owns its fd and TLS session; mt_conn_close() releases both.
 */
#ifndef MAILTLS_NET_H
#define MAILTLS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "mailtls/tls.h"
#include "mailtls/util.h"

enum mt_family { MT_AF_ANY = 0, MT_AF_INET4, MT_AF_INET6 };

/* Split "host", "host:port", "[v6]:port", "v6" into host and port (port 0 if absent). */
mt_status mt_net_split_hostport(const char *in, char *host, size_t hostsz, unsigned *port,
				struct mt_err *err);
/* True if s is an IPv4 or IPv6 literal. */
bool mt_net_is_ip(const char *s);

/* Resolve host and connect to the first address that answers within the deadline.
 * addr_out gets the printable address connected to. */
mt_status mt_net_connect(const char *host, unsigned port, enum mt_family fam,
			 struct mt_deadline d, int *fd_out, char *addr_out, size_t addrsz,
			 struct mt_err *err);

struct mt_conn {
	int fd;
	struct mt_tls *tls;	/* NULL in clear text */
	char rbuf[16384];	/* plain-text read buffer */
	size_t rlen, rpos;
	bool eof;
};

void mt_conn_init(struct mt_conn *c, int fd);
/* Read one line (CRLF or bare LF stripped) into line (max bytes incl. NUL); overlong lines
 * fail with MT_ERR_TOOBIG after the line is consumed. */
mt_status mt_conn_readline(struct mt_conn *c, char *line, size_t max, size_t *len,
			   struct mt_deadline d, struct mt_err *err);
mt_status mt_conn_write(struct mt_conn *c, const void *p, size_t n, struct mt_deadline d,
			struct mt_err *err);
/* Bytes received but not yet consumed (plain buffer, and TLS's own). */
size_t mt_conn_buffered(const struct mt_conn *c);
/* Wait up to ms for the socket to become readable; true if data (or EOF) is there. */
bool mt_conn_peek_readable(struct mt_conn *c, int ms);
/* Switch to TLS: drops (and returns the count of) buffered plain-text bytes first. */
size_t mt_conn_drop_buffered(struct mt_conn *c);
/* Drop buffered bytes and whatever the socket holds right now (no wait); returns the count.
 * Used after a 220 to STARTTLS: a correct server sends nothing before our ClientHello. */
size_t mt_conn_drain(struct mt_conn *c);
void mt_conn_close(struct mt_conn *c, struct mt_deadline d);

#endif

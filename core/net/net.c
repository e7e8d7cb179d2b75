/* net.c — address parsing, TCP connect with a deadline, and line-oriented reads over plain
 * TCP or TLS. Every wait is a poll() bounded by the caller's deadline. */
#include "mailtls/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool mt_net_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

mt_status mt_net_split_hostport(const char *in, char *host, size_t hostsz, unsigned *port,
				struct mt_err *err)
{
	*port = 0;
	const char *p = in, *hend, *portstr = NULL;
	if (!in || !*in)
		return mt_err_set(err, MT_ERR_USAGE, "empty host");
	if (*p == '[') {
		hend = strchr(p, ']');
		if (!hend)
			return mt_err_set(err, MT_ERR_USAGE, "unbalanced '[' in '%s'", in);
		p++;
		if (hend[1] == ':')
			portstr = hend + 2;
		else if (hend[1])
			return mt_err_set(err, MT_ERR_USAGE, "junk after ']' in '%s'", in);
	} else {
		const char *c = strchr(p, ':');
		if (c && strchr(c + 1, ':')) {
			hend = p + strlen(p); /* bare IPv6 literal */
		} else if (c) {
			hend = c;
			portstr = c + 1;
		} else {
			hend = p + strlen(p);
		}
	}
	size_t n = (size_t)(hend - p);
	if (n == 0)
		return mt_err_set(err, MT_ERR_USAGE, "empty host in '%s'", in);
	if (n >= hostsz)
		return mt_err_set(err, MT_ERR_USAGE, "host name too long in '%s'", in);
	memcpy(host, p, n);
	host[n] = '\0';
	if (portstr) {
		char *end;
		errno = 0;
		long v = strtol(portstr, &end, 10);
		if (!*portstr || *end || errno || v < 1 || v > 65535)
			return mt_err_set(err, MT_ERR_USAGE, "bad port '%s' (expected 1-65535)",
					  portstr);
		*port = (unsigned)v;
	}
	return MT_OK;
}

static int wait_fd(int fd, short events, struct mt_deadline d)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	for (;;) {
		int left = mt_deadline_left(d);
		if (left == 0)
			return 0;
		int r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

mt_status mt_net_connect(const char *host, unsigned port, enum mt_family fam,
			 struct mt_deadline d, int *fd_out, char *addr_out, size_t addrsz,
			 struct mt_err *err)
{
	*fd_out = -1;
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = fam == MT_AF_INET4 ? AF_INET : fam == MT_AF_INET6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_flags = AI_ADDRCONFIG;
	if (mt_net_is_ip(host))
		hints.ai_flags = AI_NUMERICHOST;
	char portbuf[8];
	snprintf(portbuf, sizeof portbuf, "%u", port);
	int gai = getaddrinfo(host, portbuf, &hints, &res);
	if (gai != 0) {
		if (gai == EAI_SYSTEM)
			return mt_err_set(err, MT_ERR_RESOLVE, "cannot resolve %s: %s", host,
					  strerror(errno));
		return mt_err_set(err, MT_ERR_RESOLVE, "cannot resolve %s: %s", host,
				  gai_strerror(gai));
	}
	mt_status st = mt_err_set(err, MT_ERR_CONNECT, "no usable address for %s", host);
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		char abuf[INET6_ADDRSTRLEN] = "?";
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, abuf,
				  sizeof abuf);
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, abuf,
				  sizeof abuf);
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0) {
			st = mt_err_set(err, MT_ERR_CONNECT, "socket: %s", strerror(errno));
			continue;
		}
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno != EINPROGRESS) {
			st = mt_err_set(err, MT_ERR_CONNECT, "connect to %s port %u: %s", abuf,
					port, strerror(errno));
			close(fd);
			continue;
		}
		if (r < 0) {
			int w = wait_fd(fd, POLLOUT, d);
			if (w == 0) {
				st = mt_err_set(err, MT_ERR_TIMEOUT,
						"connect to %s port %u: timed out", abuf, port);
				close(fd);
				continue;
			}
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
				st = mt_err_set(err, MT_ERR_CONNECT, "connect to %s port %u: %s",
						abuf, port, strerror(soerr ? soerr : errno));
				close(fd);
				continue;
			}
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		*fd_out = fd;
		if (addr_out)
			mt_strlcpy(addr_out, abuf, addrsz);
		st = MT_OK;
		break;
	}
	freeaddrinfo(res);
	return st;
}

void mt_conn_init(struct mt_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
}

/* Fill the plain buffer (or read through TLS) with at least one more byte. */
static mt_status conn_fill(struct mt_conn *c, struct mt_deadline d, struct mt_err *err)
{
	if (c->rpos > 0 && c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	if (c->rpos > 0 && c->rlen == sizeof c->rbuf) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	size_t room = sizeof c->rbuf - c->rlen;
	if (room == 0)
		return mt_err_set(err, MT_ERR_INTERNAL, "read buffer full");
	if (c->tls) {
		size_t got = 0;
		mt_status st = mt_tls_read(c->tls, c->rbuf + c->rlen, room, &got, d, err);
		if (st != MT_OK)
			return st;
		if (got == 0) {
			c->eof = true;
			return mt_err_set(err, MT_ERR_CLOSED, "connection closed by peer");
		}
		c->rlen += got;
		return MT_OK;
	}
	for (;;) {
		ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
		if (n > 0) {
			c->rlen += (size_t)n;
			return MT_OK;
		}
		if (n == 0) {
			c->eof = true;
			return mt_err_set(err, MT_ERR_CLOSED, "connection closed by peer");
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return mt_err_set(err, MT_ERR_IO, "read: %s", strerror(errno));
		int w = wait_fd(c->fd, POLLIN, d);
		if (w == 0)
			return mt_err_set(err, MT_ERR_TIMEOUT, "timed out waiting for the server");
		if (w < 0)
			return mt_err_set(err, MT_ERR_IO, "poll: %s", strerror(errno));
	}
}

mt_status mt_conn_readline(struct mt_conn *c, char *line, size_t max, size_t *len,
			   struct mt_deadline d, struct mt_err *err)
{
	size_t n = 0;
	bool over = false;
	for (;;) {
		char *start = c->rbuf + c->rpos;
		size_t avail = c->rlen - c->rpos;
		char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		for (size_t i = 0; i < take; i++) {
			if (n + 1 < max)
				line[n++] = start[i];
			else
				over = true;
		}
		c->rpos += take;
		if (nl) {
			c->rpos++;
			break;
		}
		mt_status st = conn_fill(c, d, err);
		if (st != MT_OK) {
			if (st == MT_ERR_CLOSED && n > 0)
				break; /* last line without newline */
			return st;
		}
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	if (len)
		*len = n;
	if (over)
		return mt_err_set(err, MT_ERR_TOOBIG, "line longer than %zu octets", max - 1);
	return MT_OK;
}

mt_status mt_conn_write(struct mt_conn *c, const void *p, size_t n, struct mt_deadline d,
			struct mt_err *err)
{
	if (c->tls)
		return mt_tls_write(c->tls, p, n, d, err);
	const char *s = p;
	while (n > 0) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(c->fd, POLLOUT, d);
			if (r == 0)
				return mt_err_set(err, MT_ERR_TIMEOUT, "timed out sending");
			if (r < 0)
				return mt_err_set(err, MT_ERR_IO, "poll: %s", strerror(errno));
			continue;
		}
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return mt_err_set(err, MT_ERR_CLOSED, "connection closed by peer (%s)",
					  strerror(errno));
		return mt_err_set(err, MT_ERR_IO, "write: %s", strerror(errno));
	}
	return MT_OK;
}

size_t mt_conn_buffered(const struct mt_conn *c)
{
	size_t n = c->rlen - c->rpos;
	if (c->tls)
		n += mt_tls_pending(c->tls);
	return n;
}

bool mt_conn_peek_readable(struct mt_conn *c, int ms)
{
	if (mt_conn_buffered(c))
		return true;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int r;
	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

size_t mt_conn_drop_buffered(struct mt_conn *c)
{
	size_t n = c->rlen - c->rpos;
	c->rlen = c->rpos = 0;
	return n;
}

size_t mt_conn_drain(struct mt_conn *c)
{
	size_t n = mt_conn_drop_buffered(c);
	char tmp[4096];
	for (;;) {
		ssize_t r = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	return n;
}

void mt_conn_close(struct mt_conn *c, struct mt_deadline d)
{
	if (c->tls) {
		mt_tls_close(c->tls, d);
		c->tls = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

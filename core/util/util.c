/* util.c — status names, error buffers, capped buffers, clocks and small string helpers. */
#include "mailtls/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[] = {
    [MT_OK] = "ok",
    [MT_ERR_USAGE] = "usage",
    [MT_ERR_NOMEM] = "out of memory",
    [MT_ERR_IO] = "i/o error",
    [MT_ERR_TIMEOUT] = "timeout",
    [MT_ERR_RESOLVE] = "resolve failed",
    [MT_ERR_CONNECT] = "connect failed",
    [MT_ERR_CLOSED] = "connection closed",
    [MT_ERR_PROTO] = "protocol error",
    [MT_ERR_SMTP] = "smtp error",
    [MT_ERR_TOOBIG] = "too big",
    [MT_ERR_TLS] = "tls error",
    [MT_ERR_VERIFY] = "verification failed",
    [MT_ERR_BADINPUT] = "bad input",
    [MT_ERR_INTERNAL] = "internal error",
};

const char *mt_status_name(mt_status st)
{
	if ((size_t)st < sizeof status_names / sizeof status_names[0] && status_names[st])
		return status_names[st];
	return "unknown";
}

mt_status mt_err_set(struct mt_err *err, mt_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return st;
}

void mt_err_clear(struct mt_err *err)
{
	if (err)
		err->msg[0] = '\0';
}

void mt_buf_init(struct mt_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

static mt_status buf_grow(struct mt_buf *b, size_t need)
{
	if (b->toobig)
		return MT_ERR_TOOBIG;
	if (need > b->max) {
		b->toobig = true;
		return MT_ERR_TOOBIG;
	}
	if (need + 1 <= b->cap)
		return MT_OK;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need + 1)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	char *p = realloc(b->data, ncap);
	if (!p)
		return MT_ERR_NOMEM;
	b->data = p;
	b->cap = ncap;
	return MT_OK;
}

mt_status mt_buf_add(struct mt_buf *b, const void *p, size_t n)
{
	mt_status st = buf_grow(b, b->len + n);
	if (st != MT_OK)
		return st;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return MT_OK;
}

mt_status mt_buf_addc(struct mt_buf *b, char c)
{
	return mt_buf_add(b, &c, 1);
}

mt_status mt_buf_vaddf(struct mt_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return MT_ERR_INTERNAL;
	mt_status st = buf_grow(b, b->len + (size_t)n);
	if (st != MT_OK)
		return st;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return MT_OK;
}

mt_status mt_buf_addf(struct mt_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mt_status st = mt_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return st;
}

void mt_buf_reset(struct mt_buf *b)
{
	b->len = 0;
	b->toobig = false;
	if (b->data)
		b->data[0] = '\0';
}

const char *mt_buf_str(const struct mt_buf *b)
{
	return b->data ? b->data : "";
}

void mt_buf_free(struct mt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->toobig = false;
}

int64_t mt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct mt_deadline mt_deadline_in(int timeout_ms, struct mt_deadline overall)
{
	struct mt_deadline d = {0};
	if (timeout_ms > 0)
		d.at_ms = mt_now_ms() + timeout_ms;
	if (overall.at_ms && (!d.at_ms || overall.at_ms < d.at_ms))
		d.at_ms = overall.at_ms;
	return d;
}

int mt_deadline_left(struct mt_deadline d)
{
	if (!d.at_ms)
		return -1;
	int64_t left = d.at_ms - mt_now_ms();
	if (left <= 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

size_t mt_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);
	if (dstsize) {
		size_t c = n < dstsize - 1 ? n : dstsize - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int mt_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 32;
		if (cb >= 'A' && cb <= 'Z')
			cb += 32;
		if (ca != cb || !ca)
			return ca - cb;
	}
}

char *mt_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

mt_status mt_file_read(const char *path, size_t max, char **out, size_t *len, struct mt_err *err)
{
	*out = NULL;
	if (len)
		*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	struct mt_buf b;
	mt_buf_init(&b, max);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			mt_buf_free(&b);
			return mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		mt_status st = mt_buf_add(&b, chunk, (size_t)n);
		if (st != MT_OK) {
			close(fd);
			mt_buf_free(&b);
			if (st == MT_ERR_TOOBIG)
				return mt_err_set(err, st, "%s is larger than %zu bytes", path, max);
			return mt_err_set(err, st, "out of memory reading %s", path);
		}
	}
	close(fd);
	if (!b.data && mt_buf_add(&b, "", 0) != MT_OK)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory reading %s", path);
	*out = b.data;
	if (len)
		*len = b.len;
	return MT_OK;
}

void mt_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

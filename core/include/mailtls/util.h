/* util.h — status codes, error buffers, capped growable buffers and monotonic clocks.
 *
 * Every core function returns an mt_status and, on failure, fills a struct mt_err with a
 * sentence a person can act on. Core never exits; programs map statuses to exit codes.
 * struct mt_buf is a growable byte buffer with a hard cap: once an append would pass the
 * cap, the buffer keeps what it had, sets the sticky `toobig` flag and every later append
 * fails too, so overlong input is reported, never silently truncated.
 */
#ifndef MAILTLS_UTIL_H
#define MAILTLS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	MT_OK = 0,
	MT_ERR_USAGE,	 /* caller passed something invalid */
	MT_ERR_NOMEM,	 /* allocation failed */
	MT_ERR_IO,	 /* file or socket error (errno text in the message) */
	MT_ERR_TIMEOUT,	 /* a deadline passed */
	MT_ERR_RESOLVE,	 /* host name did not resolve */
	MT_ERR_CONNECT,	 /* TCP connect failed */
	MT_ERR_CLOSED,	 /* peer closed the connection */
	MT_ERR_PROTO,	 /* peer broke the protocol (malformed reply, bad code) */
	MT_ERR_SMTP,	 /* peer answered with an SMTP error reply */
	MT_ERR_TOOBIG,	 /* input over a cap */
	MT_ERR_TLS,	 /* TLS not available or the handshake failed */
	MT_ERR_VERIFY,	 /* verification or policy check failed */
	MT_ERR_BADINPUT, /* a file or argument could not be parsed */
	MT_ERR_INTERNAL, /* a bug */
} mt_status;

/* Stable lower-case name of a status ("timeout"); static storage. */
const char *mt_status_name(mt_status st);

#define MT_ERR_MAX 512
struct mt_err {
	char msg[MT_ERR_MAX];
};

/* Set err->msg (printf-style) if err is not NULL; returns st so callers can `return mt_err_set(...)`. */
mt_status mt_err_set(struct mt_err *err, mt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mt_err_clear(struct mt_err *err);

/* Growable buffer with a hard cap. data is always NUL-terminated (not counted in len). */
struct mt_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len */
	bool toobig; /* sticky: an append was refused */
};

void mt_buf_init(struct mt_buf *b, size_t max);
mt_status mt_buf_add(struct mt_buf *b, const void *p, size_t n);
mt_status mt_buf_addc(struct mt_buf *b, char c);
mt_status mt_buf_addf(struct mt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
mt_status mt_buf_vaddf(struct mt_buf *b, const char *fmt, va_list ap);
/* Drop content and the toobig flag, keep the allocation. */
void mt_buf_reset(struct mt_buf *b);
/* "" when empty; owned by the buffer. */
const char *mt_buf_str(const struct mt_buf *b);
void mt_buf_free(struct mt_buf *b);

/* Monotonic milliseconds since an arbitrary origin. */
int64_t mt_now_ms(void);

/* Deadline: an absolute mt_now_ms() value; 0 means none. */
struct mt_deadline {
	int64_t at_ms;
};
/* The earlier of now+timeout_ms and overall (either may be 0 = none). */
struct mt_deadline mt_deadline_in(int timeout_ms, struct mt_deadline overall);
/* Milliseconds left for poll(): -1 when there is no deadline, 0 when passed. */
int mt_deadline_left(struct mt_deadline d);

/* Copy at most dstsize-1 bytes and NUL-terminate; returns strlen(src). */
size_t mt_strlcpy(char *dst, const char *src, size_t dstsize);
/* ASCII case-insensitive compare. */
int mt_strcasecmp(const char *a, const char *b);
/* Heap copy, or NULL on allocation failure; caller frees. */
char *mt_strdup(const char *s);
/* Read a whole file (at most max bytes) into *out (NUL-terminated, caller frees). */
mt_status mt_file_read(const char *path, size_t max, char **out, size_t *len, struct mt_err *err);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void mt_hex(const unsigned char *p, size_t n, char *out);

#endif

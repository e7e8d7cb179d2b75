/* smtp.h — SMTP reply parsing (RFC 5321 section 4.2) and the client-side line reader.
 *
 * A reply is fed one line at a time (without CRLF). Lines are capped at MT_SMTP_LINE_HARD
 * octets (the reader refuses longer ones) and a reply at MT_SMTP_REPLY_MAX_LINES lines /
 * MT_SMTP_REPLY_MAX_BYTES bytes; lines longer than RFC 5321's 512 octets are accepted but
 * flagged (overlong). Memory: struct mt_smtp_reply owns its text; free with
 * mt_smtp_reply_free(), or reuse after mt_smtp_reply_reset().
 */
#ifndef MAILTLS_SMTP_H
#define MAILTLS_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "mailtls/util.h"

#define MT_SMTP_LINE_MAX 512	   /* RFC 5321 4.5.3.1.5, including CRLF */
#define MT_SMTP_LINE_HARD 8192	   /* longer lines are refused (MT_ERR_TOOBIG) */
#define MT_SMTP_REPLY_MAX_LINES 256
#define MT_SMTP_REPLY_MAX_BYTES 65536

struct mt_smtp_reply {
	int code;		/* the first line's code once a line is accepted (0 before) */
	char enhanced[32];	/* "5.7.0" from the first line when present, else "" */
	size_t nlines;
	struct mt_buf text;	/* the lines' text after "NNN-"/"NNN ", joined by '\n' */
	size_t line_off[MT_SMTP_REPLY_MAX_LINES]; /* offset of each line in text */
	bool complete;		/* the last line ("NNN " or bare "NNN") was seen */
	bool overlong;		/* a line was longer than MT_SMTP_LINE_MAX - 2 */
};

void mt_smtp_reply_init(struct mt_smtp_reply *r);
void mt_smtp_reply_reset(struct mt_smtp_reply *r);
void mt_smtp_reply_free(struct mt_smtp_reply *r);

/* Feed one line (no CR/LF). Returns MT_OK (check r->complete), or MT_ERR_PROTO for a
 * malformed line (no 3-digit code in 2xx-5xx, separator not ' ' or '-', a continuation
 * whose code differs from the first line's) and MT_ERR_TOOBIG past the caps, with a
 * message in err that quotes the offending line (escaped, shortened). */
mt_status mt_smtp_reply_feed(struct mt_smtp_reply *r, const char *line, size_t len,
			     struct mt_err *err);

/* Line i's text (after the code and separator), NUL-terminated copy into out. */
const char *mt_smtp_reply_line(const struct mt_smtp_reply *r, size_t i, char *out, size_t outsz);

/* EHLO keywords, from a complete 250 reply to EHLO (lines 2..n). */
struct mt_ehlo_ext {
	bool starttls, pipelining, size, eightbitmime, enhancedstatuscodes, chunking, smtputf8,
	    dsn, requiretls;
	bool auth;
	char auth_mechs[128];
	unsigned long size_max;
};
void mt_smtp_ehlo_parse(const struct mt_smtp_reply *r, struct mt_ehlo_ext *ext);

/* Escape a line for display/error messages: non-printables as \xNN, cut at max chars with "...". */
void mt_smtp_escape(const char *in, size_t len, char *out, size_t outsz);

#endif

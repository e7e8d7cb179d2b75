/* smtp_reply.c — SMTP reply assembly (RFC 5321 4.2), enhanced status codes (RFC 3463),
 * EHLO keyword parsing and escaping of peer text for messages.
 *
 * A reply owns its text buffer (struct mt_buf, capped at MT_SMTP_REPLY_MAX_BYTES); release it
 * with mt_smtp_reply_free(). r->code holds the first line's code as soon as one line has been
 * accepted, so continuation lines can be checked against it; it is the reply's code once
 * r->complete is set. A line that is refused leaves the reply exactly as it was.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "mailtls/smtp.h"

#define SHOW_MAX 100 /* escaped quote of a peer line in error messages */

void mt_smtp_reply_init(struct mt_smtp_reply *r)
{
	memset(r, 0, sizeof *r);
	mt_buf_init(&r->text, MT_SMTP_REPLY_MAX_BYTES);
}

void mt_smtp_reply_reset(struct mt_smtp_reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	r->nlines = 0;
	mt_buf_reset(&r->text);
	r->complete = false;
	r->overlong = false;
}

void mt_smtp_reply_free(struct mt_smtp_reply *r)
{
	mt_buf_free(&r->text);
	mt_smtp_reply_reset(r);
}

/* One input byte's escaped form; returns its length (1, 2 or 4). */
static size_t escape_byte(unsigned char c, char piece[4])
{
	static const char hx[] = "0123456789abcdef";
	if (c == '\\') {
		piece[0] = piece[1] = '\\';
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		piece[0] = (char)c;
		return 1;
	}
	piece[0] = '\\';
	piece[1] = 'x';
	piece[2] = hx[c >> 4];
	piece[3] = hx[c & 15];
	return 4;
}

void mt_smtp_escape(const char *in, size_t len, char *out, size_t outsz)
{
	if (!out || outsz == 0)
		return;
	if (!in)
		len = 0;
	char piece[4];
	size_t total = 0;
	for (size_t i = 0; i < len && total <= outsz; i++)
		total += escape_byte((unsigned char)in[i], piece);
	/* Fits whole: copy everything. Otherwise keep whole escapes only, then "...". */
	size_t room = outsz - 1;
	size_t limit = total <= room ? room : (room >= 3 ? room - 3 : 0);
	size_t o = 0, i = 0;
	for (; i < len; i++) {
		size_t pn = escape_byte((unsigned char)in[i], piece);
		if (o + pn > limit)
			break;
		memcpy(out + o, piece, pn);
		o += pn;
	}
	if (i < len && o + 3 <= room) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* RFC 5321 4.2: first digit 2-5, second 0-5, third 0-9. Returns the code or 0. */
static int parse_code(const char *s, size_t len)
{
	if (len < 3)
		return 0;
	if (s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' || s[2] < '0' || s[2] > '9')
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

static size_t digits(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* RFC 3463 "class.subject.detail" (class 2/4/5, subject and detail 1-3 digits) at the start
 * of the text, followed by a space or the end. Its class must agree with the reply code's
 * first digit (RFC 2034 3); a disagreeing code is not trusted. */
static void parse_enhanced(struct mt_smtp_reply *r, const char *t, size_t n, int code)
{
	if (n < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[0] - '0' != code / 100 ||
	    t[1] != '.')
		return;
	size_t i = 2;
	size_t d = digits(t + i, n - i);
	if (d < 1 || d > 3)
		return;
	i += d;
	if (i >= n || t[i] != '.')
		return;
	i++;
	d = digits(t + i, n - i);
	if (d < 1 || d > 3)
		return;
	i += d;
	if (i < n && t[i] != ' ')
		return;
	memcpy(r->enhanced, t, i);
	r->enhanced[i] = '\0';
}

mt_status mt_smtp_reply_feed(struct mt_smtp_reply *r, const char *line, size_t len,
                             struct mt_err *err)
{
	char shown[SHOW_MAX];
	if (!r || (!line && len))
		return mt_err_set(err, MT_ERR_USAGE, "mt_smtp_reply_feed: no reply or line");
	if (r->complete)
		return mt_err_set(err, MT_ERR_USAGE,
		                  "mt_smtp_reply_feed: reply already complete; reset it first");
	mt_smtp_escape(line, len, shown, sizeof shown);
	if (len > MT_SMTP_LINE_HARD)
		return mt_err_set(err, MT_ERR_TOOBIG,
		                  "reply line of %zu octets is over the %d-octet limit: \"%s\"",
		                  len, MT_SMTP_LINE_HARD, shown);
	int code = parse_code(line, len);
	if (!code)
		return mt_err_set(err, MT_ERR_PROTO,
		                  "malformed SMTP reply line (no three-digit code 200-559): \"%s\"",
		                  shown);
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return mt_err_set(
		    err, MT_ERR_PROTO,
		    "malformed SMTP reply line (code not followed by ' ' or '-'): \"%s\"", shown);
	if (r->nlines > 0 && code != r->code)
		return mt_err_set(err, MT_ERR_PROTO,
		                  "SMTP reply code changed from %d to %d within one reply: \"%s\"",
		                  r->code, code, shown);
	if (r->nlines >= MT_SMTP_REPLY_MAX_LINES)
		return mt_err_set(err, MT_ERR_TOOBIG,
		                  "SMTP reply has more than %d lines; refused at: \"%s\"",
		                  MT_SMTP_REPLY_MAX_LINES, shown);
	const char *text = len > 4 ? line + 4 : "";
	size_t tn = len > 4 ? len - 4 : 0;
	size_t sep = r->nlines > 0 ? 1 : 0;
	/* Check the byte cap first so a refused line leaves the buffer untouched. */
	if (r->text.len + sep + tn > MT_SMTP_REPLY_MAX_BYTES)
		return mt_err_set(err, MT_ERR_TOOBIG,
		                  "SMTP reply is longer than %d bytes; refused at: \"%s\"",
		                  MT_SMTP_REPLY_MAX_BYTES, shown);
	size_t before = r->text.len;
	mt_status st = MT_OK;
	if (sep)
		st = mt_buf_addc(&r->text, '\n');
	if (st == MT_OK)
		st = mt_buf_add(&r->text, text, tn);
	if (st != MT_OK) {
		r->text.len = before;
		if (r->text.data)
			r->text.data[before] = '\0';
		r->text.toobig = false;
		return mt_err_set(err, st == MT_ERR_NOMEM ? st : MT_ERR_TOOBIG,
		                  "cannot store SMTP reply line: %s", mt_status_name(st));
	}
	if (r->nlines == 0) {
		r->code = code;
		parse_enhanced(r, text, tn, code);
	}
	r->line_off[r->nlines++] = before + sep;
	if (len > MT_SMTP_LINE_MAX - 2)
		r->overlong = true;
	if (len == 3 || line[3] == ' ')
		r->complete = true;
	return MT_OK;
}

/* Start and length of line i's text inside r->text. */
static bool line_span(const struct mt_smtp_reply *r, size_t i, const char **p, size_t *n)
{
	if (!r || i >= r->nlines)
		return false;
	size_t start = r->line_off[i];
	size_t end = (i + 1 < r->nlines) ? r->line_off[i + 1] - 1 : r->text.len;
	*p = mt_buf_str(&r->text) + start;
	*n = end - start;
	return true;
}

const char *mt_smtp_reply_line(const struct mt_smtp_reply *r, size_t i, char *out, size_t outsz)
{
	const char *p;
	size_t n;
	if (!out || outsz == 0)
		return NULL;
	out[0] = '\0';
	if (!line_span(r, i, &p, &n))
		return NULL;
	if (n > outsz - 1)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	size_t k = strlen(kw);
	if (n != k)
		return false;
	for (size_t i = 0; i < n; i++)
		if (toupper((unsigned char)w[i]) != kw[i])
			return false;
	return true;
}

/* Append one SASL mechanism name (upper-cased) unless present already or it does not fit;
 * names that are not RFC 4422 sasl-mech syntax are dropped, not shown. */
static void add_mech(struct mt_ehlo_ext *ext, const char *m, size_t n)
{
	char up[24];
	if (n == 0 || n > 20)
		return;
	for (size_t i = 0; i < n; i++) {
		int c = toupper((unsigned char)m[i]);
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return;
		up[i] = (char)c;
	}
	up[n] = '\0';
	size_t have = strlen(ext->auth_mechs);
	for (const char *s = ext->auth_mechs; *s;) {
		size_t l = strcspn(s, " ");
		if (l == n && memcmp(s, up, n) == 0)
			return;
		s += l;
		while (*s == ' ')
			s++;
	}
	if (have + (have ? 1 : 0) + n + 1 > sizeof ext->auth_mechs)
		return;
	if (have)
		ext->auth_mechs[have++] = ' ';
	memcpy(ext->auth_mechs + have, up, n + 1);
}

void mt_smtp_ehlo_parse(const struct mt_smtp_reply *r, struct mt_ehlo_ext *ext)
{
	memset(ext, 0, sizeof *ext);
	if (!r || !r->complete || r->code != 250)
		return;
	/* Line 1 is the greeting ("mx.example.com Hello ..."); keywords start on line 2. */
	for (size_t i = 1; i < r->nlines; i++) {
		const char *p;
		size_t n;
		line_span(r, i, &p, &n);
		size_t kw = 0;
		while (kw < n && p[kw] != ' ' && p[kw] != '=')
			kw++;
		const char *args = p + kw;
		size_t an = n - kw;
		if (word_is(p, kw, "STARTTLS")) {
			ext->starttls = true;
		} else if (word_is(p, kw, "PIPELINING")) {
			ext->pipelining = true;
		} else if (word_is(p, kw, "8BITMIME")) {
			ext->eightbitmime = true;
		} else if (word_is(p, kw, "ENHANCEDSTATUSCODES")) {
			ext->enhancedstatuscodes = true;
		} else if (word_is(p, kw, "CHUNKING")) {
			ext->chunking = true;
		} else if (word_is(p, kw, "SMTPUTF8")) {
			ext->smtputf8 = true;
		} else if (word_is(p, kw, "DSN")) {
			ext->dsn = true;
		} else if (word_is(p, kw, "REQUIRETLS")) {
			ext->requiretls = true;
		} else if (word_is(p, kw, "SIZE")) {
			ext->size = true;
			/* RFC 1870: optional decimal limit, 0 or absent meaning none announced.
			 * A value too big for unsigned long saturates rather than wrapping. */
			size_t j = 0;
			while (j < an && args[j] == ' ')
				j++;
			unsigned long v = 0;
			size_t d = digits(args + j, an - j);
			for (size_t k = 0; k < d; k++) {
				unsigned dig = (unsigned)(args[j + k] - '0');
				if (v > (ULONG_MAX - dig) / 10) {
					v = ULONG_MAX;
					break;
				}
				v = v * 10 + dig;
			}
			ext->size_max = v;
		} else if (word_is(p, kw, "AUTH")) {
			/* "AUTH PLAIN LOGIN" and the pre-RFC 2554 "AUTH=PLAIN LOGIN" both list
			 * mechanisms; servers often send both, so merge without duplicates. */
			ext->auth = true;
			size_t j = 0;
			if (j < an && args[j] == '=')
				j++;
			while (j < an) {
				while (j < an && args[j] == ' ')
					j++;
				size_t s = j;
				while (j < an && args[j] != ' ')
					j++;
				add_mech(ext, args + s, j - s);
			}
		}
	}
}

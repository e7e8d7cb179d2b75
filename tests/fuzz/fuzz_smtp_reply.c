/* fuzz_smtp_reply.c — libFuzzer harness for the SMTP reply parser (core/smtp/smtp_reply.c).
 *
 * The input is split on '\n' (a trailing '\r' is dropped, as the line reader does) and each
 * line is fed to mt_smtp_reply_feed. A complete reply goes through mt_smtp_ehlo_parse and
 * line extraction; after a complete reply or a refused line the reply is reset and parsing
 * goes on, so one input exercises many replies. Invariants that must hold for any input are
 * checked with abort() so libFuzzer reports them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/smtp.h"

static void check(bool cond)
{
	if (!cond)
		abort();
}

static void after_complete(const struct mt_smtp_reply *r)
{
	struct mt_ehlo_ext ext;
	char line[MT_SMTP_LINE_MAX];
	check(r->code >= 200 && r->code <= 559);
	check(r->nlines >= 1 && r->nlines <= MT_SMTP_REPLY_MAX_LINES);
	check(r->text.len <= MT_SMTP_REPLY_MAX_BYTES);
	check(r->enhanced[0] == '\0' || r->enhanced[0] - '0' == r->code / 100);
	mt_smtp_ehlo_parse(r, &ext);
	check(strlen(ext.auth_mechs) < sizeof ext.auth_mechs);
	for (size_t i = 0; i < r->nlines; i++)
		check(mt_smtp_reply_line(r, i, line, sizeof line) == line);
	check(mt_smtp_reply_line(r, r->nlines, line, sizeof line) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_smtp_reply r;
	struct mt_err err;
	const char *p = (const char *)data;
	const char *end = p + size;
	mt_smtp_reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		size_t len = (n && p[n - 1] == '\r') ? n - 1 : n;
		err.msg[0] = '\0';
		mt_status st = mt_smtp_reply_feed(&r, p, len, &err);
		if (st != MT_OK) {
			check(err.msg[0] != '\0' && strlen(err.msg) < sizeof err.msg);
			mt_smtp_reply_reset(&r);
		} else if (r.complete) {
			after_complete(&r);
			mt_smtp_reply_reset(&r);
		}
		/* escape must bound its output whatever the size */
		char esc[16];
		mt_smtp_escape(p, len, esc, (len % sizeof esc) + 1);
		check(strlen(esc) <= len % sizeof esc);
		p += n + (nl ? 1 : 0);
	}
	mt_smtp_reply_free(&r);
	return 0;
}

/* smtp_reply_test.c — table-driven tests of SMTP reply assembly (RFC 5321 4.2), enhanced
 * status codes, caps, escaping and EHLO keyword parsing (core/smtp/smtp_reply.c).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailtls/smtp.h"

#define MAXL 14

/* Feed lines (NULL-terminated) until one is refused; returns that status and its index. */
static mt_status feed_all(struct mt_smtp_reply *r, const char *const *lines, size_t *at,
                          struct mt_err *err)
{
	for (size_t i = 0; i < MAXL && lines[i]; i++) {
		mt_status st = mt_smtp_reply_feed(r, lines[i], strlen(lines[i]), err);
		if (st != MT_OK) {
			*at = i;
			return st;
		}
	}
	*at = (size_t)-1;
	return MT_OK;
}

/* clang-format off */
static const struct {
	const char *lines[MAXL];
	mt_status st;	    /* status of the first refused line, MT_OK if none */
	size_t fail_at;	    /* its index */
	int code;
	const char *enhanced;
	size_t nlines;
	bool complete;
	const char *text;    /* r->text after feeding */
	const char *errword; /* in err.msg on failure */
} reply_rows[] = {
    /* well-formed */
    {{"250 OK"}, MT_OK, 0, 250, "", 1, true, "OK", NULL},
    {{"250"}, MT_OK, 0, 250, "", 1, true, "", NULL},
    {{"220 mx.example.com ESMTP"}, MT_OK, 0, 220, "", 1, true, "mx.example.com ESMTP", NULL},
    {{"250-mx.example.com", "250-PIPELINING", "250 STARTTLS"}, MT_OK, 0, 250, "", 3, true,
     "mx.example.com\nPIPELINING\nSTARTTLS", NULL},
    {{"250-mx.example.com", "250"}, MT_OK, 0, 250, "", 2, true, "mx.example.com\n", NULL},
    {{"250-first"}, MT_OK, 0, 250, "", 1, false, "first", NULL},
    {{"250-", "250 "}, MT_OK, 0, 250, "", 2, true, "\n", NULL},
    {{"354 End data with <CR><LF>.<CR><LF>"}, MT_OK, 0, 354, "", 1, true,
     "End data with <CR><LF>.<CR><LF>", NULL},
    {{"559 x"}, MT_OK, 0, 559, "", 1, true, "x", NULL},
    {{"200 x"}, MT_OK, 0, 200, "", 1, true, "x", NULL},
    {{"250  two spaces"}, MT_OK, 0, 250, "", 1, true, " two spaces", NULL},
    /* enhanced status codes (RFC 3463), first line only, class agreeing with the code */
    {{"550 5.7.1 Relaying denied"}, MT_OK, 0, 550, "5.7.1", 1, true, "5.7.1 Relaying denied",
     NULL},
    {{"451 4.3.0"}, MT_OK, 0, 451, "4.3.0", 1, true, "4.3.0", NULL},
    {{"250 2.100.999 ok"}, MT_OK, 0, 250, "2.100.999", 1, true, "2.100.999 ok", NULL},
    {{"550-5.7.1 first", "550 5.7.2 second"}, MT_OK, 0, 550, "5.7.1", 2, true,
     "5.7.1 first\n5.7.2 second", NULL},
    {{"550-no code here", "550 5.7.2 second"}, MT_OK, 0, 550, "", 2, true,
     "no code here\n5.7.2 second", NULL},
    {{"250 2.0.0Ok"}, MT_OK, 0, 250, "", 1, true, "2.0.0Ok", NULL},
    {{"250 5.0.0 class disagrees"}, MT_OK, 0, 250, "", 1, true, "5.0.0 class disagrees", NULL},
    {{"354 3.0.0 no class 3"}, MT_OK, 0, 354, "", 1, true, "3.0.0 no class 3", NULL},
    {{"250 2.1234.0 x"}, MT_OK, 0, 250, "", 1, true, "2.1234.0 x", NULL},
    {{"250 2.1. x"}, MT_OK, 0, 250, "", 1, true, "2.1. x", NULL},
    {{"250 2..1 x"}, MT_OK, 0, 250, "", 1, true, "2..1 x", NULL},
    {{"250 2.1"}, MT_OK, 0, 250, "", 1, true, "2.1", NULL},
    /* bad codes and separators */
    {{"600 x"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "600 x"},
    {{"199 x"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "code"},
    {{"260 x"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "code"},
    {{"20"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "\"20\""},
    {{"2x0 x"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "2x0"},
    {{"abc"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "abc"},
    {{""}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "code"},
    {{" 250 OK"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "code"},
    {{"250x"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "' ' or '-'"},
    {{"250\tOK"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "250\\x09OK"},
    {{"2500 OK"}, MT_ERR_PROTO, 0, 0, "", 0, false, "", "' ' or '-'"},
    {{"250-a", "250+b"}, MT_ERR_PROTO, 1, 250, "", 1, false, "a", "250+b"},
    /* code changes mid-reply */
    {{"250-a", "251 b"}, MT_ERR_PROTO, 1, 250, "", 1, false, "a", "250 to 251"},
    {{"250-a", "550-b", "550 c"}, MT_ERR_PROTO, 1, 250, "", 1, false, "a", "550-b"},
    {{"550-5.7.1 a", "250 2.0.0 b"}, MT_ERR_PROTO, 1, 550, "5.7.1", 1, false, "5.7.1 a",
     "changed"},
    /* feeding past the end of a reply is the caller's mistake */
    {{"250 a", "250 b"}, MT_ERR_USAGE, 1, 250, "", 1, true, "a", "reset"},
};
/* clang-format on */

static void test_reply_table(void **state)
{
	(void)state;
	size_t bad = 0;
	struct mt_smtp_reply r;
	mt_smtp_reply_init(&r);
	for (size_t i = 0; i < sizeof reply_rows / sizeof reply_rows[0]; i++) {
		struct mt_err err = {{0}};
		size_t at;
		mt_smtp_reply_reset(&r);
		mt_status st = feed_all(&r, reply_rows[i].lines, &at, &err);
		bool ok = st == reply_rows[i].st && (st == MT_OK || at == reply_rows[i].fail_at) &&
		          r.code == reply_rows[i].code &&
		          strcmp(r.enhanced, reply_rows[i].enhanced) == 0 &&
		          r.nlines == reply_rows[i].nlines &&
		          r.complete == reply_rows[i].complete &&
		          strcmp(mt_buf_str(&r.text), reply_rows[i].text) == 0 && !r.overlong;
		if (ok && st != MT_OK)
			ok = strstr(err.msg, reply_rows[i].errword) != NULL;
		if (!ok) {
			print_error("reply row %zu (\"%s\"...): st=%s at=%zu code=%d enh=\"%s\" "
			            "nlines=%zu complete=%d text=\"%s\" err=\"%s\"\n",
			            i, reply_rows[i].lines[0], mt_status_name(st), at, r.code,
			            r.enhanced, r.nlines, r.complete, mt_buf_str(&r.text), err.msg);
			bad++;
		}
	}
	mt_smtp_reply_free(&r);
	assert_int_equal(bad, 0);
}

static void test_reply_lines(void **state)
{
	(void)state;
	struct mt_smtp_reply r;
	struct mt_err err;
	char out[64];
	mt_smtp_reply_init(&r);
	assert_int_equal(mt_smtp_reply_feed(&r, "250-mx.example.com", 18, &err), MT_OK);
	assert_false(r.complete);
	assert_int_equal(mt_smtp_reply_feed(&r, "250-", 4, &err), MT_OK);
	assert_int_equal(mt_smtp_reply_feed(&r, "250 STARTTLS", 12, &err), MT_OK);
	assert_true(r.complete);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(mt_smtp_reply_line(&r, 0, out, sizeof out), "mx.example.com");
	assert_string_equal(mt_smtp_reply_line(&r, 1, out, sizeof out), "");
	assert_string_equal(mt_smtp_reply_line(&r, 2, out, sizeof out), "STARTTLS");
	assert_null(mt_smtp_reply_line(&r, 3, out, sizeof out));
	assert_string_equal(out, "");
	/* a short buffer gets a cut copy */
	assert_string_equal(mt_smtp_reply_line(&r, 0, out, 5), "mx.e");
	/* lines are counted by length, so bytes after an embedded NUL are kept */
	mt_smtp_reply_reset(&r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.nlines, 0);
	assert_false(r.complete);
	assert_int_equal(mt_smtp_reply_feed(&r, "250 a\0b", 7, &err), MT_OK);
	assert_int_equal(r.text.len, 3);
	assert_memory_equal(r.text.data, "a\0b", 3);
	mt_smtp_reply_free(&r);
	assert_null(r.text.data);
}

static void test_reply_overlong(void **state)
{
	(void)state;
	struct mt_smtp_reply r;
	struct mt_err err;
	char line[MT_SMTP_LINE_HARD + 2];
	mt_smtp_reply_init(&r);
	/* 510 octets (512 with CRLF) is the RFC limit: fine */
	memset(line, 'x', sizeof line);
	memcpy(line, "250-", 4);
	assert_int_equal(mt_smtp_reply_feed(&r, line, MT_SMTP_LINE_MAX - 2, &err), MT_OK);
	assert_false(r.overlong);
	/* 511 octets: accepted, flagged, kept whole */
	assert_int_equal(mt_smtp_reply_feed(&r, line, MT_SMTP_LINE_MAX - 1, &err), MT_OK);
	assert_true(r.overlong);
	char *big = malloc(MT_SMTP_LINE_HARD);
	assert_non_null(big);
	assert_non_null(mt_smtp_reply_line(&r, 1, big, MT_SMTP_LINE_HARD));
	assert_int_equal(strlen(big), MT_SMTP_LINE_MAX - 1 - 4);
	/* up to the hard limit still accepted */
	assert_int_equal(mt_smtp_reply_feed(&r, line, MT_SMTP_LINE_HARD, &err), MT_OK);
	/* beyond it refused, the reply unchanged, the message quoting a cut line */
	size_t before = r.text.len;
	assert_int_equal(mt_smtp_reply_feed(&r, line, MT_SMTP_LINE_HARD + 1, &err), MT_ERR_TOOBIG);
	assert_int_equal(r.nlines, 3);
	assert_int_equal(r.text.len, before);
	assert_non_null(strstr(err.msg, "\"250-xxx"));
	assert_non_null(strstr(err.msg, "...\""));
	assert_true(strlen(err.msg) < 300);
	/* reset clears the flag */
	mt_smtp_reply_reset(&r);
	assert_false(r.overlong);
	assert_int_equal(mt_smtp_reply_feed(&r, "250 ok", 6, &err), MT_OK);
	assert_false(r.overlong);
	free(big);
	mt_smtp_reply_free(&r);
}

static void test_reply_caps(void **state)
{
	(void)state;
	struct mt_smtp_reply r;
	struct mt_err err;
	mt_smtp_reply_init(&r);
	/* exactly MT_SMTP_REPLY_MAX_LINES lines: accepted */
	for (int i = 0; i < MT_SMTP_REPLY_MAX_LINES - 1; i++)
		assert_int_equal(mt_smtp_reply_feed(&r, "250-x", 5, &err), MT_OK);
	assert_int_equal(mt_smtp_reply_feed(&r, "250 x", 5, &err), MT_OK);
	assert_true(r.complete);
	assert_int_equal(r.nlines, MT_SMTP_REPLY_MAX_LINES);
	/* one more: refused */
	mt_smtp_reply_reset(&r);
	for (int i = 0; i < MT_SMTP_REPLY_MAX_LINES; i++)
		assert_int_equal(mt_smtp_reply_feed(&r, "250-x", 5, &err), MT_OK);
	assert_int_equal(mt_smtp_reply_feed(&r, "250 x", 5, &err), MT_ERR_TOOBIG);
	assert_non_null(strstr(err.msg, "256"));
	assert_false(r.complete);
	assert_int_equal(r.nlines, MT_SMTP_REPLY_MAX_LINES);

	/* byte cap: 8000-octet lines, the ninth would pass 65536 bytes of text */
	mt_smtp_reply_reset(&r);
	char *line = malloc(8000);
	assert_non_null(line);
	memset(line, 'y', 8000);
	memcpy(line, "250-", 4);
	size_t i = 0;
	mt_status st = MT_OK;
	for (; i < 20 && st == MT_OK; i++)
		st = mt_smtp_reply_feed(&r, line, 8000, &err);
	assert_int_equal(st, MT_ERR_TOOBIG);
	assert_int_equal(i, 9);
	assert_int_equal(r.nlines, 8);
	assert_int_equal(r.text.len, 8 * 7996 + 7);
	assert_true(r.text.len <= MT_SMTP_REPLY_MAX_BYTES);
	assert_non_null(strstr(err.msg, "65536"));
	/* the reply is still usable: a short last line fits */
	assert_int_equal(mt_smtp_reply_feed(&r, "250 end", 7, &err), MT_OK);
	assert_true(r.complete);
	free(line);
	mt_smtp_reply_free(&r);
}

/* ---- mt_smtp_escape ---- */

/* clang-format off */
static const struct {
	const char *in;
	size_t len;
	size_t outsz;
	const char *out;
} esc_rows[] = {
    {"abc", 3, 16, "abc"},
    {"a\r\n", 3, 16, "a\\x0d\\x0a"},
    {"\0", 1, 16, "\\x00"},
    {"a\0b", 3, 16, "a\\x00b"},
    {"\\", 1, 16, "\\\\"},
    {"\xff\x80\x7f", 3, 16, "\\xff\\x80\\x7f"},
    {"\t~ ", 3, 16, "\\x09~ "},
    {"abcdefghi", 9, 10, "abcdefghi"},
    {"abcdefghij", 10, 10, "abcdef..."},
    {"\x01\x02\x03", 3, 10, "\\x01..."},
    {"ab\x01\x02", 4, 10, "ab\\x01..."},
    {"", 0, 4, ""},
    {NULL, 0, 4, ""},
    {"abcdef", 6, 4, "..."},
    {"abcdef", 6, 1, ""},
    {"abc", 3, 4, "abc"},
};
/* clang-format on */

static void test_escape_table(void **state)
{
	(void)state;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof esc_rows / sizeof esc_rows[0]; i++) {
		char out[32];
		memset(out, 'Z', sizeof out);
		mt_smtp_escape(esc_rows[i].in, esc_rows[i].len, out, esc_rows[i].outsz);
		/* never writes past outsz */
		bool ok = strcmp(out, esc_rows[i].out) == 0 &&
		          (esc_rows[i].outsz >= sizeof out || out[esc_rows[i].outsz] == 'Z');
		if (!ok) {
			print_error("escape row %zu: got \"%s\" want \"%s\"\n", i, out,
			            esc_rows[i].out);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ---- mt_smtp_ehlo_parse ---- */

/* clang-format off */
static const struct {
	const char *lines[MAXL];
	struct mt_ehlo_ext want;
} ehlo_rows[] = {
    {{"250-mx.example.com Hello client", "250-PIPELINING", "250-SIZE 10240000", "250-8BITMIME",
      "250-ENHANCEDSTATUSCODES", "250-CHUNKING", "250-SMTPUTF8", "250-DSN", "250-REQUIRETLS",
      "250-AUTH PLAIN LOGIN", "250-AUTH=LOGIN CRAM-MD5", "250 STARTTLS"},
     {.starttls = true, .pipelining = true, .size = true, .eightbitmime = true,
      .enhancedstatuscodes = true, .chunking = true, .smtputf8 = true, .dsn = true,
      .requiretls = true, .auth = true, .auth_mechs = "PLAIN LOGIN CRAM-MD5",
      .size_max = 10240000}},
    {{"250-mx", "250-starttls", "250-Pipelining", "250 size"},
     {.starttls = true, .pipelining = true, .size = true}},
    {{"250-mx", "250-SIZE"}, {0}}, /* incomplete reply: nothing */
    {{"250 STARTTLS"}, {0}},	   /* the greeting line is not a keyword line */
    {{"550-mx", "550 STARTTLS"}, {0}},
    {{"220-mx", "220 STARTTLS"}, {0}},
    {{"250-mx", "250-STARTTLSX", "250-X-STARTTLS", "250-SIZEX 5", "250 XAUTH PLAIN"}, {0}},
    {{"250-mx", "250 SIZE 0"}, {.size = true}},
    {{"250-mx", "250 SIZE abc"}, {.size = true}},
    {{"250-mx", "250 SIZE 99999999999999999999999999"}, {.size = true, .size_max = ULONG_MAX}},
    {{"250-mx", "250 AUTH"}, {.auth = true}},
    {{"250-mx", "250 auth=plain"}, {.auth = true, .auth_mechs = "PLAIN"}},
    {{"250-mx", "250 AUTH  PLAIN \x01" "BAD LOGIN plain"},
     {.auth = true, .auth_mechs = "PLAIN LOGIN"}},
    {{"250-mx", "250-8bitmime", "250 dsn"}, {.eightbitmime = true, .dsn = true}},
};
/* clang-format on */

static void test_ehlo_table(void **state)
{
	(void)state;
	size_t bad = 0;
	struct mt_smtp_reply r;
	mt_smtp_reply_init(&r);
	for (size_t i = 0; i < sizeof ehlo_rows / sizeof ehlo_rows[0]; i++) {
		struct mt_err err;
		size_t at;
		struct mt_ehlo_ext e;
		mt_smtp_reply_reset(&r);
		assert_int_equal(feed_all(&r, ehlo_rows[i].lines, &at, &err), MT_OK);
		memset(&e, 0xa5, sizeof e);
		mt_smtp_ehlo_parse(&r, &e);
		const struct mt_ehlo_ext *w = &ehlo_rows[i].want;
		bool ok = e.starttls == w->starttls && e.pipelining == w->pipelining &&
		          e.size == w->size && e.eightbitmime == w->eightbitmime &&
		          e.enhancedstatuscodes == w->enhancedstatuscodes &&
		          e.chunking == w->chunking && e.smtputf8 == w->smtputf8 &&
		          e.dsn == w->dsn && e.requiretls == w->requiretls && e.auth == w->auth &&
		          strcmp(e.auth_mechs, w->auth_mechs) == 0 && e.size_max == w->size_max;
		if (!ok) {
			print_error("ehlo row %zu: starttls=%d pipelining=%d size=%d/%lu auth=%d "
			            "mechs=\"%s\"\n",
			            i, e.starttls, e.pipelining, e.size, e.size_max, e.auth,
			            e.auth_mechs);
			bad++;
		}
	}
	mt_smtp_reply_free(&r);
	assert_int_equal(bad, 0);
}

static void test_ehlo_auth_overflow(void **state)
{
	(void)state;
	struct mt_smtp_reply r;
	struct mt_err err;
	struct mt_ehlo_ext e;
	char line[512];
	mt_smtp_reply_init(&r);
	assert_int_equal(mt_smtp_reply_feed(&r, "250-mx", 6, &err), MT_OK);
	size_t n = (size_t)snprintf(line, sizeof line, "250 AUTH");
	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, " MECHANISM-%02d", i);
	assert_int_equal(mt_smtp_reply_feed(&r, line, n, &err), MT_OK);
	mt_smtp_ehlo_parse(&r, &e);
	assert_true(e.auth);
	/* whole names only, as many as fit */
	assert_true(strlen(e.auth_mechs) < sizeof e.auth_mechs);
	assert_int_equal(strncmp(e.auth_mechs, "MECHANISM-00 MECHANISM-01", 25), 0);
	size_t len = strlen(e.auth_mechs);
	assert_true(len >= sizeof e.auth_mechs - 14);
	assert_int_equal((len + 1) % 13, 0);
	mt_smtp_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_table),        cmocka_unit_test(test_reply_lines),
	    cmocka_unit_test(test_reply_overlong),     cmocka_unit_test(test_reply_caps),
	    cmocka_unit_test(test_escape_table),       cmocka_unit_test(test_ehlo_table),
	    cmocka_unit_test(test_ehlo_auth_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

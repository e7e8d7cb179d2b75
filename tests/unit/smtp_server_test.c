/* smtp_server_test.c — the pure server dialog (core/smtp/smtp_server.c): each case is a
 * configuration, the client lines, and the exact reply lines expected, in order; plus
 * tables for command splitting and MAIL/RCPT argument parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailtls/smtp_server.h"

#define MAXL 24

enum cfgk { C_PREF = 0, C_REQ, C_OFF, C_DOMAIN, C_SMALL, C_REFUSE };

static bool only_example(const char *addr, void *arg)
{
	const char *at = strrchr(addr, '@');
	return at && !strcmp(at + 1, (const char *)arg);
}

static void make_cfg(enum cfgk k, struct mt_smtp_srv_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->hostname = "mx.test";
	c->max_size = 1000;
	c->max_rcpts = 2;
	c->starttls = k != C_OFF;
	c->tls_required = k == C_REQ;
	if (k == C_DOMAIN) {
		c->rcpt_ok = only_example;
		c->rcpt_arg = "example.test";
	}
	if (k == C_SMALL)
		c->max_size = 0;
	if (k == C_REFUSE)
		c->refuse_mail = "530 5.7.0 Client certificate did not verify";
}

/* clang-format off */
static const struct {
	const char *name;
	enum cfgk cfg;
	bool tls; /* pretend STARTTLS already succeeded */
	const char *in[MAXL];
	const char *out[MAXL]; /* every reply line, without CRLF */
	enum mt_smtp_srv_state end;
} dialogs[] = {
    {"ehlo advertises", C_PREF, false, {"EHLO client.test"},
     {"250-mx.test Hello client.test", "250-PIPELINING", "250-SIZE 1000", "250-STARTTLS",
      "250-ENHANCEDSTATUSCODES", "250 8BITMIME"}, MT_SMTPS_READY},
    {"policy off: no STARTTLS", C_OFF, false, {"EHLO c", "STARTTLS"},
     {"250-mx.test Hello c", "250-PIPELINING", "250-SIZE 1000", "250-ENHANCEDSTATUSCODES",
      "250 8BITMIME", "502 5.5.1 Error: command not implemented"}, MT_SMTPS_READY},
    {"after TLS: no STARTTLS offered", C_PREF, true, {"ehlo c", "STARTTLS"},
     {"250-mx.test Hello c", "250-PIPELINING", "250-SIZE 1000", "250-ENHANCEDSTATUSCODES",
      "250 8BITMIME", "554 5.5.1 Error: TLS already active"}, MT_SMTPS_READY},
    {"helo", C_PREF, false, {"HELO c"}, {"250 mx.test"}, MT_SMTPS_READY},
    {"helo without name", C_PREF, false, {"HELO", "EHLO  "},
     {"501 5.5.4 Syntax: HELO/EHLO hostname", "501 5.5.4 Syntax: HELO/EHLO hostname"},
     MT_SMTPS_INIT},
    {"full transaction", C_PREF, false,
     {"HELO c", "MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME", "RCPT TO:<x@y.test>", "DATA"},
     {"250 mx.test", "250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"},
     MT_SMTPS_DATA},
    {"mail before helo", C_PREF, false, {"MAIL FROM:<a@b.test>"},
     {"503 5.5.1 Error: send HELO/EHLO first"}, MT_SMTPS_INIT},
    {"required: 530 before STARTTLS", C_REQ, false,
     {"EHLO c", "MAIL FROM:<a@b.test>", "RCPT TO:<x@y.test>", "DATA"},
     {"250-mx.test Hello c", "250-PIPELINING", "250-SIZE 1000", "250-STARTTLS",
      "250-ENHANCEDSTATUSCODES", "250 8BITMIME",
      "530 5.7.0 Must issue a STARTTLS command first",
      "530 5.7.0 Must issue a STARTTLS command first",
      "530 5.7.0 Must issue a STARTTLS command first"}, MT_SMTPS_READY},
    {"required: fine after TLS", C_REQ, true, {"HELO c", "MAIL FROM:<>"},
     {"250 mx.test", "250 2.1.0 Ok"}, MT_SMTPS_MAIL},
    {"required-verify refusal", C_REFUSE, true, {"HELO c", "MAIL FROM:<a@b.test>"},
     {"250 mx.test", "530 5.7.0 Client certificate did not verify"}, MT_SMTPS_READY},
    {"starttls", C_PREF, false, {"EHLO c", "STARTTLS"},
     {"250-mx.test Hello c", "250-PIPELINING", "250-SIZE 1000", "250-STARTTLS",
      "250-ENHANCEDSTATUSCODES", "250 8BITMIME", "220 2.0.0 Ready to start TLS"},
     MT_SMTPS_TLS},
    {"starttls with argument", C_PREF, false, {"STARTTLS now"},
     {"501 5.5.4 Syntax: STARTTLS"}, MT_SMTPS_INIT},
    {"nested mail, rcpt without mail, data without rcpt", C_PREF, false,
     {"HELO c", "RCPT TO:<x@y.test>", "MAIL FROM:<a@b.test>", "MAIL FROM:<a@b.test>", "DATA"},
     {"250 mx.test", "503 5.5.1 Error: need MAIL command", "250 2.1.0 Ok",
      "503 5.5.1 Error: nested MAIL command", "554 5.5.1 Error: no valid recipients"},
     MT_SMTPS_MAIL},
    {"rset and noop", C_PREF, false,
     {"HELO c", "MAIL FROM:<a@b.test>", "RSET", "NOOP", "RCPT TO:<x@y.test>"},
     {"250 mx.test", "250 2.1.0 Ok", "250 2.0.0 Ok", "250 2.0.0 Ok",
      "503 5.5.1 Error: need MAIL command"}, MT_SMTPS_READY},
    {"size over limit", C_PREF, false, {"HELO c", "MAIL FROM:<a@b.test> SIZE=1001"},
     {"250 mx.test", "552 5.3.4 Message size exceeds fixed limit"}, MT_SMTPS_READY},
    {"no size limit", C_SMALL, false, {"EHLO c", "MAIL FROM:<a@b.test> SIZE=99999999"},
     {"250-mx.test Hello c", "250-PIPELINING", "250-SIZE", "250-STARTTLS",
      "250-ENHANCEDSTATUSCODES", "250 8BITMIME", "250 2.1.0 Ok"}, MT_SMTPS_MAIL},
    {"too many recipients", C_PREF, false,
     {"HELO c", "MAIL FROM:<a@b.test>", "RCPT TO:<1@y.test>", "RCPT TO:<2@y.test>",
      "RCPT TO:<3@y.test>"},
     {"250 mx.test", "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
      "452 4.5.3 Error: too many recipients"}, MT_SMTPS_RCPT},
    {"domains: relay denied", C_DOMAIN, false,
     {"HELO c", "MAIL FROM:<a@b.test>", "RCPT TO:<x@other.test>", "RCPT TO:<x@example.test>"},
     {"250 mx.test", "250 2.1.0 Ok", "554 5.7.1 <x@other.test>: Relay access denied",
      "250 2.1.5 Ok"}, MT_SMTPS_RCPT},
    {"bad syntax", C_PREF, false,
     {"HELO c", "MAIL FROM:a@b.test", "MAIL TO:<a@b.test>", "MAIL FROM:<a@b.test> FOO=1",
      "MAIL FROM:<a b@c>", "MAIL FROM:<ab>", "MAIL FROM:<a@b.test",
      "MAIL FROM:<a@b.test> SIZE=x", "MAIL FROM:<a@b.test> BODY=BINARYMIME"},
     {"250 mx.test", "501 5.5.4 Syntax: MAIL FROM:<address>",
      "501 5.5.4 Syntax: MAIL FROM:<address>", "555 5.5.4 Unsupported parameter FOO=1",
      "501 5.1.7 Bad address syntax", "501 5.1.7 Bad address syntax (expected local@domain)",
      "501 5.1.7 Bad address syntax (no '>')", "501 5.5.4 Bad SIZE value",
      "501 5.5.4 Bad BODY value (7BIT or 8BITMIME)"}, MT_SMTPS_READY},
    {"rcpt parameters refused, null rcpt", C_PREF, false,
     {"HELO c", "MAIL FROM:<>", "RCPT TO:<x@y.test> SIZE=1", "RCPT TO:<>"},
     {"250 mx.test", "250 2.1.0 Ok", "555 5.5.4 Unsupported parameter SIZE=1",
      "501 5.1.3 Bad recipient address syntax"}, MT_SMTPS_MAIL},
    {"unknown, auth, vrfy, help, quit", C_PREF, false,
     {"FOO", "AUTH PLAIN AGFiAGM=", "VRFY x", "HELP", "QUIT"},
     {"500 5.5.2 Error: command not recognized", "502 5.5.1 Error: command not implemented",
      "252 2.0.0 Cannot VRFY user, but will accept message",
      "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT STARTTLS; see RFC 5321",
      "221 2.0.0 Bye"}, MT_SMTPS_QUIT},
    {"source route dropped, lenient spacing", C_PREF, false,
     {"helo c", "mail from: <@r1,@r2:a@b.test>", "rcpt to:<\"q x\"@y.test>"},
     {"250 mx.test", "250 2.1.0 Ok", "250 2.1.5 Ok"}, MT_SMTPS_RCPT},
};
/* clang-format on */

/* Split a reply buffer into lines; compare against want (NULL-terminated). */
static void expect_lines(const char *name, const char *buf, const char *const *want)
{
	size_t i = 0;
	const char *p = buf;
	while (*p) {
		const char *e = strstr(p, "\r\n");
		assert_non_null(e); /* every reply line ends in CRLF */
		if (i >= MAXL || !want[i]) {
			fail_msg("%s: unexpected extra reply line '%.*s'", name, (int)(e - p), p);
		}
		if (strlen(want[i]) != (size_t)(e - p) || strncmp(p, want[i], (size_t)(e - p)))
			fail_msg("%s: line %zu is '%.*s', expected '%s'", name, i, (int)(e - p), p,
			         want[i]);
		i++;
		p = e + 2;
	}
	if (i < MAXL && want[i])
		fail_msg("%s: missing reply line '%s'", name, want[i]);
}

static void test_dialogs(void **state)
{
	for (size_t k = 0; k < sizeof dialogs / sizeof dialogs[0]; k++) {
		struct mt_smtp_srv_cfg c;
		struct mt_smtp_srv s;
		struct mt_buf out;
		make_cfg(dialogs[k].cfg, &c);
		mt_smtp_srv_init(&s, &c);
		if (dialogs[k].tls)
			mt_smtp_srv_tls_started(&s);
		mt_buf_init(&out, 1 << 16);
		for (size_t i = 0; i < MAXL && dialogs[k].in[i]; i++)
			mt_smtp_srv_line(&s, dialogs[k].in[i], strlen(dialogs[k].in[i]), &out);
		expect_lines(dialogs[k].name, mt_buf_str(&out), dialogs[k].out);
		if (s.state != dialogs[k].end)
			fail_msg("%s: ends in state %s, expected %s", dialogs[k].name,
			         mt_smtp_srv_state_name(s.state),
			         mt_smtp_srv_state_name(dialogs[k].end));
		mt_buf_free(&out);
		mt_smtp_srv_free(&s);
	}
}

static void test_actions_and_data_end(void **state)
{
	struct mt_smtp_srv_cfg c;
	struct mt_smtp_srv s;
	struct mt_buf out;
	make_cfg(C_PREF, &c);
	mt_smtp_srv_init(&s, &c);
	mt_buf_init(&out, 4096);
	mt_smtp_srv_greeting(&s, &out);
	assert_string_equal(mt_buf_str(&out), "220 mx.test ESMTP mailtls receiver\r\n");
	struct mt_smtp_srv_res r = mt_smtp_srv_line(&s, "EHLO c", 6, &out);
	assert_int_equal(r.act, MT_SMTP_ACT_NONE);
	assert_true(s.esmtp);
	r = mt_smtp_srv_line(&s, "STARTTLS", 8, &out);
	assert_int_equal(r.act, MT_SMTP_ACT_STARTTLS);
	assert_int_equal(r.code, 220);
	/* anything fed before the handshake is refused, never executed */
	mt_buf_reset(&out);
	r = mt_smtp_srv_line(&s, "MAIL FROM:<a@b.test>", 20, &out);
	assert_int_equal(r.code, 503);
	mt_smtp_srv_tls_started(&s);
	assert_int_equal(s.state, MT_SMTPS_INIT); /* RFC 3207: forget the EHLO */
	assert_false(s.esmtp);
	assert_string_equal(s.helo, "");
	mt_smtp_srv_line(&s, "EHLO c", 6, &out);
	mt_smtp_srv_line(&s, "MAIL FROM:<a@b.test>", 20, &out);
	mt_smtp_srv_line(&s, "RCPT TO:<x@y.test>", 18, &out);
	r = mt_smtp_srv_line(&s, "DATA", 4, &out);
	assert_int_equal(r.act, MT_SMTP_ACT_DATA);
	assert_int_equal(s.nrcpts, 1);
	assert_string_equal(s.rcpts[0], "x@y.test");
	assert_string_equal(s.from.addr, "a@b.test");
	mt_buf_reset(&out);
	assert_int_equal(mt_smtp_srv_data_end(&s, MT_SMTP_DATA_STORED, "42", &out), 250);
	assert_string_equal(mt_buf_str(&out), "250 2.0.0 Ok: queued as 42\r\n");
	assert_int_equal(s.state, MT_SMTPS_READY);
	assert_int_equal(s.nrcpts, 0);
	const struct {
		enum mt_smtp_data_outcome o;
		int code;
	} ends[] = {{MT_SMTP_DATA_TOOBIG, 552},
	            {MT_SMTP_DATA_LONGLINE, 500},
	            {MT_SMTP_DATA_TEMPFAIL, 451},
	            {MT_SMTP_DATA_SHUTDOWN, 421}};
	for (size_t i = 0; i < 4; i++) {
		mt_smtp_srv_line(&s, "MAIL FROM:<a@b.test>", 20, &out);
		mt_smtp_srv_line(&s, "RCPT TO:<x@y.test>", 18, &out);
		mt_smtp_srv_line(&s, "DATA", 4, &out);
		mt_buf_reset(&out);
		assert_int_equal(mt_smtp_srv_data_end(&s, ends[i].o, "1", &out), ends[i].code);
		assert_int_equal(atoi(mt_buf_str(&out)), ends[i].code);
	}
	assert_int_equal(s.state, MT_SMTPS_QUIT);
	r = mt_smtp_srv_line(&s, "NOOP", 4, &out);
	assert_int_equal(r.act, MT_SMTP_ACT_CLOSE);
	mt_buf_free(&out);
	mt_smtp_srv_free(&s);
}

static void test_cmd_parse(void **state)
{
	const struct {
		const char *line;
		enum mt_smtp_verb verb;
		const char *arg;
	} rows[] = {
	    {"EHLO x", MT_SMTP_V_EHLO, "x"},
	    {"ehlo   x y  ", MT_SMTP_V_EHLO, "x y"},
	    {"StartTLS", MT_SMTP_V_STARTTLS, ""},
	    {"STARTTLSX", MT_SMTP_V_UNKNOWN, ""},
	    {"MAIL FROM:<a@b>", MT_SMTP_V_MAIL, "FROM:<a@b>"},
	    {"", MT_SMTP_V_UNKNOWN, ""},
	    {" QUIT", MT_SMTP_V_UNKNOWN, "QUIT"},
	    {"DATA", MT_SMTP_V_DATA, ""},
	    {"BDAT 10 LAST", MT_SMTP_V_BDAT, "10 LAST"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mt_smtp_cmd c;
		mt_smtp_cmd_parse(rows[i].line, strlen(rows[i].line), &c);
		assert_int_equal(c.verb, rows[i].verb);
		assert_int_equal(c.arglen, strlen(rows[i].arg));
		assert_memory_equal(c.arg, rows[i].arg, c.arglen);
	}
	assert_string_equal(mt_smtp_verb_name(MT_SMTP_V_STARTTLS), "STARTTLS");
	assert_string_equal(mt_smtp_verb_name((enum mt_smtp_verb)999), "UNKNOWN");
	assert_string_equal(mt_smtp_srv_state_name(MT_SMTPS_TLS), "starttls");
}

static void test_path_parse(void **state)
{
	struct mt_smtp_path p;
	struct mt_err e;
	assert_int_equal(mt_smtp_path_parse("FROM:<a@b> SIZE=123 BODY=7BIT", 29, "FROM", &p, &e),
	                 MT_OK);
	assert_string_equal(p.addr, "a@b");
	assert_true(p.has_size);
	assert_int_equal(p.size, 123);
	assert_int_equal(p.body, MT_SMTP_BODY_7BIT);
	/* SIZE overflow is refused, not wrapped */
	const char *big = "FROM:<a@b> SIZE=99999999999999999999";
	assert_int_equal(mt_smtp_path_parse(big, strlen(big), "FROM", &p, &e), MT_ERR_BADINPUT);
	assert_int_equal(atoi(e.msg), 552);
	/* 256 octets is the limit */
	char line[400] = "TO:<";
	memset(line + 4, 'a', 250);
	strcpy(line + 254, "@b.cd>");
	assert_int_equal(mt_smtp_path_parse(line, strlen(line), "TO", &p, &e), MT_OK);
	line[4] = 'a';
	memmove(line + 5, line + 4, strlen(line + 4) + 1);
	memmove(line + 5, line + 4, strlen(line + 4) + 1);
	assert_int_equal(mt_smtp_path_parse(line, strlen(line), "TO", &p, &e), MT_ERR_BADINPUT);
	assert_non_null(strstr(e.msg, "too long"));
	/* 8-bit and control bytes are refused */
	assert_int_equal(mt_smtp_path_parse("TO:<a\x01@b>", 10, "TO", &p, &e), MT_ERR_BADINPUT);
	assert_int_equal(mt_smtp_path_parse("TO:<\xc3\xa9@b>", 10, "TO", &p, &e), MT_ERR_BADINPUT);
	/* the length given is honoured, not the NUL */
	assert_int_equal(mt_smtp_path_parse("TO:<a@b>junk", 8, "TO", &p, &e), MT_OK);
	assert_string_equal(p.addr, "a@b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dialogs),
	    cmocka_unit_test(test_actions_and_data_end),
	    cmocka_unit_test(test_cmd_parse),
	    cmocka_unit_test(test_path_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

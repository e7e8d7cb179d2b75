/* fuzz_smtp_cmd.c — libFuzzer harness for the server-side command parser and dialog
 * (core/smtp/smtp_server.c).
 *
 * The first byte picks the configuration (STARTTLS offered, TLS required, size limit,
 * recipient filter, a Required-Verify refusal); the rest is split on '\n' (a trailing '\r'
 * dropped) and fed line by line, as the receiver does. STARTTLS and DATA actions are
 * followed the way the receiver follows them (handshake success or failure, end of data
 * with each outcome). Invariants checked with abort(): every reply is one or more
 * CRLF-terminated lines "NNN text" or "NNN-text" with a code from 200 to 559, the last line
 * uses ' ', all lines of one reply share the code, and the state stays in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/smtp_server.h"

static void check(bool cond)
{
	if (!cond)
		abort();
}

static bool odd_domain(const char *addr, void *arg)
{
	(void)arg;
	return strlen(addr) % 2 == 0;
}

static void check_reply(const char *p, size_t n)
{
	check(n >= 6);
	int code = -1;
	while (n > 0) {
		const char *e = memchr(p, '\n', n);
		check(e != NULL && e > p && e[-1] == '\r');
		size_t len = (size_t)(e - p) - 1;
		check(len >= 3);
		for (int i = 0; i < 3; i++)
			check(p[i] >= '0' && p[i] <= '9');
		int c = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		check(c >= 200 && c <= 559);
		check(code < 0 || c == code);
		code = c;
		bool last = (size_t)(e + 1 - p) == n;
		if (len > 3)
			check(p[3] == (last ? ' ' : '-'));
		for (size_t i = 0; i < len; i++)
			check(p[i] != '\r' && p[i] != '\n' && p[i] != '\0');
		n -= (size_t)(e + 1 - p);
		p = e + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	struct mt_smtp_srv_cfg cfg = {
	    .hostname = "fuzz.test",
	    .max_size = (sel & 1) ? 1000 : 0,
	    .max_rcpts = (sel & 2) ? 3 : 0,
	    .starttls = (sel & 4) != 0,
	    .tls_required = (sel & 8) != 0,
	    .rcpt_ok = (sel & 16) ? odd_domain : NULL,
	    .refuse_mail = (sel & 32) ? "530 5.7.0 Client certificate did not verify" : NULL,
	};
	struct mt_smtp_srv s;
	struct mt_buf out;
	mt_smtp_srv_init(&s, &cfg);
	mt_buf_init(&out, 1 << 20);
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	unsigned k = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t l = len;
		if (l && p[l - 1] == '\r')
			l--;
		struct mt_smtp_cmd c;
		mt_smtp_cmd_parse(p, l, &c);
		check(c.verb < MT_SMTP_V__COUNT && c.arglen <= l);
		mt_buf_reset(&out);
		struct mt_smtp_srv_res r = mt_smtp_srv_line(&s, p, l, &out);
		check(!out.toobig);
		check_reply(out.data, out.len);
		check(r.code == atoi(out.data));
		check((unsigned)s.state < MT_SMTPS__COUNT);
		check(s.nrcpts <= (cfg.max_rcpts ? cfg.max_rcpts : 1000));
		mt_buf_reset(&out);
		if (r.act == MT_SMTP_ACT_STARTTLS) {
			check(s.state == MT_SMTPS_TLS);
			if (k++ % 3 == 2)
				mt_smtp_srv_tls_failed(&s);
			else
				mt_smtp_srv_tls_started(&s);
		} else if (r.act == MT_SMTP_ACT_DATA) {
			check(s.state == MT_SMTPS_DATA && s.nrcpts > 0);
			mt_smtp_srv_data_end(&s, (enum mt_smtp_data_outcome)(k++ % 5), "q", &out);
			check_reply(out.data, out.len);
		}
		p += len + (nl ? 1 : 0);
	}
	mt_buf_free(&out);
	mt_smtp_srv_free(&s);
	return 0;
}

/* logscan_fast_test.c — the fast paths logscan's per-line code takes agree with plain
 * reference implementations: the SSE2 literal search (mt_ls_findn) and key=value reader
 * (mt_ls_kvn) against byte-by-byte searches, the word-at-a-time control-byte filter in
 * mt_ls_set against a byte loop, the per-second timestamp cache against fresh parses, and
 * the summary key table's hash/length/prefix comparisons against distinct keys that share
 * long prefixes.  Inputs are random (fixed seed) and cover every alignment and length near
 * the 16-byte block boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../logscan/logscan_corr.h"
#include "../../logscan/logscan_parse.h"
#include "../../logscan/logscan_sum.h"
#include "logscan_ev_eq.h"

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static long ref_find(const char *h, size_t hn, const char *n, size_t nn)
{
	if (!nn)
		return 0;
	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, n, nn) == 0)
			return (long)i;
	return -1;
}

static void test_findn_random(void **state)
{
	(void)state;
	/* a small alphabet makes partial matches (first and last byte equal) common */
	const char alpha[] = "ab ,=:";
	char *buf = malloc(200);
	char needle[40];
	for (int iter = 0; iter < 200000; iter++) {
		size_t hn = rnd() % 120, nn = 1 + rnd() % 20;
		/* place the haystack at the end of the allocation so a read past it is caught by ASan */
		char *h = buf + 200 - hn;
		for (size_t i = 0; i < hn; i++)
			h[i] = alpha[rnd() % 6];
		for (size_t i = 0; i < nn; i++)
			needle[i] = alpha[rnd() % 6];
		if (hn >= nn && rnd() % 2) { /* plant it somewhere, often near the end */
			size_t at = rnd() % 3 ? rnd() % (hn - nn + 1) : hn - nn;
			memcpy(h + at, needle, nn);
		}
		long want = ref_find(h, hn, needle, nn);
		long got = mt_ls_findn((struct mt_ls_str){h, hn}, needle, nn);
		if (want != got)
			fail_msg("findn(%.*s, %.*s) = %ld, want %ld", (int)hn, h, (int)nn, needle, got, want);
	}
	free(buf);
	assert_int_equal(mt_ls_find(((struct mt_ls_str){"x", 1}), ""), 0);
	assert_int_equal(mt_ls_find(((struct mt_ls_str){"ab", 2}), "abc"), -1);
	const char *l = "Mon Jan  1 00:00:00 2024 Info: ICID 1010 TLS success protocol TLSv1.2 cipher ECDHE";
	assert_int_equal(mt_ls_find(((struct mt_ls_str){l, strlen(l)}), "cipher "), strstr(l, "cipher ") - l);
}

/* The key=value reader as first written (memmem per candidate, byte loop for the end). */
static struct mt_ls_str ref_kv(struct mt_ls_str s, const char *key, char stop)
{
	size_t kn = strlen(key), off = 0;
	while (off < s.n) {
		const char *p = memmem(s.p + off, s.n - off, key, kn);
		if (!p)
			break;
		if (p == s.p || p[-1] == ' ') {
			const char *v = p + kn, *end = s.p + s.n, *e = v;
			if (e < end && *e == '"') {
				v++;
				e = memchr(v, '"', (size_t)(end - v));
				if (!e)
					e = end;
				return (struct mt_ls_str){v, (size_t)(e - v)};
			}
			for (; e < end; e++)
				if (stop == ',' ? (*e == ',' && (e + 1 == end || e[1] == ' ')) : *e == stop)
					break;
			return (struct mt_ls_str){v, (size_t)(e - v)};
		}
		off = (size_t)(p - s.p) + 1;
	}
	return (struct mt_ls_str){NULL, 0};
}

static void test_kv_random(void **state)
{
	(void)state;
	const char *words[] = {"to=", "<a@b>", ",", ", ", "relay=", "x", "\"q w\"", " ", "status=", "sent", "to=<c,d>"};
	const char *keys[] = {"to=", "relay=", "status=", "x"};
	char line[256];
	for (int iter = 0; iter < 100000; iter++) {
		size_t n = 0;
		int nw = (int)(rnd() % 12);
		for (int w = 0; w < nw; w++) {
			const char *x = words[rnd() % 11];
			size_t l = strlen(x);
			memcpy(line + n, x, l);
			n += l;
		}
		struct mt_ls_str s = {line, n};
		const char *k = keys[rnd() % 4];
		char stop = rnd() % 2 ? ',' : ' ';
		struct mt_ls_str want = ref_kv(s, k, stop), got = mt_ls_kv(s, k, stop);
		if (want.p != got.p || want.n != got.n)
			fail_msg("kv(%.*s, %s, '%c'): got %zu@%p want %zu@%p", (int)n, line, k, stop, got.n, (const void *)got.p,
				 want.n, (const void *)want.p);
		got = mt_ls_kv_words(s, k, stop); /* the space-hopping variant: the same answer */
		if (want.p != got.p || want.n != got.n)
			fail_msg("kv_words(%.*s, %s, '%c'): got %zu@%p want %zu@%p", (int)n, line, k, stop, got.n,
				 (const void *)got.p, want.n, (const void *)want.p);
	}
}

static void test_set_control_bytes(void **state)
{
	(void)state;
	char src[80], dst[64], want[64];
	for (int iter = 0; iter < 50000; iter++) {
		size_t n = rnd() % 80;
		for (size_t i = 0; i < n; i++) {
			uint32_t r = rnd() % 10;
			src[i] = r == 0 ? (char)(rnd() % 0x20) : r == 1 ? 0x7f : r == 2 ? (char)(0x80 + rnd() % 0x80) : (char)(0x20 + rnd() % 0x5f);
		}
		size_t m = n < sizeof want - 1 ? n : sizeof want - 1;
		for (size_t i = 0; i < m; i++)
			want[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
		want[m] = '\0';
		mt_ls_set(dst, sizeof dst, (struct mt_ls_str){src, n});
		assert_memory_equal(dst, want, m + 1);
	}
}

/* Lines sharing a second must share a timestamp; a changed second or year must not reuse it. */
static void test_ts_cache(void **state)
{
	(void)state;
	struct mt_ls_parse_opts o24 = {.year = 2024}, o25 = {.year = 2025};
	struct mt_ls_hdr h;
	const char *a = "Jan  1 00:00:05 mx postfix/smtpd[1]: connect from x[10.0.0.1]";
	const char *b = "Jan  1 00:00:06 mx postfix/smtpd[1]: connect from x[10.0.0.1]";
	const char *n1 = "Mon Jan  1 00:00:05 2024 Info: ICID 1 close";
	const char *n2 = "Wed Jan  1 00:00:05 2025 Info: ICID 1 close";
	time_t t[6];
	for (int round = 0; round < 2; round++) { /* second round: all cached */
		assert_true(mt_ls_parse_hdr(a, strlen(a), &o24, &h));
		t[0] = h.ts;
		assert_true(mt_ls_parse_hdr(a, strlen(a), &o25, &h));
		t[1] = h.ts;
		assert_true(mt_ls_parse_hdr(b, strlen(b), &o24, &h));
		t[2] = h.ts;
		assert_true(mt_ls_parse_hdr(n1, strlen(n1), &o25, &h));
		t[3] = h.ts;
		assert_true(mt_ls_parse_hdr(n2, strlen(n2), &o24, &h));
		t[4] = h.ts;
		assert_true(mt_ls_parse_hdr(a, strlen(a), &o24, &h));
		t[5] = h.ts;
		assert_int_equal(t[0], 1704067205);
		assert_int_equal(t[1], 1735689605);
		assert_int_equal(t[2], 1704067206);
		assert_int_equal(t[3], 1704067205); /* native lines carry their own year */
		assert_int_equal(t[4], 1735689605);
		assert_int_equal(t[5], t[0]);
	}
	/* RFC 3339 stamps (rsyslog): the per-second cache and the in-place fraction; lines that
	 * differ from the previous one only in the second, the day or the year */
	const char *iso[] = {"2023-03-14T00:00:31.185246+01:00 helga postfix/smtpd[1]: connect from x[10.0.0.1]",
			     "2023-03-14T00:00:32.000001+01:00 helga postfix/smtpd[1]: connect from x[10.0.0.1]",
			     "2023-03-15T00:00:31.185246+01:00 helga postfix/smtpd[1]: connect from x[10.0.0.1]",
			     "2024-03-14T00:00:31Z helga postfix/smtpd[1]: connect from x[10.0.0.1]",
			     "2023-03-14T00:00:31.1+01:00 helga postfix/smtpd[1]: connect from x[10.0.0.1]"};
	const time_t want[] = {1678752031, 1678752032, 1678838431, 1710374431, 1678752031};
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 5; i++) {
			int k = round == 1 ? 4 - i : i;
			assert_true(mt_ls_parse_hdr(iso[k], strlen(iso[k]), &o24, &h));
			assert_int_equal(h.ts, want[k]);
			assert_int_equal(h.host.n, 5);
			assert_int_equal(h.pid, 1);
			assert_int_equal(h.msg.n, strlen("connect from x[10.0.0.1]"));
		}
	/* AsyncOS native headers whose clock changes under the cached header: the time against
	 * timegm(), 0 for an out-of-range clock (as for any header), refused when not digits */
	static const char *nclk[] = {"23:59:58", "23:59:59", "23:59:60", "23:59:61", "24:00:00", "00:00:00", "09:59:59",
				     "10:00:00", "1x:00:00", "10:60:00", "10:00:01", "10:00:01", "10:00:02"};
	for (int pass = 0; pass < 2; pass++)
		for (size_t c = 0; c < sizeof nclk / sizeof nclk[0]; c++) {
			const char *ck = nclk[pass ? sizeof nclk / sizeof nclk[0] - 1 - c : c];
			char ln[80];
			int n = snprintf(ln, sizeof ln, "Mon Jan  1 %s 2024 Info: ICID 7 close", ck);
			struct mt_ls_event ev;
			memset(&ev, 0, sizeof ev);
			int r = mt_ls_parse_line(ln, (size_t)n, &o24, &ev);
			int hh = (ck[0] - '0') * 10 + (ck[1] - '0'), mm = (ck[3] - '0') * 10 + (ck[4] - '0'),
			    ss = (ck[6] - '0') * 10 + (ck[7] - '0');
			if (ck[1] == 'x') {
				assert_int_equal(r, MT_LS_UNPARSED);
				continue;
			}
			assert_int_equal(r, MT_LS_EVENT);
			time_t exp = hh > 23 || mm > 59 || ss > 60 ? 0 : 1704067200 + hh * 3600 + mm * 60 + ss;
			if (ev.ts != exp)
				fail_msg("native clock %s: ts %lld, want %lld", ck, (long long)ev.ts, (long long)exp);
		}
	/* a malformed clock is refused even right after a good one with the same text around it */
	const char *bad = "Jan  1 00:0x:05 mx postfix/smtpd[1]: connect from x[10.0.0.1]";
	assert_false(mt_ls_parse_hdr(bad, strlen(bad), &o24, &h) && h.ts == t[0]);
}

static void test_keytab_prefixes(void **state)
{
	(void)state;
	struct mt_ls_sum s;
	assert_int_equal(mt_ls_sum_init(&s, 0, 100000), 0);
	char key[64];
	/* keys sharing their first 16+ bytes and length differ only at the end */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3000; i++) {
			int n = snprintf(key, sizeof key, "%s%05d", i % 2 ? "a-very-long-shared-prefix.example." : "10.0.", i);
			struct mt_ls_kent *e = mt_ls_keytab_get(&s.ip, key, (size_t)n);
			assert_non_null(e);
			assert_string_equal(e->key, key);
			e->c.total++;
		}
	}
	assert_int_equal(s.ip.n, 3000);
	for (uint32_t i = 0; i < s.ip.n; i++)
		assert_int_equal(s.ip.ents[i].c.total, 3);
	/* a key that is a prefix of another is its own entry */
	struct mt_ls_kent *e1 = mt_ls_keytab_get(&s.domain, "example.org", 11);
	struct mt_ls_kent *e2 = mt_ls_keytab_get(&s.domain, "example.or", 10);
	assert_non_null(e1);
	assert_non_null(e2);
	assert_ptr_not_equal(e1, e2);
	assert_ptr_equal(mt_ls_keytab_get(&s.domain, "example.org", 11), e1);
	mt_ls_sum_free(&s);
}

static void test_hash_spread(void **state)
{
	(void)state;
	/* every length 0..40 hashes, equal input equal hash, a one-byte change changes it */
	char a[48] = {0}, b[48] = {0};
	for (size_t n = 0; n <= 40; n++) {
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] = (char)('a' + rnd() % 26);
		assert_int_equal(mt_ls_hash(a, n, 1), mt_ls_hash(b, n, 1));
		if (n) {
			b[n - 1] ^= 1;
			assert_int_not_equal(mt_ls_hash(a, n, 1), mt_ls_hash(b, n, 1));
		}
		assert_int_not_equal(mt_ls_hash(a, n, 1), mt_ls_hash(a, n, 2));
	}
	/* length is part of the hash: "a\0" and "a" differ */
	assert_int_not_equal(mt_ls_hash("a\0", 2, 0), mt_ls_hash("a", 1, 0));
}

/* The padded paths (a line read from a reader buffer: the cached syslog prefix, the one-load
 * host/tag masks on short lines) give what the unpadded general path gives, line by line,
 * on header shapes near the edges: hosts and tags of every length around 32 bytes, prefixes
 * that differ from the previous line's in one byte, priorities, malformed pids, no space
 * after the colon.  The unpadded copy sits at the very end of its allocation (ASan). */
static void test_padded_header(void **state)
{
	(void)state;
	static const char *base[] = {
	    "Jan  1 00:01:03 mx postfix/smtpd[20003]: connect from c1364.example.org[10.0.5.84]",
	    "Jan  1 00:01:03 mx postfix/qmgr[7]: 0000000543: removed",
	    "Jan  1 00:01:03 mx postfix/smtp[9]: Verified TLS connection established to a.example[10.0.0.2]:25: TLSv1.3 with cipher X (256/256 bits)",
	    "Jan  1 00:01:03 mx postfix/smtp[9]: 0000000543: to=<u@d.example>, relay=a.example[10.0.0.2]:25, delay=1, dsn=2.0.0, status=sent (ok)",
	    "Jan  1 00:01:03 mx postfix/postscreen[5]: PASS OLD [10.0.5.93]:41610",
	    "Jan  1 00:01:03 mx postfix/submission/smtpd[44]: disconnect from x[10.0.0.9]",
	    "Jan  1 00:01:03 mx postfix-out/smtp[45]: 0000000543: to=<u@d.example>, relay=b[10.0.0.3]:25, status=deferred (TLS is required, but was not offered by host b[10.0.0.3])",
	    "Jan  1 00:01:03 mxmxmxmxmxmxmxmxmxmxmxmxmxmxmxmxmx postfix/smtpd[1]: connect from y[10.0.0.5]",
	    "Jan  1 00:01:03 mx postfix/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa[1]: connect from y[10.0.0.5]",
	    "Jan  1 00:01:03 mx postfix/smtpd: connect from y[10.0.0.5]",
	    "Jan  1 00:01:03 mx postfix/smtpd[x1]: connect from y[10.0.0.5]",
	    "Jan  1 00:01:03 mx postfix/smtpd[1]:connect from y[10.0.0.5]",
	    /* the tag cache: the same tag but one pid digit, a tag cut after its colon or space,
	     * a colon before byte 8, a tag whose ": " ends at byte 32 */
	    "Jan  1 00:01:03 mx postfix/smtpd[20004]: connect from c1364.example.org[10.0.5.84]",
	    "Jan  1 00:01:03 mx postfix/smtpd[2000]: connect from c1364.example.org[10.0.5.84]",
	    "Jan  1 00:01:03 mx postfix/smtpd[20003]: ",
	    "Jan  1 00:01:03 mx postfix/smtpd[20003]:",
	    "Jan  1 00:01:03 mx smtp[5]: 0000000543: to=<u@d.example>, relay=a.example[10.0.0.2]:25, status=sent (ok)",
	    "Jan  1 00:01:03 mx postfix/submission/smtpd[123456]: disconnect from x[10.0.0.9]",
	    "Jan  1 00:01:03 mx postfix/submission/smtpd[1234567]: disconnect from x[10.0.0.9]",
	    /* Postfix 3.11's tls=; consolidated events under a log subscription's tag (that tag's
	     * other lines, another product's CEF, the level word) */
	    "Jan  1 00:01:03 mx postfix/smtp[9]: 0000000543: to=<u@d.example>, relay=a.example[10.0.0.2]:25, delay=1, tls=dane/requiretls, dsn=2.0.0, status=sent (ok)",
	    "Jan  1 00:01:03 esa1 consolidated_logs: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=97 ESAICID=5",
	    "Jan  1 00:01:03 esa1 consolidated_logs: Info: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=98",
	    "Jan  1 00:01:03 esa1 consolidated_logs: log rolled over",
	    "Jan  1 00:01:03 fw1 ids: CEF:0|Vendor|Prod|1.0|100|short",
	    /* pids too long for a long (the fuzzer's find: a signed overflow, now saturated) */
	    "Jan  1 00:01:03 mx postfix/smtpd[777777777777777777777777]: connect from y[10.0.0.5]",
	    "Jan  1 00:01:03 mx level postfix/smtpd[66666666666666666666666]: connect from y[10.0.0.5]",
	    "2024-01-01 00:01:03 [99999999999999999999999] 1abcde-000001-AB <= a@b H=x [10.0.0.9] X=TLS1.3:X:256 CV=no",
	    "Jan  1 00:01:03 mx postfix[1]: connect from y[10.0.0.5]",
	    "Jan  1 00:01:03 mx level postfix/smtpd[1]: connect from y[10.0.0.5]",
	    "<22>Jan  1 00:01:03 mx postfix/smtpd[1]: connect from y[10.0.0.5]",
	    "<166>Mar 17 18:24:37 esa1 mail_logs: Info: New SMTP ICID 5 interface Data 1 (192.0.2.1) address 10.0.0.7 reverse dns host a.example verified yes",
	    "<166>Mar 17 18:24:37 esa1 mail_logs: Info: ICID 5 TLS success protocol TLSv1.2 cipher AES128-SHA",
	    "Jan  1 00:01:03 mx sm-mta[77]: x1: from=<a@b>, relay=c [10.0.0.8], STARTTLS=server, version=TLSv1.3, verify=NO, cipher=X, bits=256/256",
	    "Jan  1 00:01:03 mx exim[9]: 2024-01-01 00:01:03 1abcde-000001-AB <= a@b H=x [10.0.0.9] X=TLS1.3:X:256 CV=no",
	    "Jan  1 00:01:03 mx dovecot: imap-login: Login",
	    "Jan  1 00:01:03 mx",
	    "Jan  1 00:01:03 mx ",
	    "Jan  1 00:01:03 mx postfix/smtpd[1]",
	    "Mon Jan  1 00:00:00 2024 Info: ICID 1 close",
	    "2023-03-14T00:00:31.185246+01:00 helga postfix/postscreen[3163107]: PASS OLD [185.48.118.128]:36942",
	    "2023-03-14T00:00:31.296623+01:00 helga postfix/smtpd[297535]: connect from host1.uhu-banane.de[185.48.118.128]",
	    "2023-03-14T00:00:31.296623+01:00  helga postfix/smtpd[297535]: connect from h[10.0.0.1]",
	    "2023-03-14T00:00:31.29+01:00 helga postfix/smtpd[12345678]: connect from h[10.0.0.1]",
	    "2023-03-14T00:00:31Z helga postfix/smtpd[123456789]: connect from h[10.0.0.1]",
	    "2023-03-14T00:00:31.296623-05:00 helga postfix/smtpd[1a]: connect from h[10.0.0.1]",
	    "2023-03-14T00:00:31.296623+01:00 helga postfix/smtpd[12 3]: connect from h[10.0.0.1]",
	    "2023-03-14T00:00:31.296623+01:00 helga postfix/smtpd[]: connect from h[10.0.0.1]",
	    "2023-03-14T00:00:31.296623+01:00 helga postfix/smtpd[0]: connect from h[10.0.0.1]",
	    "2023-03-14 00:00:31.296623+01:00 helga postfix/smtpd[7]: connect from h[10.0.0.1]",
	    "2024-01-01 00:01:03 1abcde-000001-AB <= a@b H=x [10.0.0.9] X=TLS1.3:X:256 CV=no",
	};
	/* the clock changing under a cached prefix: next second, minute, hour, leap second,
	 * out-of-range and non-digit clocks, BSD and RFC 3339 */
	static const char *clocks[] = {"23:59:58", "23:59:59", "23:59:60", "23:59:61", "24:00:00", "00:00:00", "09:59:59",
				       "10:00:00", "1x:00:00", "10:60:00", "10:00:01", "10:00:01"};
	const char *shapes[] = {"Jan  1 %s mx postfix/smtpd[1]: connect from y[10.0.0.5]",
				"2023-03-14T%s.185246+01:00 helga postfix/smtpd[1]: connect from y[10.0.0.5]"};
	for (int sh = 0; sh < 2; sh++)
		for (int pass = 0; pass < 2; pass++)
			for (size_t c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
				struct mt_ls_parse_opts op1 = {.year = 2024, .padded = true}, ou1 = {.year = 2024};
				char buf[200 + 64];
				memset(buf, 0, sizeof buf);
				int n = snprintf(buf, 200, shapes[sh], clocks[pass ? sizeof clocks / sizeof clocks[0] - 1 - c : c]);
				struct mt_ls_event ep, eu;
				memset(&ep, 0, sizeof ep);
				memset(&eu, 0, sizeof eu);
				int rp = mt_ls_parse_line(buf, (size_t)n, &op1, &ep), ru = mt_ls_parse_line(buf, (size_t)n, &ou1, &eu);
				if (rp != ru || ep.ts != eu.ts)
					fail_msg("clock: padded %d ts %lld, unpadded %d ts %lld on: %s", rp, (long long)ep.ts, ru,
						 (long long)eu.ts, buf);
			}
	const size_t nb = sizeof base / sizeof base[0];
	const char alpha[] = " [:/]0a";
	/* ISO (rsyslog RFC 3339) stamps: the per-second cache and the in-place fraction check;
	 * pids of 1 to 9 digits: the one-word conversion and its fallback */
	struct mt_ls_parse_opts op = {.year = 2024, .padded = true}, ou = {.year = 2024};
	char *pad = calloc(1, 512 + 64);
	char line[400];
	for (int iter = 0; iter < 300000; iter++) {
		const char *b = base[rnd() % nb];
		size_t n = strlen(b);
		memcpy(line, b, n);
		int r = rnd() % 8;
		if (r == 0 && n > 16) /* one byte in the prefix or the tag changed */
			line[16 + rnd() % (n - 16 < 48 ? n - 16 : 48)] = alpha[rnd() % 7];
		else if (r == 3 && n > 40) /* a digit or a separator anywhere in the first 40 bytes */
			line[rnd() % 40] = "0123456789 :.+-T]["[rnd() % 18];
		else if (r == 1 && n > 20) /* cut short */
			n = 16 + rnd() % (n - 16);
		else if (r == 2 && n + 8 < sizeof line && n > 19) { /* the host grows */
			size_t k = 1 + rnd() % 8;
			memmove(line + 19 + k, line + 19, n - 19);
			memset(line + 19, 'h', k);
			n += k;
		}
		memcpy(pad, line, n);
		memset(pad + n, rnd() % 2 ? 0 : ':', 64); /* the pad may hold anything */
		char *u = malloc(n ? n : 1);
		memcpy(u, line, n);
		struct mt_ls_event ep, eu;
		memset(&ep, 0, sizeof ep);
		memset(&eu, 0, sizeof eu);
		int rp = mt_ls_parse_line(pad, n, &op, &ep);
		int ru = mt_ls_parse_line(u, n, &ou, &eu);
		if (rp != ru || (rp == MT_LS_EVENT && !ls_ev_eq(&ep, &eu)))
			fail_msg("padded and unpadded parses differ (%d vs %d) on: %.*s", rp, ru, (int)n, line);
		free(u);
	}
	/* a consolidated event under a subscription's tag is one, through the tag cache too
	 * (the tag first cached by a line of no known format) */
	static const char *sub[] = {"Jan  1 00:01:04 esa1 subs: log rolled over",
				    "Jan  1 00:01:04 esa1 subs: CEF:0|Cisco|C100V|13.0|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=7",
				    "Jan  1 00:01:04 esa1 subs: Info: CEF:0|Cisco|C100V|13.0|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=8"};
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(sub[k]);
		memcpy(pad, sub[k], n);
		memset(pad + n, 0, 64);
		struct mt_ls_event e;
		assert_int_equal(mt_ls_parse_line(pad, n, &op, &e), k ? MT_LS_EVENT : MT_LS_IGNORED);
		if (k)
			assert_int_equal(e.kind, MT_LS_EV_SUMMARY);
	}
	free(pad);
}

/* Postfix delivery lines: the in-order read of to=, orig_to=, relay= and status= finds the
 * fields the key searches find, on shapes built from pieces that break it (spaces and
 * commas inside values, keys inside values, missing fields, other orders). */
static void test_postfix_delivery_fields(void **state)
{
	(void)state;
	unsigned g_levels = 0; /* lines whose tls= was read: the check below must have run */
	static const char *tos[] = {"<u@d.example>", "<a,b@d.example>", "<\"a b\"@d.example>", "<status=x@d.example>",
				    "<u@relay=d.example>", "<u@d.example>,", "", "<x relay=y@z>", "<\"x tls=bogus\"@d.example>",
				    "<\"a, tls=b\"@d.example>"};
	enum { NTOS = sizeof tos / sizeof tos[0] };
	static const char *origs[] = {"", "orig_to=<o@e.example>, ", "orig_to=<o p@e.example>, ", "orig_to=, "};
	static const char *relays[] = {"mx.d.example[10.0.0.1]:25", "none", "a b[10.0.0.2]:25", "x[10.0.0.3]:25,y",
				       "", "status=z[10.0.0.4]:25", "m[10.0.0.5]:65536", "m[10.0.0.6]:2526", "m[10.0.0.7]"};
	static const char *mids[] = {", delay=1, delays=0/0/0/0, dsn=2.0.0, ", ", ", ", xstatus=q, ", " ",
				     ", conn_use=2, delay=1, ", ", conn_use=65539, delay=1, ", ", conn_use=x, ",
				     /* Postfix 3.11's tls= (read in the 64 bytes before status=) */
				     ", delay=1, delays=0/0/0/0, tls=may, dsn=2.0.0, ", ", tls=dane/requiretls, ", ", tls=, ",
				     ", xtls=may, dsn=2.0.0, ", ", tls=may:none,dsn=2.0.0, ",
				     ", tls=may, delay=1000.5, delays=0.08/0.02/0.85/0.14, dsn=2.1.5, x=aaaaaaaaaaaa, "};
	enum { NMIDS = sizeof mids / sizeof mids[0] };
	static const char *stats[] = {"status=sent (250 ok)", "status=deferred (TLS is required, but was not offered by host x[10.0.0.9])",
				      "status=bounced", "status=", "sent (250 ok)"};
	struct mt_ls_parse_opts o = {.year = 2024};
	char line[512];
	for (int iter = 0; iter < 100000; iter++) {
		const char *to = tos[rnd() % NTOS], *orig = origs[rnd() % 4], *relay = relays[rnd() % 9], *mid = mids[rnd() % NMIDS],
			   *st = stats[rnd() % 5];
		int n;
		if (rnd() % 4)
			n = snprintf(line, sizeof line, "Jan  1 00:00:01 mx postfix/smtp[9]: 0A1B2C3D4E: to=%s, %srelay=%s%s%s", to,
				     orig, relay, mid, st);
		else /* relay before to: the searches only */
			n = snprintf(line, sizeof line, "Jan  1 00:00:01 mx postfix/smtp[9]: 0A1B2C3D4E: to=%s, relay=%s, %s%s", to,
				     relay, orig, st);
		char *u = malloc((size_t)n);
		memcpy(u, line, (size_t)n);
		struct mt_ls_event ev;
		memset(&ev, 0, sizeof ev);
		int r = mt_ls_parse_line(u, (size_t)n, &o, &ev);
		/* the reference: the three key searches over the text after "QUEUEID: " */
		const char *body = memmem(u, (size_t)n, "to=", 3); /* u is not terminated */
		struct mt_ls_str b = {body, (size_t)(u + n - body)};
		struct mt_ls_str kto = mt_ls_kvn(b, "to=", 3, ','), krelay = mt_ls_kvn(b, "relay=", 6, ','),
				 kst = mt_ls_kvn(b, "status=", 7, ' ');
		if (!kto.p || !kst.p) {
			assert_int_equal(r, MT_LS_IGNORED);
		} else if (r == MT_LS_EVENT && (ev.kind == MT_LS_EV_DELIVERY || (ev.kind == MT_LS_EV_REQFAIL && ev.ip.n))) {
			struct mt_ls_str d = mt_ls_addr_domain(kto);
			if ((ev.kind == MT_LS_EV_DELIVERY && !ls_str_eq(ev.status, kst)) || !ls_str_eq(ev.rcpt_domain, d))
				fail_msg("fields differ on: %s", line);
			struct mt_ls_str host, ip;
			assert_true(krelay.p && mt_ls_host_ip(krelay, &host, &ip));
			if (!ls_str_eq(ev.host, host) || !ls_str_eq(ev.ip, ip))
				fail_msg("relay differs on: %s", line);
			/* the port after "]:" (1-5 digits, at most 65535) and conn_use (capped) */
			unsigned port = 0, use = 0;
			const char *rb = ip.p + ip.n;
			if (rb + 2 <= krelay.p + krelay.n && rb[1] == ':') {
				size_t i = 2;
				while (rb + i < krelay.p + krelay.n && rb[i] >= '0' && rb[i] <= '9' && i < 8)
					port = port * 10 + (unsigned)(rb[i++] - '0');
				if (i > 7 || port > 65535)
					port = 0;
			}
			struct mt_ls_str ku = mt_ls_kvn(b, "conn_use=", 9, ',');
			for (size_t i = 0; ku.p && i < ku.n && ku.p[i] >= '0' && ku.p[i] <= '9'; i++)
				use = use * 10 + (unsigned)(ku.p[i] - '0');
			if (use > 65535)
				use = 65535;
			if (ev.port != port || ev.conn_use != use)
				fail_msg("port %u conn_use %u, want %u %u on: %s", ev.port, ev.conn_use, port, use, line);
		} else if (r == MT_LS_EVENT && ev.kind == MT_LS_EV_REQFAIL) {
			if (!ls_str_eq(ev.rcpt_domain, mt_ls_addr_domain(kto)))
				fail_msg("reqfail domain differs on: %s", line);
		} else {
			/* ignored: no relay with an address, or not sent over the network */
			assert_int_equal(r, MT_LS_IGNORED);
			assert_true(!krelay.p || !memchr(krelay.p, '[', krelay.n) || (krelay.n >= 4 && !memcmp(krelay.p, "none", 4)));
		}
		if (kto.p && kst.p && r == MT_LS_EVENT && (ev.kind == MT_LS_EV_DELIVERY || ev.kind == MT_LS_EV_REQFAIL)) {
			/* tls=: the last ", tls=" whose ',' is among the 64 bytes before " status=" and
			 * after where to= and relay= end, its value to the next ',' (both paths) */
			struct mt_ls_str want = {NULL, 0};
			const char *end = kst.p - 8;
			if (end >= b.p && *end == ' ') {
				const char *from = kto.p + kto.n, *hit = NULL;
				if (krelay.p && krelay.p + krelay.n > from)
					from = krelay.p + krelay.n;
				const char *lo = end - from > 64 ? end - 64 : from;
				for (const char *q = end - 5; q - 2 >= lo && !hit; q--)
					if (memcmp(q - 2, ", tls=", 6) == 0)
						hit = q;
				const char *c = hit ? memchr(hit + 4, ',', (size_t)(end - hit - 4)) : NULL;
				if (c)
					want = (struct mt_ls_str){hit + 4, (size_t)(c - hit - 4)};
			}
			if (ev.level.n != want.n || (want.n && memcmp(ev.level.p, want.p, want.n) != 0))
				fail_msg("level '%.*s', want '%.*s' on: %s", (int)ev.level.n, ev.level.p, (int)want.n, want.p, line);
			if (want.n)
				g_levels++;
		}
		free(u);
	}
	assert_true(g_levels > 1000);
}

/* mt_ls_num's 16-byte path against a digit loop: every length of digits 0..20, followed by
 * the bytes just outside '0'..'9' and high bytes, at every length of the string around 16. */
static void test_num_random(void **state)
{
	(void)state;
	const char stops[] = {'/', ':', ' ', (char)0xb0, (char)0x80, 'a', '\0'};
	char *buf = malloc(64);
	for (int iter = 0; iter < 200000; iter++) {
		size_t n = rnd() % 40, nd = rnd() % 21;
		char *p = buf + 64 - n; /* at the end of the allocation: ASan sees a read past it */
		for (size_t i = 0; i < n; i++)
			p[i] = i < nd ? (char)('0' + rnd() % 10) : stops[rnd() % 7];
		uint64_t ref = 0;
		size_t k = 0;
		while (k < n && k < 19 && p[k] >= '0' && p[k] <= '9')
			ref = ref * 10 + (uint64_t)(p[k++] - '0');
		uint64_t v = 12345;
		size_t got = mt_ls_num((struct mt_ls_str){p, n}, &v);
		if (got != k || v != ref)
			fail_msg("mt_ls_num: %zu digits value %llu, want %zu / %llu (n %zu)", got, (unsigned long long)v, k,
				 (unsigned long long)ref, n);
		assert_int_equal(mt_ls_num((struct mt_ls_str){p, n}, NULL), k);
	}
	free(buf);
}

/* mt_ls_addr_domain (last '@', then up to '>', ',', ' ' or '"') against byte loops. */
static void test_addr_domain_random(void **state)
{
	(void)state;
	const char alpha[] = "a.@>, \"x";
	char *buf = malloc(80);
	for (int iter = 0; iter < 200000; iter++) {
		size_t n = rnd() % 60;
		char *p = buf + 80 - n;
		for (size_t i = 0; i < n; i++)
			p[i] = rnd() % 3 ? 'a' + (char)(rnd() % 3) : alpha[rnd() % 8];
		const char *at = NULL;
		for (size_t i = 0; i < n; i++)
			if (p[i] == '@')
				at = p + i;
		struct mt_ls_str got = mt_ls_addr_domain((struct mt_ls_str){p, n});
		if (!at) {
			assert_null(got.p);
			continue;
		}
		size_t k = 0, rest = n - (size_t)(at + 1 - p);
		while (k < rest && at[1 + k] != '>' && at[1 + k] != ',' && at[1 + k] != ' ' && at[1 + k] != '"')
			k++;
		if (got.p != at + 1 || got.n != k)
			fail_msg("addr_domain of %.*s: %zu bytes, want %zu", (int)n, p, got.n, k);
	}
	free(buf);
}

/* Postfix queue ids (the one-step class masks) against the rule written as loops: a leading
 * run of 5..20 letters and digits ending in ": ", all upper-case hex when shorter than 12. */
static size_t ref_qid(const char *p, size_t n)
{
	size_t i = 0, lim = n < 20 ? n : 20;
	while (i < lim && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
		i++;
	if (i < 5 || i + 1 >= n || p[i] != ':' || p[i + 1] != ' ')
		return 0;
	for (size_t k = 0; i < 12 && k < i; k++)
		if (!((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'A' && p[k] <= 'F')))
			return 0;
	return i;
}

static void test_postfix_queue_id(void **state)
{
	(void)state;
	const char alpha[] = "0123456789ABCDEFGZafz:@/` [{";
	const char *tails[] = {"removed", "removed x", "", "r"};
	struct mt_ls_parse_opts o = {.year = 2024};
	char line[128];
	for (int iter = 0; iter < 200000; iter++) {
		size_t q = rnd() % 23, pre = (size_t)snprintf(line, sizeof line, "Jan  1 00:00:01 mx postfix/qmgr[7]: ");
		for (size_t i = 0; i < q; i++)
			line[pre + i] = rnd() % 4 ? "0123456789ABCDEF"[rnd() % 16] : alpha[rnd() % (sizeof alpha - 1)];
		size_t n = pre + q;
		if (rnd() % 4) {
			line[n++] = ':';
			line[n++] = ' ';
		}
		const char *t = tails[rnd() % 4];
		memcpy(line + n, t, strlen(t));
		n += strlen(t);
		char *u = malloc(n);
		memcpy(u, line, n);
		struct mt_ls_event ev;
		memset(&ev, 0, sizeof ev);
		int r = mt_ls_parse_line(u, n, &o, &ev);
		const char *m = u + pre;
		size_t mn = n - pre, want = mn >= 8 ? ref_qid(m, mn) : 0;
		bool done = want && mn - want - 2 >= 7 && memcmp(m + want + 2, "removed", 7) == 0;
		if (done != (r == MT_LS_EVENT && ev.kind == MT_LS_EV_MSG_DONE) || (done && (ev.msgid.p != m || ev.msgid.n != want)))
			fail_msg("queue id of %.*s: result %d, want id length %zu", (int)mn, m, r, want);
		free(u);
	}
}

/* The peer domain a host is counted under: the table (registrable-looking part, lower case,
 * address literals and empty names as "(unknown)"), then random names against a plain
 * per-byte lowercase of the same cut (the word-at-a-time lowercase). */
static void test_host_domain(void **state)
{
	(void)state;
	static const struct {
		const char *host, *want;
	} rows[] = {
	    {"mail.example.co.uk", "example.co.uk"},
	    {"a.b.mail.example.co.uk", "example.co.uk"},
	    {"example.co.uk", "example.co.uk"},
	    {"co.uk", "co.uk"},
	    {"mx.x.com.au", "x.com.au"},
	    {"mail.google.de", "google.de"},
	    {"a.b.example.com", "example.com"},
	    {"Mail.Example.COM.", "example.com"},
	    {"MX1.SUB.EXAMPLE.ORG", "example.org"},
	    {"localhost", "localhost"},
	    {"LocalHost", "localhost"},
	    {"10.0.0.1", "(unknown)"},
	    {"2001:db8::1", "(unknown)"},
	    {"mail:example.com", "(unknown)"},
	    {"", "(unknown)"},
	    {"....", "(unknown)"},
	    {"\xc3\x84X.Example.Com", "example.com"},
	    {"\xc3\x84\xc3\x96.DE", "\xc3\x84\xc3\x96.de"},
	};
	char out[128];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		mt_ls_host_domain(rows[i].host, out, sizeof out);
		if (strcmp(out, rows[i].want) != 0)
			fail_msg("host_domain(%s) = %s, want %s", rows[i].host, out, rows[i].want);
	}
	/* a short output buffer cuts, never overflows */
	char small[6];
	size_t n = mt_ls_host_domain_n("mx.example.org", 14, small, sizeof small);
	assert_int_equal(n, 5);
	assert_string_equal(small, "examp");
	/* every byte value through the lowercase, at every length */
	for (int iter = 0; iter < 20000; iter++) {
		char host[64];
		size_t len = 1 + rnd() % 40;
		for (size_t k = 0; k < len; k++)
			host[k] = (char)(rnd() % 4 == 0 ? '.' : rnd() % 2 ? 'A' + rnd() % 26 : (int)(rnd() % 256));
		host[0] = 'Q'; /* a letter: a name */
		host[len] = '\0';
		for (size_t k = 0; k < len; k++)
			if (host[k] == ':' || host[k] == '\0')
				host[k] = 'z';
		size_t got = mt_ls_host_domain_n(host, len, out, sizeof out);
		/* the cut: after the second-last dot, or the third-last under a short ccSLD */
		size_t m = len;
		while (m && host[m - 1] == '.')
			m--;
		size_t cut = 0, dots[3], nd = 0;
		for (size_t k = m; k-- > 0 && nd < 3;)
			if (host[k] == '.')
				dots[nd++] = k;
		if (nd >= 2) {
			bool cc = m - dots[0] - 1 == 2 && dots[0] - dots[1] - 1 <= 3;
			cut = !cc ? dots[1] + 1 : nd == 3 ? dots[2] + 1 : 0;
		}
		char want[64];
		for (size_t k = cut; k < m; k++)
			want[k - cut] = host[k] >= 'A' && host[k] <= 'Z' ? (char)(host[k] + 32) : host[k];
		want[m - cut] = '\0';
		if (got != m - cut || strcmp(out, want) != 0)
			fail_msg("host_domain(%s) = %s, want %s", host, out, want);
	}
	/* a connection's domain (the one-pass path for names under 32 bytes) against the
	 * general functions, on names of every length around 32 with dots, colons, digits */
	static const char alpha[] = "aZ.:9-x.";
	for (int iter = 0; iter < 50000; iter++) {
		struct mt_ls_conn c;
		memset(&c, 'Q', sizeof c); /* bytes past the terminator are not zero */
		c.dir = rnd() % 2 ? MT_LS_DIR_OUT : MT_LS_DIR_IN;
		size_t hn = rnd() % 40, dn = rnd() % 3 == 0 ? 0 : rnd() % 40;
		for (size_t k = 0; k < hn; k++)
			c.host[k] = alpha[rnd() % 8];
		c.host[hn] = '\0';
		for (size_t k = 0; k < dn; k++)
			c.domain[k] = alpha[rnd() % 8];
		c.domain[dn] = '\0';
		char want[128], got[128];
		size_t wn;
		if (c.dir == MT_LS_DIR_OUT && dn) {
			for (size_t k = 0; k < dn; k++)
				want[k] = c.domain[k] >= 'A' && c.domain[k] <= 'Z' ? (char)(c.domain[k] + 32) : c.domain[k];
			want[dn] = '\0';
			wn = dn;
		} else {
			wn = mt_ls_host_domain_n(c.host, hn, want, sizeof want);
		}
		size_t gn = mt_ls_conn_domain_n(&c, got, sizeof got);
		if (gn != wn || strcmp(got, want) != 0)
			fail_msg("conn_domain(host %s, domain %s, dir %d) = %s, want %s", c.host, c.domain, c.dir, got, want);
	}
}

/* Exim lines: the one-pass field index finds the values the key searches find (fields in any
 * order, keys inside other values, quoted values), and a line in the second of the last
 * stamp read (the cached header) parses as it does through the general header path. */
static void test_exim_fields(void **state)
{
	(void)state;
	static const char *const pool[] = {
	    "H=c1.example.org (helo) [192.0.2.1]", "H=[192.0.2.2]", "H=(helo) [192.0.2.3]", "P=esmtps", "P=local",
	    "P=esmtpsa", "X=TLS1.3:TLS_AES_256_GCM_SHA384:256", "X=TLS1.2:ECDHE-RSA-AES128-GCM-SHA256:128", "X=",
	    "CV=yes", "CV=no", "CV=dane", "DN=\"/CN=a X=b CV=c\"", "DN=\"/O=x\"", "SNI=mx.example.net", "S=1000",
	    "id=<1 X=TLS9@y>", "XH=foo", "AH=bar", "SNIX=z", "K", "H=", "x=1",
	};
	const size_t np = sizeof pool / sizeof pool[0];
	const struct mt_ls_parse_opts o = {.year = 2024};
	char line[1024];
	for (int iter = 0; iter < 4000; iter++) {
		size_t n = (size_t)snprintf(line, sizeof line, "2024-01-01 00:00:%02u%s%s 0003E9-000000-AB %s a@example.org",
					    rnd() % 60, rnd() % 3 ? "" : " +0100", rnd() % 3 ? "" : " [4242]", rnd() % 2 ? "<=" : "=>");
		for (unsigned k = rnd() % 9; k; k--)
			n += (size_t)snprintf(line + n, sizeof line - n, " %s", pool[rnd() % np]);
		/* a different second first: the general header path; then again: the cached one */
		const char *other = "2023-12-31 23:59:59 other line";
		struct mt_ls_event e1, e2, e0;
		memset(&e1, 0, sizeof e1);
		memset(&e2, 0, sizeof e2);
		(void)mt_ls_parse_line(other, strlen(other), &o, &e0);
		int r1 = mt_ls_parse_line(line, n, &o, &e1);
		int r2 = mt_ls_parse_line(line, n, &o, &e2);
		if (r1 != r2 || (r1 == MT_LS_EVENT && !ls_ev_eq(&e1, &e2)))
			fail_msg("cached and general Exim header differ on: %s", line);
		if (r1 != MT_LS_EVENT || e1.kind != MT_LS_EV_MSG_RECV || e1.local || !e1.ip.n)
			continue;
		/* the reference: each key searched for on its own */
		const char *arrow = strstr(line, " <= ");
		struct mt_ls_str rest = {arrow + 1, n - (size_t)(arrow + 1 - line)};
		struct mt_ls_str x = mt_ls_kv(rest, "X=", ' '), cv = mt_ls_kv(rest, "CV=", ' '), dn = mt_ls_kv(rest, "DN=", ' '),
				 sni = mt_ls_kv(rest, "SNI=", ' ');
		bool tls = x.p && x.n;
		assert_int_equal(e1.tls, tls ? MT_LS_TLS_OK : MT_LS_TLS_NONE);
		if (!tls)
			continue;
		struct mt_ls_str *got[] = {&e1.verify, &e1.cert, &e1.domain}, *want[] = {&cv, &dn, &sni};
		for (int k = 0; k < 3; k++)
			if (got[k]->n != want[k]->n || got[k]->p != want[k]->p)
				fail_msg("field %d differs from the key search on: %s", k, line);
	}
}

/* Sendmail lines: the one-pass field index finds the values the key searches find. */
static void test_sendmail_fields(void **state)
{
	(void)state;
	static const char *const pool[] = {
	    "relay=c1.example.org [192.0.2.1]", "relay=[192.0.2.2]", "relay=mx.example.com.", "version=TLSv1.3",
	    "version=TLSv1.2", "verify=OK", "verify=FAIL", "verify=NO", "cipher=ECDHE-RSA-AES256-GCM-SHA384",
	    "bits=256/256", "bits=x", "proto=ESMTPS", "proto=ESMTP", "mailer=esmtp", "mailer=local", "stat=Sent (ok x=1)",
	    "to=<u@example.net>", "to=a@x,b@y", "ctladdr=<r@x> (0/0)", "xversion=1", "v=", "reverify=1", "msg=\"relay=z\"",
	};
	const size_t np = sizeof pool / sizeof pool[0];
	const struct mt_ls_parse_opts o = {.year = 2024};
	char line[1024];
	for (int iter = 0; iter < 4000; iter++) {
		static const char *const start[] = {"STARTTLS=server", "STARTTLS=client", "q000000003EE: from=<a@x>",
						    "q000000003EE: to=<b@y>"};
		int st = (int)(rnd() % 4);
		size_t n = (size_t)snprintf(line, sizeof line, "Jan  1 00:00:00 mx sm-mta[1001]: %s", start[st]);
		for (unsigned k = rnd() % 9; k; k--)
			n += (size_t)snprintf(line + n, sizeof line - n, ", %s", pool[rnd() % np]);
		struct mt_ls_event e;
		memset(&e, 0, sizeof e);
		if (mt_ls_parse_line(line, n, &o, &e) != MT_LS_EVENT)
			continue;
		const char *body = strchr(line, ']') + 3;
		struct mt_ls_str r = {body, n - (size_t)(body - line)};
		if (st < 2) {
			r = mt_ls_sub(r, 15);
			struct mt_ls_str ver = mt_ls_kv(r, "version=", ','), vfy = mt_ls_kv(r, "verify=", ','),
					 ci = mt_ls_kv(r, "cipher=", ',');
			if (e.kind != MT_LS_EV_CONN_TLS)
				continue;
			if (e.proto.p != ver.p || e.proto.n != ver.n || e.verify.p != vfy.p || e.verify.n != vfy.n ||
			    e.cipher.p != ci.p || e.cipher.n != ci.n)
				fail_msg("a STARTTLS field differs from the key search on: %s", line);
		} else if (st == 3) {
			struct mt_ls_str stat = mt_ls_kv(r, "stat=", ' ');
			if (e.status.p != stat.p || e.status.n != stat.n)
				fail_msg("stat= differs from the key search on: %s", line);
		}
		struct mt_ls_str rel = mt_ls_kv(r, "relay=", ',');
		const char *lb = rel.p ? memchr(rel.p, '[', rel.n) : NULL;
		if (lb && memchr(lb, ']', rel.n - (size_t)(lb - rel.p)) && lb[1] != ']' && e.ip.p != lb + 1)
			fail_msg("relay address differs from the key search on: %s", line);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_findn_random),      cmocka_unit_test(test_kv_random),
	    cmocka_unit_test(test_set_control_bytes), cmocka_unit_test(test_ts_cache),
	    cmocka_unit_test(test_keytab_prefixes),   cmocka_unit_test(test_hash_spread),
	    cmocka_unit_test(test_padded_header),     cmocka_unit_test(test_postfix_delivery_fields),
	    cmocka_unit_test(test_num_random),        cmocka_unit_test(test_addr_domain_random),
	    cmocka_unit_test(test_postfix_queue_id),  cmocka_unit_test(test_host_domain),
	    cmocka_unit_test(test_exim_fields),       cmocka_unit_test(test_sendmail_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

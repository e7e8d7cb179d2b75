/* dns_query_test.c — the DNS module (core/dns/dns.c) against the test DNS server
 * (tests/fixtures/dnsfix) on a loopback port: every DNSSEC state, NODATA vs NXDOMAIN, CNAME
 * chains, MX order and null MX, TXT strings joined, TLSA decoding, TCP after truncation,
 * an unreachable resolver, and name normalisation. Loopback only.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailtls/dns.h"

static char dir[256];
static pid_t server = -1;
static int port;

static void write_file(const char *name, const char *text)
{
	char p[400];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

static struct mt_dns *resolver(void)
{
	char srv[64];
	snprintf(srv, sizeof srv, "127.0.0.1:%d", port);
	struct mt_dns *d = NULL;
	struct mt_err err = {""};
	if (mt_dns_new(srv, 2000, &d, &err) != MT_OK)
		fail_msg("mt_dns_new: %s", err.msg);
	return d;
}

static void q(struct mt_dns *d, const char *name, uint16_t type, struct mt_dns_answer *a,
	      enum mt_dns_state want, size_t nwant)
{
	mt_dns_query(d, name, type, a);
	if (a->state != want || a->n != nwant)
		fail_msg("%s %s: got %s with %zu records (%s), want %s with %zu", name,
			 mt_dns_type_name(type), mt_dns_state_name(a->state), a->n, a->error,
			 mt_dns_state_name(want), nwant);
}

static void test_states(void **state)
{
	(void)state;
	struct mt_dns *d = resolver();
	struct mt_dns_answer a;
	q(d, "a.sec.test", MT_DNS_A, &a, MT_DNS_SECURE, 2);
	assert_true(a.ad);
	assert_string_equal(a.rrs[0].host, "127.0.0.2");
	mt_dns_answer_free(&a);
	q(d, "A.SEC.TEST.", MT_DNS_A, &a, MT_DNS_SECURE, 2); /* case, trailing dot */
	mt_dns_answer_free(&a);
	q(d, "a.ins.test", MT_DNS_A, &a, MT_DNS_INSECURE, 1);
	assert_false(a.ad);
	mt_dns_answer_free(&a);
	q(d, "a.sec.test", MT_DNS_AAAA, &a, MT_DNS_SECURE, 1);
	assert_string_equal(a.rrs[0].host, "::1");
	mt_dns_answer_free(&a);
	/* NODATA: the name exists, no TLSA: secure with no records, not a failure */
	q(d, "a.sec.test", MT_DNS_TLSA, &a, MT_DNS_SECURE, 0);
	mt_dns_answer_free(&a);
	q(d, "nothere.sec.test", MT_DNS_A, &a, MT_DNS_NXDOMAIN, 0);
	assert_non_null(strstr(a.error, "NXDOMAIN"));
	mt_dns_answer_free(&a);
	q(d, "x.bad.test", MT_DNS_MX, &a, MT_DNS_BOGUS, 0);
	assert_non_null(strstr(a.error, "SERVFAIL"));
	mt_dns_answer_free(&a);
	q(d, "outside.example", MT_DNS_A, &a, MT_DNS_TEMPFAIL, 0); /* REFUSED */
	assert_non_null(strstr(a.error, "REFUSED"));
	mt_dns_answer_free(&a);
	mt_dns_free(d);
}

static void test_timeout(void **state)
{
	(void)state;
	struct mt_dns *d = resolver();
	struct mt_dns_answer a;
	int64_t t0 = mt_now_ms();
	q(d, "x.drop.test", MT_DNS_A, &a, MT_DNS_TEMPFAIL, 0);
	int64_t took = mt_now_ms() - t0;
	if (took > 5000)
		fail_msg("a 2 s lookup budget took %lld ms", (long long)took);
	assert_non_null(strstr(a.error, "no answer"));
	mt_dns_answer_free(&a);
	mt_dns_free(d);
}

static void test_mx(void **state)
{
	(void)state;
	struct mt_dns *d = resolver();
	struct mt_dns_answer a;
	q(d, "multi.sec.test", MT_DNS_MX, &a, MT_DNS_SECURE, 3);
	assert_int_equal(a.rrs[0].pref, 5);
	assert_string_equal(a.rrs[0].host, "mx0.sec.test");
	assert_int_equal(a.rrs[1].pref, 10);
	assert_string_equal(a.rrs[1].host, "mx1.sec.test");
	assert_int_equal(a.rrs[2].pref, 10);
	assert_string_equal(a.rrs[2].host, "mx2.sec.test");
	mt_dns_answer_free(&a);
	q(d, "null.sec.test", MT_DNS_MX, &a, MT_DNS_SECURE, 1);
	assert_int_equal(a.rrs[0].pref, 0);
	assert_string_equal(a.rrs[0].host, "");
	mt_dns_answer_free(&a);
	mt_dns_free(d);
}

static void test_cname(void **state)
{
	(void)state;
	struct mt_dns *d = resolver();
	struct mt_dns_answer a;
	q(d, "alias.sec.test", MT_DNS_A, &a, MT_DNS_SECURE, 2);
	assert_int_equal(a.ncnames, 2);
	assert_string_equal(a.cnames[0], "alias2.sec.test");
	assert_string_equal(a.cnames[1], "a.sec.test");
	assert_string_equal(a.canon, "a.sec.test");
	mt_dns_answer_free(&a);
	/* a CNAME from a signed zone into an unsigned one: insecure as a whole */
	q(d, "toins.sec.test", MT_DNS_A, &a, MT_DNS_INSECURE, 1);
	assert_string_equal(a.canon, "a.ins.test");
	mt_dns_answer_free(&a);
	/* a loop ends with a clear error */
	mt_dns_query(d, "loop1.sec.test", MT_DNS_A, &a);
	assert_int_equal(a.n, 0);
	mt_dns_answer_free(&a);
	mt_dns_free(d);
}

static void test_txt_tlsa(void **state)
{
	(void)state;
	struct mt_dns *d = resolver();
	struct mt_dns_answer a;
	q(d, "_mta-sts.sec.test", MT_DNS_TXT, &a, MT_DNS_SECURE, 1);
	assert_string_equal((const char *)a.rrs[0].data, "v=STSv1; id=abc");
	mt_dns_answer_free(&a);
	q(d, "_25._tcp.a.sec.test", MT_DNS_TLSA, &a, MT_DNS_SECURE, 1);
	assert_int_equal(a.rrs[0].usage, 3);
	assert_int_equal(a.rrs[0].selector, 1);
	assert_int_equal(a.rrs[0].mtype, 1);
	assert_int_equal(a.rrs[0].len, 32);
	assert_int_equal(a.rrs[0].data[0], 0x8a);
	assert_int_equal(a.rrs[0].data[31], 0xc2);
	mt_dns_answer_free(&a);
	/* 40 TXT records of 200 octets: over the UDP size, so TCP */
	q(d, "big.sec.test", MT_DNS_TXT, &a, MT_DNS_SECURE, 40);
	assert_int_equal(a.rrs[0].len, 200);
	mt_dns_answer_free(&a);
	mt_dns_free(d);
}

static void test_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"Example.COM", "example.com"},
	    {"example.com.", "example.com"},
	    {"bücher.example", "xn--bcher-kva.example"},
	    {"_25._tcp.MX.example", "_25._tcp.mx.example"},
	    {"a-b.c", "a-b.c"},
	};
	static const char *const bad[] = {
	    "", ".", "a..b", ".a", "a b.c", "a/b", "-a.", "a.-",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
	};
	char out[256];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct mt_err err = {""};
		if (mt_dns_normalize(ok[i].in, out, sizeof out, &err) != MT_OK)
			fail_msg("%s: %s", ok[i].in, err.msg);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mt_err err = {""};
		if (mt_dns_normalize(bad[i], out, sizeof out, &err) == MT_OK)
			fail_msg("\"%s\" accepted as \"%s\"", bad[i], out);
		assert_true(err.msg[0] != '\0');
	}
	struct mt_dns *d = NULL;
	struct mt_err err = {""};
	assert_int_equal(mt_dns_new("resolver.example", 1000, &d, &err), MT_ERR_USAGE);
	assert_non_null(strstr(err.msg, "not an IP address"));
	assert_int_equal(mt_dns_new("[::1]:53", 1000, &d, &err), MT_OK);
	mt_dns_free(d);
}

static void stop(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	if (dir[0]) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

int main(int argc, char **argv)
{
	char bin[1024];
	const char *slash = strrchr(argv[0], '/');
	snprintf(bin, sizeof bin, "%.*s/../fixtures/dnsfix", slash ? (int)(slash - argv[0]) : 1,
		 slash ? argv[0] : ".");
	if (access(bin, X_OK) != 0)
		snprintf(bin, sizeof bin, "tests/fixtures/dnsfix");
	if (access(bin, X_OK) != 0) {
		printf("tests/fixtures/dnsfix not built (run make)\n");
		return 77;
	}
	(void)argc;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/mailtls-dns-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	atexit(stop);
	write_file("sec.zone",
		   "$ORIGIN sec.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n"
		   "a A 127.0.0.2\na A 127.0.0.3\na AAAA ::1\n"
		   "multi MX 10 mx2\nmulti MX 5 mx0\nmulti MX 10 mx1\n"
		   "null MX 0 .\n"
		   "alias CNAME alias2\nalias2 CNAME a\ntoins CNAME a.ins.test.\n"
		   "loop1 CNAME loop2\nloop2 CNAME loop1\n"
		   "_mta-sts TXT \"v=STSv1; \" \"id=abc\"\n");
	/* a 32-octet TLSA digest and 40 TXT records of 200 octets (too big for UDP) */
	{
		char p[400];
		snprintf(p, sizeof p, "%s/sec.zone", dir);
		FILE *f = fopen(p, "a");
		fprintf(f, "_25._tcp.a TLSA 3 1 1 8a0f");
		for (int i = 0; i < 29; i++)
			fprintf(f, "00");
		fprintf(f, "c2\n");
		for (int i = 0; i < 40; i++) {
			fprintf(f, "big TXT \"%02d", i);
			for (int k = 0; k < 198; k++)
				fputc('x', f);
			fprintf(f, "\"\n");
		}
		fclose(f);
	}
	write_file("ins.zone", "$ORIGIN ins.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\na A 127.0.0.9\n");
	write_file("bad.zone", "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\nx MX 1 a\n");
	write_file("drop.zone", "$ORIGIN drop.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\nx A 127.0.0.1\n");
	int pfd[2];
	if (pipe(pfd) != 0)
		return 1;
	server = fork();
	if (server == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		char z[4][400];
		snprintf(z[0], sizeof z[0], "%s/sec.zone:signed", dir);
		snprintf(z[1], sizeof z[1], "%s/ins.zone", dir);
		snprintf(z[2], sizeof z[2], "%s/bad.zone:bogus", dir);
		snprintf(z[3], sizeof z[3], "%s/drop.zone:drop", dir);
		execl(bin, "dnsfix", "-a", "127.0.0.1", "-p", "0", z[0], z[1], z[2], z[3], (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char line[64] = "";
	FILE *f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof line, f) || sscanf(line, "ready %d", &port) != 1) {
		fprintf(stderr, "dnsfix did not start\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_states),  cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_mx),	    cmocka_unit_test(test_cname),
	    cmocka_unit_test(test_txt_tlsa), cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* relay_test.c — the relay's tables: config errors with file:line, destination controls
 * (ESA names and Postfix levels, routes), durations, envelope addresses and the header
 * address lists -t reads, and the queue's put / load / save / remove round trip.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../relay/relay.h"

static mt_status load(const char *text, struct rl_config *c, struct mt_err *e)
{
	char path[] = "/tmp/rlcfgXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rl_config_init(c);
	mt_status st = rl_config_load(c, path, e);
	unlink(path);
	return st;
}

static void test_config_errors(void **state)
{
	(void)state;
	const struct {
		const char *text;
		int line;
		const char *word;
	} rows[] = {
	    {"# c\n\nbogus = 1\n", 3, "unknown setting 'bogus'"},
	    {"queue_dir = /q\nno equals\n", 2, "expected key = value"},
	    {"workers = 0\n", 1, "from 1 to 1024"},
	    {"workers = many\n", 1, "not a number"},
	    {"max_queue_lifetime = 3 weeks\n", 1, "bad duration"},
	    {"retry = 10 x\n", 1, "bad duration"},
	    {"retry = \n", 1, "at least one interval"},
	    {"tls_alert = perhaps\n", 1, "yes or no"},
	    {"alert_to = nobody\n", 1, "not an address"},
	    {"\n\ndestination = example.com tls=maybe\n", 3, "maybe"},
	    {"destination = example.com tls=Required color=red\n", 1, "unknown setting 'color'"},
	    {"destination = example.com route=[127.0.0.1]:99999\n", 1, "route port"},
	    {"destination = example.com route=[127.0.0.1\n", 1, "expected [host]:port"},
	    {"destination = example.com dane=sometimes\n", 1, "dane=sometimes"},
	    {"destination = tls=Required\n", 1, "not a domain"},
	    {"destination = a@b.example tls=None\n", 1, "not a domain"},
	    {"destination = example.com tls=fingerprint\n", 1, "fingerprint"},
	    {"destination = example.com Required\n", 1, "not key=value"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct rl_config c;
		struct mt_err e;
		mt_status st = load(rows[i].text, &c, &e);
		char want[32];
		snprintf(want, sizeof want, ":%d: ", rows[i].line);
		if (st == MT_OK || !strstr(e.msg, want) || !strstr(e.msg, rows[i].word))
			fail_msg("row %zu: status %d, message '%s' (want line %d and '%s')", i, st,
				 e.msg, rows[i].line, rows[i].word);
		rl_config_free(&c);
	}
}

static void test_destinations(void **state)
{
	(void)state;
	struct rl_config c;
	struct mt_err e;
	assert_int_equal(load("queue_dir = /var/tmp/q\n"
			      "destination = default tls=Required-Verify\n"
			      "destination = Example.COM tls=preferred max_conn=3 "
			      "route=[127.0.0.1]:2525 dane=no mta_sts=off\n"
			      "destination = dane.example tls=dane-only\n"
			      "destination = v6.example tls=encrypt route=[::1]:25\n"
			      "destination = plain.example route=mx.plain.example:587\n"
			      "destination = example.com tls=None\n" /* later wins */
			      "retry = 30 5m 1h\nmax_queue_lifetime = 2d\n",
			      &c, &e),
			 MT_OK);
	assert_int_equal(rl_config_finish(&c, &e), MT_OK);
	assert_string_equal(c.maillog, "/var/tmp/q/mail.log");
	assert_int_equal(c.nretry, 3);
	assert_int_equal(c.retry[1], 300);
	assert_int_equal(c.retry[2], 3600);
	assert_int_equal(c.max_lifetime, 2 * 86400);
	const struct rl_dest *d = rl_config_dest(&c, "example.com");
	assert_string_equal(d->domain, "example.com");
	assert_int_equal(d->policy.level, MT_LEVEL_NONE);
	assert_string_equal(d->route_host, ""); /* the later line replaced the whole control */
	d = rl_config_dest(&c, "EXAMPLE.com");
	assert_string_equal(d->domain, "example.com");
	d = rl_config_dest(&c, "elsewhere.example");
	assert_string_equal(d->domain, "default");
	assert_string_equal(mt_policy_name(&d->policy), "Required-Verify");
	d = rl_config_dest(&c, "dane.example");
	assert_int_equal(d->policy.level, MT_LEVEL_DANE_ONLY);
	d = rl_config_dest(&c, "v6.example");
	assert_string_equal(d->route_host, "::1");
	assert_int_equal(d->route_port, 25);
	assert_int_equal(d->policy.level, MT_LEVEL_ENCRYPT);
	d = rl_config_dest(&c, "plain.example");
	assert_string_equal(d->route_host, "mx.plain.example");
	assert_int_equal(d->route_port, 587);
	assert_string_equal(mt_policy_name(&d->policy), "Preferred"); /* the default tls= */
	rl_config_free(&c);

	struct rl_dest x;
	assert_int_equal(rl_dest_parse("example.org tls=Preferred-Verify max_conn=2 route=[10.0.0.1]", &x, &e), MT_OK);
	assert_string_equal(mt_policy_name(&x.policy), "Preferred-Verify");
	assert_int_equal(x.max_conn, 2);
	assert_int_equal(x.route_port, 25);
	assert_true(x.dane && x.mta_sts);
}

static void test_durations(void **state)
{
	(void)state;
	const struct {
		const char *in;
		long out; /* -1: error */
	} rows[] = {{"0", 0}, {"90", 90}, {"90s", 90}, {"5m", 300}, {"2h", 7200}, {"5d", 432000},
		    {"1w", 604800}, {"", -1}, {"m", -1}, {"5x", -1}, {"-3", -1}, {"5 d", -1},
		    {"99999999999", -1}, {"400d", -1}};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		long v = -7;
		struct mt_err e;
		mt_status st = rl_parse_duration(rows[i].in, &v, &e);
		if (rows[i].out < 0 ? st == MT_OK : (st != MT_OK || v != rows[i].out))
			fail_msg("'%s': status %d value %ld", rows[i].in, st, v);
	}
}

static void test_addresses(void **state)
{
	(void)state;
	const struct {
		const char *a;
		bool null_ok, ok;
	} rows[] = {
	    {"a@b.example", false, true}, {"", true, true}, {"", false, false},
	    {"a b@c.example", false, false}, {"<a@b.example>", false, false}, {"a@", false, false},
	    {"@b.example", false, false}, {"ab.example", false, false}, {"a@b,c@d", false, false},
	    {"\"x y\"@b.example", false, false}, {"a\x01@b.example", false, false},
	    {"first.last+tag@sub.b.example", false, true},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (rl_addr_ok(rows[i].a, rows[i].null_ok) != rows[i].ok)
			fail_msg("row %zu '%s'", i, rows[i].a);

	const struct {
		const char *value;
		const char *want; /* addresses joined by '|' */
	} lists[] = {
	    {" a@x.example", "a@x.example"},
	    {" A <a@x.example>, b@y.example", "a@x.example|b@y.example"},
	    {" \"Last, First\" <c@z.example>", "c@z.example"},
	    {" team: a@x.example, b@y.example;, d@w.example", "a@x.example|b@y.example|d@w.example"},
	    {" a@x.example (the boss), A@X.example", "a@x.example"},
	    {" undisclosed-recipients:;", ""},
	    {"\r\n\tfolded@x.example\r\n", "folded@x.example"},
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		struct rl_addrs a = {0};
		assert_true(rl_parse_addr_list(lists[i].value, &a));
		char got[512] = "";
		for (size_t k = 0; k < a.n; k++) {
			strcat(got, k ? "|" : "");
			strcat(got, a.v[k]);
		}
		if (strcmp(got, lists[i].want))
			fail_msg("list %zu: got '%s' want '%s'", i, got, lists[i].want);
		rl_addrs_free(&a);
	}
	char d[64];
	rl_addr_domain("x@Mail.EXAMPLE.com", d, sizeof d);
	assert_string_equal(d, "mail.example.com");
}

static void test_queue_roundtrip(void **state)
{
	(void)state;
	char dir[] = "/tmp/rlqXXXXXX";
	assert_non_null(mkdtemp(dir));
	struct mt_err e;
	assert_int_equal(rl_queue_init(dir, &e), MT_OK);
	const char *rc[] = {"a@x.example", "b@y.example"};
	uint64_t m1 = 0, m2 = 0;
	assert_int_equal(rl_queue_put_mem(dir, "Subject: x\r\n\r\nhi\r\n", 19, "s@z.example", rc, 2,
					  0, &m1, &e),
			 MT_OK);
	assert_int_equal(rl_queue_put_mem(dir, "x", 1, "", rc, 1, RL_PUT_DSN, &m2, &e), MT_OK);
	assert_true(m2 > m1);
	/* refused: empty message, no recipients; nothing is left behind */
	uint64_t m3 = 0;
	assert_int_equal(rl_queue_put_mem(dir, "", 0, "s@z.example", rc, 1, 0, &m3, &e), MT_ERR_BADINPUT);
	assert_int_equal(rl_queue_put_mem(dir, "x", 1, "s@z.example", rc, 0, 0, &m3, &e), MT_ERR_BADINPUT);
	uint64_t *mids;
	size_t n;
	assert_int_equal(rl_queue_list(dir, &mids, &n, &e), MT_OK);
	assert_int_equal(n, 2);
	assert_true(mids[0] == m1 && mids[1] == m2);
	free(mids);

	struct rl_msg m;
	assert_int_equal(rl_queue_load(dir, m1, &m, &e), MT_OK);
	assert_string_equal(m.from, "s@z.example");
	assert_int_equal(m.nrcpts, 2);
	assert_int_equal(m.size, 19);
	assert_int_equal(m.rcpts[1].state, RL_RCPT_PENDING);
	m.rcpts[0].state = RL_RCPT_DONE;
	strcpy(m.rcpts[1].reply, "451 4.7.5 TLS is required but not available");
	m.attempts = 3;
	m.next_try = 12345;
	strcpy(m.last, "451 4.7.5 no");
	assert_int_equal(rl_queue_save(dir, &m, &e), MT_OK);
	rl_msg_free(&m);
	assert_int_equal(rl_queue_load(dir, m1, &m, &e), MT_OK);
	assert_int_equal(m.rcpts[0].state, RL_RCPT_DONE);
	assert_string_equal(m.rcpts[1].reply, "451 4.7.5 TLS is required but not available");
	assert_int_equal(m.attempts, 3);
	assert_int_equal(m.next_try, 12345);
	rl_msg_free(&m);
	assert_int_equal(rl_queue_load(dir, m2, &m, &e), MT_OK);
	assert_true(m.is_dsn && !m.is_alert);
	assert_string_equal(m.from, "");
	rl_msg_free(&m);

	/* the message file is locked while delivered: a second lock fails */
	int l1 = rl_queue_lock_msg(dir, m1);
	assert_true(l1 >= 0);
	assert_int_equal(rl_queue_lock_msg(dir, m1), -2);
	close(l1);

	/* a damaged envelope is refused, not half-read */
	char p[256];
	snprintf(p, sizeof p, "%s/env/%llu", dir, (unsigned long long)m2);
	FILE *f = fopen(p, "w");
	fputs("mailtls-relay-envelope 1\nmid 2\nfrom x\n", f); /* no rcpt, no end */
	fclose(f);
	assert_int_not_equal(rl_queue_load(dir, m2, &m, &e), MT_OK);
	assert_non_null(strstr(e.msg, "damaged"));

	assert_int_equal(rl_queue_remove(dir, m1, &e), MT_OK);
	assert_int_not_equal(rl_queue_remove(dir, m1, &e), MT_OK);
	assert_int_equal(rl_queue_remove(dir, m2, &e), MT_OK);
	assert_int_equal(rl_queue_list(dir, &mids, &n, &e), MT_OK);
	assert_int_equal(n, 0);
	free(mids);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_errors), cmocka_unit_test(test_destinations),
	    cmocka_unit_test(test_durations),	  cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_queue_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* receiver_config_test.c — the receiver's config file (file:line errors), sender-group
 * (HAT) matching by address, CIDR, verified host name and suffix, accepted domains, and
 * the AsyncOS log line layout.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../receiver/receiver.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/rcvcfgXXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static mt_status load(const char *text, struct rcv_config *c, struct mt_err *e)
{
	char *p = write_tmp(text);
	rcv_config_defaults(c);
	mt_status st = rcv_config_load(c, p, e);
	if (st == MT_OK)
		st = rcv_config_finish(c, e);
	unlink(p);
	free(p);
	return st;
}

static void test_errors_have_file_and_line(void **state)
{
	const struct {
		const char *text;
		int line;
		const char *word;
	} rows[] = {
	    {"# comment\n\nbogus = 1\n", 3, "unknown setting 'bogus'"},
	    {"hostname = mx.test\nno equals sign here\n", 2, "expected 'key = value'"},
	    {"max_line = 12\n", 1, "at least 512"},
	    {"max_sessions = lots\n", 1, "expected a number"},
	    {"timeout_command = 3 weeks\n", 1, "expected a duration"},
	    {"\n\n\n\ngroup = G policy=maybe match=all\n", 5, "unknown policy 'maybe'"},
	    {"group = G policy=off\n", 1, "match= is required"},
	    {"group = G match=10.0.0.0/33\n", 1, "bad prefix length"},
	    {"group = G match=a,b\ngroup = G match=c\n", 2, "defined twice"},
	    {"listen = mx.test:25\n", 1, "not an IP address"},
	    {"listen = 127.0.0.1\n", 1, "lacks a port"},
	    {"listen = 127.0.0.1:99999\n", 1, "bad port"},
	    {"discard = perhaps\n", 1, "yes or no"},
	    {"group = G match=a@b\n", 1, "is not an address"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct rcv_config c;
		struct mt_err e;
		mt_err_clear(&e);
		assert_int_not_equal(load(rows[i].text, &c, &e), MT_OK);
		char want[32];
		snprintf(want, sizeof want, ":%d: ", rows[i].line);
		if (!strstr(e.msg, want) || !strstr(e.msg, rows[i].word) ||
		    !strstr(e.msg, "/tmp/rcvcfg"))
			fail_msg("case %zu: message '%s' lacks '%s' or '%s'", i, e.msg, want,
			         rows[i].word);
		rcv_config_free(&c);
	}
}

static void test_good_config(void **state)
{
	struct rcv_config c;
	struct mt_err e;
	const char *text =
	    "# test\n"
	    "hostname = mx1.test   # trailing comment\n"
	    "listen = 127.0.0.1:2525\n"
	    "listen = [::1]:2526 cert=/x/c.pem key=/x/k.pem\n"
	    "domains = example.test, other.test\n"
	    "max_message_size = 2M\n"
	    "timeout_command = 500ms\n"
	    "session_deadline = 2m\n"
	    "group = RELAYLIST policy=required match=127.0.0.2,10.0.0.0/8\n"
	    "group = TRUSTED policy=required-verify match=.partner.test,mx.friend.test\n"
	    "group = OFFLIST policy=off match=::1/128\n";
	assert_int_equal(load(text, &c, &e), MT_OK);
	assert_string_equal(c.hostname, "mx1.test");
	assert_int_equal(c.nlisten, 2);
	assert_int_equal(c.listen[1].port, 2526);
	assert_string_equal(c.listen[1].host, "::1");
	assert_string_equal(c.listen[1].key, "/x/k.pem");
	assert_int_equal(c.max_message_size, 2 * 1024 * 1024);
	assert_int_equal(c.timeout_command_ms, 500);
	assert_int_equal(c.session_deadline_ms, 120000);
	assert_int_equal(c.ngroups, 4); /* plus the implicit DEFAULT */
	assert_string_equal(c.groups[3].name, "DEFAULT");
	assert_true(rcv_domain_ok("x@Example.TEST", &c));
	assert_false(rcv_domain_ok("x@example.test.evil", &c));
	assert_false(rcv_domain_ok("noat", &c));

	struct {
		const char *addr;
		const char *name;
		const char *group;
	} rows[] = {
	    {"127.0.0.2", NULL, "RELAYLIST"},
	    {"10.200.1.1", NULL, "RELAYLIST"},
	    {"11.0.0.1", NULL, "DEFAULT"},
	    {"11.0.0.1", "mail.partner.test", "TRUSTED"},
	    {"11.0.0.1", "partner.test", "DEFAULT"}, /* a suffix needs a label before it */
	    {"11.0.0.1", "MX.Friend.Test", "TRUSTED"},
	    {"11.0.0.1", "mx.friend.test.evil", "DEFAULT"},
	    {"::1", NULL, "OFFLIST"},
	    {"::ffff:10.1.2.3", NULL, "RELAYLIST"}, /* v4-mapped matches v4 blocks */
	    {"2001:db8::1", NULL, "DEFAULT"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof ss);
		if (strchr(rows[i].addr, ':')) {
			struct sockaddr_in6 *a = (void *)&ss;
			a->sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, rows[i].addr, &a->sin6_addr), 1);
		} else {
			struct sockaddr_in *a = (void *)&ss;
			a->sin_family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, rows[i].addr, &a->sin_addr), 1);
		}
		const struct rcv_group *g =
		    rcv_hat_lookup(&c, (struct sockaddr *)&ss, rows[i].name);
		assert_non_null(g);
		if (strcmp(g->name, rows[i].group))
			fail_msg("%s (%s) matched %s, expected %s", rows[i].addr,
			         rows[i].name ? rows[i].name : "-", g->name, rows[i].group);
	}
	assert_int_equal(c.groups[1].policy, RCV_TLS_REQUIRED_VERIFY);
	rcv_config_free(&c);
}

static void test_policy_names(void **state)
{
	enum rcv_tls_policy p;
	for (int i = 0; i < RCV_TLS__COUNT; i++) {
		assert_true(rcv_tls_policy_parse(rcv_tls_policy_name((enum rcv_tls_policy)i), &p));
		assert_int_equal(p, i);
	}
	assert_true(rcv_tls_policy_parse("Required", &p));
	assert_int_equal(p, RCV_TLS_REQUIRED);
	assert_false(rcv_tls_policy_parse("mandatory", &p));
}

static void test_maillog_format(void **state)
{
	char line[256];
	setenv("TZ", "UTC", 1);
	/* 2018-04-17 00:57:53 UTC, the ESA guide's example */
	rcv_maillog_format(line, sizeof line, 1523926673,
	                   "ICID 590125205 TLS success protocol TLSv1 cipher DHE-RSA-AES256-SHA");
	assert_string_equal(line, "Tue Apr 17 00:57:53 2018 Info: ICID 590125205 TLS success "
	                          "protocol TLSv1 cipher DHE-RSA-AES256-SHA\n");
	rcv_maillog_format(line, sizeof line, 1522540800, "x"); /* 1 Apr 2018: space-padded day */
	assert_string_equal(line, "Sun Apr  1 00:00:00 2018 Info: x\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errors_have_file_and_line),
	    cmocka_unit_test(test_good_config),
	    cmocka_unit_test(test_policy_names),
	    cmocka_unit_test(test_maillog_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

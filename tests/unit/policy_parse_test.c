/* policy_parse_test.c — table-driven tests of the MTA-STS TXT and policy parsers, RFC 8461
 * 4.1 mx pattern matching, and the TLS-RPT record parser (core/policy/). Pure functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailtls/policy.h"

/* clang-format off */
static const struct {
	const char *txt;
	bool ok;
	const char *id_or_err; /* the id when ok, else a fragment of the message */
} txt_rows[] = {
    {"v=STSv1; id=20240101T000000;", true, "20240101T000000"},
    {"v=STSv1;id=abc", true, "abc"},
    {"v=STSv1; id=abc ; ext=1", true, "abc"},
    {"v=STSv1; ext=x; id=Z9", true, "Z9"},
    {"  v=STSv1 ;  id=1  ", true, "1"},
    {"v=STSv1; id=12345678901234567890123456789012", true, "12345678901234567890123456789012"},
    {"v=STSv1; id=123456789012345678901234567890123", false, "1 to 32"},
    {"v=STSv1; id=", false, "1 to 32"},
    {"v=STSv1; id=ab-c", false, "letters and digits"},
    {"v=STSv1", false, "no id"},
    {"id=abc; v=STSv1", false, "must start"},
    {"v=STSv2; id=abc", false, "must start"},
    {"v=stsv1; id=abc", false, "must start"},
    {"v=STSv1; id=a; id=b", false, "twice"},
    {"v=STSv1; junk", false, "no '='"},
    {"", false, "empty"},
    {"v=STSv1; v=STSv1; id=a", false, "v given twice"},
};

static const struct {
	const char *text;
	bool ok;
	int mode;      /* when ok */
	long max_age;  /* when ok */
	size_t nmx;    /* when ok */
	const char *err;
} pol_rows[] = {
    {"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\n", true, MT_STS_MODE_ENFORCE, 86400, 2, NULL},
    {"version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 604800\n", true, MT_STS_MODE_TESTING, 604800, 1, NULL},
    {"version: STSv1\nmode: none\nmax_age: 0\n", true, MT_STS_MODE_NONE, 0, 0, NULL},
    {"version:STSv1\nmode:enforce\nmx:mx.example.com\nmax_age:31557600", true, MT_STS_MODE_ENFORCE, 31557600, 1, NULL},
    {"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 1\nfuture_field: whatever\n", true, MT_STS_MODE_ENFORCE, 1, 1, NULL},
    {"version: STSv1\nmode: enforce\nmx: MX.Example.COM.\nmax_age: 1\n", true, MT_STS_MODE_ENFORCE, 1, 1, NULL},
    {"version: STSv1\nmode: enforce\nmax_age: 1\n", false, 0, 0, 0, "no mx"},
    {"version: STSv1\nmode: bogus\nmx: a.b\nmax_age: 1\n", false, 0, 0, 0, "mode \"bogus\""},
    {"version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", false, 0, 0, 0, "not STSv1"},
    {"mode: enforce\nmx: a.b\nmax_age: 1\n", false, 0, 0, 0, "no version"},
    {"version: STSv1\nmx: a.b\nmax_age: 1\n", false, 0, 0, 0, "no mode"},
    {"version: STSv1\nmode: enforce\nmx: a.b\n", false, 0, 0, 0, "no max_age"},
    {"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", false, 0, 0, 0, "over 31557600"},
    {"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", false, 0, 0, 0, "not a number"},
    {"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901\n", false, 0, 0, 0, "1 to 10 digits"},
    {"version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n", false, 0, 0, 0, "not a host name"},
    {"version: STSv1\nmode: enforce\nmx: *.*.b\nmax_age: 1\n", false, 0, 0, 0, "not a host name"},
    {"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\nthis line has no colon\n", false, 0, 0, 0, "line 5"},
    {"version: STSv1\nmode: enforce\nmode: testing\nmx: a.b\nmax_age: 1\n", false, 0, 0, 0, "mode given twice"},
    {"<html>not a policy</html>", false, 0, 0, 0, "key: value"},
    {"version: STSv1\nmode: enforce\nmx: .\nmax_age: 1\n", false, 0, 0, 0, "not a host name"},
    {"version: STSv1\nmode: enforce\nmx: .a.b\nmax_age: 1\n", false, 0, 0, 0, "not a host name"},
    {"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n: x\n", false, 0, 0, 0, "empty field name"},
    {"", false, 0, 0, 0, "empty"},
};

static const struct {
	const char *pattern, *host;
	bool match;
} mx_rows[] = {
    {"mx.example.com", "mx.example.com", true},
    {"mx.example.com", "MX.EXAMPLE.COM", true},
    {"mx.example.com", "mx.example.com.", true},
    {"mx.example.com.", "mx.example.com", true},
    {"mx.example.com", "mx2.example.com", false},
    {"*.example.com", "mx.example.com", true},
    {"*.example.com", "MX1.Example.Com", true},
    {"*.example.com", "a.b.example.com", false},   /* one label only (4.1) */
    {"*.example.com", "example.com", false},
    {"*.example.com", ".example.com", false},
    {"*.example.com", "mx.example.net", false},
    {"*.example.com", "mxexample.com", false},
    {"example.com", "mx.example.com", false},
    {"*.mail.example.com", "mx.mail.example.com", true},
    {"*.mail.example.com", "mail.example.com", false},
    {"mx*.example.com", "mx1.example.com", false},  /* partial wildcards are not patterns */
};

static const struct {
	const char *txt;
	bool ok;
	size_t nrua;
	const char *err;
} rpt_rows[] = {
    {"v=TLSRPTv1; rua=mailto:tls@example.com", true, 1, NULL},
    {"v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.net/v1/tlsrpt", true, 2, NULL},
    {"v=TLSRPTv1; rua=https://report.example.com", true, 1, NULL},
    {"v=TLSRPTv1; rua = mailto:a@example.com , mailto:b@example.org ;", true, 2, NULL},
    {"v=TLSRPTv1; ext=1; rua=mailto:a@example.com", true, 1, NULL},
    {"v=TLSRPTv1", false, 0, "no rua"},
    {"v=TLSRPTv1; rua=", false, 0, "empty rua"},
    {"v=TLSRPTv1; rua= ;", false, 0, "empty rua"},
    {"v=TLSRPTv1; rua=ftp://example.com/x", false, 0, "not mailto: or https:"},
    {"v=TLSRPTv1; rua=http://example.com/x", false, 0, "not mailto: or https:"},
    {"v=TLSRPTv1; rua=mailto:example.com", false, 0, "local@domain"},
    {"v=TLSRPTv1; rua=mailto:@example.com", false, 0, "local@domain"},
    {"v=TLSRPTv1; rua=mailto:a@localhost", false, 0, "no dot"},
    {"v=TLSRPTv1; rua=mailto:a@localhost,mailto:b@x.example", false, 0, "no dot"}, /* the dot of a later URI does not count */
    {"v=TLSRPTv1; rua=https://", false, 0, "needs a host"},
    {"v=TLSRPTv1; rua=mailto:a@example.com,", false, 0, "empty rua"},
    {"v=TLSRPTv2; rua=mailto:a@example.com", false, 0, "must start"},
    {"rua=mailto:a@example.com; v=TLSRPTv1", false, 0, "must start"},
    {"v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", false, 0, "twice"},
    {"", false, 0, "empty"},
};
/* clang-format on */

static void test_sts_txt(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof txt_rows / sizeof txt_rows[0]; i++) {
		struct mt_sts_txt t;
		struct mt_err err = {""};
		mt_status st = mt_sts_txt_parse(txt_rows[i].txt, &t, &err);
		if ((st == MT_OK) != txt_rows[i].ok)
			fail_msg("row %zu \"%s\": got %s (%s)", i, txt_rows[i].txt, mt_status_name(st), err.msg);
		if (st == MT_OK)
			assert_string_equal(t.id, txt_rows[i].id_or_err);
		else if (!strstr(err.msg, txt_rows[i].id_or_err))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err.msg, txt_rows[i].id_or_err);
	}
}

static void test_sts_policy(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof pol_rows / sizeof pol_rows[0]; i++) {
		struct mt_sts_policy p;
		struct mt_err err = {""};
		mt_status st = mt_sts_policy_parse(pol_rows[i].text, strlen(pol_rows[i].text), &p, &err);
		if ((st == MT_OK) != pol_rows[i].ok)
			fail_msg("row %zu: got %s (%s)", i, mt_status_name(st), err.msg);
		if (st == MT_OK) {
			assert_int_equal(p.mode, pol_rows[i].mode);
			assert_int_equal(p.max_age, pol_rows[i].max_age);
			assert_int_equal(p.nmx, pol_rows[i].nmx);
		} else if (!strstr(err.msg, pol_rows[i].err)) {
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err.msg, pol_rows[i].err);
		}
	}
	/* patterns are kept lower case without the trailing dot */
	struct mt_sts_policy p;
	const char *t = "version: STSv1\nmode: enforce\nmx: MX.Example.COM.\nmx: *.b.example\nmax_age: 1\n";
	assert_int_equal(mt_sts_policy_parse(t, strlen(t), &p, NULL), MT_OK);
	assert_string_equal(p.mx[0], "mx.example.com");
	assert_string_equal(mt_sts_policy_match(&p, "x.b.example"), "*.b.example");
	assert_null(mt_sts_policy_match(&p, "x.y.b.example"));
	/* a formatted policy reads back the same; a buffer too small is refused, not cut */
	char buf[512];
	int n = mt_sts_policy_format(&p, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	struct mt_sts_policy back;
	assert_int_equal(mt_sts_policy_parse(buf, (size_t)n, &back, NULL), MT_OK);
	assert_int_equal(back.mode, p.mode);
	assert_int_equal(back.max_age, p.max_age);
	assert_int_equal(back.nmx, p.nmx);
	for (size_t i = 0; i < p.nmx; i++)
		assert_string_equal(back.mx[i], p.mx[i]);
	assert_int_equal(mt_sts_policy_format(&p, buf, (size_t)n), -1);
	struct mt_sts_policy none = {.mode = MT_STS_MODE_NONE, .max_age = 86400};
	n = mt_sts_policy_format(&none, buf, sizeof buf);
	assert_int_equal(mt_sts_policy_parse(buf, (size_t)n, &back, NULL), MT_OK);
	assert_int_equal(back.mode, MT_STS_MODE_NONE);
	assert_int_equal(back.nmx, 0);
	/* an embedded NUL is an error, not a truncation */
	const char nul[] = "version: STSv1\nmode: en\0force\nmx: a.b\nmax_age: 1\n";
	assert_int_not_equal(mt_sts_policy_parse(nul, sizeof nul - 1, &p, NULL), MT_OK);
}

static void test_sts_mx_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof mx_rows / sizeof mx_rows[0]; i++)
		if (mt_sts_mx_match(mx_rows[i].pattern, mx_rows[i].host) != mx_rows[i].match)
			fail_msg("row %zu: %s vs %s: want %d", i, mx_rows[i].pattern, mx_rows[i].host,
				 mx_rows[i].match);
}

static void test_tlsrpt(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rpt_rows / sizeof rpt_rows[0]; i++) {
		struct mt_tlsrpt r;
		struct mt_err err = {""};
		mt_status st = mt_tlsrpt_parse(rpt_rows[i].txt, &r, &err);
		if ((st == MT_OK) != rpt_rows[i].ok)
			fail_msg("row %zu \"%s\": got %s (%s)", i, rpt_rows[i].txt, mt_status_name(st), err.msg);
		if (st == MT_OK)
			assert_int_equal(r.nrua, rpt_rows[i].nrua);
		else if (!strstr(err.msg, rpt_rows[i].err))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err.msg, rpt_rows[i].err);
	}
	struct mt_tlsrpt r;
	assert_int_equal(mt_tlsrpt_parse("v=TLSRPTv1; rua= mailto:a@example.com ,https://h.example/x", &r, NULL), MT_OK);
	assert_string_equal(r.rua[0], "mailto:a@example.com");
	assert_string_equal(r.rua[1], "https://h.example/x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sts_txt),
	    cmocka_unit_test(test_sts_policy),
	    cmocka_unit_test(test_sts_mx_match),
	    cmocka_unit_test(test_tlsrpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tlsrpt_report_test.c — the RFC 8460 aggregate report builder (core/report/tlsrpt_report.c):
 * domains folded to lower case and written in name order, a report per domain with one
 * policy object per policy type that had sessions, failure details merged by type, host
 * and address, and both caps (domains, details per policy) counted, never silently lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mailtls/tlsrpt_report.h"

/* The reports a writes, parsed: a JSON array of them (caller decrefs). */
static json_t *reports(const struct mt_tlsrpt_agg *a, const struct mt_tlsrpt_report_opts *o)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	assert_int_equal(mt_tlsrpt_agg_write(a, f, o), 0);
	fclose(f);
	json_t *all = json_array();
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);
		if (!j)
			fail_msg("not JSON (%s): %s", e.text, line);
		json_array_append_new(all, j);
	}
	free(buf);
	return all;
}

static json_int_t summary(json_t *pol, const char *k)
{
	return json_integer_value(json_object_get(json_object_get(pol, "summary"), k));
}

static void test_report(void **state)
{
	(void)state;
	struct mt_tlsrpt_agg *a = mt_tlsrpt_agg_new(10);
	assert_non_null(a);
	mt_tlsrpt_agg_success(a, "B.Example", MT_TLSRPT_NO_POLICY);
	mt_tlsrpt_agg_success(a, "b.example", MT_TLSRPT_NO_POLICY);
	mt_tlsrpt_agg_failure(a, "b.example", MT_TLSRPT_TLSA, "certificate-expired", "mx.b.example", "192.0.2.1", "expired");
	mt_tlsrpt_agg_failure(a, "b.example", MT_TLSRPT_TLSA, "certificate-expired", "mx.b.example", "192.0.2.1", "again");
	mt_tlsrpt_agg_failure(a, "b.example", MT_TLSRPT_TLSA, "certificate-expired", "mx2.b.example", "192.0.2.2", "");
	mt_tlsrpt_agg_success(a, "a.example", MT_TLSRPT_TLSA);
	mt_tlsrpt_agg_success(a, "", MT_TLSRPT_NO_POLICY); /* no domain: not a report */
	struct mt_tlsrpt_report_opts o = {.org = "example.net", .contact = "tlsrpt@example.net", .sending_ip = "192.0.2.9",
					  .start = 86400, .end = 2 * 86400};
	json_t *r = reports(a, &o);
	assert_int_equal(json_array_size(r), 2);
	assert_int_equal(mt_tlsrpt_agg_dropped(a), 0);

	json_t *ra = json_array_get(r, 0), *rb = json_array_get(r, 1);
	assert_string_equal(json_string_value(json_object_get(ra, "organization-name")), "example.net");
	assert_string_equal(json_string_value(json_object_get(ra, "contact-info")), "tlsrpt@example.net");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ra, "date-range"), "start-datetime")),
			    "1970-01-02T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ra, "date-range"), "end-datetime")),
			    "1970-01-03T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(ra, "report-id")), "1970-01-02T00:00:00Z_a.example_example.net");
	/* a.example: tlsa only, its policy-string an empty array */
	json_t *pa = json_object_get(ra, "policies");
	assert_int_equal(json_array_size(pa), 1);
	json_t *p = json_object_get(json_array_get(pa, 0), "policy");
	assert_string_equal(json_string_value(json_object_get(p, "policy-type")), "tlsa");
	assert_string_equal(json_string_value(json_object_get(p, "policy-domain")), "a.example");
	assert_true(json_is_array(json_object_get(p, "policy-string")));
	assert_int_equal(json_array_size(json_object_get(p, "policy-string")), 0);
	assert_int_equal(summary(json_array_get(pa, 0), "total-successful-session-count"), 1);
	/* b.example (folded): no-policy-found first, 2 successes and no policy-string; tlsa with
	 * 3 failures in 2 details, the first keeping the first reason */
	json_t *pb = json_object_get(rb, "policies");
	assert_int_equal(json_array_size(pb), 2);
	json_t *p0 = json_array_get(pb, 0), *p1 = json_array_get(pb, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(p0, "policy"), "policy-type")), "no-policy-found");
	assert_null(json_object_get(json_object_get(p0, "policy"), "policy-string"));
	assert_int_equal(summary(p0, "total-successful-session-count"), 2);
	assert_int_equal(summary(p0, "total-failure-session-count"), 0);
	assert_int_equal(json_array_size(json_object_get(p0, "failure-details")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(p1, "policy"), "policy-type")), "tlsa");
	assert_int_equal(summary(p1, "total-failure-session-count"), 3);
	json_t *fd = json_object_get(p1, "failure-details");
	assert_int_equal(json_array_size(fd), 2);
	json_t *d0 = json_array_get(fd, 0), *d1 = json_array_get(fd, 1);
	assert_string_equal(json_string_value(json_object_get(d0, "result-type")), "certificate-expired");
	assert_int_equal(json_integer_value(json_object_get(d0, "failed-session-count")), 2);
	assert_string_equal(json_string_value(json_object_get(d0, "receiving-mx-hostname")), "mx.b.example");
	assert_string_equal(json_string_value(json_object_get(d0, "receiving-ip")), "192.0.2.1");
	assert_string_equal(json_string_value(json_object_get(d0, "sending-mta-ip")), "192.0.2.9");
	assert_string_equal(json_string_value(json_object_get(d0, "failure-reason-code")), "expired");
	assert_int_equal(json_integer_value(json_object_get(d1, "failed-session-count")), 1);
	assert_null(json_object_get(d1, "failure-reason-code")); /* "" is left out */
	json_decref(r);
	mt_tlsrpt_agg_free(a);
}

static void test_caps(void **state)
{
	(void)state;
	struct mt_tlsrpt_agg *a = mt_tlsrpt_agg_new(3);
	char dom[32], ip[32];
	/* 200 domains (the index grows past its first size): 3 reported, the rest counted */
	for (int i = 0; i < 200; i++) {
		snprintf(dom, sizeof dom, "d%03d.example", i);
		mt_tlsrpt_agg_success(a, dom, MT_TLSRPT_NO_POLICY);
		mt_tlsrpt_agg_success(a, dom, MT_TLSRPT_NO_POLICY);
	}
	assert_int_equal(mt_tlsrpt_agg_dropped(a), 2 * 197);
	/* 20 distinct failures on one domain: in the total, 16 with a detail */
	for (int i = 0; i < 20; i++) {
		snprintf(ip, sizeof ip, "192.0.2.%d", i);
		mt_tlsrpt_agg_failure(a, "d001.example", MT_TLSRPT_NO_POLICY, "validation-failure", "mx", ip, "");
	}
	struct mt_tlsrpt_report_opts o = {.generator = "gen"};
	json_t *r = reports(a, &o);
	assert_int_equal(json_array_size(r), 3);
	json_t *r1 = json_array_get(r, 1);
	assert_string_equal(json_string_value(json_object_get(r1, "report-id")), "1970-01-01T00:00:00Z_d001.example_gen");
	assert_string_equal(json_string_value(json_object_get(r1, "organization-name")), "");
	json_t *p = json_array_get(json_object_get(r1, "policies"), 0);
	assert_int_equal(summary(p, "total-successful-session-count"), 2);
	assert_int_equal(summary(p, "total-failure-session-count"), 20);
	assert_int_equal(json_array_size(json_object_get(p, "failure-details")), 16);
	json_decref(r);
	mt_tlsrpt_agg_free(a);
	mt_tlsrpt_agg_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* mxprobe_xml_test.c — mxprobe's --xml writer (mxprobe/mxprobe_out.c, mx_out_xml) on domain
 * results built by hand: escaping of peer and DNS text, control characters, arrays named by
 * their items, null JSON values left out, several domains under one root. The document is
 * written through the core's streaming writer into memory and checked as text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailtls/logscan_report.h"
#include "../../mxprobe/mxprobe.h"

/* A domain with one MX host and one address; the probe is left unrun (zeroed). */
static struct mx_domain *make_domain(const char *name)
{
	struct mx_domain *d = calloc(1, sizeof *d);
	assert_non_null(d);
	snprintf(d->input, sizeof d->input, "%s", name);
	snprintf(d->domain, sizeof d->domain, "%s", name);
	d->verdict = MT_VERDICT_FAIL;
	d->exit_code = 1;
	/* peer- and DNS-controlled text: markup, an ampersand and a control character */
	snprintf(d->reason, sizeof d->reason, "127.0.0.2: <b>bad</b> & worse\001end");
	d->mx_state = MT_DNS_SECURE;
	d->nhosts = 1;
	struct mx_host *h = &d->hosts[0];
	snprintf(h->name, sizeof h->name, "mx.%s", name);
	h->pref = 10;
	h->addr_state = MT_DNS_SECURE;
	h->addrs = calloc(2, sizeof *h->addrs);
	assert_non_null(h->addrs);
	h->naddrs = 2;
	for (size_t i = 0; i < 2; i++) {
		struct mx_addr *x = &h->addrs[i];
		snprintf(x->addr, sizeof x->addr, "127.0.0.%zu", i + 2);
		x->sts = -1;
		x->exit_code = (int)i;
		x->dane.state = i ? MT_DANE_MISMATCH : MT_DANE_VERIFIED;
		x->dane.rec = i ? -1 : 0;
		x->dane.cert = i ? -1 : 0;
		snprintf(x->dane.text, sizeof x->dane.text, "%s", i ? "none & nothing" : "ok");
	}
	d->sts = MX_STS_OK;
	d->sts_policy.mode = MT_STS_MODE_ENFORCE;
	d->sts_policy.max_age = 86400;
	d->sts_policy.nmx = 2;
	snprintf(d->sts_policy.mx[0], sizeof d->sts_policy.mx[0], "mx.%s", name);
	snprintf(d->sts_policy.mx[1], sizeof d->sts_policy.mx[1], "*.%s", name);
	d->rpt = MX_RPT_OK;
	d->rpt_rec.nrua = 1;
	snprintf(d->rpt_rec.rua[0], sizeof d->rpt_rec.rua[0], "mailto:tls@%s", name);
	return d;
}

static void free_domain(struct mx_domain *d)
{
	for (size_t i = 0; i < d->nhosts; i++)
		free(d->hosts[i].addrs);
	free(d);
}

/* Write the domains as one document; the caller frees the text. */
static char *render(struct mx_domain **ds, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct mt_err err;
	struct mt_lsxml *x = mt_lsxml_new(f, "mxprobe", &err);
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mx_out_xml(x, ds[i], &err), MT_OK);
	assert_int_equal(mt_lsxml_finish(x), MT_OK);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_escaping(void **state)
{
	(void)state;
	struct mx_domain *d = make_domain("a.test");
	char *s = render(&d, 1);
	/* markup in text is escaped, the control character replaced, never passed through */
	assert_non_null(strstr(s, "<reason>127.0.0.2: &lt;b&gt;bad&lt;/b&gt; &amp; worse?end</reason>"));
	assert_null(strstr(s, "<b>"));
	assert_null(strchr(s, '\001'));
	assert_non_null(strstr(s, "<text>none &amp; nothing</text>"));
	free(s);
	free_domain(d);
}

static void test_structure(void **state)
{
	(void)state;
	struct mx_domain *d = make_domain("a.test");
	char *s = render(&d, 1);
	assert_non_null(strstr(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
	assert_int_equal(count(s, "<mxprobe>"), 1);
	assert_int_equal(count(s, "</mxprobe>"), 1);
	assert_non_null(strstr(s, "<domain name=\"a.test\" verdict=\"fail\">"));
	assert_non_null(strstr(s, "<exit_code>1</exit_code>"));
	/* arrays: an element holding one child per item, named by the item */
	assert_int_equal(count(s, "<hosts>"), 1);
	/* the MX host (with children, so a line of its own); the probe's own "host" key is a
	 * text element of the same name */
	assert_int_equal(count(s, "<host>\n"), 1);
	assert_non_null(strstr(s, "<preference>10</preference>"));
	assert_int_equal(count(s, "<addresses>"), 1);
	assert_non_null(strstr(s, "<address>127.0.0.2</address>"));
	assert_non_null(strstr(s, "<address>127.0.0.3</address>"));
	assert_non_null(strstr(s, "<pattern>mx.a.test</pattern>"));
	assert_non_null(strstr(s, "<pattern>*.a.test</pattern>"));
	assert_non_null(strstr(s, "<uri>mailto:tls@a.test</uri>"));
	assert_non_null(strstr(s, "<mode>enforce</mode>"));
	assert_non_null(strstr(s, "<state>verified</state>"));
	assert_non_null(strstr(s, "<state>mismatch</state>"));
	/* booleans and integers as text */
	assert_non_null(strstr(s, "<null_mx>false</null_mx>"));
	assert_non_null(strstr(s, "<certificate>-1</certificate>"));
	/* null JSON values are left out: no MTA-STS result per address (sts -1), no
	 * STARTTLS reply and no TLS parameters on an unrun probe */
	assert_null(strstr(s, "<mta_sts_match>"));
	assert_null(strstr(s, "<starttls_reply"));
	assert_null(strstr(s, "<tls>"));
	/* every element opened is closed */
	assert_int_equal(count(s, "<probe>"), count(s, "</probe>"));
	assert_int_equal(count(s, "<probe>"), 2);
	free(s);
	free_domain(d);
}

static void test_several_domains(void **state)
{
	(void)state;
	struct mx_domain *ds[3] = {make_domain("a.test"), make_domain("b.test"),
				   make_domain("c.test")};
	ds[1]->verdict = MT_VERDICT_PASS;
	ds[1]->exit_code = 0;
	ds[1]->reason[0] = '\0';
	char *s = render(ds, 3);
	assert_int_equal(count(s, "<?xml"), 1);
	assert_int_equal(count(s, "<domain name="), 3);
	assert_int_equal(count(s, "\n  </domain>\n"), 3); /* the inner <domain> is text */
	const char *a = strstr(s, "name=\"a.test\""), *b = strstr(s, "name=\"b.test\""),
		   *c = strstr(s, "name=\"c.test\"");
	assert_true(a && b && c && a < b && b < c);
	assert_non_null(strstr(s, "<domain name=\"b.test\" verdict=\"pass\">"));
	/* an empty string is an empty element, not left out */
	assert_non_null(strstr(s, "<reason></reason>"));
	free(s);
	for (int i = 0; i < 3; i++)
		free_domain(ds[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_several_domains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

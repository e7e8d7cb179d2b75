/* tls_name_test.c — table-driven tests of RFC 6125 name matching (core/tls/tls_name.c):
 * mt_name_to_alabel, mt_name_match_dns, mt_name_match_cert and the reference-name list.
 * Certificates are struct mt_cert_info values built by hand; no TLS or network involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailtls/tls.h"

/* ---- mt_name_match_dns ---- */

/* clang-format off */
static const struct {
	const char *ref, *id;
	bool match;
} dns_rows[] = {
    /* exact, case, trailing dots */
    {"mx.example.com", "mx.example.com", true},
    {"mx.example.com", "MX.Example.COM", true},
    {"MX.EXAMPLE.COM", "mx.example.com", true},
    {"mx.example.com", "mx.example.com.", true},
    {"mx.example.com.", "mx.example.com", true},
    {"mx.example.com.", "mx.example.com.", true},
    {"mx.example.com", "mx.example.com..", false},
    {"mx.example.com..", "mx.example.com", false},
    {"mx.example.com", "mx.example.org", false},
    {"mx.example.com", "example.com", false},
    {"example.com", "mx.example.com", false},
    {"mx.example.com", "mx.example.co", false},
    {"mx.example.co", "mx.example.com", false},
    /* wildcards: whole left-most label, exactly one label */
    {"mx.example.com", "*.example.com", true},
    {"MX.EXAMPLE.COM", "*.Example.Com", true},
    {"mx.example.com", "*.example.com.", true},
    {"mx.example.com.", "*.example.com", true},
    {"mx.example.co.uk", "*.example.co.uk", true},
    {"xn--bcher-kva.example.com", "*.example.com", true},
    {"a.b.example.com", "*.example.com", false},
    {"example.com", "*.example.com", false},
    {".example.com", "*.example.com", false},
    {"mx.example.org", "*.example.com", false},
    {"foo.com", "*.com", false},
    {"com", "*.com", false},
    {"foo.com", "*.com.", false},
    {"foo.example.com", "f*.example.com", false},
    {"foo.example.com", "*oo.example.com", false},
    {"foo.example.com", "fo*o.example.com", false},
    {"xn--bcher-kva.example.com", "xn--*.example.com", false},
    {"foo.example.com", "foo.*.com", false},
    {"foo.bar.example.com", "foo.*.example.com", false},
    {"foo.example.com", "*.*.com", false},
    {"foo.example.com", "**.example.com", false},
    {"foo.example.com", "*", false},
    {"foo.example.com", "*.", false},
    {"foo.example.com", "foo.example.*", false},
    {"*.example.com", "*.example.com", false},
    {"*.example.com", "mx.example.com", false},
    /* IDNA: A-labels compare case-insensitively; U-labels are not A-labels */
    {"xn--bcher-kva.example", "xn--bcher-kva.example", true},
    {"xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE", true},
    {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example", false},
    {"xn--bcher-kva.example", "b\xc3\xbc" "cher.example", false},
    /* empty labels, junk */
    {"", "", false},
    {"mx.example.com", "", false},
    {"", "mx.example.com", false},
    {".", ".", false},
    {"mx..example.com", "mx..example.com", false},
    {"mx.example.com", "mx..example.com", false},
    {"mx.example.com", ".mx.example.com", false},
    {"mx.example.com", "mx.example.com\x01", false},
    {"mx.example.com", "mx.example.com ", false},
    {"mx .example.com", "mx .example.com", false},
    {"mx.example.com", "mx.example.com\\0.attacker.test", false},
    {"mx.example.com", "mx.example.com/x", false},
    {"mx_1.example.com", "mx_1.example.com", false},
    {"mx.example.com", "*\x01.example.com", false},
    {"a.example.com", "*.example.com\xff", false},
    {"mx.example.com", NULL, false},
    {NULL, "mx.example.com", false},
};
/* clang-format on */

static void test_match_dns_table(void **state)
{
	(void)state;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof dns_rows / sizeof dns_rows[0]; i++) {
		bool got = mt_name_match_dns(dns_rows[i].ref, dns_rows[i].id);
		if (got != dns_rows[i].match) {
			print_error("dns row %zu: ref=\"%s\" id=\"%s\": got %d want %d\n", i,
			            dns_rows[i].ref ? dns_rows[i].ref : "(null)",
			            dns_rows[i].id ? dns_rows[i].id : "(null)", got,
			            dns_rows[i].match);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_match_dns_label_lengths(void **state)
{
	(void)state;
	char ref[300], id[300];
	/* 63-octet label is fine, 64 is not a host name. */
	memset(ref, 'a', 63);
	strcpy(ref + 63, ".example.com");
	assert_true(mt_name_match_dns(ref, ref));
	memcpy(id, "*.example.com", 14);
	assert_true(mt_name_match_dns(ref, id));
	memset(ref, 'a', 64);
	strcpy(ref + 64, ".example.com");
	assert_false(mt_name_match_dns(ref, ref));
	assert_false(mt_name_match_dns(ref, id));
}

/* ---- mt_name_match_cert ---- */

struct cert_spec {
	const char *dns[4]; /* NULL-terminated */
	const char *ip[4];
	const char *cn;
};

/* clang-format off */
static const struct {
	const char *ref;
	struct cert_spec cert;
	const char *matched; /* NULL: no match expected */
} cert_rows[] = {
    {"mx.example.com", {{"mx.example.com"}, {0}, ""}, "DNS:mx.example.com"},
    {"mx.example.com", {{"other.example.com", "mx.example.com"}, {0}, ""}, "DNS:mx.example.com"},
    {"mx.example.com", {{"*.example.com", "mx.example.com"}, {0}, ""}, "DNS:*.example.com"},
    {"mx.example.com", {{"a.example.com", "b.example.com"}, {0}, "mx.example.com"}, NULL},
    {"mx.example.com", {{"mx.example.com."}, {0}, ""}, "DNS:mx.example.com."},
    {"MX.EXAMPLE.COM.", {{"mx.example.com"}, {0}, ""}, "DNS:mx.example.com"},
    {"a.b.example.com", {{"*.example.com"}, {0}, ""}, NULL},
    {"example.com", {{"*.example.com"}, {0}, ""}, NULL},
    {"mx.example.com", {{"", "mx..example.com", "*.com"}, {0}, ""}, NULL},
    /* CN fallback only without DNS SANs */
    {"mx.example.com", {{0}, {0}, "mx.example.com"}, "CN:mx.example.com"},
    {"mx.example.com", {{0}, {0}, "*.example.com"}, "CN:*.example.com"},
    {"mx.example.com", {{0}, {0}, "MX.example.com"}, "CN:MX.example.com"},
    {"mx.example.com", {{"other.example.com"}, {0}, "mx.example.com"}, NULL},
    {"mx.example.com", {{0}, {"127.0.0.1"}, "mx.example.com"}, "CN:mx.example.com"},
    {"mx.example.com", {{0}, {"127.0.0.1"}, ""}, NULL},
    {"mx.example.com", {{0}, {0}, ""}, NULL},
    {"mx.example.com", {{0}, {0}, "Example Mail Server"}, NULL},
    /* IDNA: a U-label reference is compared in A-label form */
    {"b\xc3\xbc" "cher.example", {{"xn--bcher-kva.example"}, {0}, ""}, "DNS:xn--bcher-kva.example"},
    {"xn--bcher-kva.example", {{"XN--BCHER-KVA.example"}, {0}, ""}, "DNS:XN--BCHER-KVA.example"},
    {"b\xc3\xbc" "cher.example", {{"bucher.example"}, {0}, ""}, NULL},
    /* IP references: iPAddress SANs only, binary comparison */
    {"127.0.0.1", {{0}, {"127.0.0.1"}, ""}, "IP:127.0.0.1"},
    {"127.0.0.1", {{"mx.example.com"}, {"::1", "127.0.0.1"}, ""}, "IP:127.0.0.1"},
    {"127.0.0.1", {{"127.0.0.1"}, {0}, ""}, NULL},
    {"127.0.0.1", {{0}, {0}, "127.0.0.1"}, NULL},
    {"127.0.0.1", {{"127.0.0.1"}, {"127.0.0.2"}, "127.0.0.1"}, NULL},
    {"127.0.0.1", {{0}, {"::ffff:127.0.0.1"}, ""}, NULL},
    {"::1", {{0}, {"::1"}, ""}, "IP:::1"},
    {"::1", {{0}, {"0:0:0:0:0:0:0:1"}, ""}, "IP:0:0:0:0:0:0:0:1"},
    {"0000:0000::0001", {{0}, {"::1"}, ""}, "IP:::1"},
    {"[::1]", {{0}, {"::1"}, ""}, "IP:::1"},
    {"::1", {{0}, {"127.0.0.1"}, ""}, NULL},
    {"::1", {{0}, {"::2"}, ""}, NULL},
    {"::1", {{"::1"}, {0}, "::1"}, NULL},
    {"::ffff:127.0.0.1", {{0}, {"127.0.0.1"}, ""}, NULL},
    {"127.0.0.1", {{0}, {"not-an-address", "127.0.0.1"}, ""}, "IP:127.0.0.1"},
    /* junk references */
    {"", {{"mx.example.com"}, {0}, "mx.example.com"}, NULL},
    {".", {{0}, {0}, "."}, NULL},
    {"*.example.com", {{"*.example.com"}, {0}, ""}, NULL},
};
/* clang-format on */

static void build_cert(const struct cert_spec *s, struct mt_cert_info *c, char **dns, char **ip)
{
	memset(c, 0, sizeof *c);
	size_t n = 0;
	while (n < 4 && s->dns[n])
		dns[n] = (char *)s->dns[n], n++;
	c->dns_names = n ? dns : NULL;
	c->n_dns = n;
	n = 0;
	while (n < 4 && s->ip[n])
		ip[n] = (char *)s->ip[n], n++;
	c->ip_addrs = n ? ip : NULL;
	c->n_ip = n;
	snprintf(c->cn, sizeof c->cn, "%s", s->cn ? s->cn : "");
}

static void test_match_cert_table(void **state)
{
	(void)state;
	size_t bad = 0;
	static struct mt_cert_info c;
	for (size_t i = 0; i < sizeof cert_rows / sizeof cert_rows[0]; i++) {
		char *dns[4], *ip[4];
		char matched[256];
		memset(matched, 'Z', sizeof matched);
		build_cert(&cert_rows[i].cert, &c, dns, ip);
		bool got = mt_name_match_cert(cert_rows[i].ref, &c, matched, sizeof matched);
		const char *want = cert_rows[i].matched;
		if (got != (want != NULL) || (want && strcmp(matched, want) != 0) ||
		    (!want && matched[0] != '\0')) {
			print_error("cert row %zu: ref=\"%s\": got %d \"%s\" want %s\n", i,
			            cert_rows[i].ref, got, matched, want ? want : "no match");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_match_cert_edges(void **state)
{
	(void)state;
	static struct mt_cert_info c;
	char *dns[1] = {(char *)"mx.example.com"};
	memset(&c, 0, sizeof c);
	c.dns_names = dns;
	c.n_dns = 1;
	/* matched may be NULL, and a short buffer is cut, not overrun. */
	assert_true(mt_name_match_cert("mx.example.com", &c, NULL, 0));
	char small[8];
	memset(small, 'Z', sizeof small);
	assert_true(mt_name_match_cert("mx.example.com", &c, small, sizeof small));
	assert_string_equal(small, "DNS:mx.");
	assert_false(mt_name_match_cert(NULL, &c, small, sizeof small));
	assert_string_equal(small, "");
	assert_false(mt_name_match_cert("mx.example.com", NULL, small, sizeof small));
	/* A NULL entry inside the SAN array is skipped, not dereferenced, and does not count
	 * as a DNS-ID for the CN rule. */
	char *holes[2] = {NULL, (char *)"mx.example.com"};
	c.dns_names = holes;
	c.n_dns = 2;
	assert_true(mt_name_match_cert("mx.example.com", &c, small, sizeof small));
	holes[1] = NULL;
	snprintf(c.cn, sizeof c.cn, "mx.example.com");
	char matched[64];
	assert_true(mt_name_match_cert("mx.example.com", &c, matched, sizeof matched));
	assert_string_equal(matched, "CN:mx.example.com");
}

/* ---- mt_name_to_alabel ---- */

/* clang-format off */
static const struct {
	const char *in;
	mt_status st;
	const char *out;     /* expected on MT_OK */
	const char *errword; /* expected in the message on failure */
} alabel_rows[] = {
    {"mx.example.com", MT_OK, "mx.example.com", NULL},
    {"MX.Example.COM", MT_OK, "mx.example.com", NULL},
    {"mx.example.com.", MT_OK, "mx.example.com", NULL},
    {"localhost", MT_OK, "localhost", NULL},
    {"127.0.0.1", MT_OK, "127.0.0.1", NULL},
    {"r3--sn-abc.example.com", MT_OK, "r3--sn-abc.example.com", NULL},
    {"b\xc3\xbc" "cher.example", MT_OK, "xn--bcher-kva.example", NULL},
    {"B\xc3\x9c" "CHER.example.", MT_OK, "xn--bcher-kva.example", NULL},
    {"mx.b\xc3\xbc" "cher.example", MT_OK, "mx.xn--bcher-kva.example", NULL},
    {"XN--BCHER-KVA.example", MT_OK, "xn--bcher-kva.example", NULL},
    {"fa\xc3\x9f.de", MT_OK, "xn--fa-hia.de", NULL},           /* non-transitional: ß kept */
    {"\xe2\x98\x83.example", MT_OK, "xn--n3h.example", NULL},  /* snowman: transitional only */
    {"\xce\xa3\xce\x91\xce\xa3.gr", MT_OK, "xn--mxa9ab.gr", NULL}, /* ΣΑΣ lower-cased */
    {"", MT_ERR_BADINPUT, NULL, "empty"},
    {".", MT_ERR_BADINPUT, NULL, "empty"},
    {"..", MT_ERR_BADINPUT, NULL, "empty label"},
    {"a..b", MT_ERR_BADINPUT, NULL, "empty label"},
    {".example.com", MT_ERR_BADINPUT, NULL, "empty label"},
    {"example.com..", MT_ERR_BADINPUT, NULL, "empty label"},
    {"*.example.com", MT_ERR_BADINPUT, NULL, "wildcard"},
    {"f*.example.com", MT_ERR_BADINPUT, NULL, "wildcard"},
    {"mx example.com", MT_ERR_BADINPUT, NULL, "character"},
    {"mx_1.example.com", MT_ERR_BADINPUT, NULL, "character"},
    {"mx.exa\tmple.com", MT_ERR_BADINPUT, NULL, "\\x09"},
    {"mx.example.com\x7f", MT_ERR_BADINPUT, NULL, "\\x7f"},
    {"-mx.example.com", MT_ERR_BADINPUT, NULL, "hyphen"},
    {"mx-.example.com", MT_ERR_BADINPUT, NULL, "hyphen"},
    {"::1", MT_ERR_BADINPUT, NULL, "character"},
    {"xn--.example", MT_ERR_BADINPUT, NULL, "IDNA"},
    {"xn--a.example", MT_ERR_BADINPUT, NULL, "IDNA"},
    {"\xff\xfe.example", MT_ERR_BADINPUT, NULL, "IDNA"},
    {"b\xc3\xbc" "cher.ex ample", MT_ERR_BADINPUT, NULL, "character"},
};
/* clang-format on */

static void test_alabel_table(void **state)
{
	(void)state;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof alabel_rows / sizeof alabel_rows[0]; i++) {
		char out[256];
		struct mt_err err = {{0}};
		mt_status st = mt_name_to_alabel(alabel_rows[i].in, out, sizeof out, &err);
		bool ok = st == alabel_rows[i].st;
		if (ok && st == MT_OK)
			ok = strcmp(out, alabel_rows[i].out) == 0;
		if (ok && st != MT_OK)
			ok = out[0] == '\0' && strstr(err.msg, alabel_rows[i].errword) != NULL;
		if (!ok) {
			print_error("alabel row %zu: in=\"%s\": got %s \"%s\" (%s)\n", i,
			            alabel_rows[i].in, mt_status_name(st), out, err.msg);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_alabel_lengths(void **state)
{
	(void)state;
	char in[400], out[256];
	struct mt_err err;
	/* 63-octet label ok, 64 refused */
	memset(in, 'a', 63);
	strcpy(in + 63, ".example");
	assert_int_equal(mt_name_to_alabel(in, out, sizeof out, &err), MT_OK);
	assert_string_equal(out, in);
	memset(in, 'a', 64);
	strcpy(in + 64, ".example");
	assert_int_equal(mt_name_to_alabel(in, out, sizeof out, &err), MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "63"));
	/* 253 octets ok (with or without the trailing dot), 254 refused */
	size_t n = 0;
	while (n < 253) {
		in[n++] = 'b';
		if (n % 50 == 0 && n < 253)
			in[n - 1] = '.';
	}
	in[n] = '\0';
	assert_int_equal(mt_name_to_alabel(in, out, sizeof out, &err), MT_OK);
	assert_int_equal(strlen(out), 253);
	in[253] = '.';
	in[254] = '\0';
	assert_int_equal(mt_name_to_alabel(in, out, sizeof out, &err), MT_OK);
	assert_int_equal(strlen(out), 253);
	in[253] = 'c';
	assert_int_equal(mt_name_to_alabel(in, out, sizeof out, &err), MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "253"));
	/* output buffer too small is the caller's fault */
	assert_int_equal(mt_name_to_alabel("mx.example.com", out, 8, &err), MT_ERR_USAGE);
	assert_int_equal(mt_name_to_alabel("mx.example.com", out, 15, &err), MT_OK);
	assert_int_equal(mt_name_to_alabel("mx.example.com", NULL, 0, &err), MT_ERR_USAGE);
	assert_int_equal(mt_name_to_alabel(NULL, out, sizeof out, &err), MT_ERR_BADINPUT);
	/* err may be NULL */
	assert_int_equal(mt_name_to_alabel("a..b", out, sizeof out, NULL), MT_ERR_BADINPUT);
}

/* ---- mt_verify_opts ---- */

static void test_opts(void **state)
{
	(void)state;
	static struct mt_verify_opts o;
	memset(&o, 0xa5, sizeof o);
	mt_verify_opts_init(&o);
	assert_int_equal(o.warn_days, 30);
	assert_int_equal(o.nrefs, 0);
	assert_int_equal(o.nfingerprints, 0);
	assert_null(o.cafile);
	assert_null(o.capath);
	assert_false(o.no_system_ca);
	assert_false(o.lint);
	assert_int_equal(o.now, 0);

	struct mt_err err;
	assert_int_equal(mt_verify_opts_add_ref(&o,
	                                        "B\xc3\xbc"
	                                        "cher.Example.",
	                                        true, &err),
	                 MT_OK);
	assert_string_equal(o.refs[0].name, "xn--bcher-kva.example");
	assert_true(o.refs[0].secure);
	assert_int_equal(mt_verify_opts_add_ref(&o, "MX.example.com", false, &err), MT_OK);
	assert_string_equal(o.refs[1].name, "mx.example.com");
	assert_false(o.refs[1].secure);
	assert_int_equal(mt_verify_opts_add_ref(&o, "[0:0::1]", false, &err), MT_OK);
	assert_string_equal(o.refs[2].name, "::1");
	assert_int_equal(mt_verify_opts_add_ref(&o, "127.0.0.1", false, &err), MT_OK);
	assert_string_equal(o.refs[3].name, "127.0.0.1");
	assert_int_equal(o.nrefs, 4);

	/* a bad name is refused and not counted */
	assert_int_equal(mt_verify_opts_add_ref(&o, "*.example.com", true, &err), MT_ERR_BADINPUT);
	assert_non_null(strstr(err.msg, "*.example.com"));
	assert_int_equal(o.nrefs, 4);

	while (o.nrefs < MT_MAX_REFNAMES) {
		char name[32];
		snprintf(name, sizeof name, "mx%zu.example.com", o.nrefs);
		assert_int_equal(mt_verify_opts_add_ref(&o, name, false, &err), MT_OK);
	}
	assert_string_equal(o.refs[MT_MAX_REFNAMES - 1].name, "mx15.example.com");
	assert_int_equal(mt_verify_opts_add_ref(&o, "one.too.many", false, &err), MT_ERR_USAGE);
	assert_non_null(strstr(err.msg, "16"));
	assert_int_equal(o.nrefs, MT_MAX_REFNAMES);

	/* refs stored by add_ref match certificates as stored */
	static struct mt_cert_info c;
	char *ips[1] = {(char *)"0::1"};
	memset(&c, 0, sizeof c);
	c.ip_addrs = ips;
	c.n_ip = 1;
	char matched[64];
	assert_true(mt_name_match_cert(o.refs[2].name, &c, matched, sizeof matched));
	assert_string_equal(matched, "IP:0::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_dns_table),
	    cmocka_unit_test(test_match_dns_label_lengths),
	    cmocka_unit_test(test_match_cert_table),
	    cmocka_unit_test(test_match_cert_edges),
	    cmocka_unit_test(test_alabel_table),
	    cmocka_unit_test(test_alabel_lengths),
	    cmocka_unit_test(test_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

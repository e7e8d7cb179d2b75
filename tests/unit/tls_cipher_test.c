/* tls_cipher_test.c — IANA to OpenSSL cipher suite names (as mail logs print them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "mailtls/tls.h"

static void test_names(void **state)
{
	(void)state;
	static const struct {
		const char *iana, *openssl;
	} rows[] = {
	    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
	    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
	    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
	    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
	    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
	    {"TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256"},
	    {"TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA"},
	    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
	    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
	    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
	    {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"},
	    {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"},
	    {"GNUTLS_WEIRD", ""},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char out[128];
		mt_tls_openssl_cipher_name(rows[i].iana, out, sizeof out);
		if (strcmp(out, rows[i].openssl))
			fail_msg("%s: got '%s', want '%s'", rows[i].iana, out, rows[i].openssl);
	}
}

static void test_levels(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		enum mt_level level;
		const char *shown;
		bool mandatory, verify;
	} rows[] = {
	    {"none", MT_LEVEL_NONE, "none", false, false},
	    {"may", MT_LEVEL_MAY, "may", false, false},
	    {"encrypt", MT_LEVEL_ENCRYPT, "encrypt", true, false},
	    {"fingerprint", MT_LEVEL_FINGERPRINT, "fingerprint", true, true},
	    {"dane", MT_LEVEL_DANE, "dane", false, false},
	    {"dane-only", MT_LEVEL_DANE_ONLY, "dane-only", true, true},
	    {"verify", MT_LEVEL_VERIFY, "verify", true, true},
	    {"SECURE", MT_LEVEL_SECURE, "secure", true, true},
	    {"None", MT_LEVEL_NONE, "None", false, false},
	    {"NONE", MT_LEVEL_NONE, "none", false, false},
	    {"Off", MT_LEVEL_NONE, "None", false, false},
	    {"Preferred", MT_LEVEL_MAY, "Preferred", false, false},
	    {"required", MT_LEVEL_ENCRYPT, "Required", true, false},
	    {"Preferred-Verify", MT_LEVEL_MAY, "Preferred-Verify", false, false},
	    {"required_verify", MT_LEVEL_VERIFY, "Required-Verify", true, true},
	    {"Required Verify", MT_LEVEL_VERIFY, "Required-Verify", true, true},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mt_policy p;
		struct mt_err err;
		assert_int_equal(mt_policy_parse(rows[i].in, &p, &err), MT_OK);
		assert_int_equal(p.level, rows[i].level);
		assert_string_equal(mt_policy_name(&p), rows[i].shown);
		assert_int_equal(mt_policy_tls_mandatory(&p), rows[i].mandatory);
		assert_int_equal(mt_policy_verify_mandatory(&p), rows[i].verify);
	}
	/* the order is Postfix's */
	assert_true(MT_LEVEL_NONE < MT_LEVEL_MAY && MT_LEVEL_MAY < MT_LEVEL_ENCRYPT &&
		    MT_LEVEL_ENCRYPT < MT_LEVEL_FINGERPRINT && MT_LEVEL_FINGERPRINT < MT_LEVEL_DANE &&
		    MT_LEVEL_DANE < MT_LEVEL_DANE_ONLY && MT_LEVEL_DANE_ONLY < MT_LEVEL_VERIFY &&
		    MT_LEVEL_VERIFY < MT_LEVEL_SECURE);
	struct mt_policy p;
	struct mt_err err;
	assert_int_equal(mt_policy_parse("strict", &p, &err), MT_ERR_USAGE);
	assert_non_null(strstr(err.msg, "unknown security level 'strict'"));
	assert_int_equal(mt_policy_parse("", &p, &err), MT_ERR_USAGE);
	for (int f = 0; f < MT_FAULT__COUNT; f++) {
		assert_string_not_equal(mt_fault_name((enum mt_fault)f), "unknown");
		assert_string_not_equal(mt_fault_text((enum mt_fault)f), "unknown fault");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

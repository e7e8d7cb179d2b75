/* fuzz_mtasts.c — libFuzzer harness for the MTA-STS policy and TXT parsers and the TLS-RPT
 * record parser (core/policy/), plus mx pattern matching of what a policy accepted.
 *
 * The whole input is parsed as a policy (it may hold NULs: the parser takes a length); the
 * input up to its first NUL is parsed as an _mta-sts TXT and a TLS-RPT record. Invariants
 * that hold for any accepted input are checked with abort() so libFuzzer reports them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/policy.h"

static void check(bool cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_sts_policy p;
	struct mt_err err;
	if (mt_sts_policy_parse((const char *)data, size, &p, &err) == MT_OK) {
		check(p.max_age >= 0 && p.max_age <= 31557600);
		check(p.nmx <= MT_STS_MAX_MX);
		check(p.mode == MT_STS_MODE_NONE || p.nmx > 0);
		for (size_t i = 0; i < p.nmx; i++) {
			size_t n = strlen(p.mx[i]);
			check(n > 0 && n < sizeof p.mx[i]);
			/* a pattern that is a plain host name matches itself */
			if (p.mx[i][0] != '*')
				check(mt_sts_mx_match(p.mx[i], p.mx[i]));
			else if (n > 2)
				check(!mt_sts_mx_match(p.mx[i], p.mx[i] + 2));
		}
	} else {
		check(err.msg[0] != '\0');
	}
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct mt_sts_txt t;
	if (mt_sts_txt_parse(s, &t, &err) == MT_OK) {
		size_t n = strlen(t.id);
		check(n >= 1 && n <= 32);
		check(strncmp(s + strspn(s, " \t"), "v=STSv1", 7) == 0);
	}
	struct mt_tlsrpt r;
	if (mt_tlsrpt_parse(s, &r, &err) == MT_OK) {
		check(r.nrua >= 1 && r.nrua <= MT_TLSRPT_MAX_RUA);
		for (size_t i = 0; i < r.nrua; i++)
			check(!strncasecmp(r.rua[i], "mailto:", 7) || !strncasecmp(r.rua[i], "https://", 8));
	}
	/* the first half as a pattern against the second as a host */
	size_t h = strlen(s) / 2;
	char pat[256], host[256];
	if (h < sizeof pat) {
		memcpy(pat, s, h);
		pat[h] = '\0';
		mt_strlcpy(host, s + h, sizeof host);
		(void)mt_sts_mx_match(pat, host);
	}
	free(s);
	return 0;
}

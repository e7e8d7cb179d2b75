/* tlsrpt.c — the TLS-RPT policy record (RFC 8460 section 3): "v=TLSRPTv1; rua=URI[,URI]".
 * Pure parsing; each error is named. Nothing is allocated.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mailtls/policy.h"

static mt_status check_uri(const char *u, size_t n, struct mt_err *err)
{
	if (n > 7 && !strncasecmp(u, "mailto:", 7)) {
		const char *a = u + 7;
		size_t an = n - 7;
		const char *at = memchr(a, '@', an);
		if (!at || at == a || at == a + an - 1)
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "rua \"%.*s\": mailto: needs local@domain", (int)n, u);
		const char *dom = at + 1;
		size_t dn = (size_t)(a + an - dom);
		for (size_t i = 0; i < dn; i++)
			if (!isalnum((unsigned char)dom[i]) && dom[i] != '.' && dom[i] != '-')
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "rua \"%.*s\": bad character in the domain", (int)n,
						  u);
		if (!memchr(dom, '.', dn))
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "rua \"%.*s\": domain has no dot", (int)n, u);
		return MT_OK;
	}
	if (n >= 8 && !strncasecmp(u, "https://", 8)) {
		const char *h = u + 8;
		size_t hn = strcspn(h, "/?#");
		if (hn > n - 8)
			hn = n - 8;
		if (hn == 0)
			return mt_err_set(err, MT_ERR_BADINPUT, "rua \"%.*s\": https: needs a host",
					  (int)n, u);
		for (size_t i = 0; i < hn; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' &&
			    h[i] != ':' && h[i] != '[' && h[i] != ']')
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "rua \"%.*s\": bad character in the host", (int)n, u);
		return MT_OK;
	}
	const char *colon = memchr(u, ':', n);
	return mt_err_set(err, MT_ERR_BADINPUT,
			  "rua \"%.*s\": scheme %.*s is not mailto: or https:", (int)n, u,
			  colon ? (int)(colon - u + 1) : 0, u);
}

mt_status mt_tlsrpt_parse(const char *txt, struct mt_tlsrpt *out, struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	if (!txt || !*txt)
		return mt_err_set(err, MT_ERR_BADINPUT, "empty TLS-RPT record");
	const char *p = txt, *end = txt + strlen(txt);
	bool first = true, have_rua = false;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *fend = semi ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(fend - p));
		if (!eq)
			return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: field \"%.*s\" has no '='",
					  (int)(fend - p > 40 ? 40 : fend - p), p);
		size_t klen = (size_t)(eq - p);
		while (klen && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
			klen--; /* "rua =" is outside the ABNF but unambiguous */
		const char *v = eq + 1, *vend = fend;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (first) {
			if (!(klen == 1 && *p == 'v' && vend - v == 8 && !memcmp(v, "TLSRPTv1", 8)))
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "TLS-RPT: must start with \"v=TLSRPTv1\"");
			first = false;
		} else if (klen == 3 && !memcmp(p, "rua", 3)) {
			if (have_rua)
				return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: rua given twice");
			have_rua = true;
			if (v == vend)
				return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: empty rua field");
			const char *u = v;
			while (u < vend) {
				const char *c = memchr(u, ',', (size_t)(vend - u));
				const char *ue = c ? c : vend;
				const char *us = u;
				while (us < ue && (*us == ' ' || *us == '\t'))
					us++;
				const char *ue2 = ue;
				while (ue2 > us && (ue2[-1] == ' ' || ue2[-1] == '\t'))
					ue2--;
				if (ue2 == us)
					return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: empty rua URI");
				mt_status st = check_uri(us, (size_t)(ue2 - us), err);
				if (st != MT_OK)
					return st;
				if (out->nrua >= MT_TLSRPT_MAX_RUA)
					return mt_err_set(err, MT_ERR_TOOBIG,
							  "TLS-RPT: more than %d rua URIs",
							  MT_TLSRPT_MAX_RUA);
				size_t un = (size_t)(ue2 - us);
				if (un >= sizeof out->rua[0])
					return mt_err_set(err, MT_ERR_TOOBIG,
							  "TLS-RPT: rua URI over 511 characters");
				memcpy(out->rua[out->nrua], us, un);
				out->rua[out->nrua++][un] = '\0';
				if (c && c + 1 >= vend)
					return mt_err_set(err, MT_ERR_BADINPUT,
							  "TLS-RPT: empty rua URI after ','");
				u = c ? c + 1 : vend;
			}
		} else if (klen == 1 && *p == 'v') {
			return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: v given twice");
		}
		p = semi ? semi + 1 : end;
	}
	if (first)
		return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: empty record");
	if (!have_rua)
		return mt_err_set(err, MT_ERR_BADINPUT, "TLS-RPT: no rua field");
	return MT_OK;
}

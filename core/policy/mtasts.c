/* mtasts.c — MTA-STS (RFC 8461): TXT record and policy parsing, mx pattern matching, and
 * the policy fetch over HTTPS through the core's TLS client and verifier.
 *
 * Parsers name the first error (what field, which line). The fetch speaks HTTP/1.0 so the
 * answer is never chunked, follows no redirect (3.3), caps the body at 64 KB and checks the
 * certificate with mt_verify_chain against mta-sts.<domain> (PKIX; 3.3 forbids DANE-only
 * or unverified policy hosts). Memory: the fetched body is heap, freed by the caller.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailtls/net.h"
#include "mailtls/policy.h"
#include "mailtls/tls.h"

const char *mt_sts_mode_name(enum mt_sts_mode m)
{
	return m == MT_STS_MODE_ENFORCE ? "enforce" : m == MT_STS_MODE_TESTING ? "testing" : "none";
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

mt_status mt_sts_txt_parse(const char *txt, struct mt_sts_txt *out, struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	if (!txt)
		return mt_err_set(err, MT_ERR_BADINPUT, "empty MTA-STS TXT record");
	const char *p = txt, *end = txt + strlen(txt);
	bool first = true, have_id = false;
	while (p < end) {
		p = skip_ws(p, end);
		if (p == end)
			break;
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *fend = semi ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(fend - p));
		if (!eq)
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "MTA-STS TXT: field \"%.*s\" has no '='",
					  (int)(fend - p > 40 ? 40 : fend - p), p);
		size_t klen = (size_t)(eq - p);
		const char *v = eq + 1, *vend = fend;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		size_t vlen = (size_t)(vend - v);
		if (klen == 0)
			return mt_err_set(err, MT_ERR_BADINPUT, "MTA-STS TXT: empty field name");
		for (size_t i = 0; i < klen; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-' && p[i] != '.')
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "MTA-STS TXT: bad character in field name \"%.*s\"",
						  (int)(klen > 40 ? 40 : klen), p);
		if (first) {
			if (klen != 1 || p[0] != 'v' || vlen != 5 || memcmp(v, "STSv1", 5) != 0)
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "MTA-STS TXT: must start with \"v=STSv1\"");
			first = false;
		} else if (klen == 2 && !memcmp(p, "id", 2)) {
			if (have_id)
				return mt_err_set(err, MT_ERR_BADINPUT, "MTA-STS TXT: id given twice");
			if (vlen < 1 || vlen > 32)
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "MTA-STS TXT: id must be 1 to 32 letters or digits "
						  "(got %zu characters)", vlen);
			for (size_t i = 0; i < vlen; i++)
				if (!isalnum((unsigned char)v[i]))
					return mt_err_set(err, MT_ERR_BADINPUT,
							  "MTA-STS TXT: id \"%.*s\" has a character "
							  "other than letters and digits",
							  (int)vlen, v);
			memcpy(out->id, v, vlen);
			out->id[vlen] = '\0';
			have_id = true;
		} else if (klen == 1 && p[0] == 'v') {
			return mt_err_set(err, MT_ERR_BADINPUT, "MTA-STS TXT: v given twice");
		}
		/* other fields are extensions: ignored (3.1) */
		p = semi ? semi + 1 : end;
	}
	if (first)
		return mt_err_set(err, MT_ERR_BADINPUT, "MTA-STS TXT: empty record");
	if (!have_id)
		return mt_err_set(err, MT_ERR_BADINPUT, "MTA-STS TXT: no id field");
	return MT_OK;
}

/* A host name or "*." + host name, LDH labels. */
static bool valid_pattern(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '*' && s[1] == '.')
		s += 2, n -= 2;
	if (n == 0 || n > 253 || s[0] == '.' || (n == 1 && s[0] == '.'))
		return false;
	size_t lab = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0 && i + 1 != n)
				return false;
			lab = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++lab > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

int mt_sts_policy_format(const struct mt_sts_policy *p, char *out, size_t size)
{
	size_t o = 0;
	int n = snprintf(out, size, "version: STSv1\nmode: %s\nmax_age: %ld\n", mt_sts_mode_name(p->mode), p->max_age);
	if (n < 0 || (size_t)n >= size)
		return -1;
	o = (size_t)n;
	for (size_t i = 0; i < p->nmx && i < MT_STS_MAX_MX; i++) {
		n = snprintf(out + o, size - o, "mx: %s\n", p->mx[i]);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	return (int)o;
}

mt_status mt_sts_policy_parse(const char *text, size_t len, struct mt_sts_policy *out,
			      struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	out->max_age = -1;
	if (!text || len == 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "empty policy");
	if (len > MT_STS_MAX_BODY)
		return mt_err_set(err, MT_ERR_TOOBIG, "policy over %d octets", MT_STS_MAX_BODY);
	bool have_version = false, have_mode = false;
	const char *p = text, *end = text + len;
	int lineno = 0;
	while (p < end) {
		lineno++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		if (lend > p && lend[-1] == '\r')
			lend--;
		if (memchr(p, '\0', (size_t)(lend - p)))
			return mt_err_set(err, MT_ERR_BADINPUT, "line %d: NUL byte", lineno);
		if (lend == p) {
			p = next;
			continue;
		}
		const char *colon = memchr(p, ':', (size_t)(lend - p));
		if (!colon)
			return mt_err_set(err, MT_ERR_BADINPUT,
					  "line %d: \"%.*s\" is not \"key: value\"", lineno,
					  (int)(lend - p > 40 ? 40 : lend - p), p);
		size_t klen = (size_t)(colon - p);
		if (klen == 0)
			return mt_err_set(err, MT_ERR_BADINPUT, "line %d: empty field name", lineno);
		const char *v = skip_ws(colon + 1, lend), *vend = lend;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		size_t vlen = (size_t)(vend - v);
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(p, s, klen))
		if (KEY("version")) {
			if (have_version)
				return mt_err_set(err, MT_ERR_BADINPUT, "line %d: version given twice",
						  lineno);
			if (vlen != 5 || memcmp(v, "STSv1", 5))
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "line %d: version \"%.*s\" is not STSv1", lineno,
						  (int)(vlen > 20 ? 20 : vlen), v);
			have_version = true;
		} else if (KEY("mode")) {
			if (have_mode)
				return mt_err_set(err, MT_ERR_BADINPUT, "line %d: mode given twice",
						  lineno);
			if (vlen == 7 && !memcmp(v, "enforce", 7))
				out->mode = MT_STS_MODE_ENFORCE;
			else if (vlen == 7 && !memcmp(v, "testing", 7))
				out->mode = MT_STS_MODE_TESTING;
			else if (vlen == 4 && !memcmp(v, "none", 4))
				out->mode = MT_STS_MODE_NONE;
			else
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "line %d: mode \"%.*s\" is not enforce, testing or "
						  "none", lineno, (int)(vlen > 20 ? 20 : vlen), v);
			have_mode = true;
		} else if (KEY("max_age")) {
			if (out->max_age >= 0)
				return mt_err_set(err, MT_ERR_BADINPUT, "line %d: max_age given twice",
						  lineno);
			if (vlen == 0 || vlen > 10)
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "line %d: max_age must be 1 to 10 digits", lineno);
			long long a = 0;
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i]))
					return mt_err_set(err, MT_ERR_BADINPUT,
							  "line %d: max_age \"%.*s\" is not a number",
							  lineno, (int)vlen, v);
				a = a * 10 + (v[i] - '0');
			}
			if (a > 31557600)
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "line %d: max_age %lld is over 31557600 (one year)",
						  lineno, a);
			out->max_age = (long)a;
		} else if (KEY("mx")) {
			if (!valid_pattern(v, vlen))
				return mt_err_set(err, MT_ERR_BADINPUT,
						  "line %d: mx \"%.*s\" is not a host name or *.pattern",
						  lineno, (int)(vlen > 60 ? 60 : vlen), v);
			if (out->nmx >= MT_STS_MAX_MX)
				return mt_err_set(err, MT_ERR_TOOBIG, "line %d: more than %d mx lines",
						  lineno, MT_STS_MAX_MX);
			size_t n = vlen;
			if (n && v[n - 1] == '.')
				n--;
			for (size_t i = 0; i < n; i++)
				out->mx[out->nmx][i] = (char)tolower((unsigned char)v[i]);
			out->mx[out->nmx][n] = '\0';
			out->nmx++;
		} else {
			for (size_t i = 0; i < klen; i++)
				if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-' &&
				    p[i] != '.')
					return mt_err_set(err, MT_ERR_BADINPUT,
							  "line %d: bad field name \"%.*s\"", lineno,
							  (int)(klen > 40 ? 40 : klen), p);
			/* unknown fields are ignored (3.2) */
		}
#undef KEY
		p = next;
	}
	if (!have_version)
		return mt_err_set(err, MT_ERR_BADINPUT, "no version field");
	if (!have_mode)
		return mt_err_set(err, MT_ERR_BADINPUT, "no mode field");
	if (out->max_age < 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "no max_age field");
	if (out->nmx == 0 && out->mode != MT_STS_MODE_NONE)
		return mt_err_set(err, MT_ERR_BADINPUT, "no mx field (required in %s mode)",
				  mt_sts_mode_name(out->mode));
	return MT_OK;
}

bool mt_sts_mx_match(const char *pattern, const char *host)
{
	char h[256], pt[256];
	size_t hn = mt_strlcpy(h, host, sizeof h), pn = mt_strlcpy(pt, pattern, sizeof pt);
	if (hn >= sizeof h || pn >= sizeof pt || !hn || !pn)
		return false;
	if (h[hn - 1] == '.')
		h[--hn] = '\0';
	if (pt[pn - 1] == '.')
		pt[--pn] = '\0';
	if (pn >= 2 && pt[0] == '*' && pt[1] == '.') {
		/* the wildcard stands for exactly one whole left-most label */
		const char *dot = strchr(h, '.');
		if (!dot || dot == h)
			return false;
		return mt_strcasecmp(dot + 1, pt + 2) == 0;
	}
	return mt_strcasecmp(h, pt) == 0;
}

const char *mt_sts_policy_match(const struct mt_sts_policy *p, const char *host)
{
	for (size_t i = 0; i < p->nmx; i++)
		if (mt_sts_mx_match(p->mx[i], host))
			return p->mx[i];
	return NULL;
}

/* Find a header's value in the head (case-insensitive name); copies into out. */
static bool header(const char *head, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	for (const char *l = strchr(head, '\n'); l; l = strchr(l, '\n')) {
		l++;
		if (!strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\r\n");
			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

mt_status mt_sts_fetch(const struct mt_sts_fetch_opts *o, char **body, size_t *len,
		       struct mt_err *err)
{
	*body = NULL;
	if (len)
		*len = 0;
	char host[300];
	snprintf(host, sizeof host, "mta-sts.%s", o->domain);
	struct mt_deadline d = mt_deadline_in(o->timeout_ms > 0 ? o->timeout_ms : 10000,
					      (struct mt_deadline){0});
	int fd = -1;
	char addr[64];
	mt_status st = mt_net_connect(o->address ? o->address : host, o->port ? o->port : 443,
				      MT_AF_ANY, d, &fd, addr, sizeof addr, err);
	if (st != MT_OK)
		return st;
	struct mt_tls_client_opts to = {.sni = host};
	struct mt_tls *t = NULL;
	struct mt_buf b;
	mt_buf_init(&b, MT_STS_MAX_BODY + 16384);
	struct mt_verify_result *vr = calloc(1, sizeof *vr);
	if (!vr) {
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = mt_tls_client_new(fd, &to, &t, err)) != MT_OK)
		goto out;
	if ((st = mt_tls_handshake(t, d, err)) != MT_OK)
		goto out;
	const unsigned char *ders[MT_MAX_CHAIN];
	size_t lens[MT_MAX_CHAIN];
	size_t n = mt_tls_peer_chain(t, ders, lens, MT_MAX_CHAIN);
	struct mt_verify_opts vo;
	mt_verify_opts_init(&vo);
	vo.cafile = o->cafile;
	vo.no_system_ca = o->cafile != NULL;
	if ((st = mt_verify_opts_add_ref(&vo, host, true, err)) != MT_OK)
		goto out;
	if (n == 0) {
		st = mt_err_set(err, MT_ERR_VERIFY, "%s sent no certificate", host);
		goto out;
	}
	if ((st = mt_verify_chain((const unsigned char *const *)ders, lens, n, &vo, vr, err)) !=
	    MT_OK)
		goto out;
	if (!vr->trusted) {
		st = mt_err_set(err, MT_ERR_VERIFY, "certificate of %s not trusted: %s", host,
				vr->trust_text);
		goto out;
	}
	if (!vr->name_matched) {
		st = mt_err_set(err, MT_ERR_VERIFY, "certificate of %s does not name %s", host,
				host);
		goto out;
	}
	char req[512];
	int rl = snprintf(req, sizeof req,
			  "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: %s\r\n"
			  "User-Agent: mailtls-mxprobe\r\nAccept: text/plain\r\n"
			  "Connection: close\r\n\r\n", host);
	if ((st = mt_tls_write(t, req, (size_t)rl, d, err)) != MT_OK)
		goto out;
	for (;;) {
		char buf[4096];
		size_t got = 0;
		st = mt_tls_read(t, buf, sizeof buf, &got, d, err);
		if (st == MT_ERR_CLOSED || (st == MT_OK && got == 0)) {
			st = MT_OK;
			break;
		}
		if (st != MT_OK) {
			if (b.len > 0 && st != MT_ERR_TIMEOUT)
				st = MT_OK; /* truncated close: judged by the length below */
			break;
		}
		if (mt_buf_add(&b, buf, got) != MT_OK) {
			st = mt_err_set(err, MT_ERR_TOOBIG,
					"policy at https://%s/.well-known/mta-sts.txt is over %d "
					"octets", host, MT_STS_MAX_BODY);
			goto out;
		}
	}
	if (st != MT_OK)
		goto out;
	const char *resp = mt_buf_str(&b);
	const char *sep = strstr(resp, "\r\n\r\n");
	size_t seplen = 4;
	if (!sep) {
		sep = strstr(resp, "\n\n");
		seplen = 2;
	}
	int code = 0;
	if (strncmp(resp, "HTTP/1.", 7) != 0 || sscanf(resp + 8, " %3d", &code) != 1 || !sep) {
		st = mt_err_set(err, MT_ERR_PROTO, "%s did not answer with HTTP", host);
		goto out;
	}
	size_t headlen = (size_t)(sep - resp);
	char *head = malloc(headlen + 1);
	if (!head) {
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(head, resp, headlen);
	head[headlen] = '\0';
	char val[256];
	if (code >= 300 && code < 400) {
		if (!header(head, "Location", val, sizeof val))
			mt_strlcpy(val, "(no Location)", sizeof val);
		st = mt_err_set(err, MT_ERR_PROTO,
				"HTTP %d redirect to %s not followed (RFC 8461 3.3 forbids it)", code,
				val);
	} else if (code != 200) {
		st = mt_err_set(err, MT_ERR_PROTO, "HTTP status %d for https://%s/.well-known/mta-sts.txt",
				code, host);
	} else if (header(head, "Transfer-Encoding", val, sizeof val)) {
		st = mt_err_set(err, MT_ERR_PROTO, "unexpected Transfer-Encoding %s to HTTP/1.0", val);
	} else if (!header(head, "Content-Type", val, sizeof val) ||
		   strncasecmp(val, "text/plain", 10) != 0) {
		st = mt_err_set(err, MT_ERR_PROTO,
				"Content-Type is \"%s\", RFC 8461 3.2 requires text/plain",
				header(head, "Content-Type", val, sizeof val) ? val : "missing");
	} else {
		const char *bd = sep + seplen;
		size_t blen = b.len - (size_t)(bd - resp);
		if (header(head, "Content-Length", val, sizeof val) &&
		    strtoul(val, NULL, 10) != blen) {
			st = mt_err_set(err, MT_ERR_PROTO,
					"body is %zu octets, Content-Length says %s (truncated)",
					blen, val);
		} else if (blen > MT_STS_MAX_BODY) {
			st = mt_err_set(err, MT_ERR_TOOBIG, "policy is over %d octets",
					MT_STS_MAX_BODY);
		} else {
			*body = malloc(blen + 1);
			if (!*body) {
				st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
			} else {
				memcpy(*body, bd, blen);
				(*body)[blen] = '\0';
				if (len)
					*len = blen;
			}
		}
	}
	free(head);
out:
	if (vr) {
		mt_verify_result_free(vr);
		free(vr);
	}
	if (t)
		mt_tls_close(t, mt_deadline_in(500, d));
	if (fd >= 0)
		close(fd);
	mt_buf_free(&b);
	return st;
}

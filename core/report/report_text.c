/* report_text.c — the CheckTLS-style transcript, streamed from probe events.
 *
 * Format (matching CheckTLS's TestReceiver as quoted in the ESA guide): every timed line is
 * "[SSS.mmm] text"; what we send is "[SSS.mmm] -->LINE"; what the server sends is
 * "[SSS.mmm]<-- LINE". The TLS parameters and the certificate block are printed without
 * a time, as CheckTLS does. The last line is the verdict.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailtls/report.h"

#define C_RESET "\033[0m"
#define C_SEND "\033[36m"
#define C_WARN "\033[33m"
#define C_ERR "\033[31m"
#define C_OK "\033[32m"
#define C_DIM "\033[2m"

bool mt_report_use_color(FILE *f, int force)
{
	if (force > 0)
		return true;
	if (force < 0)
		return false;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	const char *term = getenv("TERM");
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(f));
}

void mt_report_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	snprintf(out, outsz, "%s %2d %02d:%02d:%02d %d GMT", mon[tm.tm_mon % 12], tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

void mt_report_dn_oneline(const char *dn, char *out, size_t outsz)
{
	/* split on unescaped ',' then print the RDNs in reverse order, each after '/' */
	const char *starts[64];
	size_t lens[64], n = 0;
	const char *s = dn;
	const char *seg = s;
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == ',' && n < 63) {
			starts[n] = seg;
			lens[n++] = (size_t)(s - seg);
			seg = s + 1;
		}
	}
	starts[n] = seg;
	lens[n++] = (size_t)(s - seg);
	size_t o = 0;
	if (outsz)
		out[0] = '\0';
	for (size_t i = n; i-- > 0;) {
		if (lens[i] == 0)
			continue;
		int w = snprintf(out + o, outsz - o, "/%.*s", (int)lens[i], starts[i]);
		if (w < 0 || (size_t)w >= outsz - o)
			break;
		o += (size_t)w;
	}
}

/* Print one line of the transcript; live transcripts put the elapsed time first. */
static void pr(const struct mt_text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pr(const struct mt_text_out *o, const char *fmt, ...)
{
	if (o->stamp)
		fprintf(o->f, "[%03lld.%03lld] ", (long long)(o->t_ms / 1000),
			(long long)(o->t_ms % 1000));
	va_list ap;
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
}

static void timed(const struct mt_text_out *o, int64_t t, const char *color, const char *sep,
		  const char *text)
{
	fprintf(o->f, "%s[%03lld.%03lld]%s%s%s\n", o->color ? color : "", (long long)(t / 1000),
		(long long)(t % 1000), sep, text, o->color && *color ? C_RESET : "");
}

static void colon_hex(const char *hex, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; hex[i] && hex[i + 1] && o + 4 < outsz; i += 2) {
		if (i)
			out[o++] = ':';
		out[o++] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
		out[o++] = (char)(hex[i + 1] >= 'a' ? hex[i + 1] - 32 : hex[i + 1]);
	}
	out[o] = '\0';
}

static void hostname_line(const struct mt_text_out *o, const struct mt_probe *p)
{
	const struct mt_verify_result *vr = &p->vr;
	const struct mt_cert_info *c = &vr->certs[0];
	char ids[2048];
	size_t n = 0;
	ids[0] = '\0';
	for (size_t i = 0; i < c->n_dns && n < sizeof ids; i++)
		n += (size_t)snprintf(ids + n, sizeof ids - n, " | DNS:%s", c->dns_names[i]);
	bool ip_ref = !strncmp(vr->matched_id, "IP:", 3) || !c->n_dns;
	for (size_t i = 0; ip_ref && i < c->n_ip && n < sizeof ids; i++)
		n += (size_t)snprintf(ids + n, sizeof ids - n, " | IP:%s", c->ip_addrs[i]);
	if (!c->n_dns && !c->n_ip && c->cn[0] && n < sizeof ids)
		snprintf(ids + n, sizeof ids - n, " | CN:%s", c->cn);
	if (vr->name_matched) {
		const char *id = strchr(vr->matched_id, ':');
		pr(o, "%sCert Hostname VERIFIED (%s = %s%s)%s\n", o->color ? C_OK : "",
			vr->matched_ref, id ? id + 1 : vr->matched_id, ids,
			o->color ? C_RESET : "");
	} else {
		const char *first = c->n_dns ? c->dns_names[0] : c->cn[0] ? c->cn : "(no name)";
		pr(o, "%sCert Hostname DOES NOT VERIFY (%s != %s%s)%s\n",
			o->color ? C_ERR : "", p->refnames[0] ? p->refnames : "(no reference name)",
			first, ids, o->color ? C_RESET : "");
	}
}

void mt_report_text_certs(const struct mt_text_out *o, const struct mt_probe *p)
{
	const struct mt_verify_result *vr = &p->vr;
	size_t shown = p->sent_chain_len > vr->ncerts ? p->sent_chain_len : vr->ncerts;
	for (size_t i = 0; i < vr->ncerts; i++) {
		const struct mt_cert_info *c = &vr->certs[i];
		bool ok = !strcmp(c->verify_text, "ok");
		pr(o, "%sCertificate %zu of %zu in chain: Cert %s: %s%s\n",
			o->color ? (ok ? C_OK : C_ERR) : "", i + 1, shown,
			ok ? "VALIDATED" : "NOT VALIDATED", c->verify_text[0] ? c->verify_text : "?",
			o->color ? C_RESET : "");
		if (i == 0 && vr->name_checked)
			hostname_line(o, p);
		char t[64];
		mt_report_time(c->not_before, t, sizeof t);
		pr(o, "Not Valid Before: %s\n", t);
		mt_report_time(c->not_after, t, sizeof t);
		pr(o, "Not Valid After: %s\n", t);
		char dn[1024];
		mt_report_dn_oneline(c->subject, dn, sizeof dn);
		pr(o, "subject= %s\n", dn);
		mt_report_dn_oneline(c->issuer, dn, sizeof dn);
		pr(o, "issuer= %s\n", dn);
		if (c->n_dns || c->n_ip) {
			char san[4096];
			size_t n = 0;
			san[0] = '\0';
			for (size_t k = 0; k < c->n_dns && n < sizeof san; k++)
				n += (size_t)snprintf(san + n, sizeof san - n, "%sDNS:%s", k ? ", " : "",
						      c->dns_names[k]);
			for (size_t k = 0; k < c->n_ip && n < sizeof san; k++)
				n += (size_t)snprintf(san + n, sizeof san - n, "%sIP:%s",
						      (k || c->n_dns) ? ", " : "", c->ip_addrs[k]);
			pr(o, "subjectAltName: %s\n", san);
		} else {
			pr(o, "subjectAltName: (none)\n");
		}
		pr(o, "Key: %s %u bits\n", c->key_type, c->key_bits);
		pr(o, "Signature algorithm: %s\n", c->sig_alg);
		char fp[100];
		colon_hex(c->sha256, fp, sizeof fp);
		pr(o, "SHA-256 fingerprint: %s\n", fp);
		if (c->is_anchor)
			pr(o, "(this certificate is a trust anchor)\n");
	}
	if (vr->name_checked && vr->ncerts == 0)
		pr(o, "Cert Hostname DOES NOT VERIFY (no certificate)\n");
	if (vr->ncerts)
		pr(o, "Chain trust: %s%s%s\n",
			o->color ? (vr->trusted ? C_OK : C_ERR) : "",
			vr->trusted ? "trusted" : vr->trust_text[0] ? vr->trust_text : "not trusted",
			o->color ? C_RESET : "");
}

void mt_report_text_verdict(const struct mt_text_out *o, const struct mt_probe *p)
{
	const struct mt_verify_result *vr = &p->vr;
	if (!o->quiet)
		for (size_t i = 0; i < vr->nfindings; i++) {
			const struct mt_finding *f = &vr->findings[i];
			char where[32] = "";
			if (f->cert >= 0)
				snprintf(where, sizeof where, " (certificate %d)", f->cert + 1);
			pr(o, "%sFault: %s: %s%s%s\n",
				o->color ? (f->severity == MT_SEV_ERROR ? C_ERR : C_WARN) : "",
				mt_fault_name(f->fault), f->detail[0] ? f->detail : mt_fault_text(f->fault),
				where, o->color ? C_RESET : "");
		}
	const char *col = p->verdict == MT_VERDICT_PASS   ? C_OK
			  : p->verdict == MT_VERDICT_WARN ? C_WARN
							  : C_ERR;
	if (!o->quiet && p->reason[0])
		pr(o, "%sReason: %s%s\n", o->color ? C_ERR : "", p->reason,
			o->color ? C_RESET : "");
	pr(o, "%sVerdict: %s%s\n", o->color ? col : "", p->verdict_text,
		o->color ? C_RESET : "");
}

void mt_report_text_event(const struct mt_event *ev, const struct mt_probe *p, void *arg)
{
	struct mt_text_out *o = arg;
	o->t_ms = ev->t_ms;
	o->stamp = !o->quiet;
	if (o->quiet) {
		if (ev->kind == MT_EV_VERDICT)
			mt_report_text_verdict(o, p);
		return;
	}
	switch (ev->kind) {
	case MT_EV_SEND:
		timed(o, ev->t_ms, C_SEND, " -->", ev->text);
		break;
	case MT_EV_RECV:
		timed(o, ev->t_ms, "", "<-- ", ev->text);
		break;
	case MT_EV_INFO:
		timed(o, ev->t_ms, "", " ", ev->text);
		break;
	case MT_EV_WARN:
		timed(o, ev->t_ms, C_WARN, " ", ev->text);
		break;
	case MT_EV_ERROR:
		timed(o, ev->t_ms, C_ERR, " ", ev->text);
		break;
	case MT_EV_TLS:
		timed(o, ev->t_ms, C_OK, " ", ev->text);
		pr(o, "SSLVersion in use: %s\n", p->tlsinfo.protocol);
		if (p->tlsinfo.openssl_cipher[0] &&
		    strcmp(p->tlsinfo.openssl_cipher, p->tlsinfo.cipher))
			pr(o, "Cipher in use: %s (%s)\n", p->tlsinfo.openssl_cipher,
				p->tlsinfo.cipher);
		else
			pr(o, "Cipher in use: %s\n", p->tlsinfo.cipher);
		pr(o, "Key exchange: %s\n", p->tlsinfo.kx);
		if (p->tlsinfo.sig[0])
			pr(o, "Server signature: %s\n", p->tlsinfo.sig);
		if (p->tlsinfo.client_cert_requested)
			pr(o, "Client certificate requested by the server: %s\n",
				p->tlsinfo.client_cert_sent ? "sent" : "none sent");
		break;
	case MT_EV_CERTS:
		mt_report_text_certs(o, p);
		break;
	case MT_EV_VERDICT:
		mt_report_text_verdict(o, p);
		break;
	}
	fflush(o->f);
}

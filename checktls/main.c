/* checktls — probe one mail server's STARTTLS (or implicit TLS) and explain its TLS, or lint
 * a certificate file offline. Argument parsing, orchestration and exit codes only: the
 * dialog, the verifier, DANE matching and the renderers are in core/.
 *
 * DANE: --tlsa records typed by hand are matched by the core's probe judge
 * (mt_probe_dane_hook) so the streamed verdict already includes them; this file adds the
 * "DANE ..." transcript line and a "dane" element to the JSON and XML reports. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtls/dane.h"
#include "mailtls/logscan_report.h"
#include "mailtls/net.h"
#include "mailtls/probe.h"
#include "mailtls/report.h"
#include "mailtls/tls.h"

#define VERSION "0.1.0"

enum {
	EXIT_PASS = 0,
	EXIT_CHECK = 1,
	EXIT_NOTLS = 2,
	EXIT_CONNECT = 3,
	EXIT_USAGE = 64,
	EXIT_INTERNAL = 70,
};

static void usage(FILE *f)
{
	fputs(
	    "usage: checktls [options] HOST[:PORT]\n"
	    "       checktls --cert-file FILE [--key FILE] [--password P | --password-file F]\n"
	    "                [--name NAME]... [options]\n"
	    "\n"
	    "Probe one mail server: banner, EHLO, STARTTLS (or implicit TLS), the handshake, every\n"
	    "certificate of the chain as sent, the host name check, optional MAIL/RCPT, QUIT; print\n"
	    "a timestamped CheckTLS-style transcript ending with one verdict line.\n"
	    "\n"
	    "Connection:\n"
	    "  -p, --port PORT         port (default 25; 465 with --implicit-tls)\n"
	    "      --implicit-tls      TLS from the first byte (SMTPS, RFC 8314)\n"
	    "  -4, -6                  IPv4 or IPv6 only\n"
	    "      --ehlo NAME         name to send in EHLO (default this host's name)\n"
	    "      --mail-from ADDR    also send MAIL FROM:<ADDR> (then RSET)\n"
	    "      --rcpt ADDR         and RCPT TO:<ADDR> (repeatable; needs --mail-from)\n"
	    "      --timeout SEC       per phase (connect, banner, EHLO, STARTTLS, handshake; 30)\n"
	    "      --deadline SEC      whole session (120)\n"
	    "TLS:\n"
	    "      --sni NAME          server name indication (default HOST when it is a name)\n"
	    "      --no-sni            send no SNI\n"
	    "      --priority STRING   GnuTLS priority string (default NORMAL)\n"
	    "      --tls-min V         lowest version: 1.0 1.1 1.2 1.3\n"
	    "      --tls-max V         highest version\n"
	    "      --client-cert FILE  client certificate (PEM, or PKCS#12 .p12/.pfx)\n"
	    "      --client-key FILE   its key (PEM; default: in the certificate file)\n"
	    "Verification:\n"
	    "  -l, --level LEVEL       none may encrypt fingerprint dane dane-only verify secure\n"
	    "                          (Postfix), or None Preferred Required Preferred-Verify\n"
	    "                          Required-Verify (Cisco ESA destination controls); default\n"
	    "                          verify, fingerprint with --fingerprint, dane with --tlsa;\n"
	    "                          dane and dane-only need --tlsa\n"
	    "      --name NAME         reference name to match (repeatable; default HOST)\n"
	    "      --cafile FILE       trust these CAs instead of the system store\n"
	    "      --capath DIR        trust the CAs in DIR instead of the system store\n"
	    "      --fingerprint HEX   SHA-256 of a certificate or its public key (repeatable)\n"
	    "      --tlsa \"U S M HEX\"  a TLSA record to match, e.g. \"3 1 1 <sha256 of the SPKI>\"\n"
	    "                          (repeatable, at most 16; usage 2 DANE-TA or 3 DANE-EE,\n"
	    "                          selector 0 or 1, matching type 0, 1 or 2); the records\n"
	    "                          are taken as DNSSEC-secure. DANE-TA also needs --name\n"
	    "                          unless HOST is the MX name\n"
	    "      --warn-days N       warn when a certificate expires within N days (30)\n"
	    "Offline lint:\n"
	    "      --cert-file FILE    PEM chain (optionally with the key) or PKCS#12\n"
	    "      --key FILE          the private key, to check it matches\n"
	    "      --password P        PKCS#12 or key password; --password-file F reads it\n"
	    "Output:\n"
	    "  -q, --quiet             print only the verdict line\n"
	    "      --json              one JSON object\n"
	    "      --xml               an XML document\n"
	    "      --nagios            one Nagios status line with perfdata; Nagios exit codes\n"
	    "      --color, --no-color colour (default: on a terminal, unless NO_COLOR is set)\n"
	    "  -h, --help              this help\n"
	    "      --version           version\n"
	    "\n"
	    "Exit codes: 0 all checks passed at the requested level (warnings allowed);\n"
	    "1 a check failed (verification, policy, DANE mismatch); 2 TLS not available or\n"
	    "handshake failed; 3 could not connect, SMTP error or DNS failure; 64 usage error\n"
	    "(a malformed --tlsa record included) or unusable input file; 70 internal error.\n"
	    "With --nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n",
	    f);
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "checktls: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'checktls --help'.\n");
	return EXIT_USAGE;
}

static int parse_seconds(const char *s, int *ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || v <= 0 || v > 86400)
		return -1;
	*ms = (int)(v * 1000);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

/* A fingerprint: hex digits in whole bytes (at most the 32 of SHA-256), colons allowed
 * between the pairs. Shorter digests are accepted; they simply never match a SHA-256. */
static bool valid_fingerprint(const char *s)
{
	size_t digits = 0, run = 0, colons = 0;
	for (; *s; s++) {
		if (*s == ':') {
			if (run != 2)
				return false;
			run = 0;
			colons++;
			continue;
		}
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
			return false;
		digits++;
		run++;
	}
	return digits >= 2 && digits <= 64 && digits % 2 == 0 &&
	       (colons == 0 || (colons == digits / 2 - 1 && run == 2));
}

static int tls_version_rank(const char *v)
{
	static const char *const names[] = {"1.0", "1.1", "1.2", "1.3"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static int exit_for(const struct mt_probe *p)
{
	if (p->status == MT_ERR_USAGE || p->status == MT_ERR_BADINPUT)
		return EXIT_USAGE;
	switch (p->outcome) {
	case MT_OUTCOME_OK: return EXIT_PASS;
	case MT_OUTCOME_CHECK_FAILED: return EXIT_CHECK;
	case MT_OUTCOME_NO_TLS: return EXIT_NOTLS;
	case MT_OUTCOME_CONNECT: return EXIT_CONNECT;
	case MT_OUTCOME_INTERNAL: return EXIT_INTERNAL;
	}
	return EXIT_INTERNAL;
}

static char *read_password_file(const char *path, struct mt_err *err)
{
	char *data = NULL;
	if (mt_file_read(path, 4096, &data, NULL, err) != MT_OK)
		return NULL;
	data[strcspn(data, "\r\n")] = '\0';
	return data;
}

/* The --tlsa records. Static, and freed by atexit, so that every way out of main (usage
 * errors after parsing included) releases them. */
#define MAX_TLSA 16
static struct mt_tlsa tlsa_recs[MAX_TLSA];
static size_t ntlsa;

static void free_tlsa(void)
{
	for (size_t i = 0; i < ntlsa; i++)
		mt_tlsa_free(&tlsa_recs[i]);
	ntlsa = 0;
}

/* Add one --tlsa record. A hand-typed record must be one DNS could carry for DANE: a
 * parse error, an unknown usage, selector or matching type, or a digest of the wrong
 * length is a typo, so it is a usage error rather than an "unusable record" result.
 * PKIX-TA(0)/PKIX-EE(1) are accepted and reported as unusable for SMTP, as from DNS.
 * Returns 0, or the exit code after printing the message. */
static int add_tlsa(const char *text)
{
	char msg[400];
	struct mt_err err;
	if (ntlsa >= MAX_TLSA)
		return die_usage("too many --tlsa options (at most %s)", "16");
	struct mt_tlsa *t = &tlsa_recs[ntlsa];
	mt_status st = mt_tlsa_parse(text, t, &err);
	if (st == MT_ERR_NOMEM) {
		fprintf(stderr, "checktls: out of memory\n");
		return EXIT_INTERNAL;
	}
	if (st != MT_OK)
		return die_usage("bad --tlsa: %s", err.msg);
	ntlsa++; /* owned from here: freed by free_tlsa whatever follows */
	msg[0] = '\0';
	if (t->usage > 3)
		snprintf(msg, sizeof msg,
			 "certificate usage %u is not 0-3 (2 is DANE-TA, 3 is DANE-EE)", t->usage);
	else if (t->selector > 1)
		snprintf(msg, sizeof msg,
			 "selector %u is not 0 (full certificate) or 1 (SubjectPublicKeyInfo)",
			 t->selector);
	else if (t->mtype > 2)
		snprintf(msg, sizeof msg,
			 "matching type %u is not 0 (full data), 1 (SHA-256) or 2 (SHA-512)",
			 t->mtype);
	else if (t->mtype == 1 && t->len != 32)
		snprintf(msg, sizeof msg, "SHA-256 data must be 64 hex digits, not %zu",
			 t->len * 2);
	else if (t->mtype == 2 && t->len != 64)
		snprintf(msg, sizeof msg, "SHA-512 data must be 128 hex digits, not %zu",
			 t->len * 2);
	else if (t->mtype == 0 && t->len < 16)
		snprintf(msg, sizeof msg, "%s", mt_tlsa_unusable(t));
	if (!msg[0])
		return 0;
	char full[600];
	snprintf(full, sizeof full, "bad --tlsa \"%.80s\": %s", text, msg);
	return die_usage("%s", full);
}

/* The DANE context for the probe judge: the user vouches for the records, so they are
 * taken as a secure answer; the reference names are checktls's own (the first two). */
static void dane_ctx_init(struct mt_dane_ctx *d, const struct mt_verify_opts *v)
{
	memset(d, 0, sizeof *d);
	d->asked = true;
	d->secure = true;
	d->recs = tlsa_recs;
	d->n = ntlsa;
	for (size_t i = 0; i < v->nrefs && d->nrefs < 2; i++)
		d->refs[d->nrefs++] = v->refs[i];
	d->now = v->now;
	d->result.rec = d->result.cert = -1;
}

/* "DANE verified: DANE-EE 3 1 1 ... matched certificate 0 (...)" */
static void dane_line(const struct mt_dane_result *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "DANE %s: %s", mt_dane_state_name(r->state), r->text);
}

/* The text transcript with the DANE line just before the verdict: the judge has run by
 * the time the verdict event arrives, so ctx->result is final. */
struct text_cb {
	struct mt_text_out *to;
	const struct mt_dane_ctx *dane; /* NULL without --tlsa */
};

static void text_event(const struct mt_event *ev, const struct mt_probe *p, void *arg)
{
	struct text_cb *t = arg;
	if (ev->kind == MT_EV_VERDICT && t->dane && !t->to->quiet) {
		char line[700];
		dane_line(&t->dane->result, line, sizeof line);
		enum mt_dane_state st = t->dane->result.state;
		struct mt_event de = {
		    .kind = st == MT_DANE_VERIFIED	   ? MT_EV_INFO
			    : st == MT_DANE_MISMATCH ? MT_EV_ERROR
						     : MT_EV_WARN,
		    .t_ms = ev->t_ms,
		    .text = line,
		};
		mt_report_text_event(&de, p, t->to);
	}
	mt_report_text_event(ev, p, t->to);
}

/* The DANE outcome as a JSON object (the same keys mxprobe uses per address). */
static json_t *dane_json(const struct mt_dane_result *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(mt_dane_state_name(r->state)));
	json_object_set_new(o, "text", json_string(r->text));
	json_object_set_new(o, "record", json_integer(r->rec));
	json_object_set_new(o, "certificate", json_integer(r->cert));
	json_t *recs = json_array();
	for (size_t i = 0; i < ntlsa; i++) {
		char f[200];
		mt_tlsa_format(&tlsa_recs[i], f, sizeof f);
		const char *why = mt_tlsa_unusable(&tlsa_recs[i]);
		json_t *ro = json_object();
		json_object_set_new(ro, "record", json_string(f));
		json_object_set_new(ro, "usable", json_boolean(!why));
		if (why)
			json_object_set_new(ro, "unusable", json_string(why));
		json_array_append_new(recs, ro);
	}
	json_object_set_new(o, "records", recs);
	return o;
}

/* Add "dane" to the core's JSON report. Takes s, returns a new string (NULL: no memory). */
static char *json_with_dane(char *s, const struct mt_dane_result *r)
{
	json_t *o = json_loads(s, 0, NULL);
	free(s);
	if (!o)
		return NULL;
	json_object_set_new(o, "dane", dane_json(r));
	char *out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

/* Add a <dane> element to the core's XML report, before the root's end tag. The element is
 * written by the core's libxml2 writer (escaping included) into memory, then spliced in:
 * nothing outside core/report/ includes libxml2. Takes s, returns a new string or NULL. */
static char *xml_with_dane(char *s, const struct mt_dane_result *r)
{
	char *frag = NULL, *out = NULL;
	size_t fraglen = 0;
	struct mt_err err;
	FILE *mf = open_memstream(&frag, &fraglen);
	struct mt_lsxml *x = mf ? mt_lsxml_new(mf, "dane", &err) : NULL;
	if (x) {
		mt_status st = mt_lsxml_text(x, "state", mt_dane_state_name(r->state));
		if (st == MT_OK)
			st = mt_lsxml_text(x, "text", r->text);
		char num[24];
		snprintf(num, sizeof num, "%d", r->rec);
		if (st == MT_OK)
			st = mt_lsxml_text(x, "record", num);
		snprintf(num, sizeof num, "%d", r->cert);
		if (st == MT_OK)
			st = mt_lsxml_text(x, "certificate", num);
		if (st == MT_OK)
			st = mt_lsxml_start(x, "records");
		for (size_t i = 0; st == MT_OK && i < ntlsa; i++) {
			char f[200];
			mt_tlsa_format(&tlsa_recs[i], f, sizeof f);
			const char *why = mt_tlsa_unusable(&tlsa_recs[i]);
			st = mt_lsxml_start(x, "tlsa");
			if (st == MT_OK)
				st = mt_lsxml_text(x, "record", f);
			if (st == MT_OK)
				st = mt_lsxml_text(x, "usable", why ? "false" : "true");
			if (st == MT_OK && why)
				st = mt_lsxml_text(x, "unusable", why);
			if (st == MT_OK)
				st = mt_lsxml_end(x);
		}
		if (mt_lsxml_finish(x) != MT_OK)
			st = MT_ERR_IO;
		x = NULL;
		if (fclose(mf) != 0)
			st = MT_ERR_IO;
		mf = NULL;
		/* the fragment starts after the XML declaration; the root's end tag is last */
		const char *body = st == MT_OK && frag ? strstr(frag, "?>") : NULL;
		const char *end = strstr(s, "</checktls>");
		if (body && end) {
			body += 2;
			while (*body == '\n')
				body++;
			struct mt_buf b;
			mt_buf_init(&b, 1u << 22);
			mt_buf_addf(&b, "%.*s", (int)(end - s), s);
			/* indent the element one level, as the rest of the document is */
			for (const char *l = body; *l;) {
				const char *nl = strchr(l, '\n');
				size_t len = nl ? (size_t)(nl - l) : strlen(l);
				if (len)
					mt_buf_addf(&b, "  %.*s\n", (int)len, l);
				l += len + (nl ? 1 : 0);
			}
			mt_buf_addf(&b, "%s", end);
			out = mt_strdup(mt_buf_str(&b));
			mt_buf_free(&b);
		}
	}
	if (mf)
		fclose(mf);
	free(frag);
	free(s);
	return out;
}

enum output { OUT_TEXT, OUT_JSON, OUT_XML, OUT_NAGIOS };

struct cli {
	struct mt_probe_opts po;
	const char *host_arg;
	const char *cert_file, *key_file, *password;
	char *password_buf;
	const char *names[MT_MAX_REFNAMES];
	size_t nnames;
	enum output out;
	int color; /* 1 on, -1 off, 0 auto */
	bool quiet, no_sni, fam4, fam6;
	int outputs_chosen;
};

/* Print the result in the chosen form and return the exit code. dane: the DANE outcome
 * to add to JSON and XML (NULL without --tlsa). */
static int finish(struct cli *c, struct mt_probe *p, struct mt_text_out *to,
		  const struct mt_dane_result *dane)
{
	int rc = exit_for(p);
	if (c->out == OUT_JSON || c->out == OUT_XML) {
		char *s = c->out == OUT_JSON ? mt_report_json(p, rc, true) : mt_report_xml(p, rc);
		if (s && dane)
			s = c->out == OUT_JSON ? json_with_dane(s, dane) : xml_with_dane(s, dane);
		if (!s) {
			fprintf(stderr, "checktls: out of memory rendering the report\n");
			return EXIT_INTERNAL;
		}
		fputs(s, stdout);
		if (c->out == OUT_JSON)
			fputc('\n', stdout);
		free(s);
	} else if (c->out == OUT_NAGIOS) {
		int nrc = 3;
		char *s = mt_report_nagios(p, "CHECKTLS", c->po.verify.warn_days, &nrc);
		puts(s ? s : "CHECKTLS UNKNOWN - out of memory");
		free(s);
		rc = nrc;
	}
	(void)to;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "checktls: cannot write output: %s\n", strerror(errno));
		return EXIT_INTERNAL;
	}
	return rc;
}

static int run_lint(struct cli *c, struct mt_text_out *to)
{
	struct mt_probe p;
	memset(&p, 0, sizeof p);
	for (int i = 0; i < MT_PH__COUNT; i++)
		p.phase_ms[i] = -1;
	mt_buf_init(&p.evtext, 1 << 16);
	p.offline = true;
	p.policy = c->po.policy;
	mt_strlcpy(p.host, c->cert_file, sizeof p.host);
	mt_probe_set_refnames(&p, &c->po.verify);
	struct mt_certfile cf;
	struct mt_err err;
	mt_status st = mt_certfile_load(c->cert_file, c->key_file, c->password, &cf, &err);
	if (st != MT_OK) {
		fprintf(stderr, "checktls: %s\n", err.msg);
		mt_probe_free(&p);
		return st == MT_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
	}
	struct mt_verify_opts vo = c->po.verify;
	vo.lint = true;
	st = mt_verify_chain((const unsigned char *const *)cf.ders, cf.lens, cf.n, &vo, &p.vr, &err);
	if (st != MT_OK) {
		fprintf(stderr, "checktls: %s\n", err.msg);
		mt_certfile_free(&cf);
		mt_probe_free(&p);
		return st == MT_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
	}
	p.verified = true;
	p.sent_chain_len = cf.n + cf.extra_certs;
	if (cf.extra_certs)
		mt_verify_add_finding(&p.vr, MT_FAULT_CHAIN_TOO_LONG, MT_SEV_WARN, -1,
				      "the file holds %zu certificates; the first %d were analysed",
				      cf.n + cf.extra_certs, MT_MAX_CHAIN);
	if (cf.has_key && !cf.key_matches)
		mt_verify_add_finding(&p.vr, MT_FAULT_KEY_MISMATCH, MT_SEV_ERROR, 0,
				      "the private key does not belong to the first certificate");
	struct mt_dane_ctx dctx;
	if (ntlsa) {
		/* the file's chain against the records: "would my TLSA match this certificate" */
		dane_ctx_init(&dctx, &vo);
		mt_probe_dane_hook(&p, &dctx);
	} else {
		mt_probe_judge(&p);
	}
	if (c->out == OUT_TEXT) {
		if (!to->quiet) {
			fprintf(to->f, "Certificate file %s: %zu certificate%s%s%s\n", c->cert_file,
				cf.n, cf.n == 1 ? "" : "s", cf.pkcs12 ? " (PKCS#12)" : "",
				cf.has_key ? (cf.key_matches ? ", private key matches"
							     : ", PRIVATE KEY DOES NOT MATCH")
					   : ", no private key");
			mt_report_text_certs(to, &p);
			if (ntlsa) {
				char line[700];
				dane_line(&dctx.result, line, sizeof line);
				fprintf(to->f, "%s\n", line);
			}
		}
		mt_report_text_verdict(to, &p);
	}
	mt_certfile_free(&cf);
	int rc = finish(c, &p, to, ntlsa ? &dctx.result : NULL);
	mt_probe_free(&p);
	return rc;
}

int main(int argc, char **argv)
{
	enum {
		O_EHLO = 256, O_IMPLICIT, O_NAME, O_SNI, O_NOSNI, O_CAFILE, O_CAPATH, O_FP,
		O_WARN, O_CCERT, O_CKEY, O_PRIO, O_TLSMIN, O_TLSMAX, O_TIMEOUT, O_DEADLINE,
		O_FROM, O_RCPT, O_JSON, O_XML, O_COLOR, O_NOCOLOR, O_NAGIOS, O_CERTFILE, O_KEY,
		O_PASS, O_PASSFILE, O_VERSION, O_TLSA,
	};
	static const struct option lo[] = {
	    {"port", required_argument, 0, 'p'},
	    {"level", required_argument, 0, 'l'},
	    {"quiet", no_argument, 0, 'q'},
	    {"help", no_argument, 0, 'h'},
	    {"ehlo", required_argument, 0, O_EHLO},
	    {"implicit-tls", no_argument, 0, O_IMPLICIT},
	    {"name", required_argument, 0, O_NAME},
	    {"sni", required_argument, 0, O_SNI},
	    {"no-sni", no_argument, 0, O_NOSNI},
	    {"cafile", required_argument, 0, O_CAFILE},
	    {"capath", required_argument, 0, O_CAPATH},
	    {"fingerprint", required_argument, 0, O_FP},
	    {"tlsa", required_argument, 0, O_TLSA},
	    {"warn-days", required_argument, 0, O_WARN},
	    {"client-cert", required_argument, 0, O_CCERT},
	    {"client-key", required_argument, 0, O_CKEY},
	    {"priority", required_argument, 0, O_PRIO},
	    {"tls-min", required_argument, 0, O_TLSMIN},
	    {"tls-max", required_argument, 0, O_TLSMAX},
	    {"timeout", required_argument, 0, O_TIMEOUT},
	    {"deadline", required_argument, 0, O_DEADLINE},
	    {"mail-from", required_argument, 0, O_FROM},
	    {"rcpt", required_argument, 0, O_RCPT},
	    {"json", no_argument, 0, O_JSON},
	    {"xml", no_argument, 0, O_XML},
	    {"nagios", no_argument, 0, O_NAGIOS},
	    {"color", no_argument, 0, O_COLOR},
	    {"colour", no_argument, 0, O_COLOR},
	    {"no-color", no_argument, 0, O_NOCOLOR},
	    {"cert-file", required_argument, 0, O_CERTFILE},
	    {"key", required_argument, 0, O_KEY},
	    {"password", required_argument, 0, O_PASS},
	    {"password-file", required_argument, 0, O_PASSFILE},
	    {"version", no_argument, 0, O_VERSION},
	    {0, 0, 0, 0},
	};
	struct cli c;
	memset(&c, 0, sizeof c);
	atexit(free_tlsa);
	mt_probe_opts_init(&c.po);
	struct mt_err err;
	unsigned port = 0;
	bool level_given = false;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:l:qh46", lo, NULL)) != -1) {
		switch (ch) {
		case 'p': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > 65535)
				return die_usage("bad port '%s' (expected 1-65535)", optarg);
			port = (unsigned)v;
			break;
		}
		case 'l':
			if (mt_policy_parse(optarg, &c.po.policy, &err) != MT_OK)
				return die_usage("%s", err.msg);
			level_given = true;
			break;
		case 'q': c.quiet = true; break;
		case 'h': usage(stdout); return 0;
		case '4': c.fam4 = true; break;
		case '6': c.fam6 = true; break;
		case O_EHLO: c.po.ehlo = optarg; break;
		case O_IMPLICIT: c.po.implicit_tls = true; break;
		case O_NAME:
			if (c.nnames >= MT_MAX_REFNAMES)
				return die_usage("too many --name options (at most %s)", "16");
			c.names[c.nnames++] = optarg;
			break;
		case O_SNI: c.po.tls.sni = optarg; break;
		case O_NOSNI: c.no_sni = true; break;
		case O_CAFILE: c.po.verify.cafile = optarg; c.po.verify.no_system_ca = true; break;
		case O_CAPATH: c.po.verify.capath = optarg; c.po.verify.no_system_ca = true; break;
		case O_FP:
			if (c.po.verify.nfingerprints >= 16)
				return die_usage("too many --fingerprint options (at most %s)", "16");
			if (!valid_fingerprint(optarg))
				return die_usage("bad --fingerprint '%s' (expected the SHA-256 in hex, "
						 "64 digits, colons allowed between pairs)",
						 optarg);
			c.po.verify.fingerprints[c.po.verify.nfingerprints++] = optarg;
			break;
		case O_TLSA: {
			int rc = add_tlsa(optarg);
			if (rc)
				return rc;
			break;
		}
		case O_WARN: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0 || v > 3650)
				return die_usage("bad --warn-days '%s' (expected 0-3650)", optarg);
			c.po.verify.warn_days = (int)v;
			break;
		}
		case O_CCERT: c.po.tls.client_cert = optarg; break;
		case O_CKEY: c.po.tls.client_key = optarg; break;
		case O_PRIO: c.po.tls.priority = optarg; break;
		case O_TLSMIN:
		case O_TLSMAX:
			if (tls_version_rank(optarg) < 0)
				return die_usage("bad TLS version '%s' (expected 1.0, 1.1, 1.2 or 1.3)",
						 optarg);
			if (ch == O_TLSMIN)
				c.po.tls.tls_min = optarg;
			else
				c.po.tls.tls_max = optarg;
			break;
		case O_TIMEOUT:
			if (parse_seconds(optarg, &c.po.timeout_ms))
				return die_usage("bad --timeout '%s' (seconds, > 0)", optarg);
			break;
		case O_DEADLINE:
			if (parse_seconds(optarg, &c.po.deadline_ms))
				return die_usage("bad --deadline '%s' (seconds, > 0)", optarg);
			break;
		case O_FROM: c.po.mail_from = optarg; break;
		case O_RCPT:
			if (c.po.nrcpts >= 16)
				return die_usage("too many --rcpt options (at most %s)", "16");
			c.po.rcpts[c.po.nrcpts++] = optarg;
			break;
		case O_JSON: c.out = OUT_JSON; c.outputs_chosen++; break;
		case O_XML: c.out = OUT_XML; c.outputs_chosen++; break;
		case O_NAGIOS: c.out = OUT_NAGIOS; c.outputs_chosen++; break;
		case O_COLOR: c.color = 1; break;
		case O_NOCOLOR: c.color = -1; break;
		case O_CERTFILE: c.cert_file = optarg; break;
		case O_KEY: c.key_file = optarg; break;
		case O_PASS: c.password = optarg; break;
		case O_PASSFILE:
			c.password_buf = read_password_file(optarg, &err);
			if (!c.password_buf) {
				fprintf(stderr, "checktls: %s\n", err.msg);
				return EXIT_USAGE;
			}
			c.password = c.password_buf;
			break;
		case O_VERSION: printf("checktls (mailtls) %s\n", VERSION); return 0;
		case ':': return die_usage("option '%s' needs a value", argv[optind - 1]);
		default: return die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}

	/* contradictions */
	if (c.outputs_chosen > 1)
		return die_usage("%s", "choose one of --json, --xml and --nagios");
	if (c.fam4 && c.fam6)
		return die_usage("%s", "-4 and -6 exclude each other");
	if (c.no_sni && c.po.tls.sni)
		return die_usage("%s", "--sni and --no-sni exclude each other");
	if (c.po.tls.tls_min && c.po.tls.tls_max &&
	    tls_version_rank(c.po.tls.tls_min) > tls_version_rank(c.po.tls.tls_max))
		return die_usage("%s", "--tls-min is above --tls-max");
	if (c.po.nrcpts && !c.po.mail_from)
		return die_usage("%s", "--rcpt needs --mail-from");
	if (c.po.tls.client_key && !c.po.tls.client_cert)
		return die_usage("%s", "--client-key needs --client-cert");
	if (c.key_file && !c.cert_file)
		return die_usage("%s", "--key is for --cert-file (use --client-key for a client certificate)");
	if (c.po.policy.level == MT_LEVEL_FINGERPRINT && !c.po.verify.nfingerprints)
		return die_usage("%s", "level fingerprint needs at least one --fingerprint");
	if ((c.po.policy.level == MT_LEVEL_DANE || c.po.policy.level == MT_LEVEL_DANE_ONLY) &&
	    !ntlsa)
		return die_usage("level %s needs TLSA records: give them with --tlsa \"3 1 1 "
				 "<hex>\" (mxprobe looks them up in DNS)",
				 mt_level_name(c.po.policy.level));
	if (ntlsa && c.po.verify.nfingerprints && !level_given)
		return die_usage("%s", "--tlsa and --fingerprint: choose the level with -l "
				       "(dane or fingerprint)");
	if (c.po.implicit_tls && c.po.policy.level == MT_LEVEL_NONE)
		return die_usage("%s", "--implicit-tls with level none makes no sense");
	if (c.po.verify.nfingerprints && !level_given)
		c.po.policy.level = MT_LEVEL_FINGERPRINT;
	if (ntlsa && !level_given)
		c.po.policy.level = MT_LEVEL_DANE;
	c.po.tls.client_password = c.password;
	c.po.family = c.fam4 ? MT_AF_INET4 : c.fam6 ? MT_AF_INET6 : MT_AF_ANY;

	struct mt_text_out to = {.f = stdout, .quiet = c.quiet};
	to.color = mt_report_use_color(stdout, c.color);

	int rc;
	if (c.cert_file) {
		if (optind < argc)
			return die_usage("--cert-file lints a file offline: no HOST ('%s') allowed",
					 argv[optind]);
		for (size_t i = 0; i < c.nnames; i++)
			if (mt_verify_opts_add_ref(&c.po.verify, c.names[i], true, &err) != MT_OK)
				return die_usage("%s", err.msg);
		rc = run_lint(&c, &to);
		free(c.password_buf);
		return rc;
	}
	if (optind >= argc)
		return die_usage("%s", "no HOST given");
	if (optind + 1 < argc)
		return die_usage("one HOST only ('%s' is extra)", argv[optind + 1]);

	char host[256];
	unsigned hport = 0;
	if (mt_net_split_hostport(argv[optind], host, sizeof host, &hport, &err) != MT_OK)
		return die_usage("%s", err.msg);
	if (hport && port && hport != port)
		return die_usage("%s", "port given twice with different values");
	c.po.host = host;
	c.po.port = port ? port : hport;
	if (c.no_sni)
		c.po.tls.sni = "";
	if (c.nnames == 0)
		c.names[c.nnames++] = host;
	for (size_t i = 0; i < c.nnames; i++)
		if (mt_verify_opts_add_ref(&c.po.verify, c.names[i], true, &err) != MT_OK)
			return die_usage("%s", err.msg);

	if (c.po.tls.client_cert) {
		/* check the client certificate before connecting: a bad file is a usage error */
		struct mt_certfile cf;
		if (mt_certfile_load(c.po.tls.client_cert, c.po.tls.client_key, c.password, &cf,
				     &err) != MT_OK) {
			fprintf(stderr, "checktls: client certificate: %s\n", err.msg);
			free(c.password_buf);
			return EXIT_USAGE;
		}
		const char *bad = !cf.has_key ? "has no private key (give --client-key)"
				  : !cf.key_matches ? "does not match its private key"
						    : NULL;
		mt_certfile_free(&cf);
		if (bad) {
			fprintf(stderr, "checktls: client certificate %s %s\n", c.po.tls.client_cert,
				bad);
			free(c.password_buf);
			return EXIT_USAGE;
		}
	}
	struct mt_dane_ctx dctx;
	if (ntlsa) {
		dane_ctx_init(&dctx, &c.po.verify);
		c.po.judge = mt_probe_dane_hook;
		c.po.judge_arg = &dctx;
	}
	struct text_cb tcb = {.to = &to, .dane = ntlsa ? &dctx : NULL};
	if (c.out == OUT_TEXT) {
		c.po.cb = text_event;
		c.po.cb_arg = &tcb;
	}
	struct mt_probe p;
	mt_probe_run(&c.po, &p);
	if (c.out == OUT_TEXT && (p.status == MT_ERR_USAGE || p.status == MT_ERR_BADINPUT))
		fprintf(stderr, "checktls: %s\n", p.err.msg);
	rc = finish(&c, &p, &to, ntlsa ? &dctx.result : NULL);
	mt_probe_free(&p);
	free(c.password_buf);
	return rc;
}

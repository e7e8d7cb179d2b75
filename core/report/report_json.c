/* report_json.c — a probe result as one JSON object (jansson), and the Nagios line. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtls/report.h"

static json_t *iso_time(time_t t)
{
	char b[32];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(b);
}

static json_t *cert_json(const struct mt_cert_info *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "subject", json_string(c->subject));
	json_object_set_new(o, "issuer", json_string(c->issuer));
	json_object_set_new(o, "cn", json_string(c->cn));
	json_object_set_new(o, "not_before", iso_time(c->not_before));
	json_object_set_new(o, "not_after", iso_time(c->not_after));
	json_t *d = json_array();
	for (size_t i = 0; i < c->n_dns; i++)
		json_array_append_new(d, json_string(c->dns_names[i]));
	json_object_set_new(o, "dns_names", d);
	json_t *ip = json_array();
	for (size_t i = 0; i < c->n_ip; i++)
		json_array_append_new(ip, json_string(c->ip_addrs[i]));
	json_object_set_new(o, "ip_addresses", ip);
	json_object_set_new(o, "key_type", json_string(c->key_type));
	json_object_set_new(o, "key_bits", json_integer(c->key_bits));
	json_object_set_new(o, "signature_algorithm", json_string(c->sig_alg));
	json_object_set_new(o, "sha256", json_string(c->sha256));
	json_object_set_new(o, "spki_sha256", json_string(c->spki_sha256));
	json_object_set_new(o, "is_ca", json_boolean(c->is_ca));
	json_object_set_new(o, "self_signed", json_boolean(c->self_signed));
	json_object_set_new(o, "trust_anchor", json_boolean(c->is_anchor));
	json_object_set_new(o, "verify", json_string(c->verify_text));
	return o;
}

static json_t *probe_json(const struct mt_probe *p, int exit_code)
{
	json_t *o = json_object();
	json_object_set_new(o, "host", json_string(p->host));
	json_object_set_new(o, "port", json_integer(p->port));
	json_object_set_new(o, "address", p->address[0] ? json_string(p->address) : json_null());
	json_object_set_new(o, "verdict", json_string(mt_verdict_name(p->verdict)));
	json_object_set_new(o, "level_requested", json_string(mt_policy_name(&p->policy)));
	json_object_set_new(o, "level_reached", json_string(mt_level_name(p->reached)));
	json_object_set_new(o, "exit_code", json_integer(exit_code));
	json_object_set_new(o, "summary", json_string(p->verdict_text));
	json_object_set_new(o, "reason", p->reason[0] ? json_string(p->reason) : json_null());
	json_object_set_new(o, "error", p->status != MT_OK ? json_string(p->err.msg) : json_null());
	json_object_set_new(o, "connected", json_boolean(p->connected));
	json_object_set_new(o, "banner_code", json_integer(p->banner_code));
	json_object_set_new(o, "esmtp", json_boolean(p->esmtp));
	json_object_set_new(o, "starttls_offered", json_boolean(p->starttls_offered));
	json_object_set_new(o, "starttls_reply",
			    p->starttls_reply[0] ? json_string(p->starttls_reply) : json_null());
	json_object_set_new(o, "injected_bytes", json_integer((json_int_t)p->injected_bytes));
	if (p->tls) {
		json_t *t = json_object();
		json_object_set_new(t, "protocol", json_string(p->tlsinfo.protocol));
		json_object_set_new(t, "cipher", json_string(p->tlsinfo.cipher));
		json_object_set_new(t, "cipher_openssl", json_string(p->tlsinfo.openssl_cipher));
		json_object_set_new(t, "kx", json_string(p->tlsinfo.kx));
		json_object_set_new(t, "server_signature", json_string(p->tlsinfo.sig));
		json_object_set_new(t, "client_cert_requested",
				    json_boolean(p->tlsinfo.client_cert_requested));
		json_object_set_new(t, "client_cert_sent", json_boolean(p->tlsinfo.client_cert_sent));
		json_object_set_new(o, "tls", t);
	} else {
		json_object_set_new(o, "tls", json_null());
	}
	json_t *certs = json_array();
	for (size_t i = 0; i < p->vr.ncerts; i++)
		json_array_append_new(certs, cert_json(&p->vr.certs[i]));
	json_object_set_new(o, "certs", certs);
	json_object_set_new(o, "chain_length_sent", json_integer((json_int_t)p->sent_chain_len));
	json_object_set_new(o, "trusted", json_boolean(p->verified && p->vr.trusted));
	json_object_set_new(o, "trust", json_string(p->vr.trust_text));
	json_object_set_new(o, "reference_names", json_string(p->refnames));
	json_object_set_new(o, "name_matched", json_boolean(p->vr.name_matched));
	json_object_set_new(o, "matched_name",
			    p->vr.name_matched ? json_string(p->vr.matched_ref) : json_null());
	json_object_set_new(o, "matched_id",
			    p->vr.name_matched ? json_string(p->vr.matched_id) : json_null());
	if (p->vr.fingerprint_checked)
		json_object_set_new(o, "fingerprint_matched", json_boolean(p->vr.fingerprint_matched));
	json_t *faults = json_array();
	for (size_t i = 0; i < p->vr.nfindings; i++) {
		const struct mt_finding *f = &p->vr.findings[i];
		json_t *fo = json_object();
		json_object_set_new(fo, "fault", json_string(mt_fault_name(f->fault)));
		json_object_set_new(fo, "severity",
				    json_string(f->severity == MT_SEV_ERROR  ? "error"
						: f->severity == MT_SEV_WARN ? "warning"
									     : "info"));
		json_object_set_new(fo, "cert", f->cert >= 0 ? json_integer(f->cert + 1) : json_null());
		json_object_set_new(fo, "detail", json_string(f->detail));
		json_array_append_new(faults, fo);
	}
	json_object_set_new(o, "faults", faults);
	json_t *tm = json_object();
	for (int i = 0; i < MT_PH__COUNT; i++)
		if (p->phase_ms[i] >= 0)
			json_object_set_new(tm, mt_phase_name((enum mt_phase)i),
					    json_integer(p->phase_ms[i]));
	json_object_set_new(tm, "total", json_integer(p->total_ms));
	json_object_set_new(o, "timings_ms", tm);
	json_t *tr = json_array();
	for (size_t i = 0; i < p->nevents; i++) {
		const struct mt_event_rec *e = &p->events[i];
		if (e->kind == MT_EV_VERDICT)
			continue;
		json_t *eo = json_object();
		json_object_set_new(eo, "t", json_integer(e->t_ms));
		const char *dir = e->kind == MT_EV_SEND ? "send" : e->kind == MT_EV_RECV ? "recv" : "info";
		json_object_set_new(eo, "dir", json_string(dir));
		json_object_set_new(eo, "kind", json_string(mt_ev_kind_name(e->kind)));
		json_object_set_new(eo, "text", json_string(mt_probe_event_text(p, i)));
		json_array_append_new(tr, eo);
	}
	json_object_set_new(o, "transcript", tr);
	return o;
}

char *mt_report_json(const struct mt_probe *p, int exit_code, bool pretty)
{
	json_t *o = probe_json(p, exit_code);
	if (!o)
		return NULL;
	char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

char *mt_report_nagios(const struct mt_probe *p, const char *service, int warn_days,
		       int *nagios_rc)
{
	int rc;
	const char *state;
	if (p->outcome == MT_OUTCOME_INTERNAL)
		rc = 3, state = "UNKNOWN";
	else if (p->verdict == MT_VERDICT_FAIL)
		rc = 2, state = "CRITICAL";
	else if (p->verdict == MT_VERDICT_WARN)
		rc = 1, state = "WARNING";
	else
		rc = 0, state = "OK";
	*nagios_rc = rc;
	struct mt_buf b;
	mt_buf_init(&b, 8192);
	mt_buf_addf(&b, "%s %s - %s:%u", service, state, p->host, p->port);
	if (p->tls)
		mt_buf_addf(&b, " %s %s", p->tlsinfo.protocol, p->tlsinfo.cipher);
	long days = -1;
	if (p->vr.ncerts) {
		time_t now = time(NULL);
		days = (long)((p->vr.certs[0].not_after - now) / 86400);
		mt_buf_addf(&b, ", certificate expires in %ld days", days);
	}
	mt_buf_addf(&b, ", %s", p->verdict_text);
	/* perfdata: seconds per phase, then days left with the warn threshold */
	mt_buf_addf(&b, " |");
	for (int i = 0; i < MT_PH__COUNT; i++)
		if (p->phase_ms[i] >= 0)
			mt_buf_addf(&b, " %s=%.3fs", mt_phase_name((enum mt_phase)i),
				    (double)p->phase_ms[i] / 1000.0);
	mt_buf_addf(&b, " total=%.3fs", (double)p->total_ms / 1000.0);
	if (days >= 0 || p->vr.ncerts)
		mt_buf_addf(&b, " days_left=%ld;%d;0", days, warn_days);
	char *s = mt_strdup(mt_buf_str(&b));
	mt_buf_free(&b);
	return s;
}

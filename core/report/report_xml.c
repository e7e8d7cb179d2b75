/* report_xml.c — a probe result as an XML document (libxml2). Element names follow the
 * JSON keys so that both can be read by the same script logic. */
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtls/report.h"

static void add_text(xmlNodePtr parent, const char *name, const char *val)
{
	xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST(val ? val : ""));
}

static void add_int(xmlNodePtr parent, const char *name, long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%lld", v);
	add_text(parent, name, b);
}

static void add_time(xmlNodePtr parent, const char *name, time_t t)
{
	char b[32];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
	add_text(parent, name, b);
}

char *mt_report_xml(const struct mt_probe *p, int exit_code)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "checktls");
	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, BAD_CAST "verdict", BAD_CAST mt_verdict_name(p->verdict));
	add_text(root, "host", p->host);
	add_int(root, "port", p->port);
	add_text(root, "address", p->address);
	add_text(root, "verdict", mt_verdict_name(p->verdict));
	add_text(root, "level_requested", mt_policy_name(&p->policy));
	add_text(root, "level_reached", mt_level_name(p->reached));
	add_int(root, "exit_code", exit_code);
	add_text(root, "summary", p->verdict_text);
	if (p->reason[0])
		add_text(root, "reason", p->reason);
	if (p->status != MT_OK)
		add_text(root, "error", p->err.msg);
	add_text(root, "starttls_offered", p->starttls_offered ? "true" : "false");
	if (p->tls) {
		xmlNodePtr t = xmlNewChild(root, NULL, BAD_CAST "tls", NULL);
		add_text(t, "protocol", p->tlsinfo.protocol);
		add_text(t, "cipher", p->tlsinfo.cipher);
		add_text(t, "kx", p->tlsinfo.kx);
	}
	xmlNodePtr certs = xmlNewChild(root, NULL, BAD_CAST "certs", NULL);
	for (size_t i = 0; i < p->vr.ncerts; i++) {
		const struct mt_cert_info *c = &p->vr.certs[i];
		xmlNodePtr ce = xmlNewChild(certs, NULL, BAD_CAST "cert", NULL);
		char idx[24];
		snprintf(idx, sizeof idx, "%zu", i + 1);
		xmlNewProp(ce, BAD_CAST "index", BAD_CAST idx);
		add_text(ce, "subject", c->subject);
		add_text(ce, "issuer", c->issuer);
		add_time(ce, "not_before", c->not_before);
		add_time(ce, "not_after", c->not_after);
		for (size_t k = 0; k < c->n_dns; k++)
			add_text(ce, "dns_name", c->dns_names[k]);
		for (size_t k = 0; k < c->n_ip; k++)
			add_text(ce, "ip_address", c->ip_addrs[k]);
		add_text(ce, "key_type", c->key_type);
		add_int(ce, "key_bits", c->key_bits);
		add_text(ce, "signature_algorithm", c->sig_alg);
		add_text(ce, "sha256", c->sha256);
		add_text(ce, "verify", c->verify_text);
	}
	add_text(root, "trusted", p->verified && p->vr.trusted ? "true" : "false");
	add_text(root, "name_matched", p->vr.name_matched ? "true" : "false");
	if (p->vr.name_matched)
		add_text(root, "matched_name", p->vr.matched_ref);
	xmlNodePtr faults = xmlNewChild(root, NULL, BAD_CAST "faults", NULL);
	for (size_t i = 0; i < p->vr.nfindings; i++) {
		const struct mt_finding *f = &p->vr.findings[i];
		xmlNodePtr fe = xmlNewTextChild(faults, NULL, BAD_CAST "fault", BAD_CAST f->detail);
		xmlNewProp(fe, BAD_CAST "name", BAD_CAST mt_fault_name(f->fault));
		xmlNewProp(fe, BAD_CAST "severity",
			   BAD_CAST(f->severity == MT_SEV_ERROR  ? "error"
				    : f->severity == MT_SEV_WARN ? "warning"
								 : "info"));
	}
	xmlNodePtr tr = xmlNewChild(root, NULL, BAD_CAST "transcript", NULL);
	for (size_t i = 0; i < p->nevents; i++) {
		if (p->events[i].kind == MT_EV_VERDICT)
			continue;
		/* control characters are not allowed in XML 1.0 text: the probe escapes them */
		xmlNodePtr e = xmlNewTextChild(tr, NULL, BAD_CAST "line",
					       BAD_CAST mt_probe_event_text(p, i));
		char t[32];
		snprintf(t, sizeof t, "%lld", (long long)p->events[i].t_ms);
		xmlNewProp(e, BAD_CAST "t", BAD_CAST t);
		xmlNewProp(e, BAD_CAST "dir", BAD_CAST mt_ev_kind_name(p->events[i].kind));
	}
	xmlChar *mem = NULL;
	int size = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	xmlFreeDoc(doc);
	char *out = mem ? mt_strdup((const char *)mem) : NULL;
	xmlFree(mem);
	return out;
}

/* report.h — renderers for probe results: the CheckTLS-style text transcript (streamed
 * from events), JSON (jansson), XML (libxml2) and the Nagios status line.
 *
 * libxml2 is included only by core/report/ (jansson also by programs that write JSON
 * records of their own). Returned strings are heap
 * allocated; the caller frees them with free().
 */
#ifndef MAILTLS_REPORT_H
#define MAILTLS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "mailtls/probe.h"

struct mt_text_out {
	FILE *f;
	bool color;
	bool quiet; /* only the verdict line */
	bool verbose_certs; /* also print the PEM of each certificate */
	bool stamp;	    /* prefix every line with "[SSS.mmm] " (set for live transcripts) */
	int64_t t_ms;	    /* the time printed by that prefix (the current event's) */
};

/* An mt_event_cb: prints each event as it happens, CheckTLS style ("[000.344] -->STARTTLS"). */
void mt_report_text_event(const struct mt_event *ev, const struct mt_probe *p, void *arg);
/* The certificate block for a verified chain (also used by the offline lint). */
void mt_report_text_certs(const struct mt_text_out *o, const struct mt_probe *p);
/* "Fault: ..." lines then "Verdict: ..." (also used by the offline lint). */
void mt_report_text_verdict(const struct mt_text_out *o, const struct mt_probe *p);

/* Decide colour: force_on/force_off from --color/--no-color, else NO_COLOR and isatty. */
bool mt_report_use_color(FILE *f, int force);

/* A single-line JSON object for the probe (exit_code included as given). */
char *mt_report_json(const struct mt_probe *p, int exit_code, bool pretty);
/* An XML document for the probe. */
char *mt_report_xml(const struct mt_probe *p, int exit_code);
/* Nagios status line with perfdata; *nagios_rc gets 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
char *mt_report_nagios(const struct mt_probe *p, const char *service, int warn_days,
		       int *nagios_rc);

/* Certificate DN in OpenSSL's one-line form ("/C=US/O=Example/CN=mx") from RFC 4514. */
void mt_report_dn_oneline(const char *rfc4514, char *out, size_t outsz);
/* "Oct  3 12:35:32 2018 GMT" (as OpenSSL and CheckTLS print). */
void mt_report_time(time_t t, char *out, size_t outsz);

#endif

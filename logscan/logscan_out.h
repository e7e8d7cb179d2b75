/* logscan_out.h — what logscan prints: filtered record listings and summary tables in
 * text, JSON (jansson), CSV or XML (core/report/logscan_xml.c), and TLS-RPT reports.
 *
 * struct mt_ls_out is the correlation engine's sink: each finished record is filtered,
 * added to the summary and, when a listing asks for it, written at once (streaming, so the
 * listing never accumulates in memory).  mt_ls_out_finish() writes the summary.
 */
#ifndef LOGSCAN_OUT_H
#define LOGSCAN_OUT_H

#include "logscan_corr.h"
#include "logscan_sum.h"

#include "mailtls/tlsrpt_report.h"

#include <stdio.h>

enum { MT_LS_OUT_TEXT = 0, MT_LS_OUT_JSON, MT_LS_OUT_CSV, MT_LS_OUT_XML, MT_LS_OUT_TLSRPT };

struct mt_ls_filter {
	time_t since, until; /* 0 = open */
	int dir;	     /* 0 = both */
	const char *domain;  /* suffix match on peer/destination domain or host */
	const char *ip;	     /* exact or prefix ending in '.' or ':' */
};

struct mt_ls_stats {
	uint64_t lines, events, ignored, unparsed, overlong, bytes, files, unreadable, evicted_conns, evicted_msgs,
	    reused_ids, truncated;
};

struct mt_lsxml;

struct mt_ls_out {
	FILE *f;
	int format;
	bool list_failed, list_notls, list_msgs, list_reqfail, list_all;
	/* --loopback-local: a connection in clear over loopback is local (counted apart, not in
	 * the TLS rates, the peer tables or TLS-RPT; listed only by --all) */
	bool loopback_local;
	int top; /* rows per ranked table */
	struct mt_ls_filter filt;
	struct mt_ls_sum sum;
	struct mt_tlsrpt_report_opts rpt_opts; /* org, contact, sending IP (the period is set at the end) */
	struct mt_tlsrpt_agg *rpt;
	uint32_t rpt_max; /* domains it reports at most */
	uint64_t listed, listed_failed, listed_reqfail;
	bool started, header_done;
	struct mt_lsxml *xml;
};

int mt_ls_out_init(struct mt_ls_out *o, FILE *f, int format, int by, uint32_t max_keys);
/* A sink for mt_ls_corr_init that feeds this output. */
struct mt_ls_sink mt_ls_out_sink(struct mt_ls_out *o);
/* Write the summary (and close JSON/XML documents); 0 or -1 on write error. */
int mt_ls_out_finish(struct mt_ls_out *o, const struct mt_ls_stats *st);
void mt_ls_out_free(struct mt_ls_out *o);
bool mt_ls_out_listing(const struct mt_ls_out *o);

/* TLS-RPT (logscan_tlsrpt.c): an outbound connection or required-TLS failure as a session */
void mt_ls_rpt_conn(struct mt_tlsrpt_agg *a, const struct mt_ls_conn *c);
void mt_ls_rpt_reqfail(struct mt_tlsrpt_agg *a, const struct mt_ls_reqfail *f);

#endif

/* logscan_out.c — see logscan_out.h.
 *
 * Every record becomes a short list of (field, value) pairs once; the text, JSON, CSV and
 * XML writers all render that list, so the formats cannot drift apart.  The summary is
 * built as a jansson object and rendered from it the same way.
 */
#include "logscan_out.h"

#include "mailtls/logscan_report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAXF 32

struct fields {
	int n;
	const char *k[MAXF];
	const char *v[MAXF];
	bool num[MAXF];
	char scratch[8][32];
	int ns;
	struct mt_ls_tls_status st; /* the split tls= the tls_* fields point into */
};

static void add(struct fields *f, const char *k, const char *v)
{
	if (f->n < MAXF) {
		f->k[f->n] = k;
		f->v[f->n] = v ? v : "";
		f->num[f->n++] = false;
	}
}

static void addu(struct fields *f, const char *k, unsigned long long v)
{
	if (f->n < MAXF && f->ns < 8) {
		char *s = f->scratch[f->ns++];
		snprintf(s, 32, "%llu", v);
		f->k[f->n] = k;
		f->v[f->n] = s;
		f->num[f->n++] = true;
	}
}

/* Postfix 3.11's tls= (raw, in "level"), split: desired and achieved level, whether the
 * policy was met, blocked or left undecided, and the REQUIRETLS outcome when requested. */
static void add_tls_status(struct fields *f, const char *raw)
{
	if (!mt_ls_postfix_tls_status((struct mt_ls_str){raw, strlen(raw)}, &f->st))
		return;
	const struct mt_ls_tls_feat *l = &f->st.level, *r = &f->st.requiretls;
	if (l->present) {
		add(f, "tls_level", l->name);
		add(f, "tls_final", l->final[0] ? l->final : l->name);
		add(f, "tls_policy", l->blocked ? "blocked" : l->undecided ? "undecided" : "ok");
	}
	if (r->present)
		add(f, "requiretls", r->blocked ? "blocked" : r->undecided ? "undecided" : r->final[0] ? "downgraded" : "ok");
}

static const char *get(const struct fields *f, const char *k)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->k[i], k))
			return f->v[i];
	return "";
}

static const char *const csv_cols[] = {"type",	 "time",     "format",	 "direction",  "id",	     "message",
				       "ip",	 "host",     "domain",	 "tls",	       "protocol",   "cipher",
				       "bits",	 "verify",   "cert",	 "cause",      "reason",     "received",
				       "deliveries", "deliveries_tls", "deliveries_clear", "evicted",   "orig_id",
				       "level", "tls_level", "tls_final", "tls_policy", "requiretls"};
#define NCOLS (sizeof csv_cols / sizeof csv_cols[0])

bool mt_ls_out_listing(const struct mt_ls_out *o)
{
	return o->list_failed || o->list_notls || o->list_msgs || o->list_reqfail || o->list_all;
}

/* --- filters --- */

static bool suffix_ci(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	if (!m || m > n || strcasecmp(s + n - m, suf))
		return false;
	return m == n || s[n - m - 1] == '.' || suf[0] == '.';
}

static bool ip_match(const char *ip, const char *want)
{
	size_t m = strlen(want);
	if (!m)
		return true;
	if (want[m - 1] == '.' || want[m - 1] == ':')
		return !strncasecmp(ip, want, m);
	return !strcasecmp(ip, want);
}

static bool time_ok(const struct mt_ls_filter *f, time_t t)
{
	if (f->since && (!t || t < f->since))
		return false;
	if (f->until && (!t || t >= f->until))
		return false;
	return true;
}

static bool conn_pass(const struct mt_ls_out *o, const struct mt_ls_conn *c)
{
	const struct mt_ls_filter *f = &o->filt;
	if (!time_ok(f, c->t_open) || (f->dir && f->dir != c->dir))
		return false;
	if (f->ip && !ip_match(c->ip, f->ip))
		return false;
	if (f->domain) {
		char d[128];
		mt_ls_conn_domain(c, d, sizeof d);
		if (!suffix_ci(d, f->domain) && !suffix_ci(c->host, f->domain) && !suffix_ci(c->domain, f->domain))
			return false;
	}
	return true;
}

static bool msg_pass(const struct mt_ls_out *o, const struct mt_ls_msg *m)
{
	const struct mt_ls_filter *f = &o->filt;
	if (!time_ok(f, m->t))
		return false;
	if (f->ip && !ip_match(m->peer, f->ip))
		return false;
	if (f->domain && !suffix_ci(m->rcpt_domain, f->domain))
		return false;
	if (f->dir == MT_LS_DIR_OUT && !m->n_deliv)
		return false;
	if (f->dir == MT_LS_DIR_IN && !m->received)
		return false;
	return true;
}

static bool reqfail_pass(const struct mt_ls_out *o, const struct mt_ls_reqfail *r)
{
	const struct mt_ls_filter *f = &o->filt;
	if (!time_ok(f, r->t) || (f->dir && f->dir != r->dir))
		return false;
	if (f->ip && !ip_match(r->ip, f->ip))
		return false;
	if (f->domain && !suffix_ci(r->domain, f->domain) && !suffix_ci(r->host, f->domain))
		return false;
	return true;
}

/* --- record rendering --- */

static void csv_field(FILE *f, const char *v)
{
	if (strpbrk(v, ",\"\n") == NULL) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"')
			fputc('"', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

static void text_record(struct mt_ls_out *o, const struct fields *fl)
{
	FILE *f = o->f;
	const char *type = get(fl, "type");
	if (!o->header_done) {
		o->header_done = true;
		fprintf(f, "%-19s %-8s %-3s %-16s %-39s %-32s %-6s %-9s %-28s %s\n", "TIME", "FORMAT", "DIR", "ID", "PEER",
			"HOST/DOMAIN", "TLS", "PROTOCOL", "CIPHER", "DETAIL");
	}
	if (!strcmp(type, "message")) {
		fprintf(f, "%-19s %-8s %-3s %-16s %-39s %-32s %-6s deliveries=%s tls=%s clear=%s%s%s%s\n", get(fl, "time"),
			get(fl, "format"), "msg", get(fl, "message"), *get(fl, "ip") ? get(fl, "ip") : "-",
			*get(fl, "domain") ? get(fl, "domain") : "-", get(fl, "received"), get(fl, "deliveries"),
			get(fl, "deliveries_tls"), get(fl, "deliveries_clear"), *get(fl, "orig_id") ? " orig=" : "",
			get(fl, "orig_id"), *get(fl, "evicted") ? " (evicted)" : "");
		return;
	}
	const char *host = *get(fl, "host") ? get(fl, "host") : *get(fl, "domain") ? get(fl, "domain") : "-";
	char detail[512];
	const char *lv = get(fl, "level"), *lk = *lv ? " tls=" : ""; /* Postfix's tls= as logged */
	if (!strcmp(type, "required_failure"))
		snprintf(detail, sizeof detail, "REQUIRED: %s: %s%s%s%s%s", get(fl, "cause"), get(fl, "reason"),
			 *get(fl, "message") ? " msg=" : "", get(fl, "message"), lk, lv);
	else
		snprintf(detail, sizeof detail, "%s%s%s%s%s%s%s", get(fl, "reason"), *get(fl, "verify") ? " verify=" : "",
			 get(fl, "verify"), *get(fl, "cert") ? " cert=" : "", get(fl, "cert"), lk, lv);
	fprintf(f, "%-19s %-8s %-3s %-16s %-39s %-32s %-6s %-9s %-28s %s\n", get(fl, "time"), get(fl, "format"),
		get(fl, "direction"), *get(fl, "id") ? get(fl, "id") : "-", *get(fl, "ip") ? get(fl, "ip") : "-", host,
		*get(fl, "tls") ? get(fl, "tls") : "-", *get(fl, "protocol") ? get(fl, "protocol") : "-",
		*get(fl, "cipher") ? get(fl, "cipher") : "-", detail);
}

static void emit(struct mt_ls_out *o, const struct fields *fl)
{
	o->listed++;
	switch (o->format) {
	case MT_LS_OUT_JSON: {
		json_t *j = json_object();
		for (int i = 0; i < fl->n; i++) {
			if (!*fl->v[i])
				continue;
			json_object_set_new(j, fl->k[i],
					    fl->num[i] ? json_integer(strtoll(fl->v[i], NULL, 10)) : json_string(fl->v[i]));
		}
		char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
		fprintf(o->f, "%s\n  %s", o->started ? "," : "{\"records\": [", s ? s : "{}");
		o->started = true;
		free(s);
		json_decref(j);
		break;
	}
	case MT_LS_OUT_CSV:
		if (!o->header_done) {
			o->header_done = true;
			for (size_t i = 0; i < NCOLS; i++)
				fprintf(o->f, "%s%s", i ? "," : "", csv_cols[i]);
			fputc('\n', o->f);
		}
		for (size_t i = 0; i < NCOLS; i++) {
			if (i)
				fputc(',', o->f);
			csv_field(o->f, get(fl, csv_cols[i]));
		}
		fputc('\n', o->f);
		break;
	case MT_LS_OUT_XML:
		if (!o->started) {
			o->started = true;
			mt_lsxml_start(o->xml, "records");
		}
		mt_lsxml_start(o->xml, get(fl, "type"));
		for (int i = 1; i < fl->n; i++)
			mt_lsxml_attr(o->xml, fl->k[i], fl->v[i]);
		mt_lsxml_end(o->xml);
		break;
	case MT_LS_OUT_TLSRPT:
		break;
	default:
		text_record(o, fl);
	}
}

static void conn_fields(const struct mt_ls_conn *c, struct fields *fl, char *tbuf, char *pbuf)
{
	memset(fl, 0, sizeof *fl);
	fl->ns = 0;
	mt_ls_time_str(c->t_open, tbuf, 32);
	mt_ls_proto_norm(c->proto, pbuf, 32);
	add(fl, "type", "connection");
	add(fl, "time", tbuf);
	add(fl, "format", mt_ls_fmt_name(c->fmt));
	add(fl, "direction", mt_ls_dir_name(c->dir));
	add(fl, "id", c->id);
	add(fl, "ip", c->ip);
	add(fl, "host", c->host);
	add(fl, "domain", c->domain);
	add(fl, "tls", mt_ls_tls_name(c->tls));
	add(fl, "protocol", pbuf);
	add(fl, "cipher", c->cipher);
	if (c->bits)
		addu(fl, "bits", (unsigned)c->bits);
	add(fl, "verify", c->verify);
	add(fl, "cert", c->cert);
	add(fl, "reason", c->reason);
	if (c->reqfail)
		add(fl, "cause", mt_ls_cause_name(c->cause));
	addu(fl, "messages", c->n_msgs);
	addu(fl, "deliveries", c->n_deliv);
	if (c->evicted)
		add(fl, "evicted", "true");
	add(fl, "level", c->level);
	add_tls_status(fl, c->level);
}

static void on_conn(void *ctx, const struct mt_ls_conn *c)
{
	struct mt_ls_out *o = ctx;
	if (!conn_pass(o, c))
		return;
	bool clear = c->tls != MT_LS_TLS_OK && c->tls != MT_LS_TLS_FAILED;
	/* --loopback-local: a content filter's hop or a local submission is not a connection
	 * over the network: counted apart, listed only by --all */
	bool local = clear && o->loopback_local && mt_ls_loopback(c->ip, strlen(c->ip));
	if (local) {
		o->sum.local_conns[c->dir == MT_LS_DIR_OUT ? MT_LS_DIR_OUT : MT_LS_DIR_IN]++;
	} else {
		mt_ls_sum_conn(&o->sum, c);
		if (o->rpt && c->dir == MT_LS_DIR_OUT)
			mt_ls_rpt_conn(o->rpt, c);
	}
	bool want = o->list_all;
	if (o->list_failed && c->tls == MT_LS_TLS_FAILED) {
		want = true;
		o->listed_failed++;
	}
	if (o->list_notls && !o->list_msgs && clear && !local)
		want = true;
	if (!want)
		return;
	struct fields fl;
	char t[32], p[32];
	conn_fields(c, &fl, t, p);
	emit(o, &fl);
}

static void on_msg(void *ctx, const struct mt_ls_msg *m)
{
	struct mt_ls_out *o = ctx;
	if (!m->received && !m->n_deliv)
		return;
	if (!msg_pass(o, m))
		return;
	if (m->merged && !m->n_deliv) { /* it went on under another id, counted there */
		o->sum.continued++;
		return;
	}
	mt_ls_sum_msg(&o->sum, m);
	if (!o->list_msgs)
		return;
	if (o->list_notls && !(m->in == MT_LS_IN_CLEAR || m->n_clear))
		return;
	struct fields fl;
	memset(&fl, 0, sizeof fl);
	char t[32];
	mt_ls_time_str(m->t, t, sizeof t);
	add(&fl, "type", "message");
	add(&fl, "time", t);
	add(&fl, "format", mt_ls_fmt_name(m->fmt));
	add(&fl, "message", m->id);
	add(&fl, "ip", m->peer);
	add(&fl, "domain", m->rcpt_domain);
	add(&fl, "received", mt_ls_in_name(m->in));
	addu(&fl, "deliveries", m->n_deliv);
	addu(&fl, "deliveries_tls", m->n_tls);
	addu(&fl, "deliveries_clear", m->n_clear);
	if (m->evicted)
		add(&fl, "evicted", "true");
	add(&fl, "orig_id", m->orig_id);
	emit(o, &fl);
}

static void on_reqfail(void *ctx, const struct mt_ls_reqfail *r)
{
	struct mt_ls_out *o = ctx;
	if (!reqfail_pass(o, r))
		return;
	/* a failed session for TLS-RPT whatever the level (its connection is counted here) */
	if (o->rpt && r->dir == MT_LS_DIR_OUT)
		mt_ls_rpt_reqfail(o->rpt, r);
	if (r->withdrawn) { /* TLS was opportunistic: the message went on in clear */
		o->sum.fallbacks++;
		return;
	}
	mt_ls_sum_reqfail(&o->sum, r);
	o->listed_reqfail++;
	if (!o->list_reqfail && !o->list_all)
		return;
	struct fields fl;
	memset(&fl, 0, sizeof fl);
	char t[32];
	mt_ls_time_str(r->t, t, sizeof t);
	add(&fl, "type", "required_failure");
	add(&fl, "time", t);
	add(&fl, "format", mt_ls_fmt_name(r->fmt));
	add(&fl, "direction", mt_ls_dir_name(r->dir));
	add(&fl, "id", r->connid);
	add(&fl, "message", r->msgid);
	add(&fl, "ip", r->ip);
	add(&fl, "host", r->host);
	add(&fl, "domain", r->domain);
	add(&fl, "cause", mt_ls_cause_name(r->cause));
	add(&fl, "reason", r->reason);
	add(&fl, "level", r->level);
	add_tls_status(&fl, r->level);
	emit(o, &fl);
}

struct mt_ls_sink mt_ls_out_sink(struct mt_ls_out *o)
{
	return (struct mt_ls_sink){on_conn, on_msg, on_reqfail, o};
}

int mt_ls_out_init(struct mt_ls_out *o, FILE *f, int format, int by, uint32_t max_keys)
{
	memset(o, 0, sizeof *o);
	o->f = f;
	o->format = format;
	o->top = 20;
	if (mt_ls_sum_init(&o->sum, by, max_keys) != 0)
		return -1;
	if (format == MT_LS_OUT_XML) {
		o->xml = mt_lsxml_new(f, "logscan", NULL);
		if (!o->xml)
			return -1;
	}
	if (format == MT_LS_OUT_TLSRPT) {
		o->rpt = mt_tlsrpt_agg_new(max_keys);
		o->rpt_max = max_keys;
		if (!o->rpt)
			return -1;
	}
	return 0;
}

void mt_ls_out_free(struct mt_ls_out *o)
{
	mt_ls_sum_free(&o->sum);
	if (o->xml)
		mt_lsxml_finish(o->xml);
	o->xml = NULL;
	mt_tlsrpt_agg_free(o->rpt);
	o->rpt = NULL;
}

/* --- summary --- */

static json_t *count_obj(const struct mt_ls_count *c)
{
	json_t *j = json_pack("{sI sI sI sI}", "total", (json_int_t)c->total, "tls", (json_int_t)c->tls, "failed",
			      (json_int_t)c->failed, "none", (json_int_t)c->none);
	json_object_set_new(j, "tls_rate", json_real(c->total ? (double)c->tls / (double)c->total : 0.0));
	return j;
}

static json_t *table(const struct mt_ls_keytab *t, const char *keyname, int top, int by_key, bool full, bool proto)
{
	json_t *a = json_array();
	uint32_t nv;
	struct mt_ls_kent **v = mt_ls_keytab_top(t, by_key, top > 0 ? (uint32_t)top : 0, &nv);
	if (!v)
		return a;
	for (uint32_t i = 0; i < nv && (top <= 0 || (int)i < top); i++) {
		json_t *e = full ? count_obj(&v[i]->c) : json_pack("{sI}", "count", (json_int_t)v[i]->c.total);
		json_object_set_new(e, keyname, json_string(v[i]->key));
		if (proto)
			json_object_set_new(e, "deprecated", json_boolean(mt_ls_proto_deprecated(v[i]->key)));
		json_array_append_new(a, e);
	}
	if (t->other.total) {
		json_t *e = full ? count_obj(&t->other) : json_pack("{sI}", "count", (json_int_t)t->other.total);
		json_object_set_new(e, keyname, json_string("(other)"));
		json_array_append_new(a, e);
	}
	free(v);
	return a;
}

static json_t *summary_json(struct mt_ls_out *o, const struct mt_ls_stats *st)
{
	struct mt_ls_sum *s = &o->sum;
	mt_ls_sum_settle(s);
	json_t *j = json_object();
	char a[32], b[32];
	mt_ls_time_str(s->t_min, a, sizeof a);
	mt_ls_time_str(s->t_max, b, sizeof b);
	json_object_set_new(j, "period", json_pack("{ss ss}", "first", a, "last", b));
	json_t *cin = count_obj(&s->dir[MT_LS_DIR_IN]), *cout = count_obj(&s->dir[MT_LS_DIR_OUT]);
	json_object_set_new(cin, "local", json_integer((json_int_t)s->local_conns[MT_LS_DIR_IN]));
	json_object_set_new(cout, "local", json_integer((json_int_t)s->local_conns[MT_LS_DIR_OUT]));
	json_object_set_new(j, "connections", json_pack("{so so}", "inbound", cin, "outbound", cout));
	json_object_set_new(j, "messages",
			    json_pack("{sI sI sI sI sI sI sI sI sI sI sI}", "total", (json_int_t)s->msgs, "received_tls",
				      (json_int_t)s->in_tls, "received_clear", (json_int_t)s->in_clear, "received_local",
				      (json_int_t)s->in_local, "received_unknown", (json_int_t)s->in_unknown, "deliveries",
				      (json_int_t)s->deliv, "deliveries_tls", (json_int_t)s->deliv_tls, "deliveries_clear",
				      (json_int_t)s->deliv_clear, "all_tls", (json_int_t)s->msgs_all_tls, "some_clear",
				      (json_int_t)s->msgs_clear, "continued", (json_int_t)s->continued));
	json_object_set_new(j, "protocols", table(&s->proto, "protocol", 0, 1, false, true));
	json_object_set_new(j, "ciphers", table(&s->cipher, "cipher", o->top, 0, false, false));
	json_object_set_new(j, "peer_domains", table(&s->domain, "domain", o->top, 0, true, false));
	json_object_set_new(j, "peer_addresses", table(&s->ip, "address", o->top, 0, true, false));
	json_object_set_new(j, "failure_reasons", table(&s->reason, "reason", o->top, 0, false, false));
	json_object_set_new(j, "security_levels", table(&s->level, "level", o->top, 0, true, false));
	if (s->tlsfeat.conns) {
		const struct mt_ls_tlsfeat_counts *k = &s->tlsfeat;
		json_object_set_new(j, "tls_downgrades", table(&s->downgrade, "downgrade", o->top, 0, false, false));
		json_object_set_new(
		    j, "tls_feature_status",
		    json_pack("{sI sI sI sI sI sI sI sI sI}", "connections", (json_int_t)k->conns, "unparsed",
			      (json_int_t)k->unparsed, "downgraded", (json_int_t)k->downgraded, "blocked",
			      (json_int_t)k->blocked, "undecided", (json_int_t)k->undecided, "requiretls",
			      (json_int_t)k->requiretls, "requiretls_downgraded", (json_int_t)k->rtls_downgraded,
			      "requiretls_blocked", (json_int_t)k->rtls_blocked, "requiretls_undecided",
			      (json_int_t)k->rtls_undecided));
	}
	json_t *rc = json_object();
	for (int i = 1; i < MT_LS_CAUSE_COUNT; i++)
		if (s->by_cause[i])
			json_object_set_new(rc, mt_ls_cause_name(i), json_integer((json_int_t)s->by_cause[i]));
	json_object_set_new(j, "required_failures", json_pack("{sI so sI}", "total", (json_int_t)s->reqfail, "by_cause", rc,
							      "handshake_failed_sent_clear", (json_int_t)s->fallbacks));
	if (s->by)
		json_object_set_new(j, "buckets", table(&s->bucket, "bucket", 0, 1, true, false));
	json_object_set_new(
	    j, "input",
	    json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI}", "files", (json_int_t)st->files, "bytes", (json_int_t)st->bytes,
		      "lines", (json_int_t)st->lines, "events", (json_int_t)st->events, "ignored", (json_int_t)st->ignored,
		      "unparsed", (json_int_t)st->unparsed, "overlong", (json_int_t)st->overlong, "unreadable_files",
		      (json_int_t)st->unreadable, "truncated_files", (json_int_t)st->truncated, "evicted_connections",
		      (json_int_t)st->evicted_conns, "evicted_messages", (json_int_t)st->evicted_msgs, "reused_ids",
		      (json_int_t)st->reused_ids));
	return j;
}

static unsigned long long U(json_t *o, const char *k)
{
	return (unsigned long long)json_integer_value(json_object_get(o, k));
}

static void text_counts(FILE *f, const char *label, json_t *c)
{
	double rate = json_real_value(json_object_get(c, "tls_rate")) * 100.0;
	fprintf(f, "  %-34s %10llu %10llu %10llu %10llu %6.1f%%\n", label, U(c, "total"), U(c, "tls"), U(c, "failed"),
		U(c, "none"), rate);
}

static void text_summary(FILE *f, json_t *j)
{
	json_t *p = json_object_get(j, "period");
	fprintf(f, "%slogscan summary (%s .. %s, log time)\n\n", "", json_string_value(json_object_get(p, "first")),
		json_string_value(json_object_get(p, "last")));
	fprintf(f, "Connections                          %10s %10s %10s %10s %7s\n", "total", "tls", "failed", "none", "tls%");
	json_t *c = json_object_get(j, "connections");
	text_counts(f, "inbound", json_object_get(c, "inbound"));
	text_counts(f, "outbound", json_object_get(c, "outbound"));
	if (U(json_object_get(c, "inbound"), "local") || U(json_object_get(c, "outbound"), "local"))
		fprintf(f, "  local, in clear over loopback      %10llu in, %llu out (not counted above)\n",
			U(json_object_get(c, "inbound"), "local"), U(json_object_get(c, "outbound"), "local"));
	json_t *m = json_object_get(j, "messages");
	fprintf(f, "\nMessages                             %10llu\n", U(m, "total"));
	fprintf(f, "  received over TLS                  %10llu\n", U(m, "received_tls"));
	fprintf(f, "  received in clear                  %10llu\n", U(m, "received_clear"));
	fprintf(f, "  submitted locally                  %10llu\n", U(m, "received_local"));
	fprintf(f, "  received, connection not seen      %10llu\n", U(m, "received_unknown"));
	fprintf(f, "  deliveries (TLS / clear)           %10llu %10llu %10llu\n", U(m, "deliveries"), U(m, "deliveries_tls"),
		U(m, "deliveries_clear"));
	fprintf(f, "  TLS on every hop seen              %10llu\n", U(m, "all_tls"));
	fprintf(f, "  some hop in clear                  %10llu\n", U(m, "some_clear"));
	if (U(m, "continued"))
		fprintf(f, "  ids that went on under another id  %10llu\n", U(m, "continued"));
	json_t *a;
	size_t i;
	json_t *e;
	a = json_object_get(j, "protocols");
	fprintf(f, "\nProtocols (TLS connections)          %10s\n", "count");
	json_array_foreach(a, i, e) fprintf(f, "  %-34s %10llu%s\n", json_string_value(json_object_get(e, "protocol")),
					    U(e, "count"),
					    json_is_true(json_object_get(e, "deprecated")) ? "  DEPRECATED" : "");
	a = json_object_get(j, "ciphers");
	fprintf(f, "\nCiphers                              %10s\n", "count");
	json_array_foreach(a, i, e) fprintf(f, "  %-34s %10llu\n", json_string_value(json_object_get(e, "cipher")),
					    U(e, "count"));
	a = json_object_get(j, "peer_domains");
	fprintf(f, "\nPeer domains                         %10s %10s %10s %10s %7s\n", "total", "tls", "failed", "none", "tls%");
	json_array_foreach(a, i, e) text_counts(f, json_string_value(json_object_get(e, "domain")), e);
	a = json_object_get(j, "peer_addresses");
	fprintf(f, "\nPeer addresses                       %10s %10s %10s %10s %7s\n", "total", "tls", "failed", "none", "tls%");
	json_array_foreach(a, i, e) text_counts(f, json_string_value(json_object_get(e, "address")), e);
	a = json_object_get(j, "failure_reasons");
	fprintf(f, "\nTLS failure reasons                  %10s\n", "count");
	json_array_foreach(a, i, e) fprintf(f, "  %10llu  %s\n", U(e, "count"), json_string_value(json_object_get(e, "reason")));
	a = json_object_get(j, "security_levels");
	if (json_array_size(a)) { /* Postfix 3.11+ only: no header for the logs that cannot have it */
		fprintf(f, "\nOutbound by Postfix tls= level       %10s %10s %10s %10s %7s\n", "total", "tls", "failed", "none",
			"tls%");
		json_array_foreach(a, i, e) text_counts(f, json_string_value(json_object_get(e, "level")), e);
		json_t *k = json_object_get(j, "tls_feature_status");
		fprintf(f, "  policy not met, blocked (!)        %10llu\n", U(k, "blocked"));
		fprintf(f, "  left undecided (?)                 %10llu\n", U(k, "undecided"));
		fprintf(f, "  downgraded (desired:achieved)      %10llu\n", U(k, "downgraded"));
		json_array_foreach(json_object_get(j, "tls_downgrades"), i, e)
		    fprintf(f, "    %-32s %10llu\n", json_string_value(json_object_get(e, "downgrade")), U(e, "count"));
		if (U(k, "requiretls"))
			fprintf(f, "  REQUIRETLS requested               %10llu (%llu blocked, %llu downgraded, %llu undecided)\n",
				U(k, "requiretls"), U(k, "requiretls_blocked"), U(k, "requiretls_downgraded"),
				U(k, "requiretls_undecided"));
		if (U(k, "unparsed"))
			fprintf(f, "  tls= values not understood         %10llu (counted by value above)\n", U(k, "unparsed"));
	}
	json_t *r = json_object_get(j, "required_failures");
	fprintf(f, "\nRequired-TLS failures                %10llu\n", U(r, "total"));
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(r, "by_cause"), k, v)
	    fprintf(f, "  %-34s %10llu\n", k, (unsigned long long)json_integer_value(v));
	if (U(r, "handshake_failed_sent_clear"))
		fprintf(f, "  not required: sent in clear (may)  %10llu\n", U(r, "handshake_failed_sent_clear"));
	a = json_object_get(j, "buckets");
	if (a) {
		fprintf(f, "\nTime buckets                         %10s %10s %10s %10s %7s\n", "total", "tls", "failed", "none",
			"tls%");
		json_array_foreach(a, i, e) text_counts(f, json_string_value(json_object_get(e, "bucket")), e);
	}
	json_t *in = json_object_get(j, "input");
	fprintf(f,
		"\nInput: %llu file(s), %llu bytes, %llu lines: %llu events, %llu ignored, %llu unparsed, %llu overlong; "
		"%llu connections evicted unclosed, %llu messages evicted, %llu ids reused\n",
		U(in, "files"), U(in, "bytes"), U(in, "lines"), U(in, "events"), U(in, "ignored"), U(in, "unparsed"),
		U(in, "overlong"), U(in, "evicted_connections"), U(in, "evicted_messages"), U(in, "reused_ids"));
}

/* CSV summary: section,key,field,value rows, flattened from the JSON summary. */
static void csv_summary(FILE *f, json_t *j)
{
	fprintf(f, "section,key,field,value\n");
	const char *sec;
	json_t *sv;
	json_object_foreach(j, sec, sv)
	{
		if (json_is_array(sv)) {
			size_t i;
			json_t *e;
			json_array_foreach(sv, i, e)
			{
				const char *key = NULL, *fk;
				json_t *fv;
				json_object_foreach(e, fk, fv) if (json_is_string(fv)) key = json_string_value(fv);
				json_object_foreach(e, fk, fv)
				{
					if (json_is_string(fv))
						continue;
					fprintf(f, "%s,", sec);
					csv_field(f, key ? key : "");
					if (json_is_real(fv))
						fprintf(f, ",%s,%.4f\n", fk, json_real_value(fv));
					else if (json_is_boolean(fv))
						fprintf(f, ",%s,%s\n", fk, json_is_true(fv) ? "true" : "false");
					else
						fprintf(f, ",%s,%lld\n", fk, (long long)json_integer_value(fv));
				}
			}
			continue;
		}
		const char *k;
		json_t *v;
		json_object_foreach(sv, k, v)
		{
			if (json_is_object(v)) {
				const char *fk;
				json_t *fv;
				json_object_foreach(v, fk, fv)
				{
					if (json_is_real(fv))
						fprintf(f, "%s,%s,%s,%.4f\n", sec, k, fk, json_real_value(fv));
					else
						fprintf(f, "%s,%s,%s,%lld\n", sec, k, fk, (long long)json_integer_value(fv));
				}
			} else if (json_is_string(v)) {
				fprintf(f, "%s,,%s,%s\n", sec, k, json_string_value(v));
			} else if (json_is_real(v)) {
				fprintf(f, "%s,,%s,%.4f\n", sec, k, json_real_value(v));
			} else {
				fprintf(f, "%s,,%s,%lld\n", sec, k, (long long)json_integer_value(v));
			}
		}
	}
}

/* XML summary: objects become elements, scalars attributes, arrays repeated <item>s. */
/* XML names cannot hold spaces: "STARTTLS not advertised" becomes STARTTLS_not_advertised. */
static const char *xml_name(const char *k, char *out, size_t size)
{
	size_t i = 0;
	for (; k[i] && i + 1 < size; i++) {
		char ch = k[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			  (i && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.'));
		out[i] = ok ? ch : '_';
	}
	out[i] = '\0';
	return out;
}

static void xml_value(struct mt_lsxml *x, const char *name, json_t *v)
{
	mt_lsxml_start(x, name);
	const char *k0;
	json_t *c;
	char buf[64], kb[64];
	json_object_foreach(v, k0, c)
	{
		const char *k = xml_name(k0, kb, sizeof kb);
		if (json_is_string(c))
			mt_lsxml_attr(x, k, json_string_value(c));
		else if (json_is_integer(c))
			mt_lsxml_attr_u64(x, k, (uint64_t)json_integer_value(c));
		else if (json_is_real(c)) {
			snprintf(buf, sizeof buf, "%.4f", json_real_value(c));
			mt_lsxml_attr(x, k, buf);
		} else if (json_is_boolean(c))
			mt_lsxml_attr(x, k, json_is_true(c) ? "true" : "false");
	}
	json_object_foreach(v, k0, c)
	{
		const char *k = xml_name(k0, kb, sizeof kb);
		if (json_is_object(c))
			xml_value(x, k, c);
		else if (json_is_array(c)) {
			mt_lsxml_start(x, k);
			size_t i;
			json_t *e;
			json_array_foreach(c, i, e) xml_value(x, "item", e);
			mt_lsxml_end(x);
		}
	}
	mt_lsxml_end(x);
}

int mt_ls_out_finish(struct mt_ls_out *o, const struct mt_ls_stats *st)
{
	json_t *j = summary_json(o, st);
	switch (o->format) {
	case MT_LS_OUT_JSON: {
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		if (o->started)
			fprintf(o->f, "\n],\n\"summary\": %s}\n", s ? s : "{}");
		else if (mt_ls_out_listing(o))
			fprintf(o->f, "{\"records\": [],\n\"summary\": %s}\n", s ? s : "{}");
		else
			fprintf(o->f, "{\"summary\": %s}\n", s ? s : "{}");
		free(s);
		break;
	}
	case MT_LS_OUT_CSV:
		if (!mt_ls_out_listing(o))
			csv_summary(o->f, j);
		else if (!o->header_done)
			for (size_t i = 0; i < NCOLS; i++)
				fprintf(o->f, "%s%s", csv_cols[i], i + 1 < NCOLS ? "," : "\n");
		break;
	case MT_LS_OUT_XML:
		if (o->started)
			mt_lsxml_end(o->xml);
		xml_value(o->xml, "summary", j);
		mt_lsxml_finish(o->xml);
		o->xml = NULL;
		break;
	case MT_LS_OUT_TLSRPT: {
		o->rpt_opts.start = o->sum.t_min;
		o->rpt_opts.end = o->sum.t_max;
		int wr = mt_tlsrpt_agg_write(o->rpt, o->f, &o->rpt_opts);
		if (mt_tlsrpt_agg_dropped(o->rpt))
			fprintf(stderr, "logscan: TLS-RPT: %llu sessions to domains beyond the first %u not reported\n",
				(unsigned long long)mt_tlsrpt_agg_dropped(o->rpt), (unsigned)o->rpt_max);
		if (wr != 0) {
			json_decref(j);
			return -1;
		}
		break;
	}
	default:
		if (o->header_done)
			fputc('\n', o->f);
		text_summary(o->f, j);
	}
	json_decref(j);
	fflush(o->f);
	return ferror(o->f) ? -1 : 0;
}

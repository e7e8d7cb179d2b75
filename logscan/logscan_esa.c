/* logscan_esa.c — Cisco ESA / AsyncOS mail_logs lines (native and syslog-pushed).
 *
 * Connections are ICIDs (inbound) and DCIDs (outbound); messages are MIDs.  The lines that
 * matter: "New SMTP ICID|DCID", "ICID|DCID n TLS success|failed|was required",
 * "ICID|DCID n close", "Start MID m ICID n", "MID m ICID n RID r To: <..>",
 * "Delivery start DCID d MID m to RID [..]", "Connection Error: DCID ...",
 * "Message finished MID m".  Everything else is recognised and ignored, cheaply: the first
 * letter of the message picks the only comparisons that can match.
 *
 * AsyncOS's consolidated event log (CEF, "CEF:0|Cisco|...|ESA_CONSOLIDATED_LOG_EVENT|...") has
 * one line per message instead: mt_ls_esa_summary_events() reads it (see there).
 */
#include "logscan_parse.h"

#include <string.h>

static void ev_init(struct mt_ls_event *ev, const struct mt_ls_hdr *h, int kind)
{
	mt_ls_zero(ev, sizeof *ev);
	ev->kind = kind;
	ev->fmt = MT_LS_FMT_ESA;
	ev->ts = h->ts;
}

/* "<num>" at s: fills id and its text, returns bytes used (0 = no number). */
static size_t idnum(struct mt_ls_str s, uint64_t *id, struct mt_ls_str *txt)
{
	size_t n = mt_ls_num(s, id);
	if (n && txt) {
		txt->p = s.p;
		txt->n = n;
	}
	return n;
}

static uint64_t esa_key(int dir, uint64_t id, const struct mt_ls_hdr *h)
{
	return mt_ls_hdr_conn_key(h, MT_LS_FMT_ESA, dir, id);
}

/* "protocol P cipher C CN: <x>" (any subset, any order) after "TLS success". */
static void tls_success_fields(struct mt_ls_str s, struct mt_ls_event *ev)
{
	/* the usual whole form, "protocol P cipher C" and nothing after: read in place */
	if (mt_ls_starts(s, " protocol ")) {
		struct mt_ls_str pr = mt_ls_word(mt_ls_sub(s, 10));
		struct mt_ls_str r = mt_ls_sub(s, 10 + pr.n);
		if (pr.n && mt_ls_starts(r, " cipher ")) {
			struct mt_ls_str ci = mt_ls_word(mt_ls_sub(r, 8));
			if (ci.n && 8 + ci.n == r.n) {
				ev->proto = pr;
				ev->cipher = ci;
				return;
			}
		}
	}
	struct mt_ls_str v = mt_ls_kv(s, "protocol ", ' ');
	if (v.p)
		ev->proto = v;
	v = mt_ls_kv(s, "cipher ", ' ');
	if (v.p)
		ev->cipher = v;
	long cn = mt_ls_find(s, "CN: ");
	if (cn >= 0) {
		struct mt_ls_str c = mt_ls_sub(s, (size_t)cn + 4);
		if (c.n && c.p[0] == '<') {
			const char *e = memchr(c.p, '>', c.n);
			c.p++;
			c.n = e ? (size_t)(e - c.p) : c.n - 1;
		} else {
			c = mt_ls_word(c);
		}
		ev->cert = c;
	}
	v = mt_ls_kv(s, "verified ", ' ');
	if (v.p)
		ev->verify = v;
}

/* After "ICID n " or "DCID n ". */
static int conn_line(const struct mt_ls_hdr *h, struct mt_ls_str rest, int dir, uint64_t id, struct mt_ls_str idtxt,
		     struct mt_ls_event *ev)
{
	if (rest.n < 4)
		return MT_LS_IGNORED;
	if (rest.p[0] == 'T' && mt_ls_starts(rest, "TLS ")) {
		struct mt_ls_str t = mt_ls_sub(rest, 4);
		if (mt_ls_starts(t, "success")) {
			ev_init(ev, h, MT_LS_EV_CONN_TLS);
			ev->tls = MT_LS_TLS_OK;
			tls_success_fields(mt_ls_sub(t, 7), ev);
		} else if (mt_ls_starts(t, "failed")) {
			ev_init(ev, h, MT_LS_EV_CONN_TLS);
			ev->tls = MT_LS_TLS_FAILED;
			t = mt_ls_sub(t, 6);
			if (t.n && t.p[0] == ':')
				t = mt_ls_sub(t, 1);
			while (t.n && t.p[0] == ' ')
				t = mt_ls_sub(t, 1);
			ev->reason = t.n ? t : (struct mt_ls_str){"TLS failed", 10};
		} else if (mt_ls_starts(t, "was required") || mt_ls_starts(t, "required")) {
			ev_init(ev, h, MT_LS_EV_REQFAIL);
			ev->reason = rest;
			ev->cause = mt_ls_cause_from_text(t);
			if (ev->cause == MT_LS_CAUSE_OTHER && dir == MT_LS_DIR_IN)
				ev->cause = MT_LS_CAUSE_CLIENT_NO_TLS;
		} else {
			return MT_LS_IGNORED; /* "TLS read", "TLS write" debug lines */
		}
	} else if ((rest.p[0] == 'c' && mt_ls_starts(rest, "close")) || (rest.p[0] == 'l' && mt_ls_starts(rest, "lost"))) {
		if (rest.p[0] == 'l')
			return MT_LS_IGNORED; /* "lost" is followed by "close" */
		ev_init(ev, h, MT_LS_EV_CONN_CLOSE);
	} else {
		return MT_LS_IGNORED;
	}
	ev->dir = dir;
	ev->conn = esa_key(dir, id, h);
	ev->connid = idtxt;
	return MT_LS_EVENT;
}

/* "New SMTP ICID n interface NAME (ip) address A reverse dns host H verified yes"
 * "New SMTP DCID n interface I address A port P" */
static int new_smtp(const struct mt_ls_hdr *h, struct mt_ls_str s, struct mt_ls_event *ev)
{
	int dir;
	if (mt_ls_starts(s, "ICID "))
		dir = MT_LS_DIR_IN;
	else if (mt_ls_starts(s, "DCID "))
		dir = MT_LS_DIR_OUT;
	else
		return MT_LS_IGNORED;
	s = mt_ls_sub(s, 5);
	uint64_t id;
	struct mt_ls_str idtxt;
	size_t n = idnum(s, &id, &idtxt);
	if (!n)
		return MT_LS_UNPARSED;
	ev_init(ev, h, MT_LS_EV_CONN_OPEN);
	ev->dir = dir;
	ev->conn = esa_key(dir, id, h);
	ev->connid = idtxt;
	ev->new_conn = true;
	s = mt_ls_sub(s, n);
	ev->ip = mt_ls_kv_words(s, "address ", ' ');
	if (dir == MT_LS_DIR_IN) {
		/* "address A reverse dns host H": the host read in place, else searched for */
		struct mt_ls_str host = {NULL, 0}, after = {NULL, 0};
		if (ev->ip.p)
			after = mt_ls_sub(s, (size_t)(ev->ip.p - s.p) + ev->ip.n);
		if (mt_ls_starts(after, " reverse dns host "))
			host = mt_ls_word(mt_ls_sub(after, 18));
		else
			host = mt_ls_kv_words(s, "host ", ' ');
		if (host.p && !(host.n == 7 && memcmp(host.p, "unknown", 7) == 0) && !(host.n && host.p[0] == '('))
			ev->host = host;
	}
	return MT_LS_EVENT;
}

/* A message made from another (the AsyncOS guide's "Generated or Rewritten Messages"): after
 * "MID n", r holds " [was ]generated based on MID m by ..." (a copy: bcc(), a notification)
 * or " rewritten to [MID ]m by ..." (the message goes on as m: anti-spam or alt-rcpt-to
 * rewriting, release from a policy quarantine). */
static int mid_link(const struct mt_ls_hdr *h, struct mt_ls_str mid, struct mt_ls_str r, struct mt_ls_event *ev)
{
	bool copy;
	if (mt_ls_starts(r, " was generated based on MID ") || mt_ls_starts(r, " generated based on MID ")) {
		copy = true;
		r = mt_ls_sub(r, r.p[1] == 'w' ? 28 : 24);
	} else if (mt_ls_starts(r, " rewritten to ")) {
		copy = false;
		r = mt_ls_sub(r, 14);
		if (mt_ls_starts(r, "MID "))
			r = mt_ls_sub(r, 4);
	} else {
		return MT_LS_IGNORED;
	}
	size_t n = mt_ls_num(r, NULL);
	if (!n)
		return MT_LS_UNPARSED;
	ev_init(ev, h, MT_LS_EV_MSG_LINK);
	ev->copy = copy;
	/* msgid: the message made; link: the one it comes from */
	if (copy) {
		ev->msgid = mid;
		ev->link = (struct mt_ls_str){r.p, n};
	} else {
		ev->msgid = (struct mt_ls_str){r.p, n};
		ev->link = mid;
	}
	return MT_LS_EVENT;
}

/* --- the consolidated event log ---
 * "CEF:0|Cisco|<product>|<version>|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|<severity>|
 * key=value key=value ...", bare, after a native time ("Sun Aug 25 12:37:08 2019 CEF:0|...")
 * or after a syslog header (whose tag is then "CEF", or the log's name).  The extension's keys
 * read: ESAMID, ESAICID, ESADCID; sourceAddress and sourceHostName (the sending peer);
 * ESATLSInConnStatus, ESATLSInProtocol, ESATLSInCipher and the same with Out (the TLS of the
 * reception and of the delivery; absent: none); duser (recipients), act (DELIVERED,
 * BOUNCED, ...); startTime and endTime ("Www Mmm dd hh:mm:ss yyyy"), or CEF's start and end,
 * for lines that carry no time of their own. */
static const char cef_class[] = "ESA_CONSOLIDATED_LOG_EVENT";

static inline bool cef_keych(char c)
{
	return MT_LS_CC(c, MT_LS_CC_ALNUM) || c == '_';
}

/* The first '=' at or after from in x, or x.n. */
static inline size_t cef_eq(struct mt_ls_str x, size_t from)
{
#ifdef __SSE2__
	/* sixteen bytes at a time (a memchr call per '=' cost more than the search: an event
	 * has some fifty keys, ten to twenty bytes apart) */
	const __m128i eq = _mm_set1_epi8('=');
	for (; from + 16 <= x.n; from += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(x.p + from)), eq));
		if (m)
			return from + (unsigned)__builtin_ctz(m);
	}
#endif
	while (from < x.n && x.p[from] != '=')
		from++;
	return from;
}

/* The start of the key that ends at the '=' at e in x: the run of key characters before e,
 * at x's start or after a space; false when there is none. */
static inline bool cef_key_before(struct mt_ls_str x, size_t e, size_t *kb)
{
	size_t b = e;
#ifdef __SSE2__
	if (e >= 16) {
		/* the sixteen bytes before e classified at once: letters (either case), digits, '_' */
		const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(x.p + e - 16));
		const __m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));
		const __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
		const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
		const __m128i key = _mm_or_si128(_mm_or_si128(alpha, digit), _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
		unsigned other = ~(unsigned)_mm_movemask_epi8(key) & 0xffffu;
		if (other) { /* the last byte before e that is no key character */
			b = e - 16 + (31u - (unsigned)__builtin_clz(other)) + 1;
			goto found;
		}
		b = e - 16; /* a key of 16 or more bytes: on byte by byte */
	}
#endif
	while (b > 0 && cef_keych(x.p[b - 1]))
		b--;
#ifdef __SSE2__
found:
#endif
	if (b == e || (b > 0 && x.p[b - 1] != ' '))
		return false;
	*kb = b;
	return true;
}

/* The first key at or after from in the extension x: a run of key characters at x's start
 * or after a space, then '=' (CEF escapes a '=' in a value as "\=", so a bare one after
 * such a run starts a key).  *kb, *ke: the key's start and its '='. */
static bool cef_key_from(struct mt_ls_str x, size_t from, size_t *kb, size_t *ke)
{
	for (size_t e; (e = cef_eq(x, from)) < x.n; from = e + 1)
		if (cef_key_before(x, e, kb)) {
			*ke = e;
			return true;
		}
	return false;
}

static struct mt_ls_str cef_trim(struct mt_ls_str v)
{
	while (v.n && v.p[0] == ' ')
		v = mt_ls_sub(v, 1);
	while (v.n && v.p[v.n - 1] == ' ')
		v.n--;
	return v;
}

/* The extension's key=value pairs in order: each value runs up to the space before the
 * next key, spaces trimmed.  The next key is found once, as the end of the value before. */
struct cef_it {
	struct mt_ls_str x;
	size_t kb, ke; /* the next key's start and its '=' */
	bool more;
};

static void cef_begin(struct cef_it *it, struct mt_ls_str x)
{
	it->x = x;
	it->more = cef_key_from(x, 0, &it->kb, &it->ke);
}

static bool cef_next(struct cef_it *it, struct mt_ls_str *key, struct mt_ls_str *val)
{
	if (!it->more)
		return false;
	size_t kb = it->kb, ke = it->ke;
	it->more = cef_key_from(it->x, ke + 1, &it->kb, &it->ke);
	*key = (struct mt_ls_str){it->x.p + kb, ke - kb};
	*val = cef_trim((struct mt_ls_str){it->x.p + ke + 1, (it->more ? it->kb : it->x.n) - (ke + 1)});
	return true;
}

/* "CEF:0|" read; s is the rest.  A Cisco consolidated event gives an MT_LS_EV_SUMMARY;
 * another product's or event class's CEF line is ignored. */
static int cef_line(const struct mt_ls_hdr *h, struct mt_ls_str s, struct mt_ls_event *ev)
{
	struct mt_ls_str f[6];
	size_t start = 0;
	unsigned k = 0;
	for (size_t i = 0; i < s.n && k < 6; i++) {
		if (s.p[i] == '\\') { /* an escaped '|' or backslash in a header field */
			i++;
			continue;
		}
		if (s.p[i] == '|') {
			f[k++] = (struct mt_ls_str){s.p + start, i - start};
			start = i + 1;
		}
	}
	if (k < 6) /* a truncated header: unreadable when it is Cisco's, another product's else */
		return s.n >= 6 && memcmp(s.p, "Cisco|", 6) == 0 ? MT_LS_UNPARSED : MT_LS_IGNORED;
	if (!(f[0].n == 5 && memcmp(f[0].p, "Cisco", 5) == 0) ||
	    !(f[3].n == sizeof cef_class - 1 && memcmp(f[3].p, cef_class, f[3].n) == 0))
		return MT_LS_IGNORED;
	struct mt_ls_str x = mt_ls_sub(s, start), key, val, mid = {NULL, 0};
	struct cef_it it;
	for (cef_begin(&it, x); cef_next(&it, &key, &val);)
		if (key.n == 6 && mt_ls_eqn(key.p, "ESAMID", 6)) {
			mid = val;
			break;
		}
	if (!mid.n || mt_ls_num(mid, NULL) != mid.n)
		return MT_LS_UNPARSED; /* every consolidated event names its message */
	ev_init(ev, h, MT_LS_EV_SUMMARY);
	ev->msgid = mid;
	ev->status = x;
	return MT_LS_EVENT;
}

enum { CK_ICID, CK_DCID, CK_SRC, CK_SRCHOST, CK_IN_ST, CK_IN_PR, CK_IN_CI, CK_OUT_ST, CK_OUT_PR, CK_OUT_CI, CK_DUSER, CK_ACT,
       CK_START, CK_END, CK_START_CEF, CK_END_CEF, CK_DANE, CK_N };
/* The slot of the key of n bytes at k, or CK_N: its length picks the names to compare (most
 * of an event's keys have a length no name read has). */
static unsigned cef_slot(const char *k, size_t n)
{
#define CEF_KEY(name, slot)                                  \
	do {                                                 \
		if (mt_ls_eqn(k, name, sizeof name - 1))     \
			return slot;                         \
	} while (0)
	switch (n) {
	case 3: CEF_KEY("act", CK_ACT); CEF_KEY("end", CK_END_CEF); break;
	case 5: CEF_KEY("duser", CK_DUSER); CEF_KEY("start", CK_START_CEF); break;
	case 7:
		CEF_KEY("ESAICID", CK_ICID);
		CEF_KEY("ESADCID", CK_DCID);
		CEF_KEY("endTime", CK_END);
		CEF_KEY("EndTime", CK_END);
		break;
	case 9: CEF_KEY("startTime", CK_START); break;
	case 13: CEF_KEY("sourceAddress", CK_SRC); CEF_KEY("ESADaneStatus", CK_DANE); break;
	case 14: CEF_KEY("sourceHostName", CK_SRCHOST); CEF_KEY("ESATLSInCipher", CK_IN_CI); break;
	case 15: CEF_KEY("ESATLSOutCipher", CK_OUT_CI); break;
	case 16: CEF_KEY("ESATLSInProtocol", CK_IN_PR); break;
	case 17: CEF_KEY("ESATLSOutProtocol", CK_OUT_PR); break;
	case 18: CEF_KEY("ESATLSInConnStatus", CK_IN_ST); break;
	case 19: CEF_KEY("ESATLSOutConnStatus", CK_OUT_ST); break;
	default: break;
	}
#undef CEF_KEY
	return CK_N;
}

/* A time value: AsyncOS's form, or CEF's milliseconds (or seconds) since the epoch; 0 when
 * neither. */
static time_t cef_time(struct mt_ls_str v)
{
	time_t t;
	if (mt_ls_esa_time(v, &t))
		return t;
	uint64_t n;
	if (v.n >= 9 && v.n <= 13 && mt_ls_num(v, &n) == v.n)
		return (time_t)(v.n >= 12 ? n / 1000 : n);
	return 0;
}

/* One side's TLS from its ConnStatus, Protocol and Cipher: none when none is there (the
 * guide's rule: no TLS entry, no TLS). */
static void cef_tls(struct mt_ls_event *e, struct mt_ls_str st, struct mt_ls_str pr, struct mt_ls_str ci)
{
	if (!st.n && !pr.n && !ci.n) {
		e->tls = MT_LS_TLS_NONE;
		return;
	}
	if (!st.n || (st.n == 7 && strncasecmp(st.p, "success", 7) == 0)) { /* a protocol or cipher alone: TLS */
		e->tls = MT_LS_TLS_OK;
		e->proto = pr;
		e->cipher = ci;
		return;
	}
	e->tls = MT_LS_TLS_FAILED;
	e->reason = (struct mt_ls_str){"TLS failed", 10};
}

/* r: one of a consolidated event's events (kind, direction, time, the message), the rest
 * zero. */
static struct mt_ls_event *cef_event(struct mt_ls_event *r, const struct mt_ls_event *ev, int kind, int dir, time_t ts)
{
	mt_ls_zero(r, sizeof *r);
	r->kind = kind;
	r->fmt = MT_LS_FMT_ESA;
	r->dir = dir;
	r->ts = ts;
	r->msgid = ev->msgid;
	return r;
}

unsigned mt_ls_esa_summary_events(const struct mt_ls_event *ev, struct mt_ls_event out[3])
{
	struct mt_ls_str v[CK_N], key, val;
	memset(v, 0, sizeof v);
	struct cef_it it;
	for (cef_begin(&it, ev->status); cef_next(&it, &key, &val);) {
		unsigned slot = cef_slot(key.p, key.n);
		if (slot < CK_N && !v[slot].p) /* the first of a repeated key */
			v[slot] = val;
	}
	time_t t0 = ev->ts, t1 = ev->ts;
	if (!t0) {
		time_t s = cef_time(v[CK_START]), e = cef_time(v[CK_END]);
		if (!s)
			s = cef_time(v[CK_START_CEF]);
		if (!e)
			e = cef_time(v[CK_END_CEF]);
		t0 = s ? s : e;
		t1 = e ? e : s;
	}
	unsigned n = 0;
	struct mt_ls_event *r;
	/* received: on session ICID from sourceAddress (ICID 0: made on the appliance) */
	if (v[CK_ICID].n || v[CK_SRC].n) {
		r = cef_event(&out[n++], ev, MT_LS_EV_MSG_RECV, MT_LS_DIR_IN, t0);
		r->connid = v[CK_ICID];
		r->ip = v[CK_SRC];
		struct mt_ls_str hn = v[CK_SRCHOST];
		if (hn.n && !(hn.n == 7 && memcmp(hn.p, "unknown", 7) == 0))
			r->host = hn;
		if (v[CK_ICID].n == 1 && v[CK_ICID].p[0] == '0')
			r->local = true;
		else
			cef_tls(r, v[CK_IN_ST], v[CK_IN_PR], v[CK_IN_CI]);
	}
	/* delivered (act DELIVERED) or tried (a bounce, ...) on session DCID */
	if (v[CK_DCID].n) {
		r = cef_event(&out[n++], ev, MT_LS_EV_DELIVERY, MT_LS_DIR_OUT, t1);
		r->connid = v[CK_DCID];
		r->new_conn = true; /* conn 0: the inline session, made by this event */
		struct mt_ls_str du = v[CK_DUSER];
		for (size_t i = 0; i < du.n; i++)
			if (du.p[i] == ',' || du.p[i] == ';' || du.p[i] == ' ') {
				du.n = i;
				break;
			}
		r->rcpt_domain = mt_ls_addr_domain(du);
		r->status = v[CK_ACT].n ? v[CK_ACT] : (struct mt_ls_str){"unknown", 7};
		cef_tls(r, v[CK_OUT_ST], v[CK_OUT_PR], v[CK_OUT_CI]);
		/* ESADaneStatus: the delivery's DANE, "success" verified, a value that says it
		 * failed not verified; another ("N/A", ...) says nothing of DANE */
		struct mt_ls_str dv = v[CK_DANE];
		if (dv.n == 7 && strncasecmp(dv.p, "success", 7) == 0)
			r->verify = (struct mt_ls_str){"dane", 4};
		else if ((dv.n >= 4 && strncasecmp(dv.p, "fail", 4) == 0) || (dv.n >= 5 && strncasecmp(dv.p, "error", 5) == 0))
			r->verify = (struct mt_ls_str){"dane-failed", 11};
	}
	cef_event(&out[n++], ev, MT_LS_EV_MSG_DONE, MT_LS_DIR_NONE, t1);
	return n;
}

int mt_ls_esa_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev)
{
	struct mt_ls_str s = h->msg;
	/* skip the level word: "Info: ", "Warning: ", "Debug: " ... */
	if (s.n >= 6 && memcmp(s.p, "Info: ", 6) == 0) { /* nearly every line */
		s = mt_ls_sub(s, 6);
	} else {
		/* the appliance's own time first (the syslog header's time is kept) */
		s = mt_ls_sub(s, mt_ls_esa_time_prefix(s.p, s.n));
		size_t i = 0;
		while (i < s.n && i < 12 && s.p[i] != ':' && s.p[i] != ' ')
			i++;
		if (i < s.n && s.p[i] == ':' && i + 1 < s.n && s.p[i + 1] == ' ')
			s = mt_ls_sub(s, i + 2);
	}
	if (s.n < 8)
		return MT_LS_IGNORED;
	uint64_t id;
	struct mt_ls_str idtxt;
	size_t n;
	switch (s.p[0]) {
	case 'N':
		if (mt_ls_starts(s, "New SMTP "))
			return new_smtp(h, mt_ls_sub(s, 9), ev);
		return MT_LS_IGNORED;
	case 'I':
	case 'D':
		if (s.p[1] == 'C' && s.p[2] == 'I' && s.p[3] == 'D' && s.p[4] == ' ') {
			int dir = s.p[0] == 'I' ? MT_LS_DIR_IN : MT_LS_DIR_OUT;
			s = mt_ls_sub(s, 5);
			n = idnum(s, &id, &idtxt);
			if (!n || n >= s.n || s.p[n] != ' ')
				return MT_LS_UNPARSED;
			return conn_line(h, mt_ls_sub(s, n + 1), dir, id, idtxt, ev);
		}
		if (mt_ls_starts(s, "Delivery start DCID ")) {
			s = mt_ls_sub(s, 20);
			n = idnum(s, &id, &idtxt);
			if (!n)
				return MT_LS_UNPARSED;
			ev_init(ev, h, MT_LS_EV_DELIVERY);
			ev->dir = MT_LS_DIR_OUT;
			ev->conn = esa_key(MT_LS_DIR_OUT, id, h);
			ev->connid = idtxt;
			s = mt_ls_sub(s, n);
			struct mt_ls_str mid = mt_ls_starts(s, " MID ") ? mt_ls_word(mt_ls_sub(s, 5)) : mt_ls_kv(s, "MID ", ' ');
			if (!mid.n)
				return MT_LS_UNPARSED;
			ev->msgid = mid;
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case 'S':
		if (mt_ls_starts(s, "Start MID ")) {
			s = mt_ls_sub(s, 10);
			n = mt_ls_num(s, NULL);
			if (!n)
				return MT_LS_UNPARSED;
			ev_init(ev, h, MT_LS_EV_MSG_RECV);
			ev->dir = MT_LS_DIR_IN;
			ev->msgid = (struct mt_ls_str){s.p, n};
			s = mt_ls_sub(s, n);
			struct mt_ls_str ic = mt_ls_starts(s, " ICID ") ? mt_ls_word(mt_ls_sub(s, 6)) : mt_ls_kv(s, "ICID ", ' ');
			if (!ic.n || !mt_ls_num(ic, &id))
				return MT_LS_UNPARSED;
			ev->connid = ic;
			if (id == 0)
				ev->local = true; /* ICID 0: generated on the appliance */
			else
				ev->conn = esa_key(MT_LS_DIR_IN, id, h);
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case 'M':
		if (s.p[1] == 'I' && s.p[2] == 'D' && s.p[3] == ' ') {
			/* only "MID m ICID n RID r To: <addr>" matters: the recipient's domain */
			struct mt_ls_str r = mt_ls_sub(s, 4);
			n = mt_ls_num(r, NULL);
			if (!n)
				return MT_LS_IGNORED;
			struct mt_ls_str mid = {r.p, n};
			r = mt_ls_sub(r, n);
			if (r.n >= 10 && (r.p[1] == 'w' || r.p[1] == 'g' || r.p[1] == 'r'))
				return mid_link(h, mid, r, ev);
			if (r.n < 10 || r.p[1] != 'I' || !mt_ls_starts(r, " ICID "))
				return MT_LS_IGNORED;
			/* " ICID n RID r To: <addr>" read in place; other shapes searched */
			long to = -1;
			struct mt_ls_str rid = {NULL, 0};
			size_t ic = mt_ls_num(mt_ls_sub(r, 6), NULL);
			struct mt_ls_str t = mt_ls_sub(r, 6 + ic);
			if (ic && mt_ls_starts(t, " RID ")) {
				struct mt_ls_str w = mt_ls_word(mt_ls_sub(t, 5));
				struct mt_ls_str a = mt_ls_sub(t, 5 + w.n);
				if (w.n && mt_ls_starts(a, " To: ")) {
					rid = w;
					to = (long)(a.p - r.p);
				}
			}
			if (to < 0) {
				to = mt_ls_find(r, " To: ");
				if (to < 0)
					return MT_LS_IGNORED;
				rid = mt_ls_kv(r, "RID ", ' ');
			}
			ev_init(ev, h, MT_LS_EV_MSG_RCPT);
			ev->msgid = mid;
			ev->rcpt_domain = mt_ls_addr_domain(mt_ls_sub(r, (size_t)to + 5));
			ev->status = rid;
			return MT_LS_EVENT;
		}
		if (mt_ls_starts(s, "Message finished MID ")) {
			s = mt_ls_sub(s, 21);
			n = mt_ls_num(s, NULL);
			if (!n)
				return MT_LS_UNPARSED;
			ev_init(ev, h, MT_LS_EV_MSG_DONE);
			ev->msgid = (struct mt_ls_str){s.p, n};
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case '0': /* "host CEF:0|...": the tag is "CEF" (the level skip above finds no ": " in
		   * "0|Cisco|<product>|" unless the product name has one) */
		if (s.p[1] == '|' && h->tag.n == 3 && memcmp(h->tag.p, "CEF", 3) == 0)
			return cef_line(h, mt_ls_sub(s, 2), ev);
		return MT_LS_IGNORED;
	case 'C':
		if (s.p[1] == 'E' && mt_ls_starts(s, "CEF:0|"))
			return cef_line(h, mt_ls_sub(s, 6), ev);
		/* "Connection Error: DCID d domain: D IP:A port: P details: X interface: I reason: R" */
		if (mt_ls_starts(s, "Connection Error: DCID ")) {
			s = mt_ls_sub(s, 23);
			n = idnum(s, &id, &idtxt);
			if (!n)
				return MT_LS_UNPARSED;
			ev_init(ev, h, MT_LS_EV_CONN_INFO);
			ev->dir = MT_LS_DIR_OUT;
			ev->conn = esa_key(MT_LS_DIR_OUT, id, h);
			ev->connid = idtxt;
			s = mt_ls_sub(s, n);
			ev->domain = mt_ls_kv(s, "domain: ", ' ');
			ev->ip = mt_ls_kv(s, "IP:", ' ');
			long d = mt_ls_find(s, " details: ");
			if (d >= 0) {
				struct mt_ls_str det = mt_ls_sub(s, (size_t)d + 10);
				long e = mt_ls_find(det, " interface: ");
				if (e >= 0)
					det.n = (size_t)e;
				ev->reason = det;
			} else {
				ev->reason = mt_ls_kv(s, "reason: ", '\n');
			}
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	default:
		return MT_LS_IGNORED;
	}
}

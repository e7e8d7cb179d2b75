/* logscan_postfix.c — Postfix smtpd/smtp TLS lines and the queue-id lines that tie them to
 * messages.
 *
 * A Postfix process handles one SMTP session at a time, so the connection key is the syslog
 * host plus the process id: smtpd's "connect from" opens it, "disconnect from" closes it, and
 * "QUEUEID: client=" binds a message to it.  The smtp client logs its TLS line before the
 * delivery lines ("QUEUEID: to=<..>, relay=host[ip]:port, ... status=") of the same process,
 * which is how a delivery learns whether it went over TLS; a delivery with no TLS line before
 * it did not.  A connection carries one message unless it is taken from the connection cache
 * again ("conn_use=N" on the delivery; "TLS connection reused to" before it when it is a TLS
 * one): the event carries both, and the peer's port, for the correlation to tell.
 */
#include "logscan_parse.h"

#include <string.h>

static void ev_init(struct mt_ls_event *ev, const struct mt_ls_hdr *h, int kind, int dir)
{
	mt_ls_zero(ev, sizeof *ev);
	ev->kind = kind;
	ev->fmt = MT_LS_FMT_POSTFIX;
	ev->ts = h->ts;
	ev->dir = dir;
	ev->conn = mt_ls_hdr_conn_key(h, MT_LS_FMT_POSTFIX, dir, (uint64_t)h->pid);
}

/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) ..." */
static void tls_details(struct mt_ls_str s, struct mt_ls_event *ev)
{
	ev->proto = mt_ls_word(s);
	/* the usual shape read in place: "P with cipher C (B/B bits)" (P and C have no spaces,
	 * so the searches below would find the same fields) */
	struct mt_ls_str r = mt_ls_sub(s, ev->proto.n);
	if (ev->proto.n >= 3 && (memcmp(s.p, "TLS", 3) == 0 || memcmp(s.p, "SSL", 3) == 0) &&
	    mt_ls_starts(r, " with cipher ")) {
		struct mt_ls_str c = mt_ls_word(mt_ls_sub(r, 13));
		struct mt_ls_str a = mt_ls_sub(r, 13 + c.n);
		if (c.n && mt_ls_starts(a, " (")) {
			ev->cipher = c;
			uint64_t bits;
			if (mt_ls_num(mt_ls_sub(a, 2), &bits))
				ev->bits = (int)bits;
			return;
		}
	}
	struct mt_ls_str c = mt_ls_kv(s, "cipher ", ' ');
	if (c.p)
		ev->cipher = c;
	long b = mt_ls_find(s, " (");
	if (b >= 0) {
		uint64_t bits;
		if (mt_ls_num(mt_ls_sub(s, (size_t)b + 2), &bits))
			ev->bits = (int)bits;
	}
}

/* The command counters smtpd (Postfix 3.0 and later) writes after "disconnect from
 * host[addr]": "ehlo=2 starttls=1 mail=1 ... commands=7", each "name=completed/issued" or
 * "name=n" when all n completed, in the order of smtpd's command table (helo, ehlo,
 * xclient, xforward, then starttls).  starttls completed: the session ran TLS; issued and
 * never completed: it tried and failed.  That is the session's only TLS record when
 * smtpd_tls_loglevel is 0 (Postfix's default), which logs no "TLS connection established".
 * The correlation asks only for sessions with no TLS line. */
int mt_ls_postfix_starttls(struct mt_ls_str s, struct mt_ls_str *reason)
{
	const char *rb = memchr(s.p, ']', s.n);
	if (!rb)
		return MT_LS_TLS_UNSTATED;
	struct mt_ls_str r = mt_ls_sub(s, (size_t)(rb + 1 - s.p));
	for (;;) {
		if (r.n < 2 || r.p[0] != ' ')
			return MT_LS_TLS_UNSTATED;
		r = mt_ls_sub(r, 1);
		bool before; /* a counter smtpd writes before starttls's */
		switch (r.p[0]) {
		case 's':
			if (mt_ls_starts(r, "starttls="))
				goto found;
			return MT_LS_TLS_UNSTATED;
		case 'h': before = mt_ls_starts(r, "helo="); break;
		case 'e': before = mt_ls_starts(r, "ehlo="); break;
		case 'x': before = mt_ls_starts(r, "xclient=") || mt_ls_starts(r, "xforward="); break;
		default: before = false; break;
		}
		if (!before)
			return MT_LS_TLS_UNSTATED; /* past where starttls would be: none issued */
		const char *sp = memchr(r.p, ' ', r.n);
		if (!sp)
			return MT_LS_TLS_UNSTATED;
		r = mt_ls_sub(r, (size_t)(sp - r.p));
	}
found:
	r = mt_ls_sub(r, 9);
	uint64_t done, issued;
	size_t n = mt_ls_num(r, &done);
	if (!n)
		return MT_LS_TLS_UNSTATED;
	issued = done;
	if (n < r.n && r.p[n] == '/' && !mt_ls_num(mt_ls_sub(r, n + 1), &issued))
		return MT_LS_TLS_UNSTATED;
	if (done)
		return MT_LS_TLS_OK;
	if (!issued)
		return MT_LS_TLS_UNSTATED;
	static const char why[] = "STARTTLS issued but not completed (disconnect counters)";
	*reason = (struct mt_ls_str){why, sizeof why - 1};
	return MT_LS_TLS_FAILED;
}

/* Queue ids: hex (short) or the long form [0-9A-Za-z]{10,}; followed by ": ". */
static size_t queue_id(struct mt_ls_str s)
{
#ifdef __SSE2__
	/* the usual id of up to 15 characters: where the leading run of letters and digits
	 * ends, and whether it is all upper-case hex, from one 16-byte step */
	if (s.n >= 16) {
		const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s.p);
		const __m128i k9 = _mm_set1_epi8(9), k25 = _mm_set1_epi8(25), k5 = _mm_set1_epi8(5);
		const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0')), u = _mm_sub_epi8(v, _mm_set1_epi8('A')),
			      l = _mm_sub_epi8(v, _mm_set1_epi8('a'));
		const __m128i dig = _mm_cmpeq_epi8(_mm_max_epu8(d, k9), k9);
		const __m128i hex = _mm_or_si128(dig, _mm_cmpeq_epi8(_mm_max_epu8(u, k5), k5));
		const __m128i aln = _mm_or_si128(dig, _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(u, k25), k25),
								     _mm_cmpeq_epi8(_mm_max_epu8(l, k25), k25)));
		unsigned am = (unsigned)_mm_movemask_epi8(aln);
		unsigned i = (unsigned)__builtin_ctz(~am); /* bit 16 and up of ~am are set */
		if (i < 16) {
			if (i < 5 || i + 1 >= s.n || s.p[i] != ':' || s.p[i + 1] != ' ')
				return 0;
			if (i < 12 && (~(unsigned)_mm_movemask_epi8(hex) & ((1u << i) - 1)))
				return 0;
			return i;
		}
	}
#endif
	size_t i = 0, lim = s.n < 20 ? s.n : 20;
	while (i < lim && MT_LS_CC(s.p[i], MT_LS_CC_ALNUM))
		i++;
	if (i < 5 || i + 1 >= s.n || s.p[i] != ':' || s.p[i + 1] != ' ')
		return 0;
	/* short ids are upper-case hex; long ids (enable_long_queue_ids) are 12+ characters.
	 * This keeps "warning: " and "NOQUEUE: " out. */
	if (i < 12)
		for (size_t k = 0; k < i; k++)
			if (!MT_LS_CC(s.p[k], MT_LS_CC_UHEX))
				return 0;
	return i;
}

/* The value at v that ends at the first ", ", when it has no space of its own: the ','.
 * NULL otherwise (or when no ", " follows).  That is: the first space, when a ',' is right
 * before it (bare commas inside the value are allowed); one pass for it. */
static const char *field_end(const char *v, const char *end)
{
	const char *sp = NULL;
#ifdef __SSE2__
	const __m128i k = _mm_set1_epi8(' ');
	const char *p = v;
	for (; end - p >= 16; p += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), k));
		if (m) {
			sp = p + __builtin_ctz(m);
			break;
		}
	}
	if (!sp)
		sp = memchr(p, ' ', (size_t)(end - p));
#else
	sp = memchr(v, ' ', (size_t)(end - v));
#endif
	return sp && sp > v && sp[-1] == ',' ? sp - 1 : NULL;
}

/* Postfix 3.11's "tls=" field (smtp_log_tls_feature_status), which it writes after delays=
 * and before dsn=: the last ", tls=" among the 64 bytes before end (the space before
 * status=) and after from (where relay=, and to=, end); its value runs to the next ','; none
 * when absent.  The 64 bytes are read in one step when they are all after line (where the
 * readable bytes start), as they nearly always are (a queue id, to= and relay= are longer). */
static struct mt_ls_str tls_field(const char *line, const char *from, const char *end)
{
	const char *lo = end - from > 64 ? end - 64 : from, *hit = NULL;
#ifdef __SSE2__
	if (end - line >= 64) {
		const char *b = end - 64;
		for (uint64_t m = mt_ls_mask64(b, 't'); m && !hit;) {
			unsigned i = 63 - (unsigned)__builtin_clzll(m); /* the last 't' left */
			m &= ~((uint64_t)1 << i);
			const char *p = b + i;
			if (p - 2 < lo)
				break;
			if (end - p > 4 && memcmp(p - 2, ", tls=", 6) == 0)
				hit = p;
		}
	} else
#endif
		for (const char *p = end - 5; p - 2 >= lo && !hit; p--)
			if (memcmp(p - 2, ", tls=", 6) == 0)
				hit = p;
	if (!hit)
		return (struct mt_ls_str){NULL, 0};
	const char *v = hit + 4, *c = memchr(v, ',', (size_t)(end - v));
	return c ? (struct mt_ls_str){v, (size_t)(c - v)} : (struct mt_ls_str){NULL, 0};
}

/* s starts with "to=".  The usual shape "to=<a>, [orig_to=<b>, ]relay=R, ... status=S ..."
 * read in order; since to, orig_to and relay hold no space, no field can start inside them,
 * and the first field-start "status=" is the first " status=" after relay: the same fields
 * the key searches find.  false: another shape (the caller searches). */
static bool delivery_fields(const char *line, struct mt_ls_str s, struct mt_ls_str *to, struct mt_ls_str *relay,
			    struct mt_ls_str *status, struct mt_ls_str *conn_use, struct mt_ls_str *level)
{
	const char *end = s.p + s.n, *v = s.p + 3;
	const char *e = field_end(v, end);
	if (!e)
		return false;
	const char *q = e + 2;
	if (end - q > 8 && memcmp(q, "orig_to=", 8) == 0) {
		const char *e2 = field_end(q + 8, end);
		if (!e2)
			return false;
		q = e2 + 2;
	}
	if (end - q < 6 || memcmp(q, "relay=", 6) != 0)
		return false;
	const char *e3 = field_end(q + 6, end);
	if (!e3)
		return false;
	struct mt_ls_str rest = {e3 + 1, (size_t)(end - e3 - 1)};
	/* rest starts with the space after relay's ',': the first "status=" that starts a word
	 * is the first " status=" */
	long st = mt_ls_word_keyn(rest, "status=", 7) - 1;
	if (st < 0)
		return false;
	const char *sv = rest.p + st + 8;
	const char *se = memchr(sv, ' ', (size_t)(end - sv));
	*to = (struct mt_ls_str){v, (size_t)(e - v)};
	*relay = (struct mt_ls_str){q + 6, (size_t)(e3 - q - 6)};
	*status = (struct mt_ls_str){sv, se ? (size_t)(se - sv) : (size_t)(end - sv)};
	/* "conn_use=N" comes right after relay when logged (a connection taken from the cache) */
	*conn_use = mt_ls_starts(rest, " conn_use=") ? mt_ls_sub(rest, 10) : (struct mt_ls_str){NULL, 0};
	*level = tls_field(line, e3, rest.p + st); /* e3: relay's ',' */
	return true;
}

/* A port number at the start of s: its digits (1 to 5, not followed by another digit) and
 * *v; 0 when s starts otherwise. */
static inline size_t port_num(struct mt_ls_str s, uint32_t *v)
{
	uint32_t x = 0;
	size_t i = 0;
	for (; i < s.n && i < 6 && (unsigned)(s.p[i] - '0') < 10u; i++)
		x = x * 10 + (uint32_t)(s.p[i] - '0');
	if (i > 5 || x > 65535)
		return 0;
	*v = x;
	return i;
}

/* The port after "host[ip]" in s ("host[ip]:25"); 0 when none is written. */
static inline uint16_t peer_port(struct mt_ls_str s, struct mt_ls_str ip)
{
	if (!ip.p)
		return 0;
	struct mt_ls_str d = mt_ls_sub(s, (size_t)(ip.p + ip.n + 1 - s.p));
	uint32_t port = 0;
	if (!mt_ls_starts(d, ":") || !port_num(mt_ls_sub(d, 1), &port))
		return 0;
	return (uint16_t)port;
}

/* A delivery's (or deferral's) peer port and conn_use, from its relay= and conn_use= slices. */
static inline void conn_use_port(struct mt_ls_event *ev, struct mt_ls_str relay, struct mt_ls_str use)
{
	ev->port = peer_port(relay, ev->ip);
	uint64_t n;
	if (use.p && mt_ls_num(use, &n))
		ev->conn_use = n > 65535 ? 65535 : (uint16_t)n;
}

/* "[server ]certificate verification failed for host[ip]:port: reason" (Postfix 2.x wrote it
 * without "server "): the client logs it during the handshake, before the connection's TLS
 * line, so it starts the session the TLS line then completes (alone, in a log cut short, it
 * counts as a failed TLS negotiation). */
static int verify_failed(const struct mt_ls_hdr *h, struct mt_ls_str s, size_t off, struct mt_ls_event *ev)
{
	ev_init(ev, h, MT_LS_EV_CONN_INFO, MT_LS_DIR_OUT);
	ev->tls = MT_LS_TLS_FAILED; /* until the TLS line says the handshake completed */
	ev->verify = (struct mt_ls_str){"failed", 6};
	struct mt_ls_str r = mt_ls_sub(s, off);
	if (mt_ls_host_ip(r, &ev->host, &ev->ip))
		ev->port = peer_port(r, ev->ip);
	long p = mt_ls_find(s, ": ");
	ev->reason = p >= 0 ? mt_ls_sub(s, (size_t)p + 2) : s;
	ev->new_conn = true;
	return MT_LS_EVENT;
}

/* The queue id a reply ends with, after "queued as " (Postfix: "250 2.0.0 Ok: queued as ID";
 * amavis: "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as ID"); none
 * otherwise.  Read from the end: the usual reply has none, and costs a few compares. */
static struct mt_ls_str queued_as(struct mt_ls_str text)
{
	size_t e = text.n;
	while (e && ((unsigned)(text.p[e - 1] - '0') < 10u || (unsigned)((text.p[e - 1] | 0x20) - 'a') < 26u))
		e--;
	if (e == text.n || e < 10 || text.p[e - 2] != 's' || memcmp(text.p + e - 10, "queued as ", 10) != 0)
		return (struct mt_ls_str){NULL, 0};
	return (struct mt_ls_str){text.p + e, text.n - e};
}

static int delivery(const struct mt_ls_hdr *h, struct mt_ls_str qid, struct mt_ls_str s, int dir, struct mt_ls_event *ev)
{
	struct mt_ls_str to, relay, status, use, level;
	if (!delivery_fields(h->msg.p, s, &to, &relay, &status, &use, &level)) {
		to = mt_ls_kv(s, "to=", ',');
		relay = mt_ls_kv(s, "relay=", ',');
		status = mt_ls_kv(s, "status=", ' ');
		use = mt_ls_kv(s, "conn_use=", ',');
		/* the same rule, after to= and relay= (whichever ends later), before " status=" */
		level = (struct mt_ls_str){NULL, 0};
		if (status.p && status.p - 8 >= s.p && status.p[-8] == ' ') {
			const char *from = s.p;
			if (to.p && to.p + to.n > from)
				from = to.p + to.n;
			if (relay.p && relay.p + relay.n > from)
				from = relay.p + relay.n;
			if (from < status.p - 8)
				level = tls_field(h->msg.p, from, status.p - 8);
		}
	}
	if (!to.p || !status.p)
		return MT_LS_IGNORED;
	struct mt_ls_str text = mt_ls_sub(s, (size_t)(status.p - s.p) + status.n);
	while (text.n && text.p[0] == ' ')
		text = mt_ls_sub(text, 1);
	if (text.n && text.p[0] == '(') {
		text = mt_ls_sub(text, 1);
		if (text.n && text.p[text.n - 1] == ')')
			text.n--;
	}
	/* "TLS is required, but ...", "Cannot start TLS" and, at the verify, secure and dane
	 * levels, "Server certificate not verified|trusted" are required-TLS failures (never in
	 * the text of a delivery that was sent); so is any delivery Postfix 3.11's tls= says its
	 * TLS policy blocked ("!encrypt", "dane/!requiretls"), whatever the reply's words */
	bool sent = status.n == 4 && memcmp(status.p, "sent", 4) == 0;
	struct mt_ls_tls_status ts;
	bool blocked = !sent && level.n && mt_ls_postfix_tls_status(level, &ts) && (ts.level.blocked || ts.requiretls.blocked);
	if (!sent && (mt_ls_find(text, "TLS is required") >= 0 || mt_ls_find(text, "Cannot start TLS") >= 0 ||
		      mt_ls_find(text, "Server certificate not ") >= 0 || blocked)) {
		ev_init(ev, h, MT_LS_EV_REQFAIL, dir);
		ev->msgid = qid;
		ev->rcpt_domain = mt_ls_addr_domain(to);
		ev->domain = ev->rcpt_domain;
		ev->reason = text;
		ev->cause = mt_ls_cause_from_text(text);
		/* the level met, REQUIRETLS not ("dane/!requiretls"): that is the cause */
		if (blocked && !ts.level.blocked)
			ev->cause = MT_LS_CAUSE_REQUIRETLS;
		ev->level = level;
		if (relay.p && relay.n && !mt_ls_starts(relay, "none") && mt_ls_host_ip(relay, &ev->host, &ev->ip))
			conn_use_port(ev, relay, use);
		else
			ev->conn = 0;
		return MT_LS_EVENT;
	}
	if (dir != MT_LS_DIR_OUT || !relay.p || mt_ls_starts(relay, "none") || !memchr(relay.p, '[', relay.n))
		return MT_LS_IGNORED;
	ev_init(ev, h, MT_LS_EV_DELIVERY, dir);
	ev->msgid = qid;
	ev->rcpt_domain = mt_ls_addr_domain(to);
	mt_ls_host_ip(relay, &ev->host, &ev->ip);
	/* "relay=host[private/dovecot-lmtp]": LMTP over a UNIX-domain socket, a delivery into
	 * the mailbox store on this machine, no network connection (as relay=local) */
	if (ev->ip.p && memchr(ev->ip.p, '/', ev->ip.n))
		return MT_LS_IGNORED;
	conn_use_port(ev, relay, use);
	ev->status = status;
	ev->level = level;
	if (sent)
		ev->link = queued_as(text);
	return MT_LS_EVENT;
}

/* The direction of a Postfix service's lines; -1: a service whose lines are all ignored. */
int mt_ls_postfix_service_dir(struct mt_ls_str svc)
{
	if (svc.n == 5 && memcmp(svc.p, "smtpd", 5) == 0)
		return MT_LS_DIR_IN;
	/* relay: the smtp client under Postfix's stock master.cf name for relay_domains mail
	 * ("-o syslog_name=postfix/$service_name") */
	if ((svc.n == 4 && (memcmp(svc.p, "smtp", 4) == 0 || memcmp(svc.p, "lmtp", 4) == 0)) ||
	    (svc.n == 5 && memcmp(svc.p, "relay", 5) == 0))
		return MT_LS_DIR_OUT;
	if (svc.n == 5 && memcmp(svc.p, "error", 5) == 0)
		return MT_LS_DIR_OUT;
	if ((svc.n == 4 && memcmp(svc.p, "qmgr", 4) == 0) || (svc.n == 6 && memcmp(svc.p, "pickup", 6) == 0))
		return MT_LS_DIR_NONE;
	return -1;
}

int mt_ls_postfix_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev)
{
	int dir = mt_ls_postfix_service_dir(h->service);
	if (dir < 0)
		return MT_LS_IGNORED;
	struct mt_ls_str s = h->msg;
	if (s.n < 8)
		return MT_LS_IGNORED;
	size_t q = queue_id(s);
	if (q) {
		struct mt_ls_str qid = {s.p, q};
		struct mt_ls_str r = mt_ls_sub(s, q + 2);
		if (dir == MT_LS_DIR_NONE) {
			if (mt_ls_starts(r, "removed")) {
				ev_init(ev, h, MT_LS_EV_MSG_DONE, 0);
				ev->conn = 0;
				ev->msgid = qid;
				return MT_LS_EVENT;
			}
			if (mt_ls_starts(r, "uid=")) { /* pickup: local submission */
				ev_init(ev, h, MT_LS_EV_MSG_RECV, MT_LS_DIR_IN);
				ev->conn = 0;
				ev->msgid = qid;
				ev->local = true;
				return MT_LS_EVENT;
			}
			return MT_LS_IGNORED;
		}
		if (dir == MT_LS_DIR_IN) {
			if (mt_ls_starts(r, "client=")) {
				ev_init(ev, h, MT_LS_EV_MSG_RECV, dir);
				ev->msgid = qid;
				struct mt_ls_str c = mt_ls_kv_at(r, 0, 7, ','); /* r starts with the key */
				mt_ls_host_ip(c, &ev->host, &ev->ip);
				return MT_LS_EVENT;
			}
			return MT_LS_IGNORED;
		}
		if (r.n && r.p[0] == 't' && mt_ls_starts(r, "to="))
			return delivery(h, qid, r, dir, ev);
		/* smtp_tls_security_level may: a failed handshake, after which the client goes on in
		 * clear on a new connection (logged for a message that has waited
		 * minimal_backoff_time; a younger one is deferred with this text) */
		if (r.n && r.p[0] == 'C' && mt_ls_starts(r, "Cannot start TLS: handshake failure")) {
			ev_init(ev, h, MT_LS_EV_CONN_CLOSE, dir);
			ev->msgid = qid;
			ev->reason = r;
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	}
	if (dir == MT_LS_DIR_NONE)
		return MT_LS_IGNORED;
	long p;
	switch (s.p[0]) {
	case 'c':
		if (dir == MT_LS_DIR_IN && mt_ls_starts(s, "connect from ")) {
			ev_init(ev, h, MT_LS_EV_CONN_OPEN, dir);
			ev->new_conn = true;
			if (!mt_ls_host_ip(mt_ls_sub(s, 13), &ev->host, &ev->ip))
				return MT_LS_UNPARSED;
			return MT_LS_EVENT;
		}
		if (dir == MT_LS_DIR_OUT && mt_ls_starts(s, "certificate verification failed for "))
			return verify_failed(h, s, 36, ev);
		return MT_LS_IGNORED;
	case 's':
		if (dir == MT_LS_DIR_OUT && mt_ls_starts(s, "server certificate verification failed for "))
			return verify_failed(h, s, 43, ev);
		return MT_LS_IGNORED;
	case 'd':
		if (dir == MT_LS_DIR_IN && mt_ls_starts(s, "disconnect from ")) {
			ev_init(ev, h, MT_LS_EV_CONN_CLOSE, dir);
			ev->status = mt_ls_sub(s, 16); /* the counters: see mt_ls_postfix_starttls */
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case 'A':
	case 'U':
	case 'T':
	case 'V':
		/* "<Trust> TLS connection established from|to host[ip](:port): details", and the
		 * client's "<Trust> TLS connection reused to ..." for a TLS connection taken from
		 * the connection cache (smtp_tls_connection_reuse, Postfix 3.4+); the four trust
		 * words Postfix writes compared in place (the search finds the same: the literal
		 * starts at the first space) */
		if (mt_ls_starts(s, "Anonymous TLS connection ") || mt_ls_starts(s, "Untrusted TLS connection "))
			p = 9;
		else if (mt_ls_starts(s, "Verified TLS connection "))
			p = 8;
		else if (mt_ls_starts(s, "Trusted TLS connection "))
			p = 7;
		else
			p = mt_ls_find(s, " TLS connection ");
		if (p < 0 || p > 10)
			return MT_LS_IGNORED;
		{
			struct mt_ls_str r = mt_ls_sub(s, (size_t)p + 16);
			bool reused = false;
			if (mt_ls_starts(r, "established "))
				r = mt_ls_sub(r, 12);
			else if (dir == MT_LS_DIR_OUT && mt_ls_starts(r, "reused "))
				r = mt_ls_sub(r, 7), reused = true;
			else
				return MT_LS_IGNORED;
			if (mt_ls_starts(r, "from "))
				r = mt_ls_sub(r, 5);
			else if (mt_ls_starts(r, "to "))
				r = mt_ls_sub(r, 3);
			else
				return MT_LS_UNPARSED;
			ev_init(ev, h, MT_LS_EV_CONN_TLS, dir);
			ev->tls = MT_LS_TLS_OK;
			ev->reused = reused;
			ev->verify = (struct mt_ls_str){s.p, (size_t)p};
			if (!mt_ls_host_ip(r, &ev->host, &ev->ip))
				return MT_LS_UNPARSED;
			/* the details follow "]: " or "]:port: " after the ']' that closes the
			 * address (a search for ": " otherwise) */
			struct mt_ls_str d = mt_ls_sub(r, (size_t)(ev->ip.p + ev->ip.n + 1 - r.p));
			uint32_t pv = 0;
			size_t port = mt_ls_starts(d, ":") ? port_num(mt_ls_sub(d, 1), &pv) : 0;
			if (dir == MT_LS_DIR_OUT)
				ev->port = (uint16_t)pv;
			struct mt_ls_str t = mt_ls_sub(d, port ? 1 + port : 0);
			if (mt_ls_starts(t, ": ")) {
				d = mt_ls_sub(t, 2);
			} else {
				long colon = mt_ls_find(d, ": ");
				if (colon < 0)
					return MT_LS_UNPARSED;
				d = mt_ls_sub(d, (size_t)colon + 2);
			}
			tls_details(d, ev);
			/* the client logs no "connect": each TLS line starts a session */
			ev->new_conn = dir == MT_LS_DIR_OUT;
			return MT_LS_EVENT;
		}
	case 'S':
		if (mt_ls_starts(s, "SSL_accept error from ") || mt_ls_starts(s, "SSL_connect error to ")) {
			size_t off = s.p[4] == 'a' ? 22 : 21;
			ev_init(ev, h, MT_LS_EV_CONN_TLS, dir);
			ev->tls = MT_LS_TLS_FAILED;
			struct mt_ls_str r = mt_ls_sub(s, off);
			mt_ls_host_ip(r, &ev->host, &ev->ip);
			long c = mt_ls_find(r, "]");
			struct mt_ls_str d = mt_ls_sub(r, c >= 0 ? (size_t)c + 1 : 0);
			long colon = mt_ls_find(d, ": ");
			ev->reason = colon >= 0 ? mt_ls_sub(d, (size_t)colon + 2) : d;
			if (ev->reason.n == 2 && memcmp(ev->reason.p, "-1", 2) == 0)
				ev->reason = (struct mt_ls_str){s.p, off - 6};
			ev->new_conn = dir == MT_LS_DIR_OUT;
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case 'l':
		if (dir == MT_LS_DIR_IN && mt_ls_starts(s, "lost connection after STARTTLS from ")) {
			ev_init(ev, h, MT_LS_EV_CONN_TLS, dir);
			ev->tls = MT_LS_TLS_FAILED;
			ev->reason = (struct mt_ls_str){s.p, 30};
			mt_ls_host_ip(mt_ls_sub(s, 36), &ev->host, &ev->ip);
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case 'w':
		if (mt_ls_starts(s, "warning: TLS library problem: ")) {
			ev_init(ev, h, MT_LS_EV_CONN_INFO, dir);
			ev->reason = mt_ls_sub(s, 30);
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	case 'N':
		/* smtpd_tls_security_level=encrypt: "NOQUEUE: reject: ... Must issue a STARTTLS command first" */
		if (dir == MT_LS_DIR_IN && mt_ls_starts(s, "NOQUEUE: reject: ") &&
		    mt_ls_find(s, "Must issue a STARTTLS command first") >= 0) {
			ev_init(ev, h, MT_LS_EV_REQFAIL, dir);
			ev->cause = MT_LS_CAUSE_CLIENT_NO_TLS;
			ev->reason = (struct mt_ls_str){"Must issue a STARTTLS command first", 35};
			p = mt_ls_find(s, " from ");
			if (p >= 0)
				mt_ls_host_ip(mt_ls_sub(s, (size_t)p + 6), &ev->host, &ev->ip);
			return MT_LS_EVENT;
		}
		return MT_LS_IGNORED;
	default:
		return MT_LS_IGNORED;
	}
}

/* One feature of a tls= field: the n bytes at p. */
static bool tls_feat(const char *p, size_t n, struct mt_ls_tls_feat *f)
{
	if (n >= 2 && p[0] == '(' && p[n - 1] == ')') /* pre-release "(name)": relaxed */
		p++, n -= 2;
	if (n && p[0] == '!')
		f->blocked = true, p++, n--;
	if (n && p[n - 1] == '?')
		f->undecided = true, n--;
	const char *c = memchr(p, ':', n);
	size_t a = c ? (size_t)(c - p) : n, b = c ? n - a - 1 : 0;
	if (!a || a >= sizeof f->name || (c && (!b || b >= sizeof f->final)))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || (c && p + i == c)))
			return false;
	}
	memcpy(f->name, p, a);
	f->name[a] = '\0';
	if (c) {
		memcpy(f->final, c + 1, b);
		f->final[b] = '\0';
	}
	f->present = true;
	return true;
}

bool mt_ls_postfix_tls_status(struct mt_ls_str s, struct mt_ls_tls_status *st)
{
	memset(st, 0, sizeof *st);
	if (!s.n)
		return false;
	/* by place (Postfix's pol_stats: the level first, REQUIRETLS second, an inactive one left
	 * out), so a lone "requiretls" is the second */
	const char *e = memchr(s.p, '/', s.n), *end = s.p + s.n;
	size_t n = e ? (size_t)(e - s.p) : s.n;
	if (e && memchr(e + 1, '/', (size_t)(end - e - 1)))
		goto bad;
	if (!tls_feat(s.p, n, &st->level))
		goto bad;
	if (!e && strcmp(st->level.name, "requiretls") == 0) {
		st->requiretls = st->level;
		memset(&st->level, 0, sizeof st->level);
	}
	if (e && !tls_feat(e + 1, (size_t)(end - e - 1), &st->requiretls))
		goto bad;
	return true;
bad:
	memset(st, 0, sizeof *st);
	return false;
}

/* logscan_corr.c — see logscan_corr.h.
 *
 * The ESA guide's rule drives every verdict: a message whose connection has no TLS entry
 * did not travel over TLS.  So a delivery whose connection logged no TLS line counts as
 * clear, and a connection created only because a delivery or message referred to it starts
 * as "none".  The one exception is a message whose receiving connection was never seen
 * (the log starts mid-session, or the connection was evicted): its inbound state is unknown,
 * not clear.
 */
#include "logscan_corr.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mt_ls_in_name(int in)
{
	switch (in) {
	case MT_LS_IN_TLS: return "tls";
	case MT_LS_IN_CLEAR: return "clear";
	case MT_LS_IN_LOCAL: return "local";
	default: return "unknown";
	}
}

/* Does the word hold a byte below 0x20 or 0x7f? */
static inline bool ctl_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t lt = (w - ones * 0x20) & ~w & high;
	uint64_t x = w ^ (ones * 0x7f);
	uint64_t del = (x - ones) & ~x & high;
	return (lt | del) != 0;
}

static inline bool ctl8(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return ctl_word(w);
}

static inline uint64_t ld8(const char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline void st8(char *p, uint64_t w)
{
	memcpy(p, &w, 8);
}

#ifdef __SSE2__
/* Bit i set where byte i of x is below 0x20 or is 0x7f. */
static inline unsigned ctl16(__m128i x)
{
	const __m128i k1f = _mm_set1_epi8(0x1f), k7f = _mm_set1_epi8(0x7f);
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x), _mm_cmpeq_epi8(x, k7f)));
}
#endif

/* Any field (set_field's fast path takes the usual ones). */
static __attribute__((noinline)) void set_general(char *dst, size_t size, struct mt_ls_str s)
{
	size_t n = s.n < size - 1 ? s.n : size - 1;
	if (!s.p)
		n = 0;
	/* Fields are short: overlapping fixed-size moves instead of a memcpy call.  Control
	 * bytes from garbage input never reach a terminal or a report: the bytes just loaded
	 * from the line are checked (below 0x20, or 0x7f), not the copy, since reading back the
	 * overlapping stores stalled on store forwarding; only a hit is fixed byte by byte. */
	bool hit;
	if (n >= 16 && n <= 32) {
		uint64_t a0 = ld8(s.p), a1 = ld8(s.p + 8), b0 = ld8(s.p + n - 16), b1 = ld8(s.p + n - 8);
		st8(dst, a0);
		st8(dst + 8, a1);
		st8(dst + n - 16, b0);
		st8(dst + n - 8, b1);
		hit = ctl_word(a0) | ctl_word(a1) | ctl_word(b0) | ctl_word(b1);
	} else if (n >= 8 && n < 16) {
		uint64_t a = ld8(s.p), b = ld8(s.p + n - 8);
		st8(dst, a);
		st8(dst + n - 8, b);
		hit = ctl_word(a) | ctl_word(b);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;
		memcpy(&a, s.p, 4);
		memcpy(&b, s.p + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &b, 4);
		hit = ctl_word((uint64_t)a | (uint64_t)b << 32);
	} else if (n > 32) {
		memcpy(dst, s.p, n);
		const unsigned char *u = (const unsigned char *)s.p;
		hit = false;
		for (size_t i = 0; i + 8 <= n; i += 8)
			hit |= ctl8(u + i);
		hit |= ctl8(u + n - 8);
	} else if (n) {
		memcpy(dst, s.p, n);
		/* pad with a harmless byte so the padding is never a hit */
		const unsigned char *u = (const unsigned char *)s.p;
		uint64_t w = 0x4141414141414141ULL;
		for (size_t i = 0; i < n; i++)
			w = (w << 8) | u[i];
		hit = ctl_word(w);
	} else {
		hit = false;
	}
	if (hit)
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
				dst[i] = '?';
	dst[n] = '\0';
}

/* The usual field, 4 to 32 bytes with no control byte, without a call or saved registers;
 * everything else (and any hit) through set_general. */
static inline void set_field(char *dst, size_t size, struct mt_ls_str s)
{
	size_t n = s.n < size - 1 ? s.n : size - 1;
#ifdef __SSE2__
	if (s.p && n >= 16 && n <= 32) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)s.p);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s.p + n - 16));
		if (!(ctl16(a) | ctl16(b))) {
			_mm_storeu_si128((__m128i *)(void *)dst, a);
			_mm_storeu_si128((__m128i *)(void *)(dst + n - 16), b);
			dst[n] = '\0';
			return;
		}
	} else if (s.p && n >= 8 && n < 16) {
		__m128i a = _mm_loadl_epi64((const __m128i *)(const void *)s.p);
		__m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(s.p + n - 8));
		if (!ctl16(_mm_unpacklo_epi64(a, b))) {
			_mm_storel_epi64((__m128i *)(void *)dst, a);
			_mm_storel_epi64((__m128i *)(void *)(dst + n - 8), b);
			dst[n] = '\0';
			return;
		}
	} else if (s.p && n >= 4 && n < 8) {
		uint32_t a, b;
		memcpy(&a, s.p, 4);
		memcpy(&b, s.p + n - 4, 4);
		if (!ctl_word((uint64_t)a | (uint64_t)b << 32)) {
			memcpy(dst, &a, 4);
			memcpy(dst + n - 4, &b, 4);
			dst[n] = '\0';
			return;
		}
	}
#endif
	set_general(dst, size, s);
}

void mt_ls_set(char *dst, size_t size, struct mt_ls_str s)
{
	set_field(dst, size, s);
}

#define SET_FIELD(field, str) set_field((field), sizeof(field), (str))

static uint64_t ev_msg_key(const struct mt_ls_event *ev)
{
	return ev->msgkey ? ev->msgkey : mt_ls_msg_key(ev->fmt, ev->msgid);
}

bool mt_ls_loopback(const char *ip, size_t n)
{
	/* compared byte by byte: called for most finished messages, most of them not loopback */
	if (n >= 5 && (ip[0] | 0x20) == 'i' && (ip[1] | 0x20) == 'p' && (ip[2] | 0x20) == 'v' && ip[3] == '6' && ip[4] == ':')
		ip += 5, n -= 5; /* Sendmail's address literal */
	if (n >= 7 && ip[0] == ':' && ip[1] == ':' && (ip[2] | 0x20) == 'f' && (ip[3] | 0x20) == 'f' &&
	    (ip[4] | 0x20) == 'f' && (ip[5] | 0x20) == 'f' && ip[6] == ':')
		ip += 7, n -= 7;
	return (n >= 4 && ip[0] == '1' && ip[1] == '2' && ip[2] == '7' && ip[3] == '.') ||
	       (n == 3 && ip[0] == ':' && ip[1] == ':' && ip[2] == '1') || (n == 15 && !memcmp(ip, "0:0:0:0:0:0:0:1", 15));
}

static void emit_msg(struct mt_ls_corr *c, struct mt_ls_msg *m)
{
	if (c->loopback_local && m->in == MT_LS_IN_CLEAR && mt_ls_loopback(m->peer, strlen(m->peer)))
		m->in = MT_LS_IN_LOCAL;
	if (c->sink.msg)
		c->sink.msg(c->sink.ctx, m);
}

static inline bool may_continue(const struct mt_ls_msg *m);
static void link_wait_add(struct mt_ls_corr *c, struct mt_ls_msg *m, uint64_t k, time_t now);

/* The session ends: the messages it received before any TLS record learn its outcome (TLS
 * from its disconnect counters, or still none), and those already finished are emitted.
 * Nothing to look up when it ran no TLS and holds none (the usual clear session): their
 * records keep a serial no live session has. */
static __attribute__((noinline)) void settle_pend(struct mt_ls_corr *c, struct mt_ls_conn *cn)
{
	if (cn->tls == MT_LS_TLS_OK || cn->n_held)
		for (unsigned i = 0; i < cn->n_pend; i++) {
			struct mt_ls_msg *m = mt_ls_tab_peek(&c->msgs, cn->pend[i]);
			if (!m || m->conn_serial != cn->serial)
				continue; /* finished, or its id taken by another message since */
			m->conn_serial = 0;
			if (cn->tls == MT_LS_TLS_OK && m->in == MT_LS_IN_CLEAR)
				m->in = MT_LS_IN_TLS;
			if (m->done_wait) {
				m->done_wait = false;
				if (may_continue(m)) { /* its link may still come */
					link_wait_add(c, m, cn->pend[i], cn->t_last);
				} else {
					emit_msg(c, m);
					mt_ls_tab_del(&c->msgs, cn->pend[i]);
				}
			}
		}
	cn->n_pend = cn->n_held = 0;
}

static inline void emit_conn(struct mt_ls_corr *c, struct mt_ls_conn *cn)
{
	if (__builtin_expect(cn->n_pend != 0, 0))
		settle_pend(c, cn);
	if (c->sink.conn && !cn->cont)
		c->sink.conn(c->sink.ctx, cn);
	cn->serial = 0;
}

/* Formats whose logs close connections explicitly: only their evictions mean "never closed". */
static bool has_close(const struct mt_ls_conn *cn)
{
	return cn->fmt == MT_LS_FMT_ESA || (cn->fmt == MT_LS_FMT_POSTFIX && cn->dir == MT_LS_DIR_IN);
}

static void evict_conn(void *ctx, void *entry)
{
	struct mt_ls_corr *c = ctx;
	struct mt_ls_conn *cn = entry;
	if (has_close(cn)) {
		cn->evicted = true;
		c->evicted_conns++;
	}
	emit_conn(c, cn);
}

static void evict_msg(void *ctx, void *entry)
{
	struct mt_ls_corr *c = ctx;
	struct mt_ls_msg *m = entry;
	if (!m->done_wait && !m->link_wait) { /* a finished one only waited for its session or a link */
		m->evicted = true;
		c->evicted_msgs++;
	}
	emit_msg(c, m);
}

/* Held handshake failures (at most this many messages' at once; past that the oldest is
 * reported as it stands). */
enum { HELD_MAX = 1024, HELD_DOMAINS = 4 };
/* Finished messages held for a link: at most LINK_WAIT_MAX, for LINK_WAIT_SECS of log time. */
enum { LINK_WAIT_MAX = 4096, LINK_WAIT_SECS = 60 };

static void emit_reqfail(struct mt_ls_corr *c, const struct mt_ls_reqfail *r)
{
	if (c->sink.reqfail)
		c->sink.reqfail(c->sink.ctx, r);
}

/* A message's handshake-failure deferrals held, per destination (recipient) domain: the
 * first and the last (those between are reported as copies of the last). */
struct held {
	uint32_t nd;
	struct held_dom {
		uint64_t dh; /* the domain's hash */
		uint32_t n;
		struct mt_ls_reqfail first, last;
	} d[HELD_DOMAINS];
};

static void held_emit(struct mt_ls_corr *c, struct held_dom *d, bool withdrawn)
{
	d->first.withdrawn = d->last.withdrawn = withdrawn;
	emit_reqfail(c, &d->first);
	for (uint32_t i = 1; i < d->n; i++)
		emit_reqfail(c, &d->last);
}

static void held_emit_all(struct mt_ls_corr *c, struct held *h)
{
	for (uint32_t i = 0; i < h->nd; i++)
		held_emit(c, &h->d[i], false);
}

static void evict_held(void *ctx, void *entry)
{
	held_emit_all(ctx, entry);
}

static uint64_t domain_hash(struct mt_ls_str d)
{
	return mt_ls_hash(d.p ? d.p : "", d.n, 0x646f6d);
}

/* Hold the Postfix handshake-failure deferral r of message k to domain dh. */
static void held_add(struct mt_ls_corr *c, uint64_t k, uint64_t dh, const struct mt_ls_reqfail *r)
{
	struct held *h = mt_ls_tab_get(&c->held, k);
	if (!h) {
		h = mt_ls_tab_put(&c->held, k, evict_held, c);
		h->nd = 0;
	}
	uint32_t i = 0;
	while (i < h->nd && h->d[i].dh != dh)
		i++;
	if (i == h->nd) {
		if (h->nd == HELD_DOMAINS) { /* full: the oldest domain's are reported as they stand */
			held_emit(c, &h->d[0], false);
			memmove(&h->d[0], &h->d[1], (HELD_DOMAINS - 1) * sizeof h->d[0]);
			i = --h->nd;
		}
		h->nd++;
		h->d[i].dh = dh;
		h->d[i].n = 0;
		h->d[i].first = *r;
	}
	h->d[i].last = *r;
	h->d[i].n++;
}

/* Message k went on in clear to domain dh after a failed handshake (level may): its held
 * deferrals to that domain were not required-TLS failures. */
static __attribute__((noinline)) void held_withdraw(struct mt_ls_corr *c, uint64_t k, uint64_t dh)
{
	struct held *h = mt_ls_tab_peek(&c->held, k);
	if (!h)
		return;
	for (uint32_t i = 0; i < h->nd; i++)
		if (h->d[i].dh == dh) {
			held_emit(c, &h->d[i], true);
			memmove(&h->d[i], &h->d[i + 1], (h->nd - i - 1) * sizeof h->d[0]);
			h->nd--;
			break;
		}
	if (!h->nd)
		mt_ls_tab_del(&c->held, k);
}

/* Message k is over: its held deferrals are required-TLS failures. */
static __attribute__((noinline)) void held_release(struct mt_ls_corr *c, uint64_t k)
{
	struct held *h = mt_ls_tab_peek(&c->held, k);
	if (!h)
		return;
	held_emit_all(c, h);
	mt_ls_tab_del(&c->held, k);
}

int mt_ls_corr_init(struct mt_ls_corr *c, uint32_t max_conns, uint32_t max_msgs, const struct mt_ls_sink *sink)
{
	memset(c, 0, sizeof *c);
	c->sink = *sink;
	if (mt_ls_tab_init(&c->conns, max_conns, sizeof(struct mt_ls_conn)) != 0)
		return -1;
	c->lw = malloc(LINK_WAIT_MAX * sizeof *c->lw);
	if (!c->lw || mt_ls_tab_init(&c->msgs, max_msgs, sizeof(struct mt_ls_msg)) != 0 ||
	    mt_ls_tab_init(&c->held, HELD_MAX, sizeof(struct held)) != 0) {
		mt_ls_tab_free(&c->conns);
		mt_ls_tab_free(&c->msgs);
		free(c->lw);
		c->lw = NULL;
		return -1;
	}
	/* a new record's text fields are only terminated (conn_new, msg_get), not cleared:
	 * zeroing ~750 bytes per connection was a good part of opening one */
	c->conns.zero_n = offsetof(struct mt_ls_conn, id);
	c->msgs.zero_n = offsetof(struct mt_ls_msg, id);
	return 0;
}

void mt_ls_corr_free(struct mt_ls_corr *c)
{
	mt_ls_tab_free(&c->conns);
	mt_ls_tab_free(&c->msgs);
	mt_ls_tab_free(&c->held);
	free(c->lw);
	c->lw = NULL;
	free(c->inline_seen);
	c->inline_seen = NULL;
}

static void conn_fill(struct mt_ls_conn *cn, const struct mt_ls_event *ev)
{
	if (!cn->ip[0] && ev->ip.n)
		SET_FIELD(cn->ip, ev->ip);
	if (!cn->host[0] && ev->host.n)
		SET_FIELD(cn->host, ev->host);
	if (!cn->id[0] && ev->connid.n)
		SET_FIELD(cn->id, ev->connid);
	if (!cn->domain[0] && ev->domain.n)
		SET_FIELD(cn->domain, ev->domain);
	if (!cn->port)
		cn->port = ev->port;
	if (ev->ts)
		cn->t_last = ev->ts;
}

/* Does the event name the connection's peer address (or none), and its port when both
 * logged one? */
static inline bool same_ip(const struct mt_ls_conn *cn, const struct mt_ls_event *ev)
{
	if (ev->port && cn->port && ev->port != cn->port)
		return false;
	return !ev->ip.n || !cn->ip[0] || (strlen(cn->ip) == ev->ip.n && memcmp(cn->ip, ev->ip.p, ev->ip.n) == 0);
}

/* Postfix's smtp client uses a connection for one message (the lines of its recipients),
 * then closes it or leaves it in the connection cache, from which any smtp process may take
 * it again: such a delivery says conn_use=N (N >= 2), and a TLS connection taken again is
 * announced first by "TLS connection reused to".  Is the delivery on cn, the connection the
 * process used last, to the same peer? */
static bool postfix_same_use(const struct mt_ls_conn *cn, const struct mt_ls_event *ev)
{
	/* last_msg: the message key of its last delivery or deferral (keys are never 0); the
	 * recipients of one transaction share its conn_use (a retry of the message comes after
	 * minimal_backoff_time, 300 s, by when an smtp process idle since has exited: max_idle
	 * 100 s; so no time limit, which would split a transaction whose refused recipient is
	 * logged at RCPT and the rest after a long DATA) */
	if (cn->last_msg == ev_msg_key(ev) && cn->last_use == ev->conn_use)
		return true; /* another recipient of the same message */
	if (ev->conn_use >= 2) /* from the cache: the TLS one announced, or a clear one again */
		return cn->reuse_pending || (cn->tls != MT_LS_TLS_OK && cn->last_msg);
	return !cn->last_msg && !cn->reuse_pending; /* a new connection's first message */
}

/* A new record's text fields, empty: terminated, not cleared (clearing all ~900 bytes was a
 * good part of opening a connection); the fields before them are zeroed by the caller. */
static inline void conn_text_empty(struct mt_ls_conn *cn)
{
	cn->id[0] = cn->ip[0] = cn->host[0] = cn->domain[0] = cn->proto[0] = cn->cipher[0] = cn->verify[0] = cn->cert[0] =
	    cn->reason[0] = cn->level[0] = '\0';
}

static struct mt_ls_conn *conn_new(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	struct mt_ls_conn *cn = mt_ls_tab_put(&c->conns, ev->conn, evict_conn, c);
	conn_text_empty(cn);
	cn->fmt = (uint8_t)ev->fmt;
	cn->dir = (uint8_t)ev->dir;
	cn->key = ev->conn;
	cn->serial = ++c->next_serial;
	cn->t_open = cn->t_last = ev->ts;
	conn_fill(cn, ev);
	return cn;
}

static void conn_close(struct mt_ls_corr *c, uint64_t key, struct mt_ls_conn *cn)
{
	emit_conn(c, cn);
	mt_ls_tab_del(&c->conns, key);
}

static void conn_tls(struct mt_ls_conn *cn, const struct mt_ls_event *ev)
{
	cn->cert_first = false;
	/* a later failure line never undoes a logged success (Postfix logs "lost connection
	 * after STARTTLS" only when the handshake failed, but be safe) */
	if (cn->tls == MT_LS_TLS_OK && ev->tls == MT_LS_TLS_FAILED)
		return;
	cn->tls = (uint8_t)ev->tls;
	if (ev->proto.n)
		SET_FIELD(cn->proto, ev->proto);
	if (ev->cipher.n)
		SET_FIELD(cn->cipher, ev->cipher);
	if (ev->verify.n)
		SET_FIELD(cn->verify, ev->verify);
	if (ev->cert.n)
		SET_FIELD(cn->cert, ev->cert);
	if (ev->reason.n) {
		/* keep detail logged earlier (ESA "Connection Error ... details: 454-...") after the verdict */
		char old[sizeof cn->reason];
		memcpy(old, cn->reason, sizeof old);
		SET_FIELD(cn->reason, ev->reason);
		size_t have = strlen(cn->reason);
		if (old[0] && have + 3 < sizeof cn->reason) {
			cn->reason[have] = ';';
			cn->reason[have + 1] = ' ';
			set_field(cn->reason + have + 2, sizeof cn->reason - have - 2, (struct mt_ls_str){old, strlen(old)});
		}
	}
	if (ev->bits)
		cn->bits = ev->bits;
}

/* cn (or NULL): the record of the process a line that starts a client session (Postfix,
 * Sendmail: its TLS line; Postfix: also the certificate check logged just before it) names.
 * That line ends what the process did before: a session with a TLS outcome, a message, or
 * another peer.  Returns the session's record. */
static struct mt_ls_conn *client_session(struct mt_ls_corr *c, const struct mt_ls_event *ev, struct mt_ls_conn *cn)
{
	if (cn && (!ev->new_conn || ((cn->tls == MT_LS_TLS_UNSTATED || cn->cert_first) && !cn->n_deliv && !cn->n_msgs &&
				     !cn->reqfail && !cn->last_msg && same_ip(cn, ev)))) {
		conn_fill(cn, ev);
		return cn;
	}
	if (cn)
		conn_close(c, ev->conn, cn);
	return conn_new(c, ev);
}

/* The record a client's delivery or deferral goes on: the process's record cn when that is
 * the connection (the same peer; for Postfix, see postfix_same_use), else a new one (which
 * continues a connection counted when it was opened, when the line says conn_use >= 2). */
static struct mt_ls_conn *client_use(struct mt_ls_corr *c, const struct mt_ls_event *ev, struct mt_ls_conn *cn, bool postfix)
{
	if (cn && __builtin_expect(cn->fallback_msg != 0, 0)) {
		/* after "Cannot start TLS: handshake failure" the failed connection carries nothing;
		 * the message's deferrals to this domain were at level may */
		if (!cn->domain[0] && ev->rcpt_domain.n)
			SET_FIELD(cn->domain, ev->rcpt_domain);
		if (cn->fallback_msg == ev_msg_key(ev) && c->held.count)
			held_withdraw(c, cn->fallback_msg, domain_hash(ev->rcpt_domain));
		conn_close(c, ev->conn, cn);
		cn = NULL;
	}
	if (cn && (!same_ip(cn, ev) || (postfix && !postfix_same_use(cn, ev)))) {
		conn_close(c, ev->conn, cn);
		cn = NULL;
	}
	if (!cn) {
		cn = conn_new(c, ev);
		cn->cont = ev->conn_use >= 2;
	} else {
		conn_fill(cn, ev);
	}
	cn->reuse_pending = false;
	cn->last_msg = ev_msg_key(ev);
	cn->last_use = ev->conn_use;
	return cn;
}

/* "TLS connection reused to" (Postfix client): the process took a TLS connection from the
 * cache for its next delivery.  The connection it used last when that is the one (same peer,
 * TLS), else a record continuing a connection counted when it was opened. */
static void postfix_reused(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	struct mt_ls_conn *cn = mt_ls_tab_get(&c->conns, ev->conn);
	if (cn && cn->tls == MT_LS_TLS_OK && cn->ip[0] && same_ip(cn, ev)) {
		conn_fill(cn, ev);
		cn->reuse_pending = true;
		return;
	}
	if (cn)
		conn_close(c, ev->conn, cn);
	cn = conn_new(c, ev);
	cn->cont = true;
	conn_tls(cn, ev);
	cn->reuse_pending = true;
}

/* A Postfix session that logged no TLS line: its disconnect line's counters (the slice
 * after "disconnect from ") may still say it ran TLS, or tried and failed. */
static __attribute__((noinline)) void postfix_counted_tls(struct mt_ls_conn *cn, struct mt_ls_str counters)
{
	struct mt_ls_event e;
	mt_ls_zero(&e, sizeof e);
	e.tls = mt_ls_postfix_starttls(counters, &e.reason);
	if (e.tls)
		conn_tls(cn, &e);
}

enum { INLINE_SEEN = 4096 };

/* An AsyncOS consolidated event's session (ICID in, DCID out) already counted for an
 * earlier message?  Remembered among the last sessions (4,096 slots): a repeat further
 * back is counted again. */
static bool inline_seen(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	if (!c->inline_seen && !(c->inline_seen = calloc(INLINE_SEEN, sizeof *c->inline_seen)))
		return false;
	uint64_t k = mt_ls_hash(ev->connid.p, ev->connid.n, mt_ls_hash(ev->ip.p, ev->ip.n, 0x3c3c0000u + (uint64_t)ev->dir)) | 1;
	uint64_t *s = &c->inline_seen[k & (INLINE_SEEN - 1)];
	if (*s == k)
		return true;
	*s = k;
	return false;
}

/* An inline connection (Exim; an AsyncOS consolidated event): the line is the whole session. */
static void inline_conn(struct mt_ls_corr *c, const struct mt_ls_event *ev, struct mt_ls_str domain)
{
	if (ev->fmt == MT_LS_FMT_ESA && ev->connid.n && (ev->kind == MT_LS_EV_MSG_RECV || ev->kind == MT_LS_EV_DELIVERY) &&
	    inline_seen(c, ev))
		return;
	struct mt_ls_conn cn;
	memset(&cn, 0, offsetof(struct mt_ls_conn, id)); /* as conn_new */
	conn_text_empty(&cn);
	cn.key = cn.serial = 0;
	cn.fmt = (uint8_t)ev->fmt;
	cn.dir = (uint8_t)ev->dir;
	cn.t_open = cn.t_last = ev->ts;
	conn_fill(&cn, ev);
	if (!cn.domain[0] && domain.n)
		SET_FIELD(cn.domain, domain);
	conn_tls(&cn, ev);
	if (cn.tls == MT_LS_TLS_UNSTATED)
		cn.tls = MT_LS_TLS_NONE;
	if (ev->kind == MT_LS_EV_MSG_RECV)
		cn.n_msgs = 1;
	if (ev->kind == MT_LS_EV_DELIVERY)
		cn.n_deliv = 1;
	if (ev->kind == MT_LS_EV_REQFAIL) {
		cn.reqfail = true;
		cn.cause = (uint8_t)ev->cause;
	}
	emit_conn(c, &cn);
}

static struct mt_ls_msg *msg_get(struct mt_ls_corr *c, const struct mt_ls_event *ev, bool create)
{
	uint64_t k = ev_msg_key(ev);
	struct mt_ls_msg *m = mt_ls_tab_get(&c->msgs, k);
	if (m || !create)
		return m;
	m = mt_ls_tab_put(&c->msgs, k, evict_msg, c);
	m->peer[0] = m->rcpt_domain[0] = m->orig_id[0] = '\0';
	m->fmt = (uint8_t)ev->fmt;
	m->t = ev->ts;
	SET_FIELD(m->id, ev->msgid);
	return m;
}

static bool delivered(const struct mt_ls_event *ev)
{
	/* ESA "Delivery start" has no status; otherwise count only accepted deliveries (an
	 * AsyncOS consolidated event's act: DELIVERED) */
	if (!ev->status.n)
		return true;
	if (ev->status.n == 9 && memcmp(ev->status.p, "DELIVERED", 9) == 0)
		return true;
	return (ev->status.n >= 4 && (memcmp(ev->status.p, "sent", 4) == 0 || memcmp(ev->status.p, "Sent", 4) == 0));
}

/* The first id of the message m continues (its own when none). */
static const char *first_id(const struct mt_ls_msg *m)
{
	return m->orig_id[0] ? m->orig_id : m->id;
}

/* The message m goes on as ch (key ck), or ch is a copy of it: ch takes m's first id and how
 * m was received (its own recipients stay its own); a continuation also takes the hops m had
 * (m, merged, is then no message of its own).  A session m waits on (see on_recv) decides
 * for ch too. */
static void msg_link(struct mt_ls_corr *c, struct mt_ls_msg *m, struct mt_ls_msg *ch, uint64_t ck, bool copy)
{
	const char *o = first_id(m);
	set_field(ch->orig_id, sizeof ch->orig_id, (struct mt_ls_str){o, strlen(o)});
	ch->inherited = true;
	ch->in = m->received ? m->in : (uint8_t)MT_LS_IN_UNKNOWN;
	memcpy(ch->peer, m->peer, sizeof ch->peer);
	ch->conn_serial = 0; /* its own receiving session no longer decides */
	if (m->conn_serial) {
		struct mt_ls_conn *s = mt_ls_tab_at(&c->conns, m->conn_idx);
		if (s->serial == m->conn_serial && s->n_pend < MT_LS_CONN_PEND) {
			s->pend[s->n_pend++] = ck;
			ch->conn_serial = s->serial;
			ch->conn_idx = m->conn_idx;
		}
	}
	if (copy)
		return;
	ch->t = m->t;
	ch->n_deliv += m->n_deliv;
	ch->n_tls += m->n_tls;
	ch->n_clear += m->n_clear;
	m->n_deliv = m->n_tls = m->n_clear = 0;
	m->merged = true;
}

/* A linked message ch (key ck) that had finished (held for a link, or for its own session):
 * reported now, or when the session of the message it continues ends. */
static void linked_done(struct mt_ls_corr *c, struct mt_ls_msg *ch, uint64_t ck)
{
	if (!ch->link_wait && !ch->done_wait)
		return;
	ch->link_wait = false;
	if (ch->conn_serial) {
		struct mt_ls_conn *s = mt_ls_tab_at(&c->conns, ch->conn_idx);
		if (!ch->done_wait)
			s->n_held++;
		ch->done_wait = true;
		return;
	}
	ch->done_wait = false;
	emit_msg(c, ch);
	mt_ls_tab_del(&c->msgs, ck);
}

/* Postfix: a delivery that says "queued as Y" handed message m to a content filter (or
 * another MTA) which queued it again as Y; when Y is a message this log shows received, from
 * the address the delivery went to (or both over loopback: a filter on 127.0.0.1:10024
 * re-injecting on 127.0.0.1:10025), m goes on as Y.  Returns Y's record (key in *ck), or
 * NULL. */
static struct mt_ls_msg *filter_next(struct mt_ls_corr *c, const struct mt_ls_event *ev, struct mt_ls_msg *m,
				     const struct mt_ls_conn *cn, uint64_t *ck)
{
	*ck = mt_ls_msg_key(ev->fmt, ev->link);
	struct mt_ls_msg *ch = mt_ls_tab_peek(&c->msgs, *ck);
	if (!ch || ch == m || !ch->received)
		return NULL;
	if (ch->orig_id[0]) /* linked already: from m (another recipient, transaction), or not */
		return strcmp(ch->orig_id, first_id(m)) == 0 ? ch : NULL;
	const char *ip = cn ? cn->ip : "";
	size_t ipn = strlen(ip), pn = strlen(ch->peer);
	if (!ipn || !((ipn == pn && memcmp(ip, ch->peer, pn) == 0) || (mt_ls_loopback(ip, ipn) && mt_ls_loopback(ch->peer, pn))))
		return NULL;
	msg_link(c, m, ch, *ck, false);
	return ch;
}

static void on_delivery(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	int tls;
	struct mt_ls_conn *cn = NULL;
	if (!ev->conn) {
		if (ev->new_conn)
			inline_conn(c, ev, ev->rcpt_domain);
		tls = ev->tls;
	} else {
		cn = client_use(c, ev, mt_ls_tab_get(&c->conns, ev->conn), ev->fmt == MT_LS_FMT_POSTFIX);
		cn->n_deliv++;
		tls = cn->tls;
		if (__builtin_expect(ev->level.n != 0, 0) && !cn->level[0])
			SET_FIELD(cn->level, ev->level);
	}
	/* the message after the connection: a session closed or evicted above may have emitted
	 * (and freed) a finished message that waited for it */
	struct mt_ls_msg *m = msg_get(c, ev, true);
	if (ev->rcpt_domain.n && !m->rcpt_domain[0])
		SET_FIELD(m->rcpt_domain, ev->rcpt_domain);
	if (cn && !cn->domain[0] && m->rcpt_domain[0])
		set_field(cn->domain, sizeof cn->domain, (struct mt_ls_str){m->rcpt_domain, strlen(m->rcpt_domain)});
	/* with --loopback-local, a delivery in clear over loopback is local: not a hop (the peer
	 * from the connection, or from the line for an inline one) */
	bool local = tls != MT_LS_TLS_OK && c->loopback_local &&
		     (cn ? mt_ls_loopback(cn->ip, strlen(cn->ip)) : mt_ls_loopback(ev->ip.p ? ev->ip.p : "", ev->ip.n));
	uint64_t ck = 0;
	bool sent = delivered(ev);
	if (__builtin_expect(ev->link.n != 0, 0) && sent) {
		struct mt_ls_msg *next = filter_next(c, ev, m, cn, &ck);
		if (next)
			m = next; /* the hop is the message's, which goes on under the new id */
		else
			ck = 0;
	}
	if (sent && !local) {
		m->n_deliv++;
		if (tls == MT_LS_TLS_OK)
			m->n_tls++;
		else
			m->n_clear++;
	}
	if (ck)
		linked_done(c, m, ck);
}

/* A message received (its record m, key k): how, from whom, on which session. */
static inline __attribute__((always_inline)) void recv_on(struct mt_ls_corr *c, const struct mt_ls_event *ev,
							 struct mt_ls_msg *m, uint64_t k)
{
	m->received = true;
	m->t = ev->ts;
	if (ev->ip.n)
		SET_FIELD(m->peer, ev->ip);
	if (ev->local) {
		m->in = MT_LS_IN_LOCAL;
		return;
	}
	if (!ev->conn) {
		inline_conn(c, ev, (struct mt_ls_str){NULL, 0});
		m->in = ev->tls == MT_LS_TLS_OK ? MT_LS_IN_TLS : MT_LS_IN_CLEAR;
		return;
	}
	struct mt_ls_conn *cn = mt_ls_tab_get(&c->conns, ev->conn);
	if (!cn && ev->fmt == MT_LS_FMT_SENDMAIL)
		cn = conn_new(c, ev); /* sendmail logs no connect: no STARTTLS line means clear */
	if (!cn) {
		m->in = ev->tls == MT_LS_TLS_OK ? MT_LS_IN_TLS : MT_LS_IN_UNKNOWN;
		return;
	}
	conn_fill(cn, ev);
	cn->n_msgs++;
	if (!m->peer[0] && cn->ip[0])
		set_field(m->peer, sizeof m->peer, (struct mt_ls_str){cn->ip, strlen(cn->ip)});
	m->in = (cn->tls == MT_LS_TLS_OK || ev->tls == MT_LS_TLS_OK) ? MT_LS_IN_TLS : MT_LS_IN_CLEAR;
	/* a Postfix session with no TLS line yet may still show TLS when it ends */
	if (m->in == MT_LS_IN_CLEAR && cn->tls == MT_LS_TLS_UNSTATED && cn->fmt == MT_LS_FMT_POSTFIX &&
	    cn->n_pend < MT_LS_CONN_PEND && cn->serial) {
		cn->pend[cn->n_pend++] = k;
		m->conn_serial = cn->serial;
		m->conn_idx = mt_ls_tab_index(&c->conns, cn);
	}
}

static void on_recv(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	uint64_t k = ev_msg_key(ev);
	struct mt_ls_msg *m = mt_ls_tab_get(&c->msgs, k);
	if (m && m->received) { /* id reused (restart): the old message is over */
		c->reused_ids++;
		emit_msg(c, m);
		mt_ls_tab_del(&c->msgs, k);
		m = NULL;
	}
	if (!m)
		m = msg_get(c, ev, true);
	if (__builtin_expect(m->inherited, 0)) {
		/* made from another message before its own start was logged (ESA): it was
		 * received as that one was; its own session is still counted */
		struct mt_ls_msg keep = *m;
		recv_on(c, ev, m, k);
		m->in = keep.in;
		m->t = keep.t;
		m->conn_serial = keep.conn_serial;
		m->conn_idx = keep.conn_idx;
		memcpy(m->peer, keep.peer, sizeof m->peer);
		return;
	}
	recv_on(c, ev, m, k);
}

static void on_reqfail(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	struct mt_ls_reqfail r;
	memset(&r, 0, sizeof r);
	r.fmt = (uint8_t)ev->fmt;
	r.dir = (uint8_t)ev->dir;
	r.cause = (uint8_t)ev->cause;
	r.t = ev->ts;
	SET_FIELD(r.connid, ev->connid);
	SET_FIELD(r.msgid, ev->msgid);
	SET_FIELD(r.ip, ev->ip);
	SET_FIELD(r.host, ev->host);
	SET_FIELD(r.domain, ev->domain.n ? ev->domain : ev->rcpt_domain);
	SET_FIELD(r.reason, ev->reason);
	SET_FIELD(r.level, ev->level);
	if (ev->fmt == MT_LS_FMT_EXIM && ev->msgid.n) {
		const struct mt_ls_msg *m = msg_get(c, ev, false);
		r.dane = m && m->dane_failed;
	}
	struct mt_ls_conn *cn = ev->conn ? mt_ls_tab_get(&c->conns, ev->conn) : NULL;
	/* Postfix logs a "not offered" deferral with no TLS line: the attempt was a connection
	 * (a "not verified" one follows the connection's TLS line) */
	if (ev->conn && ev->ip.n && ev->fmt == MT_LS_FMT_POSTFIX) {
		cn = client_use(c, ev, cn, true);
		if (!cn->domain[0] && ev->rcpt_domain.n)
			SET_FIELD(cn->domain, ev->rcpt_domain);
		if (ev->level.n && !cn->level[0])
			SET_FIELD(cn->level, ev->level);
		/* "Cannot start TLS: handshake failure": STARTTLS was tried and failed */
		if (ev->cause == MT_LS_CAUSE_HANDSHAKE && cn->tls == MT_LS_TLS_UNSTATED) {
			cn->tls = MT_LS_TLS_FAILED;
			if (!cn->reason[0])
				SET_FIELD(cn->reason, ev->reason);
		}
	}
	if (!ev->conn && ev->tls && ev->ip.n)
		inline_conn(c, ev, r.domain[0] ? (struct mt_ls_str){r.domain, strlen(r.domain)} : ev->domain);
	if (cn) {
		cn->reqfail = true;
		cn->cause = r.cause;
		if (!r.ip[0])
			memcpy(r.ip, cn->ip, sizeof r.ip);
		if (!r.host[0])
			memcpy(r.host, cn->host, sizeof r.host);
		if (!r.domain[0])
			memcpy(r.domain, cn->domain, sizeof r.domain);
		if (!r.connid[0])
			memcpy(r.connid, cn->id, sizeof r.connid);
		/* the connection's own failure text says which of the guide's causes it was */
		if (r.cause == MT_LS_CAUSE_OTHER || r.cause == MT_LS_CAUSE_HANDSHAKE) {
			int k = mt_ls_cause_from_text((struct mt_ls_str){cn->reason, strlen(cn->reason)});
			if (k != MT_LS_CAUSE_OTHER)
				r.cause = cn->cause = (uint8_t)k;
		}
		/* and, for a certificate not verified (Postfix), what its check found: "untrusted
		 * issuer", "hostname mismatch", "certificate has expired" */
		size_t have = strlen(r.reason);
		if (r.cause == MT_LS_CAUSE_VERIFY && cn->reason[0] && !strstr(r.reason, cn->reason) && have + 3 < sizeof r.reason) {
			memcpy(r.reason + have, "; ", 2);
			set_field(r.reason + have + 2, sizeof r.reason - have - 2, (struct mt_ls_str){cn->reason, strlen(cn->reason)});
		}
	}
	/* Postfix defers "Cannot start TLS: handshake failure" at smtp_tls_security_level may
	 * too, the first time: a later attempt, once the message has waited
	 * minimal_backoff_time, logs "QID: Cannot start TLS: handshake failure" and goes on in
	 * clear (an attempt before that defers again).  So such failures are held, per message
	 * and destination domain, until the message's fate says which it was: that line and
	 * the delivery after it withdraw the domain's; the message's end, eviction from the
	 * table (1024 messages), or the input's end reports them */
	if (ev->fmt == MT_LS_FMT_POSTFIX && ev->cause == MT_LS_CAUSE_HANDSHAKE && ev->msgid.n) {
		held_add(c, ev_msg_key(ev), domain_hash(ev->rcpt_domain), &r);
		return;
	}
	emit_reqfail(c, &r);
}

/* ESA: message msgid made from message link (a copy, or its continuation under a new id). */
static void on_link(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	uint64_t ck = ev_msg_key(ev), mk = mt_ls_msg_key(ev->fmt, ev->link);
	if (ck == mk)
		return;
	struct mt_ls_msg *ch = mt_ls_tab_get(&c->msgs, ck);
	if (ch && ch->orig_id[0])
		return; /* linked already (the line repeated) */
	if (!ch) /* its lines are still to come */
		ch = msg_get(c, ev, true);
	struct mt_ls_msg *m = mt_ls_tab_get(&c->msgs, mk);
	if (!m) { /* not seen (before the log starts, or evicted): how it came in is unknown */
		SET_FIELD(ch->orig_id, ev->link);
		ch->inherited = true;
		ch->in = MT_LS_IN_UNKNOWN;
		ch->conn_serial = 0;
	} else {
		msg_link(c, m, ch, ck, ev->copy);
	}
	linked_done(c, ch, ck);
}

/* Could the finished message m be another's continuation whose link is still to come (a
 * content filter's re-injection: Postfix, received in clear over loopback; ESA, made on the
 * appliance)?  Then it is held a while (link_wait). */
static inline bool may_continue(const struct mt_ls_msg *m)
{
	if (m->orig_id[0] || !m->received)
		return false;
	if (m->fmt == MT_LS_FMT_POSTFIX)
		return m->in != MT_LS_IN_TLS && mt_ls_loopback(m->peer, strlen(m->peer));
	return m->fmt == MT_LS_FMT_ESA && m->in == MT_LS_IN_LOCAL;
}

static void link_wait_pop(struct mt_ls_corr *c)
{
	struct mt_ls_linkwait w = c->lw[c->lw_head];
	c->lw_head = (c->lw_head + 1) % LINK_WAIT_MAX;
	c->lw_n--;
	struct mt_ls_msg *m = mt_ls_tab_peek(&c->msgs, w.key);
	if (m && m->link_wait) { /* not linked, not evicted: reported as it is */
		m->link_wait = false;
		emit_msg(c, m);
		mt_ls_tab_del(&c->msgs, w.key);
	}
}

/* Report the held messages finished more than LINK_WAIT_SECS of log time before now (or
 * after: a step back in time). */
static __attribute__((noinline)) void link_wait_expire(struct mt_ls_corr *c, time_t now)
{
	while (c->lw_n) {
		time_t t = c->lw[c->lw_head].t;
		if (now - t <= LINK_WAIT_SECS && t - now <= LINK_WAIT_SECS)
			break;
		link_wait_pop(c);
	}
}

static void link_wait_add(struct mt_ls_corr *c, struct mt_ls_msg *m, uint64_t k, time_t now)
{
	if (c->lw_n == LINK_WAIT_MAX)
		link_wait_pop(c); /* may free m's place in the table, never m: it is not listed yet */
	m->link_wait = true;
	c->lw[(c->lw_head + c->lw_n) % LINK_WAIT_MAX] = (struct mt_ls_linkwait){k, now};
	c->lw_n++;
}

void mt_ls_corr_event(struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	struct mt_ls_conn *cn;
	switch (ev->kind) {
	case MT_LS_EV_CONN_OPEN:
		cn = mt_ls_tab_get(&c->conns, ev->conn);
		if (cn) { /* id or pid reused: the old session is over */
			c->reused_ids++;
			conn_close(c, ev->conn, cn);
		}
		conn_new(c, ev);
		break;
	case MT_LS_EV_CONN_TLS:
		if (!ev->conn) {
			inline_conn(c, ev, (struct mt_ls_str){NULL, 0});
			if (ev->fmt == MT_LS_FMT_EXIM && ev->msgid.n && ev->verify.n == 11 && !memcmp(ev->verify.p, "dane-failed", 11)) {
				struct mt_ls_msg *m = msg_get(c, ev, false);
				if (m)
					m->dane_failed = true;
			}
			break;
		}
		if (__builtin_expect(ev->reused, 0)) {
			postfix_reused(c, ev);
			break;
		}
		cn = mt_ls_tab_get(&c->conns, ev->conn);
		if (cn && !ev->new_conn)
			conn_fill(cn, ev);
		else
			cn = client_session(c, ev, cn);
		conn_tls(cn, ev);
		break;
	case MT_LS_EV_CONN_INFO:
		cn = ev->conn ? mt_ls_tab_get(&c->conns, ev->conn) : NULL;
		if (ev->new_conn && ev->conn) { /* Postfix's certificate check */
			cn = client_session(c, ev, cn);
			if (ev->tls && cn->tls == MT_LS_TLS_UNSTATED) {
				cn->tls = (uint8_t)ev->tls;
				cn->cert_first = true;
			}
		}
		if (!cn)
			break;
		conn_fill(cn, ev);
		if (ev->domain.n && !cn->domain[0])
			SET_FIELD(cn->domain, ev->domain);
		if (ev->verify.n)
			SET_FIELD(cn->verify, ev->verify);
		if (ev->cert.n && !cn->cert[0])
			SET_FIELD(cn->cert, ev->cert);
		if (ev->reason.n && !cn->detail_added) {
			cn->detail_added = true;
			size_t have = strlen(cn->reason);
			if (!have) {
				SET_FIELD(cn->reason, ev->reason);
			} else if (have + 4 < sizeof cn->reason) {
				char *d = cn->reason + have;
				*d++ = ';';
				*d++ = ' ';
				set_field(d, sizeof cn->reason - have - 2, ev->reason);
			}
		}
		break;
	case MT_LS_EV_CONN_CLOSE:
		cn = mt_ls_tab_get(&c->conns, ev->conn);
		if (__builtin_expect(ev->msgid.n != 0, 0)) {
			/* Postfix client "QID: Cannot start TLS: handshake failure" (level may): the
			 * message goes on in clear on a new connection (see client_use) */
			if (cn)
				cn->fallback_msg = ev_msg_key(ev);
			break;
		}
		if (cn) {
			if (ev->ts)
				cn->t_last = ev->ts;
			/* Postfix's disconnect counters, read when no TLS line said more */
			if (cn->tls == MT_LS_TLS_UNSTATED && ev->fmt == MT_LS_FMT_POSTFIX && ev->status.n)
				postfix_counted_tls(cn, ev->status);
			conn_close(c, ev->conn, cn);
		}
		break;
	case MT_LS_EV_MSG_RECV:
		on_recv(c, ev);
		break;
	case MT_LS_EV_MSG_RCPT: {
		struct mt_ls_msg *m = msg_get(c, ev, true);
		if (ev->rcpt_domain.n && !m->rcpt_domain[0])
			SET_FIELD(m->rcpt_domain, ev->rcpt_domain);
		break;
	}
	case MT_LS_EV_DELIVERY:
		on_delivery(c, ev);
		break;
	case MT_LS_EV_MSG_LINK:
		on_link(c, ev);
		break;
	case MT_LS_EV_REQFAIL:
		on_reqfail(c, ev);
		break;
	case MT_LS_EV_SUMMARY: {
		struct mt_ls_event e[3];
		unsigned n = mt_ls_esa_summary_events(ev, e);
		for (unsigned i = 0; i < n; i++)
			mt_ls_corr_event(c, &e[i]);
		break;
	}
	case MT_LS_EV_MSG_DONE: {
		uint64_t k = ev_msg_key(ev);
		struct mt_ls_msg *m = mt_ls_tab_get(&c->msgs, k);
		if (m && m->conn_serial && !m->done_wait) {
			struct mt_ls_conn *s = mt_ls_tab_at(&c->conns, m->conn_idx);
			if (s->serial == m->conn_serial) { /* its session is still open */
				m->done_wait = true;	   /* emitted when it ends */
				s->n_held++;
				break;
			}
		}
		if (__builtin_expect(c->lw_n != 0, 0))
			link_wait_expire(c, ev->ts);
		if (m && !m->done_wait && !m->link_wait) {
			if (may_continue(m))
				link_wait_add(c, m, k, ev->ts);
			else {
				emit_msg(c, m);
				mt_ls_tab_del(&c->msgs, k);
			}
		}
		if (__builtin_expect(c->held.count != 0, 0))
			held_release(c, k);
		break;
	}
	default:
		break;
	}
}

void mt_ls_corr_flush(struct mt_ls_corr *c)
{
	uint64_t k;
	void *e;
	while ((e = mt_ls_tab_oldest(&c->conns, &k)) != NULL) {
		emit_conn(c, e);
		mt_ls_tab_del(&c->conns, k);
	}
	while ((e = mt_ls_tab_oldest(&c->msgs, &k)) != NULL) {
		emit_msg(c, e);
		mt_ls_tab_del(&c->msgs, k);
	}
	c->lw_n = 0; /* the messages held for a link were among them */
	while ((e = mt_ls_tab_oldest(&c->held, &k)) != NULL) {
		held_emit_all(c, e);
		mt_ls_tab_del(&c->held, k);
	}
}

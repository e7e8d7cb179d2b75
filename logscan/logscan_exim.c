/* logscan_exim.c — Exim mainlog lines.
 *
 * Exim writes the TLS facts on the line that matters: "<=" (received) carries the inbound
 * session's X=proto:cipher:bits, CV= and DN=; "=>"/"->" (delivered) the outbound session's.
 * So most events here are inline (conn key 0): the line is the whole connection.  Failures
 * come as "TLS error on connection from|to ..." and as deferrals whose text names TLS.
 */
#include "logscan_parse.h"

#include <string.h>

static void ev_init(struct mt_ls_event *ev, const struct mt_ls_hdr *h, int kind, int dir)
{
	mt_ls_zero(ev, sizeof *ev);
	ev->kind = kind;
	ev->fmt = MT_LS_FMT_EXIM;
	ev->ts = h->ts;
	ev->dir = dir;
}

/* Exim message ids: 6-6-2 (before 4.97) or 6-11-4, base62 groups joined by '-'. */
static size_t msg_id(struct mt_ls_str s)
{
	size_t i = 0, groups = 0;
#ifdef __SSE2__
	/* the usual id ends inside the first 32 bytes: its groups from byte masks */
	if (s.n >= 32) {
		const __m128i k9 = _mm_set1_epi8(9), k25 = _mm_set1_epi8(25), dash = _mm_set1_epi8('-');
		uint32_t an = 0, da = 0;
		for (int h = 0; h < 2; h++) {
			const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s.p + 16 * h));
			const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0')), u = _mm_sub_epi8(v, _mm_set1_epi8('A')),
				      l = _mm_sub_epi8(v, _mm_set1_epi8('a'));
			const __m128i a = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(d, k9), k9),
						       _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(u, k25), k25),
								    _mm_cmpeq_epi8(_mm_max_epu8(l, k25), k25)));
			an |= (uint32_t)_mm_movemask_epi8(a) << (16 * h);
			da |= (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, dash)) << (16 * h);
		}
		/* three runs of letters and digits, the first two each followed by '-'; a run that
		 * is empty or reaches byte 32 goes to the byte loop (which then decides) */
		const uint64_t na = ~(uint64_t)an; /* bits 32 and up set */
		unsigned e1 = (unsigned)__builtin_ctzll(na);
		if (e1 == 0 || e1 >= 32 || !(da >> e1 & 1))
			goto general;
		unsigned e2 = (unsigned)__builtin_ctzll(na >> (e1 + 1)) + e1 + 1;
		if (e2 == e1 + 1 || e2 >= 32 || !(da >> e2 & 1))
			goto general;
		unsigned e3 = (unsigned)__builtin_ctzll(na >> (e2 + 1)) + e2 + 1;
		if (e3 == e2 + 1 || e3 >= 32)
			goto general;
		return e3 >= 16 && s.p[e3] == ' ' ? e3 : 0;
	}
general:
#endif
	for (;;) {
		size_t st = i;
		while (i < s.n && MT_LS_CC(s.p[i], MT_LS_CC_ALNUM))
			i++;
		if (i == st)
			return 0;
		groups++;
		if (i < s.n && s.p[i] == '-' && groups < 3) {
			i++;
			continue;
		}
		break;
	}
	if (groups != 3 || i < 16 || i >= s.n || s.p[i] != ' ')
		return 0;
	return i;
}

/* Where the fields logscan reads start in an Exim line: each key's first place at the start
 * or after a space (mt_ls_kvn's rule, so the values are the ones it finds), -1 when absent;
 * one pass over the spaces instead of a search per key. */
enum { EF_H, EF_P, EF_X, EF_CV, EF_DN, EF_SNI, EF_N };
static inline void ef_check(struct mt_ls_str s, size_t i, long at[EF_N])
{
	if (i + 2 > s.n)
		return;
	const char *p = s.p + i;
	int k;
	switch (p[0]) {
	case 'H': k = p[1] == '=' ? EF_H : -1; break;
	case 'P': k = p[1] == '=' ? EF_P : -1; break;
	case 'X': k = p[1] == '=' ? EF_X : -1; break;
	case 'C': k = i + 3 <= s.n && p[1] == 'V' && p[2] == '=' ? EF_CV : -1; break;
	case 'D': k = i + 3 <= s.n && p[1] == 'N' && p[2] == '=' ? EF_DN : -1; break;
	case 'S': k = i + 4 <= s.n && p[1] == 'N' && p[2] == 'I' && p[3] == '=' ? EF_SNI : -1; break;
	default: return;
	}
	if (k >= 0 && at[k] < 0)
		at[k] = (long)i;
}

static struct mt_ls_str ef_value(struct mt_ls_str s, const long at[EF_N], int k, size_t kn)
{
	return mt_ls_field_value(s, at[k], kn, ' ');
}

/* X=TLS1.3:TLS_AES_256_GCM_SHA384:256 -> proto, cipher, bits; plus CV=, DN=, SNI=. */
static void tls_fields(struct mt_ls_str s, const long at[EF_N], struct mt_ls_event *ev)
{
	struct mt_ls_str x = ef_value(s, at, EF_X, 2);
	if (!x.p || !x.n) {
		ev->tls = MT_LS_TLS_NONE;
		return;
	}
	ev->tls = MT_LS_TLS_OK;
	const char *c1 = memchr(x.p, ':', x.n);
	if (!c1) {
		ev->cipher = x;
	} else {
		ev->proto = (struct mt_ls_str){x.p, (size_t)(c1 - x.p)};
		const char *c2 = NULL;
		for (const char *q = x.p + x.n - 1; q > c1; q--)
			if (*q == ':') {
				c2 = q;
				break;
			}
		if (c2) {
			ev->cipher = (struct mt_ls_str){c1 + 1, (size_t)(c2 - c1 - 1)};
			uint64_t b;
			if (mt_ls_num((struct mt_ls_str){c2 + 1, (size_t)(x.p + x.n - c2 - 1)}, &b))
				ev->bits = (int)b;
		} else {
			ev->cipher = (struct mt_ls_str){c1 + 1, (size_t)(x.p + x.n - c1 - 1)};
		}
	}
	ev->verify = ef_value(s, at, EF_CV, 3);
	ev->cert = ef_value(s, at, EF_DN, 3);
	ev->domain = ef_value(s, at, EF_SNI, 4);
}

/* " H=host [ip]" or " H=[ip]" or " H=(helo) [ip]", the key at offset p (-1: none) */
static void h_field_at(struct mt_ls_str s, long p, struct mt_ls_event *ev)
{
	if (p < 0)
		return;
	struct mt_ls_str r = mt_ls_sub(s, (size_t)p + 2);
	if (r.n && r.p[0] != '[' && r.p[0] != '(')
		ev->host = mt_ls_word(r);
	const char *lb = memchr(r.p, '[', r.n);
	if (lb && (size_t)(lb - r.p) < 300) {
		const char *rb = memchr(lb, ']', r.n - (size_t)(lb - r.p));
		if (rb)
			ev->ip = (struct mt_ls_str){lb + 1, (size_t)(rb - lb - 1)};
	}
}

/* The same where no field index was built (the rarer lines). */
static void h_field(struct mt_ls_str s, struct mt_ls_event *ev)
{
	long p = mt_ls_find(s, "H=");
	while (p > 0 && s.p[p - 1] != ' ') {
		struct mt_ls_str r = mt_ls_sub(s, (size_t)p + 2);
		long q = mt_ls_find(r, "H=");
		if (q < 0)
			return;
		p += 2 + q;
	}
	h_field_at(s, p, ev);
}

/* "TLS error on connection from|to host [ip] (where): reason" */
static int tls_error(const struct mt_ls_hdr *h, struct mt_ls_str s, struct mt_ls_str msgid, struct mt_ls_event *ev)
{
	struct mt_ls_str r = mt_ls_sub(s, 24);
	int dir;
	if (mt_ls_starts(r, "from ")) {
		dir = MT_LS_DIR_IN;
		r = mt_ls_sub(r, 5);
	} else if (mt_ls_starts(r, "to ")) {
		dir = MT_LS_DIR_OUT;
		r = mt_ls_sub(r, 3);
	} else {
		dir = MT_LS_DIR_OUT;
	}
	ev_init(ev, h, MT_LS_EV_CONN_TLS, dir);
	ev->tls = MT_LS_TLS_FAILED;
	ev->msgid = msgid;
	if (r.n && r.p[0] != '[' && r.p[0] != '(')
		ev->host = mt_ls_word(r);
	const char *lb = memchr(r.p, '[', r.n);
	if (lb) {
		const char *rb = memchr(lb, ']', r.n - (size_t)(lb - r.p));
		if (rb)
			ev->ip = (struct mt_ls_str){lb + 1, (size_t)(rb - lb - 1)};
	}
	long c = mt_ls_find(r, "): ");
	ev->reason = c >= 0 ? mt_ls_sub(r, (size_t)c + 3) : r;
	return MT_LS_EVENT;
}

int mt_ls_exim_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev)
{
	struct mt_ls_str s = h->msg;
	if (s.n < 10)
		return MT_LS_IGNORED;
	if (s.p[0] == 'T' && mt_ls_starts(s, "TLS error on connection "))
		return tls_error(h, s, (struct mt_ls_str){NULL, 0}, ev);
	size_t idn = msg_id(s);
	if (!idn)
		return MT_LS_IGNORED;
	struct mt_ls_str id = {s.p, idn};
	struct mt_ls_str r = mt_ls_sub(s, idn + 1);
	if (r.n < 2)
		return MT_LS_IGNORED;
	if (r.n >= 3 && r.p[2] == ' ') {
		char a = r.p[0], b = r.p[1];
		if (a == '<' && b == '=') {
			ev_init(ev, h, MT_LS_EV_MSG_RECV, MT_LS_DIR_IN);
			ev->msgid = id;
			long at[EF_N];
			mt_ls_field_starts(r, ef_check, at, EF_N);
			h_field_at(r, at[EF_H], ev);
			struct mt_ls_str proto = ef_value(r, at, EF_P, 2);
			if (!ev->ip.p || (proto.p && mt_ls_starts(proto, "local")))
				ev->local = true;
			else
				tls_fields(r, at, ev);
			return MT_LS_EVENT;
		}
		if ((a == '=' && b == '>') || (a == '-' && b == '>') || (a == '*' && b == '>') ||
		    (a == '=' && b == '=') || (a == '*' && b == '*')) {
			struct mt_ls_str rest = mt_ls_sub(r, 3);
			struct mt_ls_str rcpt = mt_ls_word(rest);
			bool ok = b == '>';
			if (!ok) {
				/* deferral or bounce: is TLS the reason? */
				long t = mt_ls_find(rest, "TLS session");
				long req = mt_ls_find(rest, "a TLS session is required");
				long dane = mt_ls_find(rest, "DANE");
				if (t < 0 && req < 0 && dane < 0)
					return MT_LS_IGNORED;
				ev_init(ev, h, MT_LS_EV_REQFAIL, MT_LS_DIR_OUT);
				ev->msgid = id;
				ev->rcpt_domain = mt_ls_addr_domain(rcpt);
				ev->domain = ev->rcpt_domain;
				h_field(rest, ev);
				long c = req >= 0 ? req : t >= 0 ? t : dane;
				ev->reason = mt_ls_sub(rest, (size_t)c);
				ev->tls = MT_LS_TLS_FAILED;
				if (req >= 0) {
					ev->cause = mt_ls_cause_from_text(ev->reason);
					if (ev->cause == MT_LS_CAUSE_NOT_ADVERTISED)
						ev->tls = MT_LS_TLS_NONE;
				}
				else if (dane >= 0 && t < 0)
					ev->cause = MT_LS_CAUSE_VERIFY;
				else
					ev->cause = mt_ls_find(ev->reason, "verif") >= 0 ? MT_LS_CAUSE_VERIFY : MT_LS_CAUSE_HANDSHAKE;
				return MT_LS_EVENT;
			}
			if (a == '*')
				return MT_LS_IGNORED; /* *> : delivery suppressed (-N) */
			ev_init(ev, h, MT_LS_EV_DELIVERY, MT_LS_DIR_OUT);
			ev->msgid = id;
			ev->new_conn = a == '='; /* "->" lines share the "=>" line's connection */
			ev->rcpt_domain = mt_ls_addr_domain(rcpt);
			long at[EF_N];
			mt_ls_field_starts(rest, ef_check, at, EF_N);
			h_field_at(rest, at[EF_H], ev);
			if (!ev->ip.p)
				return MT_LS_IGNORED; /* local delivery */
			tls_fields(rest, at, ev);
			ev->status = (struct mt_ls_str){"sent", 4};
			return MT_LS_EVENT;
		}
	}
	if (r.p[0] == 'C' && r.n == 9 && memcmp(r.p, "Completed", 9) == 0) {
		ev_init(ev, h, MT_LS_EV_MSG_DONE, 0);
		ev->msgid = id;
		return MT_LS_EVENT;
	}
	/* "<id> TLS session: (...): delivering unencrypted to H=host [ip] (not in hosts_require_tls)" */
	if (r.p[0] == 'T' && mt_ls_starts(r, "TLS session: ")) {
		ev_init(ev, h, MT_LS_EV_CONN_TLS, MT_LS_DIR_OUT);
		ev->tls = MT_LS_TLS_FAILED;
		ev->msgid = id;
		h_field(r, ev);
		long c = mt_ls_find(r, ": delivering");
		ev->reason = mt_ls_sub(r, 13);
		if (c >= 13)
			ev->reason.n = (size_t)c - 13;
		return MT_LS_EVENT;
	}
	/* "<id> DANE attempt failed; TLS connection to host [ip]: reason" */
	if (r.p[0] == 'D' && mt_ls_starts(r, "DANE attempt failed; TLS connection to ")) {
		ev_init(ev, h, MT_LS_EV_CONN_TLS, MT_LS_DIR_OUT);
		ev->tls = MT_LS_TLS_FAILED;
		ev->msgid = id;
		struct mt_ls_str t = mt_ls_sub(r, 39);
		ev->host = mt_ls_word(t);
		const char *lb = memchr(t.p, '[', t.n);
		if (lb) {
			const char *rb = memchr(lb, ']', t.n - (size_t)(lb - t.p));
			if (rb)
				ev->ip = (struct mt_ls_str){lb + 1, (size_t)(rb - lb - 1)};
		}
		long c = mt_ls_find(t, "]: ");
		ev->reason = c >= 0 ? mt_ls_sub(t, (size_t)c + 3) : t;
		ev->verify = (struct mt_ls_str){"dane-failed", 11};
		return MT_LS_EVENT;
	}
	/* "<id> H=host [ip] TLS error on connection (recv): reason" */
	if (r.p[0] == 'H' && r.p[1] == '=') {
		long t = mt_ls_find(r, " TLS error on connection ");
		if (t >= 0) {
			ev_init(ev, h, MT_LS_EV_CONN_TLS, MT_LS_DIR_OUT);
			ev->tls = MT_LS_TLS_FAILED;
			ev->msgid = id;
			h_field(r, ev);
			struct mt_ls_str rest = mt_ls_sub(r, (size_t)t + 25);
			long c = mt_ls_find(rest, "): ");
			ev->reason = c >= 0 ? mt_ls_sub(rest, (size_t)c + 3) : rest;
			return MT_LS_EVENT;
		}
	}
	return MT_LS_IGNORED;
}

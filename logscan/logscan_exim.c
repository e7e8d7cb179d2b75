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

static bool alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Exim message ids: 6-6-2 (before 4.97) or 6-11-4, base62 groups joined by '-'. */
static size_t msg_id(struct mt_ls_str s)
{
	size_t i = 0, groups = 0;
	for (;;) {
		size_t st = i;
		while (i < s.n && alnum(s.p[i]))
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

/* X=TLS1.3:TLS_AES_256_GCM_SHA384:256 -> proto, cipher, bits; plus CV=, DN=, SNI=. */
static void tls_fields(struct mt_ls_str s, struct mt_ls_event *ev)
{
	struct mt_ls_str x = mt_ls_kv(s, "X=", ' ');
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
	ev->verify = mt_ls_kv(s, "CV=", ' ');
	ev->cert = mt_ls_kv(s, "DN=", ' ');
	ev->domain = mt_ls_kv(s, "SNI=", ' ');
}

/* " H=host [ip]" or " H=[ip]" or " H=(helo) [ip]" */
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
			h_field(r, ev);
			struct mt_ls_str proto = mt_ls_kv(r, "P=", ' ');
			if (!ev->ip.p || (proto.p && mt_ls_starts(proto, "local")))
				ev->local = true;
			else
				tls_fields(r, ev);
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
			h_field(rest, ev);
			if (!ev->ip.p)
				return MT_LS_IGNORED; /* local delivery */
			tls_fields(rest, ev);
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

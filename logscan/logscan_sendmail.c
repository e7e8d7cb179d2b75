/* logscan_sendmail.c — Sendmail (sendmail, sm-mta) STARTTLS and queue-id lines.
 *
 * One sendmail process serves one SMTP session, so the connection key is syslog host + pid:
 * "STARTTLS=server, relay=..., version=, verify=, cipher=, bits=" opens an inbound TLS session
 * and the same pid's "QID: from=<..>, ..., relay=host [ip]" binds the message to it;
 * "STARTTLS=client, ..." likewise precedes the same pid's "QID: to=<..>, ..., mailer=esmtp,
 * relay=..., stat=" delivery lines.
 */
#include "logscan_parse.h"

#include <string.h>

static void ev_init(struct mt_ls_event *ev, const struct mt_ls_hdr *h, int kind, int dir)
{
	mt_ls_zero(ev, sizeof *ev);
	ev->kind = kind;
	ev->fmt = MT_LS_FMT_SENDMAIL;
	ev->ts = h->ts;
	ev->dir = dir;
	ev->conn = mt_ls_hdr_conn_key(h, MT_LS_FMT_SENDMAIL, dir, (uint64_t)h->pid);
}

/* Where the fields logscan reads start in a Sendmail line: each key's first place at the
 * start or after a space (mt_ls_kvn's rule, so the values are the ones it finds), -1 when
 * absent; one pass over the spaces instead of a search per key. */
enum { SF_RELAY, SF_VERSION, SF_VERIFY, SF_CIPHER, SF_BITS, SF_PROTO, SF_MAILER, SF_STAT, SF_TO, SF_N };
static const struct {
	const char *key;
	unsigned char n;
} sf_keys[SF_N] = {
    [SF_RELAY] = {"relay=", 6}, [SF_VERSION] = {"version=", 8}, [SF_VERIFY] = {"verify=", 7},
    [SF_CIPHER] = {"cipher=", 7}, [SF_BITS] = {"bits=", 5},	    [SF_PROTO] = {"proto=", 6},
    [SF_MAILER] = {"mailer=", 7}, [SF_STAT] = {"stat=", 5},	    [SF_TO] = {"to=", 3},
};

static inline void sf_check(struct mt_ls_str s, size_t i, long at[SF_N])
{
	if (i + 3 > s.n)
		return;
	int k;
	switch (s.p[i]) {
	case 'r': k = SF_RELAY; break;
	case 'v': k = i + 4 <= s.n && s.p[i + 3] == 's' ? SF_VERSION : SF_VERIFY; break; /* "vers", "veri" */
	case 'c': k = SF_CIPHER; break;
	case 'b': k = SF_BITS; break;
	case 'p': k = SF_PROTO; break;
	case 'm': k = SF_MAILER; break;
	case 's': k = SF_STAT; break;
	case 't': k = SF_TO; break;
	default: return;
	}
	if (at[k] < 0 && i + sf_keys[k].n <= s.n && mt_ls_eqn(s.p + i, sf_keys[k].key, sf_keys[k].n))
		at[k] = (long)i;
}

static struct mt_ls_str sf_value(struct mt_ls_str s, const long at[SF_N], int k, char stop)
{
	return mt_ls_field_value(s, at[k], sf_keys[k].n, stop);
}

/* "relay=host. [ip]" / "relay=[ip]" / "relay=host." ; trailing dot of FQDNs dropped. */
static void relay_value(struct mt_ls_str r, struct mt_ls_event *ev)
{
	if (!r.p)
		return;
	if (r.n && r.p[0] != '[') {
		struct mt_ls_str hst = mt_ls_word(r);
		if (hst.n && hst.p[hst.n - 1] == '.')
			hst.n--;
		ev->host = hst;
	}
	const char *lb = memchr(r.p, '[', r.n);
	if (lb) {
		const char *rb = memchr(lb, ']', r.n - (size_t)(lb - r.p));
		if (rb && rb > lb + 1)
			ev->ip = (struct mt_ls_str){lb + 1, (size_t)(rb - lb - 1)};
	}
}

static void relay_field(struct mt_ls_str s, struct mt_ls_event *ev)
{
	relay_value(mt_ls_kv(s, "relay=", ','), ev);
}

static int starttls(const struct mt_ls_hdr *h, struct mt_ls_str s, struct mt_ls_event *ev)
{
	int dir;
	if (mt_ls_starts(s, "STARTTLS=server"))
		dir = MT_LS_DIR_IN;
	else if (mt_ls_starts(s, "STARTTLS=client"))
		dir = MT_LS_DIR_OUT;
	else
		return MT_LS_IGNORED; /* "STARTTLS: write error=..." after the handshake */
	struct mt_ls_str r = mt_ls_sub(s, 15);
	if (mt_ls_starts(r, ", error: ")) {
		ev_init(ev, h, MT_LS_EV_CONN_TLS, dir);
		ev->tls = MT_LS_TLS_FAILED;
		ev->reason = mt_ls_sub(r, 9);
		ev->new_conn = true;
		return MT_LS_EVENT;
	}
	if (mt_ls_find(r, "cert-subject=") >= 0 || mt_ls_find(r, "verifymsg=") >= 0) {
		ev_init(ev, h, MT_LS_EV_CONN_INFO, dir);
		ev->cert = mt_ls_kv(r, "cert-subject=", ',');
		ev->reason = mt_ls_kv(r, "verifymsg=", '\n');
		return MT_LS_EVENT;
	}
	long at[SF_N];
	mt_ls_field_starts(r, sf_check, at, SF_N);
	struct mt_ls_str ver = sf_value(r, at, SF_VERSION, ',');
	if (!ver.p)
		return MT_LS_UNPARSED;
	ev_init(ev, h, MT_LS_EV_CONN_TLS, dir);
	ev->tls = MT_LS_TLS_OK;
	ev->new_conn = true;
	ev->proto = ver;
	ev->verify = sf_value(r, at, SF_VERIFY, ',');
	ev->cipher = sf_value(r, at, SF_CIPHER, ',');
	struct mt_ls_str bits = sf_value(r, at, SF_BITS, ',');
	uint64_t b;
	if (bits.p && mt_ls_num(bits, &b))
		ev->bits = (int)b;
	relay_value(sf_value(r, at, SF_RELAY, ','), ev);
	return MT_LS_EVENT;
}

static size_t queue_id(struct mt_ls_str s)
{
	size_t i = 0;
	while (i < s.n && i < 24 && MT_LS_CC(s.p[i], MT_LS_CC_ALNUM))
		i++;
	if (i < 8 || i + 1 >= s.n || s.p[i] != ':' || s.p[i + 1] != ' ')
		return 0;
	return i;
}

int mt_ls_sendmail_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev)
{
	struct mt_ls_str s = h->msg;
	if (s.n < 8)
		return MT_LS_IGNORED;
	if (s.p[0] == 'S' && mt_ls_starts(s, "STARTTLS"))
		return starttls(h, s, ev);
	if (s.p[0] == 'r' && mt_ls_starts(s, "ruleset=tls_")) {
		/* access-map TLS requirement not met: tls_server (we are client) / tls_client (we serve) */
		int dir = mt_ls_starts(s, "ruleset=tls_server") ? MT_LS_DIR_OUT : MT_LS_DIR_IN;
		ev_init(ev, h, MT_LS_EV_REQFAIL, dir);
		struct mt_ls_str arg1 = mt_ls_kv(s, "arg1=", ',');
		relay_field(s, ev);
		ev->reason = mt_ls_kv(s, "reject=", '\n');
		if (!ev->reason.p)
			ev->reason = s;
		if (arg1.n == 4 && memcmp(arg1.p, "NONE", 4) == 0)
			ev->cause = dir == MT_LS_DIR_OUT ? MT_LS_CAUSE_NOT_ADVERTISED : MT_LS_CAUSE_CLIENT_NO_TLS;
		else if (arg1.n == 4 && memcmp(arg1.p, "FAIL", 4) == 0)
			ev->cause = MT_LS_CAUSE_VERIFY;
		else
			ev->cause = MT_LS_CAUSE_HANDSHAKE;
		return MT_LS_EVENT;
	}
	size_t q = queue_id(s);
	if (!q)
		return MT_LS_IGNORED;
	struct mt_ls_str qid = {s.p, q};
	struct mt_ls_str r = mt_ls_sub(s, q + 2);
	if (mt_ls_starts(r, "from=")) {
		ev_init(ev, h, MT_LS_EV_MSG_RECV, MT_LS_DIR_IN);
		ev->msgid = qid;
		long at[SF_N];
		mt_ls_field_starts(r, sf_check, at, SF_N);
		struct mt_ls_str proto = sf_value(r, at, SF_PROTO, ',');
		relay_value(sf_value(r, at, SF_RELAY, ','), ev);
		if (!proto.p || !ev->ip.p) {
			ev->local = true;
			ev->conn = 0;
		} else if (mt_ls_starts(proto, "ESMTPS")) {
			ev->tls = MT_LS_TLS_OK; /* the S says TLS even if the STARTTLS line is missing */
		}
		return MT_LS_EVENT;
	}
	if (mt_ls_starts(r, "to=")) {
		long at[SF_N];
		mt_ls_field_starts(r, sf_check, at, SF_N);
		struct mt_ls_str mailer = sf_value(r, at, SF_MAILER, ',');
		struct mt_ls_str stat = sf_value(r, at, SF_STAT, ' ');
		if (!mailer.p || !stat.p)
			return MT_LS_IGNORED;
		if (!(mt_ls_starts(mailer, "esmtp") || mt_ls_starts(mailer, "smtp") || mt_ls_starts(mailer, "relay") ||
		      mt_ls_starts(mailer, "dsmtp") || mt_ls_starts(mailer, "smtp8")))
			return MT_LS_IGNORED;
		ev_init(ev, h, MT_LS_EV_DELIVERY, MT_LS_DIR_OUT);
		ev->msgid = qid;
		ev->rcpt_domain = mt_ls_addr_domain(sf_value(r, at, SF_TO, ','));
		relay_value(sf_value(r, at, SF_RELAY, ','), ev);
		ev->status = stat;
		return MT_LS_EVENT;
	}
	return MT_LS_IGNORED;
}

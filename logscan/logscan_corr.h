/* logscan_corr.h — ties parsed events into connections, messages and required-TLS failures.
 *
 * Open connections and messages sit in two fixed-capacity LRU tables (logscan_tab.h); when a
 * connection closes (or a message finishes) its record is handed to the sink and forgotten,
 * so memory depends on the number of open connections, never on the input size.  Records
 * passed to the sink are only valid during the callback.
 */
#ifndef LOGSCAN_CORR_H
#define LOGSCAN_CORR_H

#include "logscan_parse.h"
#include "logscan_tab.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Messages a Postfix session received while it had logged no TLS line: its disconnect line
 * may still say it ran TLS (see logscan_postfix.c), which then holds for them too. */
enum { MT_LS_CONN_PEND = 8 };

struct mt_ls_conn {
	uint8_t fmt, dir, tls, cause;
	bool reqfail, evicted, detail_added;
	uint8_t n_pend, n_held; /* entries of pend[] in use; of those, finished and held */
	/* Postfix client: the peer's port (0 = not logged); a TLS connection taken from the cache
	 * whose first delivery is still to come; a record that continues a connection opened
	 * earlier (taken from the cache), counted when it was opened, so not emitted again */
	uint16_t port;
	bool reuse_pending, cont;
	bool cert_first; /* Postfix client: its certificate check failed, its TLS line not yet seen */
	uint16_t last_use; /* Postfix client: the conn_use of its last delivery (0: first use) */
	uint64_t last_msg; /* message key of its last delivery (Postfix client) */
	/* Postfix client: "QID: Cannot start TLS: handshake failure" (level may): the message
	 * (key) goes on in clear on a new connection; this one carries nothing more */
	uint64_t fallback_msg;
	time_t t_open, t_last;
	uint32_t n_msgs, n_deliv;
	int bits;
	char id[24], ip[48], host[96], domain[96], proto[24], cipher[72], verify[24], cert[128], reason[192];
	char level[32]; /* Postfix 3.11+ client: its first delivery's tls= (security level, features) */
	/* not cleared for a new record (set where used) */
	uint64_t key;			/* its table key (0: not in the table) */
	uint64_t serial;		/* unique while open; 0 once emitted */
	uint64_t pend[MT_LS_CONN_PEND]; /* message table keys */
};

enum mt_ls_msg_in { MT_LS_IN_UNKNOWN = 0, MT_LS_IN_TLS, MT_LS_IN_CLEAR, MT_LS_IN_LOCAL };
const char *mt_ls_in_name(int in);

struct mt_ls_msg {
	uint8_t fmt, in;
	bool evicted, received;
	bool done_wait;	      /* finished, held until its session says whether it ran TLS */
	uint32_t conn_idx;    /* the receiving session (table place, serial) while that may */
	uint64_t conn_serial; /* still tell (serial 0: none) */
	time_t t;
	uint32_t n_deliv, n_tls, n_clear;
	/* merged: it went on under another id (a Postfix content filter's "queued as", ESA
	 * "rewritten to"), its hops moved there, so it is not a message of its own (unless it
	 * has hops of its own after) */
	bool merged;
	bool inherited; /* in, peer and t come from the message it continues or copies */
	/* finished, held a while in case it turns out to be another message's continuation (a
	 * content filter's re-injection whose "queued as" line comes after its end) */
	bool link_wait;
	bool dane_failed; /* Exim: "DANE attempt failed" for it (its TLS deferral is DANE's) */
	char id[32], peer[48], rcpt_domain[96];
	char orig_id[32]; /* the first id of the message it continues or copies ("" = none) */
};

struct mt_ls_reqfail {
	uint8_t fmt, dir, cause;
	/* withdrawn: not a required-TLS failure after all (Postfix at smtp_tls_security_level
	 * may: the message went on in clear after the failed handshake) */
	bool withdrawn;
	bool dane; /* the log shows DANE was the policy (Exim: a DANE attempt failed before) */
	time_t t;
	char connid[24], msgid[32], ip[48], host[96], domain[96], reason[192];
	char level[32]; /* Postfix 3.11+: the deferral's tls= */
};

struct mt_ls_sink {
	void (*conn)(void *ctx, const struct mt_ls_conn *c);
	void (*msg)(void *ctx, const struct mt_ls_msg *m);
	void (*reqfail)(void *ctx, const struct mt_ls_reqfail *r);
	void *ctx;
};

struct mt_ls_corr {
	struct mt_ls_tab conns, msgs;
	/* Postfix "Cannot start TLS: handshake failure" deferrals, per message, until its fate
	 * says which level it was (see on_reqfail) */
	struct mt_ls_tab held;
	/* finished messages held for a link (link_wait), oldest first: a ring */
	struct mt_ls_linkwait {
		uint64_t key;
		time_t t;
	} *lw;
	uint32_t lw_head, lw_n;
	/* AsyncOS consolidated events: a line per message, so a session that carried several
	 * shows up once per message; the sessions counted, by a hash of direction, id and
	 * address, direct-mapped (allocated at the first such event) */
	uint64_t *inline_seen;
	struct mt_ls_sink sink;
	uint64_t evicted_conns, evicted_msgs, reused_ids;
	uint64_t next_serial;
	/* set after init: a hop over loopback (127.0.0.0/8, ::1) is local, not a hop in clear
	 * (a content filter such as amavis on 127.0.0.1:10024, a webmail submitting to ::1) */
	bool loopback_local;
};

/* Are the n bytes at ip a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z; with
 * Sendmail's "IPv6:" prefix too)? */
bool mt_ls_loopback(const char *ip, size_t n);

/* Tables for max_conns open connections and max_msgs open messages; 0 or -1 (no memory). */
int mt_ls_corr_init(struct mt_ls_corr *c, uint32_t max_conns, uint32_t max_msgs, const struct mt_ls_sink *sink);
void mt_ls_corr_event(struct mt_ls_corr *c, const struct mt_ls_event *ev);
/* The message table's key for a message id, never 0. */
static inline uint64_t mt_ls_msg_key(int fmt, struct mt_ls_str id)
{
	uint64_t k = mt_ls_hash(id.p, id.n, 0x5a5a0000u + (uint64_t)fmt);
	return k ? k : 1;
}
/* Optional, on the parsing side: compute ev's table keys ahead of mt_ls_corr_event (no table
 * access, so it may run in another thread; inline: it runs for every event). */
static inline void mt_ls_corr_prepare(struct mt_ls_event *ev)
{
	if (ev->kind == MT_LS_EV_MSG_RECV || ev->kind == MT_LS_EV_MSG_RCPT || ev->kind == MT_LS_EV_DELIVERY ||
	    ev->kind == MT_LS_EV_MSG_DONE || ev->kind == MT_LS_EV_MSG_LINK)
		ev->msgkey = mt_ls_msg_key(ev->fmt, ev->msgid);
}
/* Optional: start loading the table slots ev will touch, a few events before it is applied
 * (inline: it runs twice per event). */
static inline void mt_ls_corr_prefetch(const struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	if (ev->conn)
		mt_ls_tab_prefetch(&c->conns, ev->conn);
	if (ev->msgkey)
		mt_ls_tab_prefetch(&c->msgs, ev->msgkey);
}
/* Optional, a few events after mt_ls_corr_prefetch: load the records themselves. */
static inline void mt_ls_corr_prefetch_entry(const struct mt_ls_corr *c, const struct mt_ls_event *ev)
{
	if (ev->conn)
		mt_ls_tab_prefetch_entry(&c->conns, ev->conn);
	if (ev->msgkey)
		mt_ls_tab_prefetch_entry(&c->msgs, ev->msgkey);
}
/* Emit every open connection and message (end of input). */
void mt_ls_corr_flush(struct mt_ls_corr *c);
void mt_ls_corr_free(struct mt_ls_corr *c);

/* Copy a slice into a fixed field, NUL-terminated, cut at the field size. */
void mt_ls_set(char *dst, size_t size, struct mt_ls_str s);
#define MT_LS_SET(field, s) mt_ls_set((field), sizeof(field), (s))

#endif

/* logscan_ev_eq.h — two parsed events compared field by field, strings by content (the
 * lines they point into live in different buffers).  Shared by the unit tests and the
 * libFuzzer harnesses that check the padded parse against the unpadded one. */
#ifndef LOGSCAN_EV_EQ_H
#define LOGSCAN_EV_EQ_H

#include <string.h>

#include "../../logscan/logscan_parse.h"

static inline int ls_str_eq(struct mt_ls_str a, struct mt_ls_str b)
{
	return a.n == b.n && (!a.n || memcmp(a.p, b.p, a.n) == 0) && !a.p == !b.p;
}

static inline int ls_ev_eq(const struct mt_ls_event *a, const struct mt_ls_event *b)
{
	return a->kind == b->kind && a->fmt == b->fmt && a->dir == b->dir && a->ts == b->ts && a->conn == b->conn &&
	       a->tls == b->tls && a->bits == b->bits && a->cause == b->cause && a->local == b->local &&
	       a->new_conn == b->new_conn && a->reused == b->reused && a->port == b->port && a->conn_use == b->conn_use &&
	       ls_str_eq(a->connid, b->connid) && ls_str_eq(a->msgid, b->msgid) &&
	       ls_str_eq(a->ip, b->ip) && ls_str_eq(a->host, b->host) && ls_str_eq(a->domain, b->domain) &&
	       ls_str_eq(a->rcpt_domain, b->rcpt_domain) && ls_str_eq(a->proto, b->proto) &&
	       ls_str_eq(a->cipher, b->cipher) && ls_str_eq(a->verify, b->verify) && ls_str_eq(a->cert, b->cert) &&
	       ls_str_eq(a->reason, b->reason) && ls_str_eq(a->status, b->status) && ls_str_eq(a->link, b->link) &&
	       a->copy == b->copy && ls_str_eq(a->level, b->level);
}

#endif

/* receiver_server.c — the receiver's event loop: one thread, epoll, non-blocking sockets.
 *
 * Each connection is a struct session with a transport state (enum rs_state, named in
 * rs_names, changed only by set_state()) on top of the pure SMTP dialog of
 * core/smtp/smtp_server.c. Input is read into a per-session line buffer; every complete
 * line is handled before the replies are flushed, which is what PIPELINING (RFC 2920)
 * asks of a server. At STARTTLS the 220 goes out in clear text and whatever the client
 * had already sent after the command is discarded, never executed (CVE-2011-0411).
 *
 * Every session leaves one JSON Lines record and AsyncOS-style mail log lines. Messages
 * are spooled atomically (receiver_spool.c) or discarded. Signals arrive through a
 * signalfd: SIGHUP reloads configuration and certificates keeping the listening sockets,
 * SIGTERM/SIGINT stop accepting, let messages in flight finish for shutdown_grace, then
 * answer 421 and remove their temp files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailtls/smtp_server.h"
#include "mailtls/tls.h"
#include "mailtls/tls_server.h"
#include "receiver.h"

enum rs_state {
	RS_LOOKUP = 0, /* accepted; waiting for reverse DNS before the greeting */
	RS_COMMAND,    /* reading commands */
	RS_DATA,       /* reading a message */
	RS_COMMIT,     /* the message is being synced to the spool by a worker */
	RS_HANDSHAKE,  /* 220 to STARTTLS sent (or being sent); TLS handshake */
	RS_CLOSING,    /* flushing the last reply */
	RS__COUNT
};
static const char *const rs_names[RS__COUNT] = {"lookup", "command",   "data",
                                                "commit", "handshake", "closing"};

enum ep_kind { EP_LISTENER = 1, EP_SESSION, EP_SIGNAL, EP_RDNS, EP_COMMIT };

struct listener {
	int kind;
	int fd;
	char addr[128];
	char host[64];
	struct mt_tls_srv_cred *cred; /* NULL: no certificate, STARTTLS not offered */
	bool demo;
	char cert_path[512];
};

struct session {
	int kind;
	struct session *prev, *next;
	int fd;
	uint64_t icid;
	enum rs_state state;
	struct listener *l;
	struct sockaddr_storage ss;
	char addr[64];
	unsigned port;
	char rdns[256];
	bool rdns_verified;
	char group[64];
	char match[128];
	enum rcv_tls_policy policy;
	bool request_cert;
	char hostname[256];
	struct mt_smtp_srv_cfg scfg;
	struct mt_smtp_srv smtp;
	char *rbuf;
	size_t rlen, rcap;
	bool skipping; /* inside an overlong line, discarding up to its LF */
	struct mt_buf wbuf;
	size_t woff;
	struct mt_tls_srv *tls;
	bool tls_up;
	uint32_t events;
	int64_t t0, phase_deadline, deadline;
	time_t start_wall;
	struct timespec start_ts;
	/* what the record says */
	bool starttls_offered, starttls_used;
	char ehlo[256], ehlo_tls[256];
	json_t *cmds, *msgs, *tlsrec;
	size_t transcript_bytes;
	bool transcript_truncated;
	size_t injected;
	unsigned long long bytes_in;
	const char *outcome;
	char error[256];
	/* the message in progress */
	uint64_t mid;
	json_t *msg;
	unsigned rid;
	bool spooling;
	struct rcv_spool_msg spool;
	unsigned long long msg_size;
	bool msg_toobig, msg_longline, msg_failed;
	bool shutdown_sent;
};

/* ---- global state of the loop ---- */
static struct rcv_config *cfg;
static struct rcv_config **retired; /* configs replaced by SIGHUP; sessions may point in */
static size_t nretired;
static int epfd = -1;
static struct listener listeners[RCV_MAX_LISTEN];
static size_t nlisteners;
static struct session *sessions;
static unsigned nsessions;
static uint64_t next_icid = 1, next_mid = 1, icid_limit, mid_limit;
static bool shutting_down;
static int64_t shutdown_at;
static struct {
	int kind;
	int fd;
} sigsrc = {EP_SIGNAL, -1}, rdnssrc = {EP_RDNS, -1}, commitsrc = {EP_COMMIT, -1};
static struct session **byfd; /* sessions by file descriptor */
static size_t nbyfd;
static char *records_path, *maillog_path, *ids_path;

/* ---- per-client address counts ---- */
#define CLIENT_BUCKETS 4096
struct client_count {
	struct client_count *next;
	unsigned n;
	char addr[64];
};
static struct client_count *client_tab[CLIENT_BUCKETS];

static unsigned hash_addr(const char *a)
{
	unsigned h = 2166136261u;
	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	return h % CLIENT_BUCKETS;
}

static unsigned client_count(const char *a, int delta)
{
	struct client_count **pp = &client_tab[hash_addr(a)], *c;
	for (c = *pp; c; pp = &c->next, c = c->next)
		if (!strcmp(c->addr, a))
			break;
	if (!c) {
		if (delta <= 0)
			return 0;
		c = calloc(1, sizeof *c);
		if (!c)
			return 0;
		mt_strlcpy(c->addr, a, sizeof c->addr);
		c->next = client_tab[hash_addr(a)];
		client_tab[hash_addr(a)] = c;
		pp = &client_tab[hash_addr(a)];
	}
	if (delta < 0 && c->n > 0)
		c->n--;
	else if (delta > 0)
		c->n++;
	unsigned n = c->n;
	if (n == 0) {
		/* unlink and free */
		struct client_count **q = &client_tab[hash_addr(a)];
		while (*q && *q != c)
			q = &(*q)->next;
		if (*q)
			*q = c->next;
		free(c);
	}
	(void)pp;
	return n;
}

/* ---- ids: reserved in blocks in <data_dir>/ids so restarts never reuse them ---- */
#define ID_BLOCK 1000000

static void ids_reserve(void)
{
	FILE *f = fopen(ids_path, "r");
	unsigned long long a = 1, b = 1;
	if (f) {
		if (fscanf(f, "%llu %llu", &a, &b) != 2)
			a = b = 1;
		fclose(f);
	}
	if (a < next_icid)
		a = next_icid;
	if (b < next_mid)
		b = next_mid;
	next_icid = a;
	next_mid = b;
	icid_limit = a + ID_BLOCK;
	mid_limit = b + ID_BLOCK;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%llu %llu\n", (unsigned long long)icid_limit,
	                 (unsigned long long)mid_limit);
	struct mt_err e;
	if (rcv_write_file_atomic(ids_path, buf, (size_t)n, 0644, &e) != MT_OK)
		fprintf(stderr, "receiver: %s\n", e.msg);
}

static uint64_t new_icid(void)
{
	if (next_icid >= icid_limit)
		ids_reserve();
	return next_icid++;
}

static uint64_t new_mid(void)
{
	if (next_mid >= mid_limit)
		ids_reserve();
	return next_mid++;
}

/* ---- small helpers ---- */

static void iso_time(const struct timespec *ts, char *out, size_t outsz)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	char b[32];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outsz, "%.20s.%03dZ", b, (int)(ts->tv_nsec / 1000000) % 1000);
}

static void printable(const char *in, size_t len, char *out, size_t outsz)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < outsz; i++) {
		unsigned char c = (unsigned char)in[i];
		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[n] = '\0';
}

static void transcript(struct session *s, const char *dir, const char *line, size_t len)
{
	if (s->transcript_truncated)
		return;
	if (s->transcript_bytes + len > cfg->transcript_max) {
		s->transcript_truncated = true;
		return;
	}
	s->transcript_bytes += len + 16;
	char buf[1024];
	printable(line, len, buf, sizeof buf);
	/* AUTH data is never recorded */
	if (!strncasecmp(buf, "AUTH ", 5) && !strcmp(dir, "in"))
		mt_strlcpy(buf + 5, "<redacted>", sizeof buf - 5);
	json_t *o = json_object();
	json_object_set_new(o, "t_ms", json_integer(mt_now_ms() - s->t0));
	json_object_set_new(o, "dir", json_string(dir));
	json_object_set_new(o, "line", json_string(buf));
	json_array_append_new(s->cmds, o);
}

/* Record the reply lines appended to wbuf since `from`. */
static void transcript_replies(struct session *s, size_t from)
{
	const char *p = s->wbuf.data + from, *end = s->wbuf.data + s->wbuf.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t m = n;
		if (m && p[m - 1] == '\r')
			m--;
		transcript(s, "out", p, m);
		p += n + (nl ? 1 : 0);
	}
}

/* ---- state and events ---- */

static void update_events(struct session *s);

/* The one place the transport state changes: sets the phase deadline and logs. */
static void set_state(struct session *s, enum rs_state st)
{
	int64_t now = mt_now_ms();
	int ms;
	switch (st) {
	case RS_DATA:
		ms = cfg->timeout_data_ms;
		break;
	case RS_HANDSHAKE:
		ms = cfg->timeout_tls_ms;
		break;
	case RS_COMMIT:
		ms = 120000;
		break;
	case RS_CLOSING:
		ms = 5000;
		break;
	default:
		ms = cfg->timeout_command_ms;
		break;
	}
	if (cfg->verbose > 1)
		fprintf(stderr, "receiver: ICID %llu %s -> %s\n", (unsigned long long)s->icid,
		        rs_names[s->state], rs_names[st]);
	s->state = st;
	s->phase_deadline = now + ms;
	update_events(s);
}

static void update_events(struct session *s)
{
	uint32_t ev = 0;
	if (s->woff < s->wbuf.len)
		ev = EPOLLOUT;
	else if (s->state == RS_COMMAND || s->state == RS_DATA)
		ev = EPOLLIN;
	else if (s->state == RS_HANDSHAKE)
		ev = EPOLLIN; /* refined by tls_step() */
	else if (s->state == RS_CLOSING)
		ev = 0;
	if (ev != s->events) {
		struct epoll_event e = {.events = ev, .data.ptr = s};
		epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &e);
		s->events = ev;
	}
}

static void set_events(struct session *s, uint32_t ev)
{
	if (ev != s->events) {
		struct epoll_event e = {.events = ev, .data.ptr = s};
		epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &e);
		s->events = ev;
	}
}

/* ---- the record ---- */

static void write_record(struct session *s)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	char t1[40], t2[40];
	iso_time(&s->start_ts, t1, sizeof t1);
	iso_time(&end, t2, sizeof t2);
	json_t *o = json_object();
	json_object_set_new(o, "icid", json_integer((json_int_t)s->icid));
	json_object_set_new(o, "start", json_string(t1));
	json_object_set_new(o, "end", json_string(t2));
	json_object_set_new(o, "duration_ms", json_integer(mt_now_ms() - s->t0));
	json_object_set_new(o, "listener", json_string(s->l->addr));
	json_t *cl = json_object();
	json_object_set_new(cl, "address", json_string(s->addr));
	json_object_set_new(cl, "port", json_integer(s->port));
	json_object_set_new(cl, "rdns", json_string(s->rdns));
	json_object_set_new(cl, "rdns_verified", json_boolean(s->rdns_verified));
	json_object_set_new(o, "client", cl);
	json_object_set_new(o, "sender_group", json_string(s->group));
	json_object_set_new(o, "policy", json_string(rcv_tls_policy_name(s->policy)));
	json_object_set_new(o, "ehlo", json_string(s->ehlo));
	if (s->starttls_used)
		json_object_set_new(o, "ehlo_after_tls", json_string(s->ehlo_tls));
	json_object_set_new(o, "starttls_offered", json_boolean(s->starttls_offered));
	json_object_set_new(o, "starttls_used", json_boolean(s->starttls_used));
	json_object_set_new(o, "demo_certificate", json_boolean(s->l->demo));
	if (s->tlsrec)
		json_object_set(o, "tls", s->tlsrec);
	json_object_set_new(o, "injected_bytes", json_integer((json_int_t)s->injected));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)s->bytes_in));
	json_object_set(o, "messages", s->msgs);
	json_object_set(o, "commands", s->cmds);
	if (s->transcript_truncated)
		json_object_set_new(o, "commands_truncated", json_true());
	json_object_set_new(o, "outcome", json_string(s->outcome ? s->outcome : "closed"));
	json_object_set_new(o, "error", json_string(s->error));
	char *line = json_dumps(o, JSON_COMPACT);
	if (line) {
		rcv_records_append(line);
		free(line);
	}
	json_decref(o);
}

/* ---- messages ---- */

static void msg_abort(struct session *s, const char *why)
{
	if (!s->msg)
		return;
	if (s->spooling)
		rcv_spool_abort(&s->spool);
	s->spooling = false;
	json_object_set_new(s->msg, "reply", json_string(why));
	json_array_append(s->msgs, s->msg);
	json_decref(s->msg);
	s->msg = NULL;
	rcv_maillog("Message finished MID %llu aborted", (unsigned long long)s->mid);
}

static void msg_begin(struct session *s)
{
	s->mid = new_mid();
	s->rid = 0;
	s->msg = json_object();
	json_object_set_new(s->msg, "mid", json_integer((json_int_t)s->mid));
	json_object_set_new(s->msg, "from", json_string(s->smtp.from.addr));
	json_object_set_new(s->msg, "rcpts", json_array());
	rcv_maillog("Start MID %llu ICID %llu", (unsigned long long)s->mid,
	            (unsigned long long)s->icid);
	rcv_maillog("MID %llu ICID %llu From: <%s>", (unsigned long long)s->mid,
	            (unsigned long long)s->icid, s->smtp.from.addr);
}

static void data_begin(struct session *s)
{
	s->msg_size = 0;
	s->msg_toobig = s->msg_longline = s->msg_failed = false;
	s->spooling = false;
	if (cfg->discard)
		return;
	char qid[64];
	snprintf(qid, sizeof qid, "%llu", (unsigned long long)s->mid);
	struct mt_err e;
	if (rcv_spool_open(cfg->data_dir, qid, &s->spool, &e) != MT_OK) {
		rcv_maillog("MID %llu spool error: %s", (unsigned long long)s->mid, e.msg);
		s->msg_failed = true;
		return;
	}
	s->spooling = true;
	char date[64], tlsd[300] = "";
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (s->tls_up && s->tlsrec)
		snprintf(tlsd, sizeof tlsd, "\r\n\t(using %s with cipher %s)",
		         json_string_value(json_object_get(s->tlsrec, "protocol")),
		         json_string_value(json_object_get(s->tlsrec, "cipher")));
	struct mt_buf h;
	mt_buf_init(&h, 1 << 16);
	mt_buf_addf(&h, "Return-Path: <%s>\r\n", s->smtp.from.addr);
	for (size_t i = 0; i < s->smtp.nrcpts; i++)
		mt_buf_addf(&h, "X-Mailtls-Envelope-To: <%s>\r\n", s->smtp.rcpts[i]);
	mt_buf_addf(&h,
	            "Received: from %s (%s [%s])\r\n\tby %s (mailtls receiver) with %s id %llu"
	            "%s;\r\n\t%s\r\n",
	            s->smtp.helo[0] ? s->smtp.helo : "unknown", s->rdns[0] ? s->rdns : "unknown",
	            s->addr, s->hostname, s->tls_up ? "ESMTPS" : (s->smtp.esmtp ? "ESMTP" : "SMTP"),
	            (unsigned long long)s->mid, tlsd, date);
	rcv_spool_write(&s->spool, h.data, h.len);
	mt_buf_free(&h);
}

static void data_line(struct session *s, const char *line, size_t len, bool overlong)
{
	if (overlong)
		s->msg_longline = true;
	if (len && line[0] == '.') {
		line++;
		len--;
	}
	s->msg_size += len + 2;
	if (cfg->max_message_size && s->msg_size > cfg->max_message_size)
		s->msg_toobig = true;
	if (s->spooling && !s->msg_toobig && !s->msg_longline) {
		rcv_spool_write(&s->spool, line, len);
		rcv_spool_write(&s->spool, "\r\n", 2);
	}
}

static void data_finish(struct session *s, enum mt_smtp_data_outcome o, const char *file);

static void data_end(struct session *s)
{
	enum mt_smtp_data_outcome o = MT_SMTP_DATA_STORED;
	char qid[64], file[600] = "";
	struct mt_err e;
	snprintf(qid, sizeof qid, "%llu", (unsigned long long)s->mid);
	if (s->msg_toobig)
		o = MT_SMTP_DATA_TOOBIG;
	else if (s->msg_longline)
		o = MT_SMTP_DATA_LONGLINE;
	else if (s->msg_failed)
		o = MT_SMTP_DATA_TEMPFAIL;
	if (o != MT_SMTP_DATA_STORED) {
		if (s->spooling)
			rcv_spool_abort(&s->spool);
	} else if (s->spooling && commitsrc.fd >= 0) {
		s->spooling = false;
		if (rcv_commit_submit(&s->spool, s->fd, s->icid)) {
			set_state(s, RS_COMMIT); /* the reply waits for the worker */
			return;
		}
		rcv_spool_abort(&s->spool);
		o = MT_SMTP_DATA_TEMPFAIL;
	} else if (s->spooling) {
		if (rcv_spool_commit(&s->spool, &e) != MT_OK) {
			rcv_maillog("MID %llu spool error: %s", (unsigned long long)s->mid, e.msg);
			o = MT_SMTP_DATA_TEMPFAIL;
		} else {
			mt_strlcpy(file, s->spool.final, sizeof file);
		}
	}
	data_finish(s, o, file);
}

/* Reply to the end of a message, record and log it. */
static void data_finish(struct session *s, enum mt_smtp_data_outcome o, const char *file)
{
	char qid[64];
	snprintf(qid, sizeof qid, "%llu", (unsigned long long)s->mid);
	s->spooling = false;
	size_t from = s->wbuf.len;
	mt_smtp_srv_data_end(&s->smtp, o, qid, &s->wbuf);
	transcript_replies(s, from);
	char reply[256];
	size_t rl = s->wbuf.len - from;
	printable(s->wbuf.data + from, rl >= 2 ? rl - 2 : rl, reply, sizeof reply);
	if (s->msg) {
		json_object_set_new(s->msg, "size", json_integer((json_int_t)s->msg_size));
		json_object_set_new(s->msg, "reply", json_string(reply));
		json_object_set_new(s->msg, "file", json_string(file));
		json_object_set_new(s->msg, "discarded",
		                    json_boolean(cfg->discard && o == MT_SMTP_DATA_STORED));
		json_array_append(s->msgs, s->msg);
		json_decref(s->msg);
		s->msg = NULL;
	}
	if (o == MT_SMTP_DATA_STORED) {
		rcv_maillog("MID %llu ready %llu bytes from <%s>", (unsigned long long)s->mid,
		            s->msg_size,
		            json_string_value(json_object_get(
		                json_array_get(s->msgs, json_array_size(s->msgs) - 1), "from")));
		if (cfg->discard)
			rcv_maillog("MID %llu discarded (discard mode)",
			            (unsigned long long)s->mid);
		else
			rcv_maillog("MID %llu queued as %s", (unsigned long long)s->mid, file);
		rcv_maillog("Message finished MID %llu done", (unsigned long long)s->mid);
	} else {
		rcv_maillog("MID %llu rejected: %s", (unsigned long long)s->mid, reply);
		rcv_maillog("Message finished MID %llu aborted", (unsigned long long)s->mid);
	}
	s->mid = 0;
	set_state(s, RS_COMMAND);
}

/* ---- commands ---- */

static void begin_close(struct session *s, const char *outcome)
{
	if (!s->outcome || !strcmp(s->outcome, "closed"))
		s->outcome = outcome;
	set_state(s, RS_CLOSING);
}

static void queue_reply(struct session *s, const char *line)
{
	size_t from = s->wbuf.len;
	mt_buf_addf(&s->wbuf, "%s\r\n", line);
	transcript_replies(s, from);
}

static void handle_command(struct session *s, const char *line, size_t len, bool overlong)
{
	transcript(s, "in", line, len);
	if (overlong) {
		queue_reply(s, "500 5.5.2 Error: line too long");
		s->smtp.nerrors++;
		s->smtp.ncmds++;
		goto limits;
	}
	enum mt_smtp_srv_state before = s->smtp.state;
	size_t from = s->wbuf.len;
	struct mt_smtp_srv_res r = mt_smtp_srv_line(&s->smtp, line, len, &s->wbuf);
	transcript_replies(s, from);
	if ((r.verb == MT_SMTP_V_EHLO || r.verb == MT_SMTP_V_HELO) && r.code == 250) {
		char *dst = s->tls_up ? s->ehlo_tls : s->ehlo;
		mt_strlcpy(dst, s->smtp.helo, sizeof s->ehlo);
		if (r.verb == MT_SMTP_V_EHLO && s->scfg.starttls && !s->tls_up)
			s->starttls_offered = true;
		if (before == MT_SMTPS_MAIL || before == MT_SMTPS_RCPT)
			msg_abort(s, "aborted by HELO/EHLO");
	}
	if (r.verb == MT_SMTP_V_RSET && s->msg)
		msg_abort(s, "aborted by RSET");
	if (r.verb == MT_SMTP_V_MAIL && r.code == 250)
		msg_begin(s);
	if (r.verb == MT_SMTP_V_MAIL && r.code == 530)
		rcv_maillog("ICID %llu Receiving Failed: MAIL before STARTTLS under policy %s: 530 "
		            "5.7.0 Must issue a STARTTLS command first",
		            (unsigned long long)s->icid, rcv_tls_policy_name(s->policy));
	if (r.verb == MT_SMTP_V_RCPT && r.code == 250 && s->msg) {
		const char *a = s->smtp.rcpts[s->smtp.nrcpts - 1];
		json_array_append_new(json_object_get(s->msg, "rcpts"), json_string(a));
		rcv_maillog("MID %llu ICID %llu RID %u To: <%s>", (unsigned long long)s->mid,
		            (unsigned long long)s->icid, s->rid++, a);
	}
	if (r.act == MT_SMTP_ACT_DATA) {
		data_begin(s);
		set_state(s, RS_DATA);
		return;
	}
	if (r.act == MT_SMTP_ACT_STARTTLS) {
		s->starttls_used = true;
		set_state(s, RS_HANDSHAKE);
		return;
	}
	if (r.act == MT_SMTP_ACT_CLOSE) {
		if (s->msg)
			msg_abort(s, "aborted by QUIT");
		begin_close(s, "quit");
		return;
	}
limits:
	if (cfg->max_commands && s->smtp.ncmds >= cfg->max_commands) {
		queue_reply(s, "421 4.7.0 Error: too many commands in this session");
		snprintf(s->error, sizeof s->error, "command limit %u reached", cfg->max_commands);
		begin_close(s, "limit");
	} else if (cfg->max_errors && s->smtp.nerrors >= cfg->max_errors) {
		queue_reply(s, "421 4.7.0 Error: too many errors");
		snprintf(s->error, sizeof s->error, "error limit %u reached", cfg->max_errors);
		begin_close(s, "limit");
	}
}

/* Handle every complete line in rbuf. */
static void process_input(struct session *s)
{
	size_t pos = 0;
	while (pos < s->rlen && (s->state == RS_COMMAND || s->state == RS_DATA)) {
		char *nl = memchr(s->rbuf + pos, '\n', s->rlen - pos);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (s->rbuf + pos));
		const char *line = s->rbuf + pos;
		pos += len + 1;
		if (len && line[len - 1] == '\r')
			len--;
		bool overlong = s->skipping || len > cfg->max_line;
		s->skipping = false;
		if (s->state == RS_COMMAND) {
			handle_command(s, line, overlong ? 0 : len, overlong);
		} else if (len == 1 && line[0] == '.' && !overlong) {
			data_end(s);
		} else {
			data_line(s, line, len, overlong);
		}
		if (s->state == RS_HANDSHAKE) {
			/* CVE-2011-0411: nothing sent after STARTTLS is a command */
			s->injected += s->rlen - pos;
			if (s->rlen > pos)
				rcv_maillog("ICID %llu STARTTLS: %zu bytes of plaintext pipelined "
				            "after STARTTLS discarded",
				            (unsigned long long)s->icid, s->rlen - pos);
			pos = s->rlen;
		}
	}
	if (s->state == RS_CLOSING)
		pos = s->rlen;
	memmove(s->rbuf, s->rbuf + pos, s->rlen - pos);
	s->rlen -= pos;
	/* a partial line longer than the limit: drop what we have, skip to its end (in other
	 * states the rest may hold complete lines not handled yet) */
	if ((s->state == RS_COMMAND || s->state == RS_DATA) && s->rlen > cfg->max_line + 1) {
		if (s->state == RS_DATA)
			data_line(s, "", 0, true), s->msg_size += s->rlen;
		s->rlen = 0;
		s->skipping = true;
	}
}

/* ---- I/O ---- */

static void close_session(struct session *s);

/* Send what is queued. Returns false if the session died. */
static bool flush_out(struct session *s)
{
	struct mt_err e;
	while (s->woff < s->wbuf.len) {
		size_t n = s->wbuf.len - s->woff, sent = 0;
		if (s->tls_up) {
			enum mt_tls_io r =
			    mt_tls_srv_send(s->tls, s->wbuf.data + s->woff, n, &sent, &e);
			if (r == MT_TLS_IO_WANT_READ || r == MT_TLS_IO_WANT_WRITE) {
				set_events(s, r == MT_TLS_IO_WANT_READ ? EPOLLIN : EPOLLOUT);
				return true;
			}
			if (r != MT_TLS_IO_OK) {
				mt_strlcpy(s->error, e.msg, sizeof s->error);
				s->outcome = "lost";
				close_session(s);
				return false;
			}
		} else {
			ssize_t w = send(s->fd, s->wbuf.data + s->woff, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				set_events(s, EPOLLOUT);
				return true;
			}
			if (w <= 0) {
				snprintf(s->error, sizeof s->error, "send: %s", strerror(errno));
				s->outcome = "lost";
				close_session(s);
				return false;
			}
			sent = (size_t)w;
		}
		s->woff += sent;
	}
	mt_buf_reset(&s->wbuf);
	s->woff = 0;
	if (s->wbuf.cap > 16384) {
		/* a burst of replies grew it: give the memory back for idle sessions */
		mt_buf_free(&s->wbuf);
		mt_buf_init(&s->wbuf, 1 << 20);
	}
	return true;
}

static bool tls_step(struct session *s);

/* After the output drained: act on states that wait for it. Returns false if gone. */
static bool after_flush(struct session *s)
{
	if (s->woff < s->wbuf.len)
		return true;
	if (s->state == RS_CLOSING) {
		close_session(s);
		return false;
	}
	if (s->state == RS_HANDSHAKE)
		return tls_step(s);
	update_events(s);
	return true;
}

static bool do_read(struct session *s);

/* Returns false if the session is gone. */
static bool tls_done(struct session *s)
{
	struct mt_tls_info info;
	mt_tls_srv_get_info(s->tls, &info);
	char sni[256];
	mt_tls_srv_sni(s->tls, sni, sizeof sni);
	s->tls_up = true;
	json_t *t = s->tlsrec;
	json_object_set_new(t, "established", json_true());
	json_object_set_new(t, "protocol", json_string(info.protocol));
	json_object_set_new(t, "cipher", json_string(info.cipher));
	json_object_set_new(t, "openssl_cipher", json_string(info.openssl_cipher));
	json_object_set_new(t, "kx", json_string(info.kx));
	json_object_set_new(t, "sni", json_string(sni));
	json_object_set_new(t, "client_cert_requested", json_boolean(s->request_cert));
	json_object_set_new(t, "client_cert_sent", json_boolean(info.client_cert_sent));
	bool verified = false;
	const unsigned char *ders[MT_MAX_CHAIN];
	size_t lens[MT_MAX_CHAIN];
	size_t n = mt_tls_srv_peer_chain(s->tls, ders, lens, MT_MAX_CHAIN);
	if (n > 0) {
		struct mt_verify_opts vo;
		struct mt_verify_result vr;
		struct mt_err e;
		mt_verify_opts_init(&vo);
		vo.cafile = cfg->client_ca;
		vo.no_system_ca = cfg->client_ca != NULL;
		memset(&vr, 0, sizeof vr);
		json_t *cc = json_object();
		if (mt_verify_chain(ders, lens, n < MT_MAX_CHAIN ? n : MT_MAX_CHAIN, &vo, &vr,
		                    &e) == MT_OK) {
			verified = vr.trusted;
			json_object_set_new(cc, "subject", json_string(vr.certs[0].subject));
			json_object_set_new(cc, "issuer", json_string(vr.certs[0].issuer));
			json_object_set_new(cc, "trusted", json_boolean(vr.trusted));
			json_object_set_new(cc, "verify", json_string(vr.trust_text));
			json_t *chain = json_array(), *faults = json_array();
			for (size_t i = 0; i < vr.ncerts; i++) {
				json_t *c = json_object();
				json_object_set_new(c, "subject", json_string(vr.certs[i].subject));
				json_object_set_new(c, "issuer", json_string(vr.certs[i].issuer));
				json_object_set_new(c, "sha256", json_string(vr.certs[i].sha256));
				json_array_append_new(chain, c);
			}
			for (size_t i = 0; i < vr.nfindings; i++)
				json_array_append_new(
				    faults, json_string(mt_fault_name(vr.findings[i].fault)));
			json_object_set_new(cc, "chain", chain);
			json_object_set_new(cc, "faults", faults);
		} else {
			json_object_set_new(cc, "trusted", json_false());
			json_object_set_new(cc, "verify", json_string(e.msg));
		}
		mt_verify_result_free(&vr);
		json_object_set_new(t, "client_cert", cc);
		rcv_maillog("ICID %llu TLS client certificate %s: %s", (unsigned long long)s->icid,
		            verified ? "verified" : "not verified",
		            json_string_value(json_object_get(cc, "subject"))
		                ? json_string_value(json_object_get(cc, "subject"))
		                : "?");
	}
	if (s->policy == RCV_TLS_REQUIRED_VERIFY && !verified)
		s->scfg.refuse_mail = n ? "530 5.7.0 Client certificate did not verify"
		                        : "530 5.7.0 A verified client certificate is required";
	rcv_maillog("ICID %llu TLS success protocol %s cipher %s", (unsigned long long)s->icid,
	            info.protocol, info.openssl_cipher[0] ? info.openssl_cipher : info.cipher);
	mt_smtp_srv_tls_started(&s->smtp);
	set_state(s, RS_COMMAND);
	return do_read(s); /* the client may already have sent EHLO, inside TLS */
}

/* One handshake step; returns false if the session is gone. */
static bool tls_step(struct session *s)
{
	struct mt_err e;
	if (!s->tls) {
		s->tlsrec = json_object();
		if (!s->l->cred ||
		    mt_tls_srv_new(s->fd, s->l->cred, s->request_cert, &s->tls, &e) != MT_OK) {
			mt_strlcpy(s->error, s->l->cred ? e.msg : "no certificate",
			           sizeof s->error);
			goto failed;
		}
	}
	enum mt_tls_io r = mt_tls_srv_handshake_step(s->tls, &e);
	if (r == MT_TLS_IO_OK) {
		return tls_done(s);
	}
	if (r == MT_TLS_IO_WANT_READ || r == MT_TLS_IO_WANT_WRITE) {
		set_events(s, r == MT_TLS_IO_WANT_READ ? EPOLLIN : EPOLLOUT);
		return true;
	}
	mt_strlcpy(s->error, e.msg, sizeof s->error);
failed:
	json_object_set_new(s->tlsrec, "established", json_false());
	json_object_set_new(s->tlsrec, "error", json_string(s->error));
	rcv_maillog("ICID %llu TLS failed: %s", (unsigned long long)s->icid, s->error);
	mt_smtp_srv_tls_failed(&s->smtp);
	s->outcome = "tls-failed";
	close_session(s);
	return false;
}

/* Read what is there and handle it; returns false if the session is gone. */
static bool do_read(struct session *s)
{
	struct mt_err e;
	for (;;) {
		if (s->state != RS_COMMAND && s->state != RS_DATA)
			break;
		if (s->woff < s->wbuf.len)
			break; /* replies still going out: stop taking input (backpressure) */
		size_t room = s->rcap - s->rlen;
		size_t got = 0;
		if (s->tls_up) {
			enum mt_tls_io r =
			    mt_tls_srv_recv(s->tls, s->rbuf + s->rlen, room, &got, &e);
			if (r == MT_TLS_IO_WANT_READ || r == MT_TLS_IO_WANT_WRITE) {
				set_events(s, r == MT_TLS_IO_WANT_READ ? EPOLLIN : EPOLLOUT);
				break;
			}
			if (r == MT_TLS_IO_EOF) {
				s->outcome = "lost";
				close_session(s);
				return false;
			}
			if (r != MT_TLS_IO_OK) {
				mt_strlcpy(s->error, e.msg, sizeof s->error);
				s->outcome = "lost";
				close_session(s);
				return false;
			}
		} else {
			ssize_t n = recv(s->fd, s->rbuf + s->rlen, room, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				if (n < 0)
					snprintf(s->error, sizeof s->error, "recv: %s",
					         strerror(errno));
				s->outcome = "lost";
				close_session(s);
				return false;
			}
			got = (size_t)n;
		}
		s->bytes_in += got;
		s->rlen += got;
		/* any input restarts the idle timer of this phase */
		s->phase_deadline = mt_now_ms() + (s->state == RS_DATA ? cfg->timeout_data_ms
		                                                       : cfg->timeout_command_ms);
		process_input(s);
		if (s->state == RS_HANDSHAKE || s->state == RS_CLOSING)
			break;
	}
	if (!flush_out(s))
		return false;
	return after_flush(s);
}

static void greet(struct session *s)
{
	const struct rcv_group *g =
	    rcv_hat_lookup(cfg, (struct sockaddr *)&s->ss, s->rdns_verified ? s->rdns : NULL);
	mt_strlcpy(s->group, g ? g->name : "DEFAULT", sizeof s->group);
	s->policy = g ? g->policy : RCV_TLS_PREFERRED;
	s->request_cert = g ? (g->request_cert || g->policy == RCV_TLS_PREFERRED_VERIFY ||
	                       g->policy == RCV_TLS_REQUIRED_VERIFY)
	                    : false;
	s->match[0] = '\0';
	if (g)
		for (size_t k = 0; k < g->nm && !s->match[0]; k++) {
			const struct rcv_match *m = &g->m[k];
			if (m->kind == RCV_M_ALL)
				mt_strlcpy(s->match, "ALL", sizeof s->match);
			else if (m->kind == RCV_M_CIDR) {
				char a[64];
				inet_ntop(m->family, m->addr, a, sizeof a);
				snprintf(s->match, sizeof s->match, "%s/%u", a, m->prefix);
			} else
				mt_strlcpy(s->match, m->name, sizeof s->match);
		}
	mt_strlcpy(s->hostname, cfg->hostname, sizeof s->hostname);
	s->scfg.hostname = s->hostname;
	s->scfg.max_size = cfg->max_message_size;
	s->scfg.max_rcpts = cfg->max_rcpts;
	s->scfg.starttls = s->policy != RCV_TLS_OFF && s->l->cred != NULL;
	s->scfg.tls_required =
	    s->policy == RCV_TLS_REQUIRED || s->policy == RCV_TLS_REQUIRED_VERIFY;
	s->scfg.rcpt_ok = rcv_domain_ok;
	s->scfg.rcpt_arg = cfg;
	mt_smtp_srv_init(&s->smtp, &s->scfg);
	rcv_maillog(
	    "New SMTP ICID %llu interface %s (%s) address %s reverse dns host %s verified %s",
	    (unsigned long long)s->icid, s->l->addr, s->l->host, s->addr,
	    s->rdns[0] ? s->rdns : "unknown", s->rdns_verified ? "yes" : "no");
	rcv_maillog("ICID %llu ACCEPT SG %s match %s SBRS None", (unsigned long long)s->icid,
	            s->group, s->match[0] ? s->match : "ALL");
	size_t from = s->wbuf.len;
	mt_smtp_srv_greeting(&s->smtp, &s->wbuf);
	transcript_replies(s, from);
	set_state(s, RS_COMMAND);
	if (flush_out(s))
		after_flush(s);
}

static void close_session(struct session *s)
{
	if (s->msg)
		msg_abort(s, s->outcome && !strcmp(s->outcome, "shutdown") ? "421 shutdown"
		                                                           : "connection ended");
	if (s->tls) {
		if (s->tls_up)
			mt_tls_srv_bye(s->tls); /* one non-blocking try; never wait */
		mt_tls_srv_free(s->tls);
	}
	if (s->outcome && strcmp(s->outcome, "quit") && strcmp(s->outcome, "tls-failed"))
		rcv_maillog("ICID %llu lost%s%s", (unsigned long long)s->icid,
		            s->error[0] ? ": " : "", s->error);
	rcv_maillog("ICID %llu close", (unsigned long long)s->icid);
	write_record(s);
	epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if ((size_t)s->fd < nbyfd)
		byfd[s->fd] = NULL;
	close(s->fd);
	client_count(s->addr, -1);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	nsessions--;
	mt_smtp_srv_free(&s->smtp);
	mt_buf_free(&s->wbuf);
	json_decref(s->cmds);
	json_decref(s->msgs);
	json_decref(s->tlsrec);
	free(s->rbuf);
	free(s);
}

static void addr_of(const struct sockaddr_storage *ss, char *out, size_t outsz, unsigned *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, (const unsigned char *)&a->sin6_addr + 12, out,
			          (socklen_t)outsz);
		else
			inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)outsz);
		*port = ntohs(a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)outsz);
		*port = ntohs(a->sin_port);
	}
}

static void refuse(int fd, const char *line)
{
	ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	close(fd);
}

static void do_accept(struct listener *l)
{
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rcv_maillog("accept on %s: %s", l->addr, strerror(errno));
			return;
		}
		char addr[64];
		unsigned port;
		addr_of(&ss, addr, sizeof addr, &port);
		if (cfg->max_sessions && nsessions >= cfg->max_sessions) {
			rcv_maillog("connection from %s refused: %u sessions (max_sessions)", addr,
			            nsessions);
			refuse(fd, "421 4.7.0 Error: too many connections, try again later\r\n");
			continue;
		}
		if (cfg->max_per_client && client_count(addr, 0) >= cfg->max_per_client) {
			rcv_maillog("connection from %s refused: %u sessions from this address "
			            "(max_per_client)",
			            addr, cfg->max_per_client);
			refuse(fd, "421 4.7.0 Error: too many connections from your address\r\n");
			continue;
		}
		struct session *s = calloc(1, sizeof *s);
		size_t rcap = cfg->max_line + 2 > 4096 ? cfg->max_line + 2 : 4096;
		char *rb = malloc(rcap);
		json_t *cmds = json_array(), *msgs = json_array();
		if (!s || !rb || !cmds || !msgs) {
			free(s);
			free(rb);
			json_decref(cmds);
			json_decref(msgs);
			refuse(fd, "421 4.3.1 Error: insufficient system resources\r\n");
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		s->kind = EP_SESSION;
		s->fd = fd;
		s->l = l;
		s->ss = ss;
		mt_strlcpy(s->addr, addr, sizeof s->addr);
		s->port = port;
		s->rbuf = rb;
		s->rcap = rcap;
		s->cmds = cmds;
		s->msgs = msgs;
		mt_buf_init(&s->wbuf, 1 << 20);
		s->icid = new_icid();
		s->t0 = mt_now_ms();
		clock_gettime(CLOCK_REALTIME, &s->start_ts);
		s->deadline = s->t0 + cfg->session_deadline_ms;
		s->outcome = NULL;
		s->next = sessions;
		if (sessions)
			sessions->prev = s;
		sessions = s;
		nsessions++;
		client_count(addr, +1);
		struct epoll_event e = {.events = 0, .data.ptr = s};
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
		if ((size_t)fd < nbyfd)
			byfd[fd] = s;
		s->state = RS_LOOKUP;
		s->phase_deadline = s->t0 + cfg->timeout_command_ms;
		if (cfg->reverse_dns && rdnssrc.fd >= 0)
			rcv_rdns_submit(fd, s->icid, &ss);
		else
			greet(s);
	}
}

static struct session *find_session(int fd, uint64_t icid)
{
	if (fd < 0 || (size_t)fd >= nbyfd || !byfd[fd] || byfd[fd]->icid != icid)
		return NULL;
	return byfd[fd];
}

static void on_commit(void)
{
	struct rcv_commit_res res[64];
	size_t n = rcv_commit_collect(res, 64);
	for (size_t i = 0; i < n; i++) {
		if (res[i].st != MT_OK)
			rcv_maillog("ICID %llu spool error: %s", (unsigned long long)res[i].icid,
			            res[i].err);
		struct session *s = find_session(res[i].fd, res[i].icid);
		if (!s || s->state != RS_COMMIT)
			continue; /* the client left: the message stays (SMTP may duplicate) */
		data_finish(s, res[i].st == MT_OK ? MT_SMTP_DATA_STORED : MT_SMTP_DATA_TEMPFAIL,
		            res[i].st == MT_OK ? res[i].final : "");
		process_input(s); /* commands pipelined after the dot */
		do_read(s);
	}
}

static void on_rdns(void)
{
	struct rcv_rdns_res res[64];
	size_t n = rcv_rdns_collect(res, 64);
	for (size_t i = 0; i < n; i++) {
		struct session *s = find_session(res[i].fd, res[i].icid);
		if (!s || s->state != RS_LOOKUP)
			continue;
		mt_strlcpy(s->rdns, res[i].name, sizeof s->rdns);
		s->rdns_verified = res[i].verified;
		greet(s);
	}
}

static void on_session(struct session *s, uint32_t ev)
{
	if (s->state == RS_COMMIT && (ev & (EPOLLERR | EPOLLHUP))) {
		s->outcome = "lost";
		snprintf(s->error, sizeof s->error, "connection lost while the message was synced");
		close_session(s);
		return;
	}
	if (s->state == RS_LOOKUP || s->state == RS_COMMIT)
		return;
	if (ev & EPOLLERR) {
		s->outcome = "lost";
		snprintf(s->error, sizeof s->error, "socket error");
		close_session(s);
		return;
	}
	if (s->woff < s->wbuf.len) {
		if (!flush_out(s))
			return;
		if (s->woff < s->wbuf.len)
			return;
		if (!after_flush(s))
			return;
		if (s->state == RS_COMMAND || s->state == RS_DATA)
			do_read(s); /* input may wait in the buffers (TLS) */
		return;
	}
	switch (s->state) {
	case RS_HANDSHAKE:
		tls_step(s);
		break;
	case RS_COMMAND:
	case RS_DATA:
		do_read(s);
		break;
	case RS_CLOSING:
		close_session(s);
		break;
	default:
		break;
	}
}

/* ---- timers, shutdown ---- */

static void timeout_session(struct session *s, bool overall)
{
	snprintf(s->error, sizeof s->error, "%s in state %s",
	         overall ? "session deadline passed" : "timeout", rs_names[s->state]);
	if (s->state == RS_HANDSHAKE && s->tls) {
		json_object_set_new(s->tlsrec, "established", json_false());
		json_object_set_new(s->tlsrec, "error", json_string("handshake timed out"));
		rcv_maillog("ICID %llu TLS failed: handshake timed out",
		            (unsigned long long)s->icid);
	}
	s->outcome = "timeout";
	if (s->state == RS_CLOSING || s->state == RS_HANDSHAKE || s->state == RS_LOOKUP ||
	    s->state == RS_COMMIT) {
		close_session(s);
		return;
	}
	if (s->state == RS_DATA && s->msg)
		msg_abort(s, "timeout");
	mt_buf_reset(&s->wbuf);
	s->woff = 0;
	char line[400];
	snprintf(line, sizeof line, "421 4.4.2 %s Error: timeout exceeded", cfg->hostname);
	queue_reply(s, line);
	begin_close(s, "timeout");
	if (flush_out(s))
		after_flush(s);
}

static void shutdown_session(struct session *s, bool force)
{
	char line[400];
	snprintf(line, sizeof line, "421 4.3.2 %s Service shutting down, try again later",
	         cfg->hostname);
	if (s->state == RS_LOOKUP || s->state == RS_HANDSHAKE) {
		s->outcome = "shutdown";
		close_session(s);
		return;
	}
	if (s->state == RS_COMMIT) {
		if (force)
			close_session(s); /* the worker still finishes the file */
		return;
	}
	if (s->state == RS_DATA) {
		if (!force)
			return; /* let it finish within the grace period */
		if (s->spooling)
			rcv_spool_abort(&s->spool);
		s->spooling = false;
		size_t from = s->wbuf.len;
		mt_smtp_srv_data_end(&s->smtp, MT_SMTP_DATA_SHUTDOWN, NULL, &s->wbuf);
		transcript_replies(s, from);
		if (s->msg)
			msg_abort(s, "421 4.3.2 shutdown");
	} else if (s->state == RS_COMMAND) {
		if (s->woff < s->wbuf.len && !force)
			return;
		queue_reply(s, line);
	} else if (s->state == RS_CLOSING) {
		if (force)
			close_session(s);
		return;
	}
	s->outcome = "shutdown";
	begin_close(s, "shutdown");
	if (flush_out(s))
		after_flush(s);
}

static void check_timers(void)
{
	int64_t now = mt_now_ms();
	bool force = shutting_down && now >= shutdown_at;
	for (struct session *s = sessions, *next; s; s = next) {
		next = s->next;
		if (shutting_down && s->state != RS_CLOSING) {
			shutdown_session(s, force);
			continue;
		}
		if (force && s->state == RS_CLOSING) {
			close_session(s);
			continue;
		}
		if (now >= s->deadline)
			timeout_session(s, true);
		else if (now >= s->phase_deadline)
			timeout_session(s, false);
	}
}

/* ---- listeners and certificates ---- */

static mt_status load_cred(struct listener *l, const struct rcv_listen_cfg *lc, struct mt_err *err)
{
	char *cert = NULL, *key = NULL;
	bool demo = false;
	mt_status st;
	if (lc->cert) {
		cert = mt_strdup(lc->cert);
		key = lc->key ? mt_strdup(lc->key) : NULL;
	} else if ((st = rcv_cert_default(cfg, &cert, &key, &demo, err)) != MT_OK) {
		return st;
	}
	if (key && (st = rcv_cert_check_key_mode(key, err)) != MT_OK)
		goto out;
	if (!key && !(strlen(cert) > 4 && (strstr(cert, ".p12") || strstr(cert, ".pfx"))) &&
	    (st = rcv_cert_check_key_mode(cert, err)) != MT_OK)
		goto out; /* key inside the PEM: the same rule applies to that file */
	struct mt_tls_srv_cred_opts o = {.cert_file = cert,
	                                 .key_file = key,
	                                 .password = cfg->key_password,
	                                 .priority = cfg->tls_priority};
	struct mt_tls_srv_cred *c;
	if ((st = mt_tls_srv_cred_new(&o, &c, err)) != MT_OK)
		goto out;
	mt_tls_srv_cred_unref(l->cred);
	l->cred = c;
	l->demo = demo;
	mt_strlcpy(l->cert_path, cert, sizeof l->cert_path);
	if (demo)
		rcv_maillog("TLS: listener %s uses the DEMONSTRATION certificate %s (made on first "
		            "start, not for production; its CA is %s/certs/demo-ca.pem)",
		            l->addr, cert, cfg->data_dir);
	else
		rcv_maillog("TLS: listener %s uses certificate %s", l->addr, cert);
out:
	free(cert);
	free(key);
	return st;
}

static mt_status bind_listener(struct listener *l, const struct rcv_listen_cfg *lc,
                               struct mt_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, lc->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)lc->port);
		sl = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (void *)&ss;
		if (inet_pton(AF_INET6, lc->host, &a->sin6_addr) != 1)
			return mt_err_set(err, MT_ERR_USAGE, "bad listen address %s", lc->host);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)lc->port);
		sl = sizeof *a;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 4096) != 0) {
		int e = errno;
		close(fd);
		return mt_err_set(err, MT_ERR_IO, "cannot listen on %s: %s", lc->addr, strerror(e));
	}
	l->kind = EP_LISTENER;
	l->fd = fd;
	mt_strlcpy(l->addr, lc->addr, sizeof l->addr);
	mt_strlcpy(l->host, lc->host, sizeof l->host);
	return MT_OK;
}

static void reload(rcv_reload_fn fn)
{
	struct rcv_config *nc = calloc(1, sizeof *nc);
	struct mt_err e;
	if (!nc)
		return;
	if (fn(nc, &e) != MT_OK) {
		rcv_maillog("SIGHUP: configuration not reloaded: %s", e.msg);
		fprintf(stderr, "receiver: SIGHUP: configuration not reloaded: %s\n", e.msg);
		rcv_config_free(nc);
		free(nc);
		return;
	}
	bool same = nc->nlisten == nlisteners;
	for (size_t i = 0; same && i < nlisteners; i++)
		same = !strcmp(nc->listen[i].addr, listeners[i].addr);
	if (!same)
		rcv_maillog(
		    "SIGHUP: listen addresses changed; keeping the bound listeners (restart "
		    "to change them)");
	struct rcv_config **r = realloc(retired, (nretired + 1) * sizeof *r);
	if (!r) {
		rcv_config_free(nc);
		free(nc);
		return;
	}
	retired = r;
	retired[nretired++] = cfg;
	cfg = nc;
	for (size_t i = 0; i < nlisteners; i++) {
		const struct rcv_listen_cfg *lc = i < cfg->nlisten ? &cfg->listen[i] : NULL;
		struct rcv_listen_cfg dflt = {0};
		if (load_cred(&listeners[i], lc ? lc : &dflt, &e) != MT_OK)
			rcv_maillog("SIGHUP: listener %s keeps its certificate: %s",
			            listeners[i].addr, e.msg);
	}
	rcv_maillog("SIGHUP: configuration and certificates reloaded");
}

static mt_status drop_privileges(const char *user, struct mt_err *err)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return mt_err_set(err, MT_ERR_USAGE, "--user: no such user '%s'", user);
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return MT_OK;
		return mt_err_set(err, MT_ERR_USAGE, "--user %s needs the receiver started as root",
		                  user);
	}
	/* the files the loop keeps writing must stay writable after the switch */
	const char *rel[] = {"",    "spool",    "spool/new",      "spool/tmp",
	                     "ids", "mail.log", "sessions.jsonl", "certs"};
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		char *p = rcv_path(cfg, rel[i]);
		if (p && chown(p, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT)
			rcv_maillog("chown %s: %s", p, strerror(errno));
		free(p);
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		return mt_err_set(err, MT_ERR_INTERNAL, "cannot switch to user %s: %s", user,
		                  strerror(errno));
	if (setuid(0) == 0)
		return mt_err_set(err, MT_ERR_INTERNAL,
		                  "privileges could be regained after "
		                  "switching to %s; refusing to run",
		                  user);
	return MT_OK;
}

int rcv_server_run(struct rcv_config *c, rcv_reload_fn reload_fn)
{
	struct mt_err e;
	int rc = RCV_EXIT_OK;
	cfg = c;
	mt_err_clear(&e);
	if (mt_tls_global_init(&e) != MT_OK) {
		fprintf(stderr, "receiver: %s\n", e.msg);
		return RCV_EXIT_INTERNAL;
	}
	/* room for thousands of sessions */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	nbyfd =
	    getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 22) ? rl.rlim_cur : 65536;
	byfd = calloc(nbyfd, sizeof *byfd);
	if (!byfd) {
		fprintf(stderr, "receiver: out of memory\n");
		return RCV_EXIT_INTERNAL;
	}
	if (mkdir(cfg->data_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "receiver: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
		return RCV_EXIT_USAGE;
	}
	records_path = rcv_path(cfg, "sessions.jsonl");
	maillog_path = rcv_path(cfg, "mail.log");
	ids_path = rcv_path(cfg, "ids");
	mt_status st;
	if ((st = rcv_maillog_open(maillog_path, &e)) != MT_OK ||
	    (st = rcv_records_open(records_path, &e)) != MT_OK ||
	    (!cfg->discard && (st = rcv_spool_init(cfg->data_dir, &e)) != MT_OK)) {
		fprintf(stderr, "receiver: %s\n", e.msg);
		rc = RCV_EXIT_USAGE;
		goto out;
	}
	ids_reserve();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listener *l = &listeners[nlisteners];
		memset(l, 0, sizeof *l);
		if ((st = bind_listener(l, &cfg->listen[i], &e)) != MT_OK) {
			fprintf(stderr, "receiver: %s\n", e.msg);
			rc = RCV_EXIT_INTERNAL;
			goto out;
		}
		nlisteners++;
		if ((st = load_cred(l, &cfg->listen[i], &e)) != MT_OK) {
			fprintf(stderr, "receiver: listener %s: %s\n", l->addr, e.msg);
			rc = st == MT_ERR_INTERNAL || st == MT_ERR_NOMEM ? RCV_EXIT_INTERNAL
			                                                 : RCV_EXIT_USAGE;
			goto out;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
		epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev);
	}
	if (cfg->user && (st = drop_privileges(cfg->user, &e)) != MT_OK) {
		fprintf(stderr, "receiver: %s\n", e.msg);
		rc = st == MT_ERR_USAGE ? RCV_EXIT_USAGE : RCV_EXIT_INTERNAL;
		goto out;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigsrc.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &sigsrc};
	epoll_ctl(epfd, EPOLL_CTL_ADD, sigsrc.fd, &sev);
	if (!cfg->discard) {
		if (rcv_commit_start(4, &commitsrc.fd, &e) != MT_OK) {
			fprintf(stderr, "receiver: %s (syncing messages inline)\n", e.msg);
			commitsrc.fd = -1;
		} else {
			struct epoll_event cev = {.events = EPOLLIN, .data.ptr = &commitsrc};
			epoll_ctl(epfd, EPOLL_CTL_ADD, commitsrc.fd, &cev);
		}
	}
	if (cfg->reverse_dns) {
		if (rcv_rdns_start(4, &rdnssrc.fd, &e) != MT_OK) {
			fprintf(stderr, "receiver: %s (reverse DNS off)\n", e.msg);
			rdnssrc.fd = -1;
		} else {
			struct epoll_event rev = {.events = EPOLLIN, .data.ptr = &rdnssrc};
			epoll_ctl(epfd, EPOLL_CTL_ADD, rdnssrc.fd, &rev);
		}
	}
	for (size_t i = 0; i < nlisteners; i++)
		fprintf(stderr, "receiver: listening on %s%s (pid %ld)\n", listeners[i].addr,
		        listeners[i].demo ? " with the demonstration certificate" : "",
		        (long)getpid());
	rcv_maillog("receiver started, pid %ld, %zu listener(s), %s", (long)getpid(), nlisteners,
	            cfg->discard ? "discarding messages" : "spooling messages");

	struct epoll_event evs[256];
	int64_t next_scan = 0;
	for (;;) {
		if (shutting_down && nsessions == 0)
			break;
		int n = epoll_wait(epfd, evs, 256, 100);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "receiver: epoll_wait: %s\n", strerror(errno));
			rc = RCV_EXIT_INTERNAL;
			break;
		}
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;
			if (kind == EP_LISTENER) {
				if (!shutting_down)
					do_accept(evs[i].data.ptr);
			} else if (kind == EP_RDNS) {
				on_rdns();
			} else if (kind == EP_COMMIT) {
				on_commit();
			} else if (kind == EP_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(sigsrc.fd, &si, sizeof si) == sizeof si) {
					if (si.ssi_signo == SIGHUP && reload_fn) {
						reload(reload_fn);
					} else if (si.ssi_signo != SIGHUP && !shutting_down) {
						shutting_down = true;
						shutdown_at = mt_now_ms() + cfg->shutdown_grace_ms;
						rcv_maillog("receiver stopping (signal %u): %u "
						            "session(s) in flight",
						            si.ssi_signo, nsessions);
						for (size_t k = 0; k < nlisteners; k++) {
							epoll_ctl(epfd, EPOLL_CTL_DEL,
							          listeners[k].fd, NULL);
							close(listeners[k].fd);
							listeners[k].fd = -1;
						}
						next_scan = 0;
					}
				}
			} else {
				/* a session may have been closed by an earlier event in this
				 * batch only via its own event, so the pointer is valid */
				on_session(evs[i].data.ptr, evs[i].events);
			}
		}
		int64_t now = mt_now_ms();
		if (now >= next_scan) {
			check_timers();
			next_scan = now + 100;
		}
	}
	rcv_maillog("receiver stopped");
out:
	for (size_t i = 0; i < nlisteners; i++) {
		if (listeners[i].fd >= 0)
			close(listeners[i].fd);
		mt_tls_srv_cred_unref(listeners[i].cred);
	}
	nlisteners = 0;
	rcv_rdns_stop();
	rcv_commit_stop();
	commitsrc.fd = -1;
	free(byfd);
	byfd = NULL;
	nbyfd = 0;
	rcv_records_close();
	rcv_maillog_close();
	if (epfd >= 0)
		close(epfd);
	if (sigsrc.fd >= 0)
		close(sigsrc.fd);
	for (size_t i = 0; i < nretired; i++) {
		rcv_config_free(retired[i]);
		free(retired[i]);
	}
	free(retired);
	for (unsigned i = 0; i < CLIENT_BUCKETS; i++)
		while (client_tab[i]) {
			struct client_count *n = client_tab[i]->next;
			free(client_tab[i]);
			client_tab[i] = n;
		}
	free(records_path);
	free(maillog_path);
	free(ids_path);
	rcv_config_free(cfg);
	free(cfg);
	cfg = NULL;
	return rc;
}

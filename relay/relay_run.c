/* relay_run.c — the queue runner: scans the queue, hands due messages to worker threads,
 * records each outcome in the envelope, retries with backoff, bounces with a DSN (RFC 3464)
 * on permanent failure or after the maximum queue lifetime, and sends the ESA's TLS alert.
 *
 * One runner per queue (flock on relay.lock). SIGTERM/SIGINT stop it after the deliveries
 * in flight; SIGHUP does the same when the configuration file reads back cleanly, and the
 * caller then re-executes the relay (a reload); SIGUSR1 (relay flush) makes every message due
 * now. A worker holds the message file's flock while it delivers, so `relay delete` cannot
 * remove a message in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "relay_int.h"

static volatile sig_atomic_t stop_flag, flush_flag, scan_flag, hup_flag;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		flush_flag = 1;
	else if (sig == SIGHUP)
		hup_flag = 1;
	else if (sig == SIGUSR2)
		scan_flag = 1; /* new mail queued (relay inject) */
	else
		stop_flag = 1;
}

struct entry {
	uint64_t mid;
	time_t next_try;
	bool busy, tried, seen;
	char domain[96]; /* when every pending recipient is in one domain: reuse candidates */
};

struct runner {
	struct rl_config *c;
	struct rl_ctx x;
	bool once;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, idle_cv;
	struct entry *ents;
	size_t nents, cap;
	uint64_t *work; /* MIDs handed out, a ring */
	size_t wcap, whead, wlen;
	unsigned inflight;
	bool quit;
};

static struct entry *find(struct runner *r, uint64_t mid)
{
	/* ents is kept sorted by MID: the queue lists in order and new MIDs are larger */
	size_t lo = 0, hi = r->nents;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (r->ents[m].mid < mid)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < r->nents && r->ents[lo].mid == mid ? &r->ents[lo] : NULL;
}

/* ---- DSN and alerts ---- */

static void status_of(const char *reply, bool expired, char *out, size_t n)
{
	/* "550 5.1.1 ..." -> "5.1.1"; otherwise from the reply code's class */
	int a, b, c;
	const char *sp = strchr(reply, ' ');
	if (sp && sscanf(sp + 1, "%d.%d.%d", &a, &b, &c) == 3 && (a == 4 || a == 5)) {
		snprintf(out, n, "%d.%d.%d", expired ? 4 : a, b, c);
		return;
	}
	snprintf(out, n, "%s", expired ? "4.4.7" : "5.0.0");
}

mt_status rl_dsn_queue(const struct rl_config *c, const struct rl_msg *m, struct mt_err *err)
{
	if (!m->from[0] || m->is_dsn)
		return MT_OK; /* never bounce a bounce (RFC 5321 6.1) */
	struct mt_buf b;
	mt_buf_init(&b, 1u << 20);
	char date[64], bnd[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(bnd, sizeof bnd, "mailtls-dsn-%" PRIu64 "-%lld", m->mid, (long long)now);
	bool expired = strstr(m->last, "expired") != NULL;
	mt_buf_addf(&b,
		    "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
		    "To: <%s>\r\n"
		    "Subject: Undelivered Mail Returned to Sender\r\n"
		    "Date: %s\r\n"
		    "Message-ID: <dsn.%" PRIu64 ".%lld@%s>\r\n"
		    "Auto-Submitted: auto-replied\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		    "\tboundary=\"%s\"\r\n\r\n"
		    "This is a MIME-encapsulated message.\r\n\r\n--%s\r\n"
		    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		    "This is the mail relay at %s.\r\n\r\n"
		    "Your message (MID %" PRIu64 ") could not be delivered to the following "
		    "recipients:\r\n\r\n",
		    c->hostname, m->from, date, m->mid, (long long)now, c->hostname, bnd, bnd,
		    c->hostname, m->mid);
	for (size_t i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].state == RL_RCPT_FAILED && !m->rcpts[i].dsn_sent)
			mt_buf_addf(&b, "<%s>: %s\r\n", m->rcpts[i].addr, m->rcpts[i].reply);
	char arrival[64];
	localtime_r(&m->created, &tm);
	strftime(arrival, sizeof arrival, "%a, %d %b %Y %H:%M:%S %z", &tm);
	mt_buf_addf(&b,
		    "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
		    "Reporting-MTA: dns; %s\r\nX-Mailtls-Queue-ID: %" PRIu64 "\r\n"
		    "Arrival-Date: %s\r\n",
		    bnd, c->hostname, m->mid, arrival);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct rl_rcpt *r = &m->rcpts[i];
		if (r->state != RL_RCPT_FAILED || r->dsn_sent)
			continue;
		char st[16];
		status_of(r->reply, expired, st, sizeof st);
		mt_buf_addf(&b,
			    "\r\nFinal-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822; %s\r\n"
			    "Action: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s\r\n",
			    r->addr, r->addr, st, r->reply);
	}
	mt_buf_addf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", bnd);
	/* the original header, up to the first empty line */
	int fd = rl_queue_open_msg(c->queue_dir, m->mid);
	if (fd >= 0) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			char *end = strstr(buf, "\r\n\r\n");
			char *end2 = strstr(buf, "\n\n");
			size_t hl = (size_t)n;
			if (end && (!end2 || end < end2))
				hl = (size_t)(end - buf) + 2;
			else if (end2)
				hl = (size_t)(end2 - buf) + 1;
			/* normalise line ends to CRLF */
			for (size_t i = 0; i < hl; i++) {
				if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
					mt_buf_addc(&b, '\r');
				mt_buf_addc(&b, buf[i]);
			}
		}
	}
	mt_status st = mt_buf_addf(&b, "\r\n--%s--\r\n", bnd);
	if (st != MT_OK) {
		mt_buf_free(&b);
		return mt_err_set(err, MT_ERR_NOMEM, "DSN too large");
	}
	const char *to[1] = {m->from};
	uint64_t mid = 0;
	st = rl_queue_put_mem(c->queue_dir, b.data, b.len, "", to, 1, RL_PUT_DSN, &mid, err);
	mt_buf_free(&b);
	if (st == MT_OK) {
		rl_maillog("Info", "MID %" PRIu64 " DSN generated for MID %" PRIu64 " to <%s>", mid,
			   m->mid, m->from);
		rl_maillog("Info", "Start MID %" PRIu64 " ICID 0", mid);
		rl_maillog("Info", "MID %" PRIu64 " ICID 0 From: <>", mid);
		rl_maillog("Info", "MID %" PRIu64 " ICID 0 RID 0 To: <%s>", mid, m->from);
	}
	return st;
}

void rl_alert(struct rl_ctx *x, const struct rl_config *c, const char *domain, const char *cause,
	      uint64_t mid)
{
	rl_maillog("Warning",
		   "TLS alert: MID %" PRIu64 " to %s: TLS was required but could not be successfully "
		   "negotiated (%s)",
		   mid, domain, cause);
	if (!c->tls_alert || !c->nalert_to)
		return;
	time_t now = time(NULL);
	pthread_mutex_lock(&x->mu);
	struct rl_alert_seen *s;
	for (s = x->alerts; s; s = s->next)
		if (!strcmp(s->domain, domain))
			break;
	bool send = !s || now - s->last >= 3600;
	if (!s && (s = calloc(1, sizeof *s))) {
		mt_strlcpy(s->domain, domain, sizeof s->domain);
		s->next = x->alerts;
		x->alerts = s;
	}
	if (s && send)
		s->last = now;
	pthread_mutex_unlock(&x->mu);
	if (!send)
		return;
	struct mt_buf b;
	mt_buf_init(&b, 65536);
	char date[64];
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	mt_buf_addf(&b,
		    "From: mailtls relay <MAILER-DAEMON@%s>\r\nTo: ",
		    c->hostname);
	for (size_t i = 0; i < c->nalert_to; i++)
		mt_buf_addf(&b, "%s<%s>", i ? ", " : "", c->alert_to[i]);
	mt_buf_addf(&b,
		    "\r\nSubject: Warning <TLS> %s: TLS required for %s could not be negotiated\r\n"
		    "Date: %s\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		    "The Warning message is:\r\n\r\n"
		    "TLS is required for the destination domain %s, but it could not be\r\n"
		    "successfully negotiated.\r\n\r\n"
		    "Destination domain: %s\r\nCause: %s\r\nMessage: MID %" PRIu64 " (kept in the "
		    "queue)\r\nRelay: %s\r\n\r\n"
		    "Further alerts for this destination are suppressed for an hour.\r\n",
		    c->hostname, domain, date, domain, domain, cause, mid, c->hostname);
	const char *to[8];
	for (size_t i = 0; i < c->nalert_to; i++)
		to[i] = c->alert_to[i];
	uint64_t amid = 0;
	struct mt_err err;
	if (rl_queue_put_mem(c->queue_dir, b.data, b.len, "", to, c->nalert_to, RL_PUT_ALERT, &amid,
			     &err) == MT_OK)
		rl_maillog("Info", "MID %" PRIu64 " TLS alert about %s queued to %s%s", amid, domain,
			   c->alert_to[0], c->nalert_to > 1 ? " and others" : "");
	else
		rl_maillog("Warning", "TLS alert about %s could not be queued: %s", domain, err.msg);
	mt_buf_free(&b);
}

static void push_work(struct runner *r, uint64_t mid)
{
	if (r->wlen == r->wcap) {
		size_t nc = r->wcap ? r->wcap * 2 : 1024;
		uint64_t *nw = malloc(nc * sizeof *nw);
		if (!nw)
			return;
		for (size_t i = 0; i < r->wlen; i++)
			nw[i] = r->work[(r->whead + i) % r->wcap];
		free(r->work);
		r->work = nw;
		r->wcap = nc;
		r->whead = 0;
	}
	r->work[(r->whead + r->wlen) % r->wcap] = mid;
	r->wlen++;
}

/* ---- one message ---- */

/* After an attempt: bounce what failed (DSN), finish or reschedule the message. */
static void finish(struct runner *r, struct rl_msg *m)
{
	struct rl_config *c = r->c;
	uint64_t mid = m->mid;
	struct mt_err err;
	time_t now = time(NULL);
	size_t pending = 0, failed = 0;
	for (size_t i = 0; i < m->nrcpts; i++) {
		pending += m->rcpts[i].state == RL_RCPT_PENDING;
		failed += m->rcpts[i].state == RL_RCPT_FAILED && !m->rcpts[i].dsn_sent;
	}
	if (pending && now - m->created >= c->max_lifetime) {
		for (size_t i = 0; i < m->nrcpts; i++)
			if (m->rcpts[i].state == RL_RCPT_PENDING) {
				char why[512];
				snprintf(why, sizeof why, "delivery time expired after %ld s; last: %.400s",
					 (long)(now - m->created), m->rcpts[i].reply);
				mt_strlcpy(m->rcpts[i].reply, why, sizeof m->rcpts[i].reply);
				m->rcpts[i].state = RL_RCPT_FAILED;
				failed++;
			}
		mt_strlcpy(m->last, "expired", sizeof m->last);
		rl_maillog("Info", "MID %" PRIu64 " expired after %ld s in the queue", mid,
			   (long)(now - m->created));
		pending = 0;
	}
	if (failed) {
		for (size_t i = 0; i < m->nrcpts; i++)
			if (m->rcpts[i].state == RL_RCPT_FAILED && !m->rcpts[i].dsn_sent)
				rl_maillog("Info", "Bounced: MID %" PRIu64 " to <%s>: %s", mid,
					   m->rcpts[i].addr, m->rcpts[i].reply);
		if (rl_dsn_queue(c, m, &err) == MT_OK) {
			for (size_t i = 0; i < m->nrcpts; i++)
				if (m->rcpts[i].state == RL_RCPT_FAILED)
					m->rcpts[i].dsn_sent = true;
		} else {
			rl_maillog("Warning", "MID %" PRIu64 " DSN could not be queued: %s", mid,
				   err.msg);
		}
	}
	if (pending == 0) {
		rl_maillog("Info", "Message finished MID %" PRIu64 " done", mid);
		rl_queue_remove(c->queue_dir, mid, &err);
	} else {
		unsigned i = m->attempts ? m->attempts - 1 : 0;
		if (i >= c->nretry)
			i = (unsigned)c->nretry - 1;
		m->next_try = now + c->retry[i];
		if (rl_queue_save(c->queue_dir, m, &err) != MT_OK)
			rl_maillog("Warning", "MID %" PRIu64 ": %s", mid, err.msg);
		rl_maillog("Info", "MID %" PRIu64 " deferred (attempt %u, next in %u s): %s", mid,
			   m->attempts, c->retry[i], m->last);
	}
	pthread_mutex_lock(&r->mu);
	struct entry *e = find(r, mid);
	if (e)
		e->next_try = pending ? m->next_try : 0;
	pthread_mutex_unlock(&r->mu);
}

/* ---- connection reuse: hand a due message for the same domain to a busy session ---- */

static bool steal(void *arg, const char *domain, uint64_t *mid)
{
	struct runner *r = arg;
	bool found = false;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->wlen && i < 512 && !stop_flag; i++) {
		size_t slot = (r->whead + i) % r->wcap;
		uint64_t m = r->work[slot];
		if (!m)
			continue;
		struct entry *e = find(r, m);
		if (e && e->domain[0] && !strcmp(e->domain, domain)) {
			r->work[slot] = 0; /* a tombstone the workers skip */
			*mid = m;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return found;
}

static void giveback(void *arg, uint64_t mid, struct rl_msg *m)
{
	struct runner *r = arg;
	if (m)
		finish(r, m);
	pthread_mutex_lock(&r->mu);
	if (m) {
		struct entry *e = find(r, mid);
		if (e)
			e->busy = false;
	} else {
		push_work(r, mid);
		pthread_cond_signal(&r->work_cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/* The single destination domain of a message's pending recipients, or "". */
static void single_domain(const struct rl_msg *m, char *out, size_t outsz)
{
	out[0] = '\0';
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].state != RL_RCPT_PENDING)
			continue;
		char d[256];
		rl_addr_domain(m->rcpts[i].addr, d, sizeof d);
		if (!out[0] && strlen(d) < outsz)
			mt_strlcpy(out, d, outsz);
		else if (strcmp(out, d)) {
			out[0] = '\0';
			return;
		}
	}
}

static void process(struct runner *r, uint64_t mid)
{
	struct rl_config *c = r->c;
	int lk = rl_queue_lock_msg(c->queue_dir, mid);
	if (lk < 0)
		return; /* deleted, or being deleted */
	struct rl_msg m;
	struct mt_err err;
	if (rl_queue_load(c->queue_dir, mid, &m, &err) != MT_OK) {
		close(lk);
		if (access(c->queue_dir, F_OK) == 0)
			rl_maillog("Warning", "%s", err.msg);
		return;
	}
	/* one delivery per destination domain of the pending recipients */
	char domains[64][256];
	size_t nd = 0;
	for (size_t i = 0; i < m.nrcpts; i++) {
		if (m.rcpts[i].state != RL_RCPT_PENDING)
			continue;
		char d[256];
		rl_addr_domain(m.rcpts[i].addr, d, sizeof d);
		bool have = false;
		for (size_t k = 0; k < nd; k++)
			have |= !strcmp(domains[k], d);
		if (!have && nd < 64)
			mt_strlcpy(domains[nd++], d, sizeof domains[0]);
	}
	m.attempts++;
	for (size_t k = 0; k < nd && !stop_flag; k++) {
		char why[512];
		rl_deliver(&r->x, c, &m, domains[k], why, sizeof why);
		if (why[0])
			mt_strlcpy(m.last, why, sizeof m.last);
	}
	finish(r, &m);
	rl_msg_free(&m);
	close(lk);
}

static void *worker(void *arg)
{
	struct runner *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->wlen && !r->quit)
			pthread_cond_wait(&r->work_cv, &r->mu);
		if (!r->wlen && r->quit)
			break;
		uint64_t mid = r->work[r->whead];
		r->whead = (r->whead + 1) % r->wcap;
		r->wlen--;
		if (!mid) /* taken by a session for reuse */
			continue;
		r->inflight++;
		pthread_mutex_unlock(&r->mu);
		process(r, mid);
		pthread_mutex_lock(&r->mu);
		r->inflight--;
		struct entry *e = find(r, mid);
		if (e)
			e->busy = false;
		if (!r->wlen && !r->inflight)
			pthread_cond_broadcast(&r->idle_cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Merge the queue's MIDs into ents (under r->mu). */
static mt_status rescan(struct runner *r, struct mt_err *err)
{
	uint64_t *mids;
	size_t n;
	mt_status st = rl_queue_list(r->c->queue_dir, &mids, &n, err);
	if (st != MT_OK)
		return st;
	pthread_mutex_lock(&r->mu);
	/* rebuild: keep state of known MIDs, add new ones as due now */
	struct entry *ne = calloc(n ? n : 1, sizeof *ne);
	if (!ne) {
		pthread_mutex_unlock(&r->mu);
		free(mids);
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *old = find(r, mids[i]);
		if (old)
			ne[i] = *old;
		else
			ne[i] = (struct entry){.mid = mids[i], .next_try = -1};
	}
	/* MIDs in flight that vanished from the listing (finished) are dropped; workers
	 * look their entry up by MID and tolerate its absence */
	free(r->ents);
	r->ents = ne;
	r->nents = n;
	r->cap = n;
	pthread_mutex_unlock(&r->mu);
	free(mids);
	return MT_OK;
}

/* Does the configuration file read back cleanly, on the same queue?  (What the re-executed
 * relay will load: a reload must not leave the queue without a runner.) */
static bool reload_ok(const struct rl_config *c, char *why, size_t n)
{
	struct rl_config nc;
	struct mt_err err;
	rl_config_init(&nc);
	bool ok = false;
	if (c->path[0] && rl_config_load(&nc, c->path, &err) != MT_OK) {
		snprintf(why, n, "%s", err.msg);
		goto out;
	}
	if (c->queue_dir_cli || !c->path[0])
		mt_strlcpy(nc.queue_dir, c->queue_dir, sizeof nc.queue_dir);
	if (rl_config_finish(&nc, &err) != MT_OK) {
		snprintf(why, n, "%s", err.msg);
		goto out;
	}
	if (strcmp(nc.queue_dir, c->queue_dir) != 0) {
		snprintf(why, n, "queue_dir changed to %s: a reload does not move the queue (restart the relay)",
			 nc.queue_dir);
		goto out;
	}
	ok = true;
out:
	rl_config_free(&nc);
	return ok;
}

int rl_run(struct rl_config *c, bool once)
{
	struct mt_err err;
	if (rl_queue_init(c->queue_dir, &err) != MT_OK) {
		fprintf(stderr, "relay: %s\n", err.msg);
		return RL_EXIT_CANTCREAT;
	}
	char p[700];
	snprintf(p, sizeof p, "%s/relay.lock", c->queue_dir);
	int lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0) {
		fprintf(stderr, "relay: cannot open %s: %s\n", p, strerror(errno));
		return RL_EXIT_CANTCREAT;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "relay: another relay is running on %s\n", c->queue_dir);
		close(lockfd);
		return RL_EXIT_TEMPFAIL;
	}
	snprintf(p, sizeof p, "%s/relay.pid", c->queue_dir);
	FILE *pf = fopen(p, "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	if (rl_log_open(c, &err) != MT_OK) {
		fprintf(stderr, "relay: %s\n", err.msg);
		close(lockfd);
		return RL_EXIT_CANTCREAT;
	}
	rl_queue_cleanup(c->queue_dir);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	bool reload = false;

	struct runner *r = calloc(1, sizeof *r);
	if (!r) {
		close(lockfd);
		return RL_EXIT_SOFTWARE;
	}
	r->c = c;
	r->once = once;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work_cv, NULL);
	pthread_cond_init(&r->idle_cv, NULL);
	pthread_mutex_init(&r->x.mu, NULL);
	pthread_cond_init(&r->x.slot_cv, NULL);
	r->x.dcid = (uint64_t)time(NULL) % 100000000 * 10;
	r->x.runner = r;
	r->x.steal = steal;
	r->x.giveback = giveback;
	r->x.reuse_max = c->reuse_max;
	rl_maillog("Info", "relay starting on %s (%u workers%s)", c->queue_dir, c->workers,
		   once ? ", one pass" : "");

	pthread_t *th = calloc(c->workers, sizeof *th);
	unsigned nth = 0;
	for (unsigned i = 0; th && i < c->workers; i++)
		if (pthread_create(&th[i], NULL, worker, r) == 0)
			nth++;
	int rc = RL_EXIT_OK;
	if (nth == 0) {
		fprintf(stderr, "relay: cannot start worker threads\n");
		rc = RL_EXIT_SOFTWARE;
		stop_flag = 1;
	}
	int64_t last_scan = -1000000;
	while (!stop_flag) {
		if (hup_flag) {
			hup_flag = 0;
			char why[700];
			if (once) {
				rl_maillog("Info", "SIGHUP ignored: a one-pass run has no configuration to reload");
			} else if (reload_ok(c, why, sizeof why)) {
				rl_maillog("Info", "relay reloading %s: finishing the deliveries in flight",
					   c->path[0] ? c->path : "(no configuration file)");
				reload = true;
				break;
			} else {
				rl_maillog("Warning", "reload refused, running on with the configuration in force: %s",
					   why);
				fprintf(stderr, "relay: reload refused: %s\n", why);
			}
		}
		bool flush = flush_flag;
		flush_flag = 0;
		if (flush || scan_flag || mt_now_ms() - last_scan >= 1000) {
			scan_flag = 0;
			last_scan = mt_now_ms();
			rl_pickup(c);
			if (rescan(r, &err) != MT_OK) {
				rl_maillog("Warning", "queue scan: %s", err.msg);
				fprintf(stderr, "relay: %s\n", err.msg);
				rc = RL_EXIT_CANTCREAT;
				break;
			}
		}
		time_t now = time(NULL);
		pthread_mutex_lock(&r->mu);
		for (size_t i = 0; i < r->nents; i++) {
			struct entry *e = &r->ents[i];
			if (e->busy)
				continue;
			if (e->next_try < 0) { /* new: read its retry time */
				struct rl_msg m;
				e->next_try = 0;
				if (rl_queue_load(c->queue_dir, e->mid, &m, &err) == MT_OK) {
					e->next_try = m.next_try;
					single_domain(&m, e->domain, sizeof e->domain);
					rl_msg_free(&m);
				}
			}
			if (flush)
				e->next_try = 0;
			bool due = once ? !e->tried : e->next_try <= now;
			if (due) {
				e->busy = e->tried = true;
				push_work(r, e->mid);
			}
		}
		pthread_cond_broadcast(&r->work_cv);
		if (once && r->wlen == 0 && r->inflight == 0) {
			/* everything tried; one more scan picks up DSNs and alerts just queued */
			pthread_mutex_unlock(&r->mu);
			rescan(r, &err);
			last_scan = mt_now_ms();
			bool fresh = false;
			pthread_mutex_lock(&r->mu);
			for (size_t i = 0; i < r->nents; i++)
				fresh |= !r->ents[i].tried;
			pthread_mutex_unlock(&r->mu);
			if (!fresh)
				break;
			continue;
		}
		/* sleep until the workers are idle, a signal, or the next scan is due */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&r->idle_cv, &r->mu, &ts);
		pthread_mutex_unlock(&r->mu);
	}
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	r->wlen = 0; /* not started: they stay queued */
	pthread_cond_broadcast(&r->work_cv);
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	rl_maillog("Info", "relay stopped");
	rl_log_close();
	free(th);
	free(r->ents);
	free(r->work);
	while (r->x.slots) {
		struct rl_slot *n = r->x.slots->next;
		free(r->x.slots);
		r->x.slots = n;
	}
	while (r->x.sts) {
		struct rl_sts *n = r->x.sts->next;
		free(r->x.sts);
		r->x.sts = n;
	}
	while (r->x.alerts) {
		struct rl_alert_seen *n = r->x.alerts->next;
		free(r->x.alerts);
		r->x.alerts = n;
	}
	free(r);
	unlink(p);
	close(lockfd);
	return reload && rc == RL_EXIT_OK ? RL_RUN_RELOAD : rc;
}

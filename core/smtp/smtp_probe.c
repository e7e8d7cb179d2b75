/* smtp_probe.c — the client dialog: connect, banner, EHLO, STARTTLS or implicit TLS,
 * handshake, chain verification, EHLO again, optional MAIL/RCPT, QUIT; then the verdict.
 *
 * Never pipelines: every command waits for its reply. Every wait has a per-phase timeout
 * bounded by the overall session deadline. Events are emitted as they happen and recorded
 * in the result. The dialog is an explicit sequence of phases; each phase records how long
 * it took so the renderers (and --nagios perfdata) can show it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailtls/probe.h"

static const char *const ev_names[] = {"info", "send", "recv", "warn",
				       "error", "tls", "certs", "verdict"};
const char *mt_ev_kind_name(enum mt_ev_kind k)
{
	return (unsigned)k < sizeof ev_names / sizeof ev_names[0] ? ev_names[k] : "?";
}

static const char *const phase_names[MT_PH__COUNT] = {
    "connect", "banner", "ehlo", "starttls", "handshake", "ehlo_tls", "mail", "quit"};
const char *mt_phase_name(enum mt_phase ph)
{
	return (unsigned)ph < MT_PH__COUNT ? phase_names[ph] : "?";
}

static const char *const verdict_names[] = {"pass", "warn", "fail"};
const char *mt_verdict_name(enum mt_verdict v)
{
	return (unsigned)v < 3 ? verdict_names[v] : "?";
}

void mt_probe_opts_init(struct mt_probe_opts *o)
{
	memset(o, 0, sizeof *o);
	o->policy.level = MT_LEVEL_VERIFY;
	mt_verify_opts_init(&o->verify);
}

const char *mt_probe_event_text(const struct mt_probe *p, size_t i)
{
	return i < p->nevents ? p->evtext.data + p->events[i].text_off : "";
}

struct session {
	const struct mt_probe_opts *o;
	struct mt_probe *p;
	struct mt_conn conn;
	int64_t t0;
	struct mt_deadline overall;
	struct mt_smtp_reply reply;
	char line[MT_SMTP_LINE_HARD + 1];
};

static void emit(struct session *s, enum mt_ev_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit(struct session *s, enum mt_ev_kind kind, const char *fmt, ...)
{
	struct mt_probe *p = s->p;
	size_t off = p->evtext.len;
	va_list ap;
	va_start(ap, fmt);
	mt_status st = mt_buf_vaddf(&p->evtext, fmt, ap);
	va_end(ap);
	if (st == MT_OK)
		st = mt_buf_addc(&p->evtext, '\0');
	if (st != MT_OK)
		return; /* transcript cap reached: the session still runs, the log stops */
	if (p->nevents == p->evcap) {
		size_t ncap = p->evcap ? p->evcap * 2 : 64;
		struct mt_event_rec *ne = realloc(p->events, ncap * sizeof *ne);
		if (!ne)
			return;
		p->events = ne;
		p->evcap = ncap;
	}
	struct mt_event_rec *r = &p->events[p->nevents++];
	r->kind = kind;
	r->t_ms = mt_now_ms() - s->t0;
	r->text_off = off;
	if (s->o->cb) {
		struct mt_event ev = {kind, r->t_ms, p->evtext.data + off};
		s->o->cb(&ev, p, s->o->cb_arg);
	}
}

static struct mt_deadline phase_deadline(struct session *s)
{
	return mt_deadline_in(s->o->timeout_ms > 0 ? s->o->timeout_ms : 30000, s->overall);
}

static mt_status send_line(struct session *s, const char *cmd)
{
	emit(s, MT_EV_SEND, "%s", cmd);
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%s\r\n", cmd);
	if (n < 0 || (size_t)n >= sizeof buf)
		return mt_err_set(&s->p->err, MT_ERR_USAGE, "command too long: %.60s...", cmd);
	return mt_conn_write(&s->conn, buf, (size_t)n, phase_deadline(s), &s->p->err);
}

/* Read one complete reply, emitting each line. */
static mt_status read_reply(struct session *s)
{
	struct mt_probe *p = s->p;
	struct mt_deadline d = phase_deadline(s);
	mt_smtp_reply_reset(&s->reply);
	while (!s->reply.complete) {
		size_t len = 0;
		mt_status st = mt_conn_readline(&s->conn, s->line, sizeof s->line, &len, d, &p->err);
		if (st == MT_ERR_TOOBIG) {
			emit(s, MT_EV_ERROR, "overlong reply line (over %d octets): %.80s...",
			     MT_SMTP_LINE_HARD, s->line);
			mt_verify_add_finding(&p->vr, MT_FAULT_OVERLONG_LINE, MT_SEV_ERROR, -1,
					      "a reply line of more than %d octets (RFC 5321 allows "
					      "510 plus CRLF): session abandoned",
					      MT_SMTP_LINE_HARD);
			return mt_err_set(&p->err, MT_ERR_PROTO,
					  "malformed reply: overlong line (more than %d octets; RFC "
					  "5321 allows 512)",
					  MT_SMTP_LINE_HARD);
		}
		if (st != MT_OK)
			return st;
		char shown[600];
		mt_smtp_escape(s->line, len, shown, sizeof shown);
		emit(s, MT_EV_RECV, "%s", shown);
		if (len > MT_SMTP_LINE_MAX - 2 && !mt_verify_has_fault(&p->vr, MT_FAULT_OVERLONG_LINE))
			mt_verify_add_finding(&p->vr, MT_FAULT_OVERLONG_LINE, MT_SEV_WARN, -1,
					      "a reply line of %zu octets (RFC 5321 allows 510 "
					      "plus CRLF)",
					      len);
		st = mt_smtp_reply_feed(&s->reply, s->line, len, &p->err);
		if (st != MT_OK) {
			char m[MT_ERR_MAX];
			mt_strlcpy(m, p->err.msg, sizeof m);
			mt_err_set(&p->err, st, "malformed reply: %s", m);
			return st;
		}
	}
	return MT_OK;
}

static void phase_done(struct session *s, enum mt_phase ph, int64_t start)
{
	s->p->phase_ms[ph] = mt_now_ms() - start;
}

static void local_ehlo_name(char *out, size_t n)
{
	if (gethostname(out, n) != 0 || !*out || !strchr(out, '.'))
		mt_strlcpy(out, "mailtls.localhost", n);
}

/* EHLO (falling back to HELO on 5xx). */
static mt_status do_ehlo(struct session *s, struct mt_ehlo_ext *ext, bool *esmtp)
{
	char ehlo[300], cmd[320];
	if (s->o->ehlo)
		mt_strlcpy(ehlo, s->o->ehlo, sizeof ehlo);
	else
		local_ehlo_name(ehlo, sizeof ehlo);
	snprintf(cmd, sizeof cmd, "EHLO %s", ehlo);
	mt_status st = send_line(s, cmd);
	if (st == MT_OK)
		st = read_reply(s);
	if (st != MT_OK)
		return st;
	if (s->reply.code == 250) {
		*esmtp = true;
		mt_smtp_ehlo_parse(&s->reply, ext);
		return MT_OK;
	}
	*esmtp = false;
	if (s->reply.code >= 500) {
		snprintf(cmd, sizeof cmd, "HELO %s", ehlo);
		if ((st = send_line(s, cmd)) != MT_OK || (st = read_reply(s)) != MT_OK)
			return st;
		if (s->reply.code == 250)
			return MT_OK;
	}
	char l0[300];
	return mt_err_set(&s->p->err, MT_ERR_SMTP, "server refused EHLO/HELO: %d %s",
			  s->reply.code, mt_smtp_reply_line(&s->reply, 0, l0, sizeof l0));
}

static void quit(struct session *s)
{
	int64_t t = mt_now_ms();
	if (send_line(s, "QUIT") == MT_OK) {
		struct mt_err keep = s->p->err;
		(void)read_reply(s); /* best effort: a server may just close */
		s->p->err = keep;
	}
	phase_done(s, MT_PH_QUIT, t);
}

/* Handshake on the current connection, then verify the chain. */
static mt_status do_tls(struct session *s)
{
	struct mt_probe *p = s->p;
	const struct mt_probe_opts *o = s->o;
	int64_t t = mt_now_ms();
	struct mt_tls_client_opts topt = o->tls;
	if (!topt.sni && !mt_net_is_ip(o->host))
		topt.sni = o->host;
	struct mt_tls *tls = NULL;
	mt_status st = mt_tls_client_new(s->conn.fd, &topt, &tls, &p->err);
	if (st != MT_OK)
		return st;
	s->conn.tls = tls;
	st = mt_tls_handshake(tls, phase_deadline(s), &p->err);
	phase_done(s, MT_PH_HANDSHAKE, t);
	if (st != MT_OK) {
		mt_verify_add_finding(&p->vr, MT_FAULT_HANDSHAKE, MT_SEV_ERROR, -1, "%s",
				      p->err.msg);
		emit(s, MT_EV_ERROR, "TLS handshake failed: %s", p->err.msg);
		mt_tls_free(tls);
		s->conn.tls = NULL;
		return MT_ERR_TLS;
	}
	p->tls = true;
	mt_tls_get_info(tls, &p->tlsinfo);
	if (!strcmp(p->tlsinfo.protocol, "SSLv3") || !strcmp(p->tlsinfo.protocol, "TLSv1") ||
	    !strcmp(p->tlsinfo.protocol, "TLSv1.1"))
		mt_verify_add_finding(&p->vr, MT_FAULT_LEGACY_PROTOCOL, MT_SEV_WARN, -1,
				      "%s negotiated (deprecated by RFC 8996)", p->tlsinfo.protocol);
	emit(s, MT_EV_TLS, "Connection converted to TLS");

	const unsigned char *ders[MT_MAX_CHAIN];
	size_t lens[MT_MAX_CHAIN];
	size_t n = mt_tls_peer_chain(tls, ders, lens, MT_MAX_CHAIN);
	p->sent_chain_len = n;
	size_t use = n < MT_MAX_CHAIN ? n : MT_MAX_CHAIN;
	if (use == 0) {
		mt_verify_add_finding(&p->vr, MT_FAULT_UNTRUSTED, MT_SEV_ERROR, -1,
				      "the server sent no certificate");
		p->verified = true;
	} else {
		/* keep session-level findings gathered so far; the verifier starts afresh */
		struct mt_finding keep[MT_MAX_FINDINGS];
		size_t nkeep = p->vr.nfindings;
		memcpy(keep, p->vr.findings, nkeep * sizeof keep[0]);
		mt_verify_result_free(&p->vr);
		struct mt_err verr;
		st = mt_verify_chain(ders, lens, use, &o->verify, &p->vr, &verr);
		if (st != MT_OK) {
			mt_verify_add_finding(&p->vr, MT_FAULT_UNTRUSTED, MT_SEV_ERROR, -1,
					      "chain could not be analysed: %s", verr.msg);
			if (st == MT_ERR_BADINPUT || st == MT_ERR_USAGE) {
				mt_err_set(&p->err, st, "%s", verr.msg);
				return st;
			}
		}
		for (size_t i = 0; i < nkeep; i++)
			mt_verify_add_finding(&p->vr, keep[i].fault, keep[i].severity, keep[i].cert,
					      "%s", keep[i].detail);
		if (n > MT_MAX_CHAIN)
			mt_verify_add_finding(&p->vr, MT_FAULT_CHAIN_TOO_LONG, MT_SEV_WARN, -1,
					      "the server sent %zu certificates; the first %d were "
					      "analysed",
					      n, MT_MAX_CHAIN);
		p->verified = true;
	}
	emit(s, MT_EV_CERTS, "certificate chain: %zu sent", n);
	return MT_OK;
}

static void judge(struct session *s)
{
	if (s->o->judge)
		s->o->judge(s->p, s->o->judge_arg);
	else
		mt_probe_judge(s->p);
}

/* Send the message after DATA: bare LF becomes CRLF, a leading dot is doubled (RFC 5321
 * 4.5.2), the last line is terminated, then the end-of-data marker. */
static mt_status send_body(struct session *s, struct mt_delivery *d)
{
	struct mt_probe *p = s->p;
	static const size_t cap = 65536;
	char in[16384];
	char *out = malloc(cap);
	if (!out)
		return mt_err_set(&p->err, MT_ERR_NOMEM, "out of memory");
	size_t olen = 0;
	bool bol = true, cr = false;
	mt_status st = MT_OK;
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(d->body_fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = mt_err_set(&p->err, MT_ERR_IO, "reading the message: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		off += n;
		for (ssize_t i = 0; i < n; i++) {
			char c = in[i];
			if (olen + 4 > cap) {
				st = mt_conn_write(&s->conn, out, olen, phase_deadline(s), &p->err);
				d->body_bytes += olen;
				olen = 0;
				if (st != MT_OK)
					goto done;
			}
			if (bol && c == '.')
				out[olen++] = '.';
			if (c == '\n') {
				if (!cr)
					out[olen++] = '\r';
				out[olen++] = '\n';
				bol = true;
				cr = false;
				continue;
			}
			if (cr) /* a lone CR inside a line: keep it as it is */
				cr = false;
			if (c == '\r')
				cr = true;
			out[olen++] = c;
			bol = false;
		}
	}
	if (st == MT_OK) {
		if (!bol) {
			if (!cr)
				out[olen++] = '\r';
			out[olen++] = '\n';
		}
		memcpy(out + olen, ".\r\n", 3);
		olen += 3;
		st = mt_conn_write(&s->conn, out, olen, phase_deadline(s), &p->err);
		d->body_bytes += olen;
	}
done:
	free(out);
	return st;
}

static void keep_reply(struct session *s, char *out, size_t outsz)
{
	char l0[400];
	snprintf(out, outsz, "%d %s", s->reply.code,
		 mt_smtp_reply_line(&s->reply, 0, l0, sizeof l0));
}

/* The relay's transaction: MAIL, RCPT for each recipient, DATA, the message, QUIT. It runs
 * only when the judge lets the session carry mail. SMTP refusals are results, not session
 * errors: the caller reads codes from *d. */
/* One transaction. *clean: the server's state is back at "after EHLO" (a transaction
 * that ended with the final reply to DATA); otherwise an RSET is due before the next. */
static mt_status transaction(struct session *s, struct mt_delivery *d, bool *clean)
{
	mt_status st;
	char cmd[1100];
	*clean = false;
	snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", d->mail_from ? d->mail_from : "");
	d->attempted = true;
	if ((st = send_line(s, cmd)) != MT_OK || (st = read_reply(s)) != MT_OK)
		return st;
	d->mail_code = s->reply.code;
	keep_reply(s, d->reply, sizeof d->reply);
	if (s->reply.code / 100 != 2)
		return MT_OK;
	for (size_t i = 0; i < d->nrcpts; i++) {
		snprintf(cmd, sizeof cmd, "RCPT TO:<%s>", d->rcpts[i]);
		if ((st = send_line(s, cmd)) != MT_OK || (st = read_reply(s)) != MT_OK)
			return st;
		if (d->rcpt_codes)
			d->rcpt_codes[i] = s->reply.code;
		if (d->rcpt_replies)
			keep_reply(s, d->rcpt_replies[i], sizeof d->rcpt_replies[i]);
		if (s->reply.code / 100 == 2)
			d->accepted++;
		else
			keep_reply(s, d->reply, sizeof d->reply);
	}
	if (d->accepted == 0)
		return MT_OK;
	if ((st = send_line(s, "DATA")) != MT_OK || (st = read_reply(s)) != MT_OK)
		return st;
	keep_reply(s, d->reply, sizeof d->reply);
	if (s->reply.code != 354) {
		d->data_code = s->reply.code;
		return MT_OK;
	}
	if ((st = send_body(s, d)) != MT_OK)
		return st;
	emit(s, MT_EV_SEND, "(message: %zu octets)", d->body_bytes);
	if ((st = read_reply(s)) != MT_OK)
		return st;
	d->data_code = s->reply.code;
	keep_reply(s, d->reply, sizeof d->reply);
	d->delivered = s->reply.code / 100 == 2;
	*clean = true;
	return MT_OK;
}

/* The relay's transactions: MAIL, RCPT for each recipient, DATA, the message; then the next
 * message the caller hands over on the same session (connection reuse), then QUIT. They run
 * only when the judge lets the session carry mail. SMTP refusals are results, not session
 * errors: the caller reads codes from each struct mt_delivery. */
static mt_status deliver(struct session *s)
{
	struct mt_probe *p = s->p;
	const struct mt_probe_opts *o = s->o;
	struct mt_delivery *d = o->deliver;
	mt_status st;
	p->status = MT_OK; /* provisional, for the judge */
	judge(s);
	if (p->verdict == MT_VERDICT_FAIL) {
		mt_strlcpy(d->held, p->reason[0] ? p->reason : p->verdict_text, sizeof d->held);
		emit(s, MT_EV_ERROR, "Not sending the message: %s", d->held);
		quit(s);
		return MT_OK;
	}
	int64_t t = mt_now_ms();
	for (;;) {
		bool clean = false;
		if ((st = transaction(s, d, &clean)) != MT_OK) {
			emit(s, MT_EV_ERROR, "%s", p->err.msg);
			return st;
		}
		if (s->reply.code == 421)
			break; /* the server is closing */
		struct mt_delivery *next = o->deliver_next ? o->deliver_next(o->deliver_arg, d) : NULL;
		if (!next)
			break;
		if (!clean) {
			if ((st = send_line(s, "RSET")) != MT_OK || (st = read_reply(s)) != MT_OK) {
				emit(s, MT_EV_ERROR, "%s", p->err.msg);
				next->attempted = false;
				mt_strlcpy(next->reply, p->err.msg, sizeof next->reply);
				return st;
			}
		}
		d = next;
	}
	phase_done(s, MT_PH_MAIL, t);
	quit(s);
	return MT_OK;
}

static mt_status run_dialog(struct session *s)
{
	struct mt_probe *p = s->p;
	const struct mt_probe_opts *o = s->o;
	mt_status st;
	int64_t t = mt_now_ms();

	emit(s, MT_EV_INFO, "Trying %s port %u...", o->host, p->port);
	int fd = -1;
	st = mt_net_connect(o->host, p->port, o->family, phase_deadline(s), &fd, p->address,
			    sizeof p->address, &p->err);
	phase_done(s, MT_PH_CONNECT, t);
	if (st != MT_OK) {
		emit(s, MT_EV_ERROR, "%s", p->err.msg);
		return st;
	}
	mt_conn_init(&s->conn, fd);
	p->connected = true;
	emit(s, MT_EV_INFO, "Connected to %s port %u", p->address, p->port);

	if (o->implicit_tls) {
		emit(s, MT_EV_INFO, "Implicit TLS (RFC 8314): handshake before the banner");
		p->starttls_attempted = true;
		if ((st = do_tls(s)) != MT_OK)
			return st;
	}

	t = mt_now_ms();
	st = read_reply(s);
	phase_done(s, MT_PH_BANNER, t);
	if (st != MT_OK) {
		if (st == MT_ERR_TIMEOUT)
			mt_err_set(&p->err, st, "no banner from the server within the timeout");
		emit(s, MT_EV_ERROR, "%s", p->err.msg);
		return st;
	}
	p->banner_code = s->reply.code;
	if (s->reply.code != 220) {
		char l0[300];
		mt_err_set(&p->err, MT_ERR_SMTP, "server greeted with %d: %s", s->reply.code,
			   mt_smtp_reply_line(&s->reply, 0, l0, sizeof l0));
		emit(s, MT_EV_ERROR, "%s", p->err.msg);
		quit(s);
		return MT_ERR_SMTP;
	}
	p->banner_ok = true;

	t = mt_now_ms();
	st = do_ehlo(s, &p->ext, &p->esmtp);
	phase_done(s, MT_PH_EHLO, t);
	if (st != MT_OK) {
		emit(s, MT_EV_ERROR, "%s", p->err.msg);
		if (st == MT_ERR_SMTP)
			quit(s);
		return st;
	}

	bool want_tls = o->policy.level != MT_LEVEL_NONE && !o->implicit_tls;
	if (!o->implicit_tls) {
		if (!p->esmtp) {
			mt_verify_add_finding(&p->vr, MT_FAULT_NO_ESMTP, MT_SEV_ERROR, -1,
					      "EHLO was refused; STARTTLS needs ESMTP");
			emit(s, MT_EV_WARN, "Server does not support ESMTP: TLS cannot be used");
			want_tls = false;
		} else if (!p->ext.starttls) {
			mt_verify_add_finding(&p->vr, MT_FAULT_NO_STARTTLS, MT_SEV_ERROR, -1,
					      "STARTTLS is not among the EHLO extensions");
			emit(s, MT_EV_WARN, "STARTTLS is not offered by this server");
			want_tls = false;
		} else {
			p->starttls_offered = true;
			emit(s, MT_EV_INFO, "TLS is an option on this server");
		}
	}
	if (o->policy.level == MT_LEVEL_NONE && p->starttls_offered)
		emit(s, MT_EV_INFO, "Security level none: not starting TLS");

	if (want_tls) {
		t = mt_now_ms();
		p->starttls_attempted = true;
		if ((st = send_line(s, "STARTTLS")) != MT_OK || (st = read_reply(s)) != MT_OK) {
			emit(s, MT_EV_ERROR, "%s", p->err.msg);
			return st;
		}
		phase_done(s, MT_PH_STARTTLS, t);
		p->starttls_code = s->reply.code;
		char l0[300];
		mt_smtp_reply_line(&s->reply, 0, l0, sizeof l0);
		snprintf(p->starttls_reply, sizeof p->starttls_reply, "%d %s", s->reply.code, l0);
		if (s->reply.code != 220) {
			mt_verify_add_finding(&p->vr, MT_FAULT_STARTTLS_REFUSED, MT_SEV_ERROR, -1,
					      "server answered STARTTLS with %s", p->starttls_reply);
			emit(s, MT_EV_WARN, "STARTTLS refused: %s", p->starttls_reply);
			if (s->reply.code == 421) {
				mt_err_set(&p->err, MT_ERR_SMTP, "server closing: %s",
					   p->starttls_reply);
				return MT_ERR_SMTP;
			}
			/* continue in clear, as an opportunistic client would */
		} else {
			/* Anything received after the 220 and before our ClientHello would, in a
			 * vulnerable server, be taken as if sent inside TLS (CVE-2011-0411). */
			p->injected_bytes = mt_conn_drain(&s->conn);
			if (p->injected_bytes) {
				mt_verify_add_finding(&p->vr, MT_FAULT_STARTTLS_INJECTION,
						      MT_SEV_ERROR, -1,
						      "%zu bytes arrived after the 220 to STARTTLS "
						      "and before the TLS handshake",
						      p->injected_bytes);
				emit(s, MT_EV_WARN,
				     "%zu bytes sent by the server after its 220 to STARTTLS "
				     "(STARTTLS injection, CVE-2011-0411 class): discarded",
				     p->injected_bytes);
			}
			if ((st = do_tls(s)) != MT_OK)
				return st;
		}
	}

	if (p->tls) {
		if (!o->implicit_tls) {
			t = mt_now_ms();
			bool esmtp2 = false;
			st = do_ehlo(s, &p->ext_tls, &esmtp2);
			phase_done(s, MT_PH_EHLO_TLS, t);
			if (st != MT_OK) {
				emit(s, MT_EV_ERROR, "%s", p->err.msg);
				return st;
			}
		}
		emit(s, MT_EV_INFO, "TLS successfully started on this server");
	}

	if (o->deliver)
		return deliver(s);
	if (o->mail_from) {
		t = mt_now_ms();
		char cmd[600];
		snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", o->mail_from);
		if ((st = send_line(s, cmd)) != MT_OK || (st = read_reply(s)) != MT_OK) {
			emit(s, MT_EV_ERROR, "%s", p->err.msg);
			return st;
		}
		if (s->reply.code / 100 == 2) {
			for (size_t i = 0; i < o->nrcpts; i++) {
				snprintf(cmd, sizeof cmd, "RCPT TO:<%s>", o->rcpts[i]);
				if ((st = send_line(s, cmd)) != MT_OK ||
				    (st = read_reply(s)) != MT_OK) {
					emit(s, MT_EV_ERROR, "%s", p->err.msg);
					return st;
				}
			}
			if ((st = send_line(s, "RSET")) != MT_OK || (st = read_reply(s)) != MT_OK) {
				emit(s, MT_EV_ERROR, "%s", p->err.msg);
				return st;
			}
		}
		phase_done(s, MT_PH_MAIL, t);
	}
	quit(s);
	return MT_OK;
}

mt_status mt_probe_run(const struct mt_probe_opts *o, struct mt_probe *p)
{
	memset(p, 0, sizeof *p);
	mt_buf_init(&p->evtext, 4u << 20);
	for (int i = 0; i < MT_PH__COUNT; i++)
		p->phase_ms[i] = -1;
	mt_strlcpy(p->host, o->host ? o->host : "", sizeof p->host);
	p->port = o->port ? o->port : (o->implicit_tls ? 465 : 25);
	p->policy = o->policy;
	mt_probe_set_refnames(p, &o->verify);

	struct session *s = calloc(1, sizeof *s);
	if (!s) {
		p->status = mt_err_set(&p->err, MT_ERR_NOMEM, "out of memory");
		mt_probe_judge(p);
		return p->status;
	}
	s->o = o;
	s->p = p;
	s->t0 = mt_now_ms();
	s->conn.fd = -1;
	s->overall = mt_deadline_in(o->deadline_ms > 0 ? o->deadline_ms : 120000,
				    (struct mt_deadline){0});
	mt_smtp_reply_init(&s->reply);

	p->status = run_dialog(s);
	if (p->status == MT_ERR_TIMEOUT && mt_deadline_left(s->overall) == 0)
		mt_err_set(&p->err, MT_ERR_TIMEOUT, "overall deadline of %d ms passed",
			   o->deadline_ms > 0 ? o->deadline_ms : 120000);
	mt_conn_close(&s->conn, mt_deadline_in(1000, s->overall));
	p->total_ms = mt_now_ms() - s->t0;
	judge(s);
	emit(s, MT_EV_VERDICT, "%s", p->verdict_text);
	mt_smtp_reply_free(&s->reply);
	free(s);
	return p->status;
}

void mt_probe_set_refnames(struct mt_probe *p, const struct mt_verify_opts *v)
{
	size_t n = 0;
	p->refnames[0] = '\0';
	for (size_t i = 0; i < v->nrefs && n < sizeof p->refnames; i++)
		n += (size_t)snprintf(p->refnames + n, sizeof p->refnames - n, "%s%s", i ? ", " : "",
				      v->refs[i].name);
}

void mt_probe_free(struct mt_probe *p)
{
	mt_verify_result_free(&p->vr);
	free(p->events);
	p->events = NULL;
	p->nevents = p->evcap = 0;
	mt_buf_free(&p->evtext);
}

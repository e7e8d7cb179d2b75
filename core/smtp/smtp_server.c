/* smtp_server.c — the server side of an ESMTP dialog as a pure state machine.
 *
 * Dispatch goes through one {verb, check, proceed} table: check() returns the refusal to
 * send (sequence, TLS policy, syntax) or NULL, proceed() acts and replies. Every reply
 * carries an RFC 3463 enhanced status code. The caller owns transport: it sends the reply,
 * then does what the returned action says (the STARTTLS action implies discarding any
 * input already buffered: CVE-2011-0411). Nothing here allocates except the recipient list.
 */
#include "mailtls/smtp_server.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Printable copy of untrusted text for replies and records: bytes outside 0x21..0x7e
 * (space kept) become '?', cut to outsz-1. */
static void clean_copy(const char *in, size_t len, char *out, size_t outsz)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < outsz; i++) {
		unsigned char c = (unsigned char)in[i];
		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[n] = '\0';
}

static const char *const verb_names[MT_SMTP_V__COUNT] = {
    [MT_SMTP_V_UNKNOWN] = "UNKNOWN",   [MT_SMTP_V_HELO] = "HELO", [MT_SMTP_V_EHLO] = "EHLO",
    [MT_SMTP_V_MAIL] = "MAIL",         [MT_SMTP_V_RCPT] = "RCPT", [MT_SMTP_V_DATA] = "DATA",
    [MT_SMTP_V_RSET] = "RSET",         [MT_SMTP_V_NOOP] = "NOOP", [MT_SMTP_V_QUIT] = "QUIT",
    [MT_SMTP_V_VRFY] = "VRFY",         [MT_SMTP_V_EXPN] = "EXPN", [MT_SMTP_V_HELP] = "HELP",
    [MT_SMTP_V_STARTTLS] = "STARTTLS", [MT_SMTP_V_AUTH] = "AUTH", [MT_SMTP_V_BDAT] = "BDAT",
};

const char *mt_smtp_verb_name(enum mt_smtp_verb v)
{
	return (unsigned)v < MT_SMTP_V__COUNT ? verb_names[v] : "UNKNOWN";
}

static const char *const state_names[MT_SMTPS__COUNT] = {
    [MT_SMTPS_INIT] = "init", [MT_SMTPS_READY] = "ready", [MT_SMTPS_MAIL] = "mail",
    [MT_SMTPS_RCPT] = "rcpt", [MT_SMTPS_DATA] = "data",   [MT_SMTPS_TLS] = "starttls",
    [MT_SMTPS_QUIT] = "quit",
};

const char *mt_smtp_srv_state_name(enum mt_smtp_srv_state st)
{
	return (unsigned)st < MT_SMTPS__COUNT ? state_names[st] : "?";
}

void mt_smtp_cmd_parse(const char *line, size_t len, struct mt_smtp_cmd *cmd)
{
	size_t i = 0, vlen;
	cmd->verb = MT_SMTP_V_UNKNOWN;
	cmd->arg = "";
	cmd->arglen = 0;
	while (i < len && line[i] != ' ')
		i++;
	vlen = i;
	for (int v = 1; v < MT_SMTP_V__COUNT; v++) {
		const char *n = verb_names[v];
		if (strlen(n) != vlen)
			continue;
		size_t k = 0;
		while (k < vlen && toupper((unsigned char)line[k]) == n[k])
			k++;
		if (k == vlen) {
			cmd->verb = (enum mt_smtp_verb)v;
			break;
		}
	}
	while (i < len && line[i] == ' ')
		i++;
	size_t end = len;
	while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--; /* trailing blanks are common and harmless */
	cmd->arg = line + i;
	cmd->arglen = end - i;
}

void mt_smtp_srv_reply(struct mt_buf *out, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;
	mt_buf_addf(out, "%03d ", code);
	if (enh)
		mt_buf_addf(out, "%s ", enh);
	va_start(ap, fmt);
	mt_buf_vaddf(out, fmt, ap);
	va_end(ap);
	mt_buf_add(out, "\r\n", 2);
}

static bool kw_eq(const char *p, size_t n, const char *kw)
{
	size_t k = strlen(kw);
	if (n != k)
		return false;
	for (size_t i = 0; i < n; i++)
		if (toupper((unsigned char)p[i]) != kw[i])
			return false;
	return true;
}

mt_status mt_smtp_path_parse(const char *arg, size_t len, const char *keyword,
                             struct mt_smtp_path *out, struct mt_err *err)
{
	memset(out, 0, sizeof *out);
	size_t kl = strlen(keyword), i;
	bool is_mail = !strcmp(keyword, "FROM");
	if (len < kl + 1 || !kw_eq(arg, kl, keyword) || arg[kl] != ':')
		return mt_err_set(err, MT_ERR_BADINPUT, "501 5.5.4 Syntax: %s %s:<address>",
		                  is_mail ? "MAIL" : "RCPT", keyword);
	i = kl + 1;
	while (i < len && arg[i] == ' ')
		i++; /* "MAIL FROM: <a@b>" is a common client bug; tolerate it */
	if (i >= len || arg[i] != '<')
		return mt_err_set(err, MT_ERR_BADINPUT, "501 5.5.4 Syntax: %s %s:<address>",
		                  is_mail ? "MAIL" : "RCPT", keyword);
	size_t start = ++i;
	bool quoted = false;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (c == '"' && (i == start || arg[i - 1] != '\\'))
			quoted = !quoted;
		if (!quoted && c == '>')
			break;
		if (c < 0x20 || c == 0x7f || c >= 0x80)
			return mt_err_set(err, MT_ERR_BADINPUT,
			                  "501 5.1.7 Bad address syntax (control or 8-bit "
			                  "character)");
		if (!quoted && (c == '<' || c == ' '))
			return mt_err_set(err, MT_ERR_BADINPUT, "501 5.1.7 Bad address syntax");
	}
	if (i >= len)
		return mt_err_set(err, MT_ERR_BADINPUT, "501 5.1.7 Bad address syntax (no '>')");
	const char *a = arg + start;
	size_t alen = i - start;
	/* drop an RFC 5321 source route "@a,@b:" (to be ignored, 4.1.1.3 and C) */
	if (alen && a[0] == '@') {
		const char *colon = memchr(a, ':', alen);
		if (!colon)
			return mt_err_set(err, MT_ERR_BADINPUT, "501 5.1.7 Bad address syntax");
		alen -= (size_t)(colon + 1 - a);
		a = colon + 1;
	}
	if (alen > MT_SMTP_PATH_MAX)
		return mt_err_set(err, MT_ERR_BADINPUT, "501 5.1.7 Address too long");
	if (alen && (!memchr(a, '@', alen) || a[0] == '@' || a[alen - 1] == '@'))
		return mt_err_set(err, MT_ERR_BADINPUT,
		                  "501 5.1.7 Bad address syntax (expected local@domain)");
	memcpy(out->addr, a, alen);
	out->addr[alen] = '\0';
	i++; /* past '>' */
	/* ESMTP parameters: KEY[=VALUE] separated by spaces */
	while (i < len) {
		if (arg[i] != ' ')
			return mt_err_set(err, MT_ERR_BADINPUT, "501 5.5.4 Junk after the address");
		while (i < len && arg[i] == ' ')
			i++;
		if (i >= len)
			break;
		size_t ps = i;
		while (i < len && arg[i] != ' ')
			i++;
		const char *p = arg + ps, *eq = memchr(p, '=', i - ps);
		size_t klen = eq ? (size_t)(eq - p) : i - ps;
		const char *v = eq ? eq + 1 : NULL;
		size_t vlen = eq ? (size_t)(arg + i - v) : 0;
		char shown[80];
		clean_copy(p, i - ps, shown, sizeof shown);
		if (is_mail && kw_eq(p, klen, "SIZE")) {
			if (!v || vlen == 0 || vlen > 20)
				return mt_err_set(err, MT_ERR_BADINPUT, "501 5.5.4 Bad SIZE value");
			unsigned long long n = 0;
			for (size_t k = 0; k < vlen; k++) {
				if (!isdigit((unsigned char)v[k]))
					return mt_err_set(err, MT_ERR_BADINPUT,
					                  "501 5.5.4 Bad SIZE value");
				if (n > (~0ULL - 9) / 10)
					return mt_err_set(err, MT_ERR_BADINPUT,
					                  "552 5.3.4 Message size exceeds fixed "
					                  "limit");
				n = n * 10 + (unsigned)(v[k] - '0');
			}
			out->has_size = true;
			out->size = n;
		} else if (is_mail && kw_eq(p, klen, "BODY")) {
			if (v && kw_eq(v, vlen, "7BIT"))
				out->body = MT_SMTP_BODY_7BIT;
			else if (v && kw_eq(v, vlen, "8BITMIME"))
				out->body = MT_SMTP_BODY_8BITMIME;
			else
				return mt_err_set(err, MT_ERR_BADINPUT,
				                  "501 5.5.4 Bad BODY value (7BIT or 8BITMIME)");
		} else {
			return mt_err_set(err, MT_ERR_BADINPUT,
			                  "555 5.5.4 Unsupported parameter %s", shown);
		}
	}
	return MT_OK;
}

/* ---- the dialog ---- */

void mt_smtp_srv_init(struct mt_smtp_srv *s, const struct mt_smtp_srv_cfg *cfg)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->state = MT_SMTPS_INIT;
}

static void tx_reset(struct mt_smtp_srv *s)
{
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	s->nrcpts = 0;
	memset(&s->from, 0, sizeof s->from);
}

void mt_smtp_srv_free(struct mt_smtp_srv *s)
{
	tx_reset(s);
	free(s->rcpts);
	s->rcpts = NULL;
	s->rcptcap = 0;
}

void mt_smtp_srv_greeting(const struct mt_smtp_srv *s, struct mt_buf *out)
{
	mt_smtp_srv_reply(out, 220, NULL, "%s ESMTP mailtls receiver", s->cfg->hostname);
}

typedef const char *(*check_fn)(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c);
typedef void (*proceed_fn)(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                           struct mt_smtp_srv_res *res);

static const char *chk_none(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	return NULL;
}

static const char *chk_noarg(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	return c->arglen ? "501 5.5.4 Syntax: no argument expected" : NULL;
}

static const char *chk_helo(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	return c->arglen ? NULL : "501 5.5.4 Syntax: HELO/EHLO hostname";
}

static const char *chk_mail(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	if (s->state == MT_SMTPS_INIT)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (s->cfg->tls_required && !s->tls)
		return "530 5.7.0 Must issue a STARTTLS command first";
	if (s->cfg->refuse_mail)
		return s->cfg->refuse_mail;
	if (s->state == MT_SMTPS_MAIL || s->state == MT_SMTPS_RCPT)
		return "503 5.5.1 Error: nested MAIL command";
	return NULL;
}

static const char *chk_rcpt(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	if (s->cfg->tls_required && !s->tls)
		return "530 5.7.0 Must issue a STARTTLS command first";
	if (s->state != MT_SMTPS_MAIL && s->state != MT_SMTPS_RCPT)
		return "503 5.5.1 Error: need MAIL command";
	return NULL;
}

static const char *chk_data(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	if (s->cfg->tls_required && !s->tls)
		return "530 5.7.0 Must issue a STARTTLS command first";
	if (c->arglen)
		return "501 5.5.4 Syntax: DATA";
	if (s->state == MT_SMTPS_MAIL)
		return "554 5.5.1 Error: no valid recipients";
	if (s->state != MT_SMTPS_RCPT)
		return "503 5.5.1 Error: need RCPT command";
	return NULL;
}

static const char *chk_starttls(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c)
{
	if (s->tls)
		return "554 5.5.1 Error: TLS already active";
	if (!s->cfg->starttls)
		return "502 5.5.1 Error: command not implemented";
	if (c->arglen)
		return "501 5.5.4 Syntax: STARTTLS";
	return NULL;
}

static void do_helo(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	tx_reset(s);
	clean_copy(c->arg, c->arglen, s->helo, sizeof s->helo);
	s->esmtp = (c->verb == MT_SMTP_V_EHLO);
	s->state = MT_SMTPS_READY;
	if (!s->esmtp) {
		mt_smtp_srv_reply(out, 250, NULL, "%s", s->cfg->hostname);
		res->code = 250;
		return;
	}
	const char *ext[8];
	char sizebuf[40];
	size_t n = 0;
	ext[n++] = "PIPELINING";
	snprintf(sizebuf, sizeof sizebuf, "SIZE %llu", s->cfg->max_size);
	ext[n++] = s->cfg->max_size ? sizebuf : "SIZE";
	if (s->cfg->starttls && !s->tls)
		ext[n++] = "STARTTLS";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "8BITMIME";
	mt_buf_addf(out, "250-%s Hello %s\r\n", s->cfg->hostname, s->helo);
	for (size_t i = 0; i < n; i++)
		mt_buf_addf(out, "250%c%s\r\n", i + 1 == n ? ' ' : '-', ext[i]);
	res->code = 250;
}

static void do_mail(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	struct mt_err e;
	struct mt_smtp_path p;
	if (mt_smtp_path_parse(c->arg, c->arglen, "FROM", &p, &e) != MT_OK) {
		mt_buf_addf(out, "%s\r\n", e.msg);
		res->code = atoi(e.msg);
		return;
	}
	if (s->cfg->max_size && p.has_size && p.size > s->cfg->max_size) {
		mt_smtp_srv_reply(out, 552, "5.3.4", "Message size exceeds fixed limit");
		res->code = 552;
		return;
	}
	s->from = p;
	s->state = MT_SMTPS_MAIL;
	mt_smtp_srv_reply(out, 250, "2.1.0", "Ok");
	res->code = 250;
}

static void do_rcpt(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	struct mt_err e;
	struct mt_smtp_path p;
	size_t max = s->cfg->max_rcpts ? s->cfg->max_rcpts : 1000;
	if (mt_smtp_path_parse(c->arg, c->arglen, "TO", &p, &e) != MT_OK) {
		mt_buf_addf(out, "%s\r\n", e.msg);
		res->code = atoi(e.msg);
		return;
	}
	if (!p.addr[0]) {
		mt_smtp_srv_reply(out, 501, "5.1.3", "Bad recipient address syntax");
		res->code = 501;
		return;
	}
	if (s->nrcpts >= max) {
		mt_smtp_srv_reply(out, 452, "4.5.3", "Error: too many recipients");
		res->code = 452;
		return;
	}
	if (s->cfg->rcpt_ok && !s->cfg->rcpt_ok(p.addr, s->cfg->rcpt_arg)) {
		mt_smtp_srv_reply(out, 554, "5.7.1", "<%s>: Relay access denied", p.addr);
		res->code = 554;
		return;
	}
	if (s->nrcpts == s->rcptcap) {
		size_t nc = s->rcptcap ? s->rcptcap * 2 : 4;
		char **r = realloc(s->rcpts, nc * sizeof *r);
		if (!r) {
			mt_smtp_srv_reply(out, 452, "4.3.1", "Insufficient system resources");
			res->code = 452;
			return;
		}
		s->rcpts = r;
		s->rcptcap = nc;
	}
	char *a = mt_strdup(p.addr);
	if (!a) {
		mt_smtp_srv_reply(out, 452, "4.3.1", "Insufficient system resources");
		res->code = 452;
		return;
	}
	s->rcpts[s->nrcpts++] = a;
	s->state = MT_SMTPS_RCPT;
	mt_smtp_srv_reply(out, 250, "2.1.5", "Ok");
	res->code = 250;
}

static void do_data(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	s->state = MT_SMTPS_DATA;
	mt_smtp_srv_reply(out, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	res->code = 354;
	res->act = MT_SMTP_ACT_DATA;
}

static void do_rset(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	tx_reset(s);
	if (s->state != MT_SMTPS_INIT)
		s->state = MT_SMTPS_READY;
	mt_smtp_srv_reply(out, 250, "2.0.0", "Ok");
	res->code = 250;
}

static void do_noop(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	mt_smtp_srv_reply(out, 250, "2.0.0", "Ok");
	res->code = 250;
}

static void do_quit(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	s->state = MT_SMTPS_QUIT;
	mt_smtp_srv_reply(out, 221, "2.0.0", "Bye");
	res->code = 221;
	res->act = MT_SMTP_ACT_CLOSE;
}

static void do_vrfy(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	mt_smtp_srv_reply(out, 252, "2.0.0", "Cannot VRFY user, but will accept message");
	res->code = 252;
}

static void do_help(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                    struct mt_smtp_srv_res *res)
{
	mt_smtp_srv_reply(out, 214, "2.0.0",
	                  "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT "
	                  "STARTTLS; see RFC 5321");
	res->code = 214;
}

static void do_starttls(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                        struct mt_smtp_srv_res *res)
{
	s->state = MT_SMTPS_TLS;
	mt_smtp_srv_reply(out, 220, "2.0.0", "Ready to start TLS");
	res->code = 220;
	res->act = MT_SMTP_ACT_STARTTLS;
}

static void do_notimpl(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                       struct mt_smtp_srv_res *res)
{
	mt_smtp_srv_reply(out, 502, "5.5.1", "Error: command not implemented");
	res->code = 502;
}

static void do_unknown(struct mt_smtp_srv *s, const struct mt_smtp_cmd *c, struct mt_buf *out,
                       struct mt_smtp_srv_res *res)
{
	mt_smtp_srv_reply(out, 500, "5.5.2", "Error: command not recognized");
	res->code = 500;
}

static const struct {
	enum mt_smtp_verb verb;
	check_fn check;
	proceed_fn proceed;
} cmd_table[] = {
    {MT_SMTP_V_UNKNOWN, chk_none, do_unknown},
    {MT_SMTP_V_HELO, chk_helo, do_helo},
    {MT_SMTP_V_EHLO, chk_helo, do_helo},
    {MT_SMTP_V_MAIL, chk_mail, do_mail},
    {MT_SMTP_V_RCPT, chk_rcpt, do_rcpt},
    {MT_SMTP_V_DATA, chk_data, do_data},
    {MT_SMTP_V_RSET, chk_noarg, do_rset},
    {MT_SMTP_V_NOOP, chk_none, do_noop},
    {MT_SMTP_V_QUIT, chk_noarg, do_quit},
    {MT_SMTP_V_VRFY, chk_none, do_vrfy},
    {MT_SMTP_V_EXPN, chk_none, do_notimpl},
    {MT_SMTP_V_HELP, chk_none, do_help},
    {MT_SMTP_V_STARTTLS, chk_starttls, do_starttls},
    {MT_SMTP_V_AUTH, chk_none, do_notimpl},
    {MT_SMTP_V_BDAT, chk_none, do_notimpl},
};

struct mt_smtp_srv_res mt_smtp_srv_line(struct mt_smtp_srv *s, const char *line, size_t len,
                                        struct mt_buf *out)
{
	struct mt_smtp_srv_res res = {0};
	struct mt_smtp_cmd c;
	mt_smtp_cmd_parse(line, len, &c);
	res.verb = c.verb;
	s->ncmds++;
	if (s->state == MT_SMTPS_DATA || s->state == MT_SMTPS_TLS || s->state == MT_SMTPS_QUIT) {
		/* the caller should not feed commands now; refuse rather than misbehave */
		mt_smtp_srv_reply(out, 503, "5.5.1", "Error: bad sequence of commands");
		res.code = 503;
		res.act = s->state == MT_SMTPS_QUIT ? MT_SMTP_ACT_CLOSE : MT_SMTP_ACT_NONE;
		return res;
	}
	for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++) {
		if (cmd_table[i].verb != c.verb)
			continue;
		const char *refuse = cmd_table[i].check(s, &c);
		if (refuse) {
			mt_buf_addf(out, "%s\r\n", refuse);
			res.code = atoi(refuse);
		} else {
			cmd_table[i].proceed(s, &c, out, &res);
		}
		break;
	}
	if (res.code >= 500)
		s->nerrors++;
	return res;
}

void mt_smtp_srv_tls_started(struct mt_smtp_srv *s)
{
	tx_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->tls = true;
	s->state = MT_SMTPS_INIT;
}

void mt_smtp_srv_tls_failed(struct mt_smtp_srv *s)
{
	tx_reset(s);
	s->state = MT_SMTPS_QUIT;
}

int mt_smtp_srv_data_end(struct mt_smtp_srv *s, enum mt_smtp_data_outcome o, const char *queue_id,
                         struct mt_buf *out)
{
	int code;
	switch (o) {
	case MT_SMTP_DATA_STORED:
		mt_smtp_srv_reply(out, code = 250, "2.0.0", "Ok: queued as %s",
		                  queue_id ? queue_id : "-");
		break;
	case MT_SMTP_DATA_TOOBIG:
		mt_smtp_srv_reply(out, code = 552, "5.3.4", "Error: message file too big");
		break;
	case MT_SMTP_DATA_LONGLINE:
		mt_smtp_srv_reply(out, code = 500, "5.5.2", "Error: message line too long");
		break;
	case MT_SMTP_DATA_TEMPFAIL:
		mt_smtp_srv_reply(out, code = 451, "4.3.0", "Error: queue file write error");
		break;
	default:
		mt_smtp_srv_reply(out, code = 421, "4.3.2",
		                  "%s Service shutting down, try again later", s->cfg->hostname);
		break;
	}
	tx_reset(s);
	s->state = o == MT_SMTP_DATA_SHUTDOWN ? MT_SMTPS_QUIT : MT_SMTPS_READY;
	if (code >= 500)
		s->nerrors++;
	return code;
}

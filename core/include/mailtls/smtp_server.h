/* smtp_server.h — the server side of an ESMTP dialog (RFC 5321, 3207, 2920, 1870, 6152,
 * 2034) as a pure state machine: no sockets, no clock, no files.
 *
 * The caller feeds one command line at a time (CRLF already stripped) and gets back the
 * reply text (appended to a struct mt_buf, CRLF-terminated, possibly multi-line) and an
 * action telling it what to do once the reply is sent: start TLS, read a message, close.
 * Commands are dispatched through a {verb, check, proceed} table: `check` decides whether
 * the command is allowed now (sequence, TLS policy, syntax), `proceed` performs it. That
 * keeps the dialog fuzzable and lets unit tests state exact transcripts.
 *
 * Memory: struct mt_smtp_srv owns its envelope (sender, recipients); release it with
 * mt_smtp_srv_free(). The cfg it points to is the caller's and must outlive it.
 */
#ifndef MAILTLS_SMTP_SERVER_H
#define MAILTLS_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mailtls/util.h"

#define MT_SMTP_PATH_MAX 256 /* RFC 5321 4.5.3.1.3: a path is at most 256 octets */

enum mt_smtp_verb {
	MT_SMTP_V_UNKNOWN = 0,
	MT_SMTP_V_HELO,
	MT_SMTP_V_EHLO,
	MT_SMTP_V_MAIL,
	MT_SMTP_V_RCPT,
	MT_SMTP_V_DATA,
	MT_SMTP_V_RSET,
	MT_SMTP_V_NOOP,
	MT_SMTP_V_QUIT,
	MT_SMTP_V_VRFY,
	MT_SMTP_V_EXPN,
	MT_SMTP_V_HELP,
	MT_SMTP_V_STARTTLS,
	MT_SMTP_V_AUTH,
	MT_SMTP_V_BDAT,
	MT_SMTP_V__COUNT
};
/* Upper-case verb ("STARTTLS"), "UNKNOWN" for MT_SMTP_V_UNKNOWN; static storage. */
const char *mt_smtp_verb_name(enum mt_smtp_verb v);

/* A command split into verb and argument; arg points into the caller's line. */
struct mt_smtp_cmd {
	enum mt_smtp_verb verb;
	const char *arg; /* after the verb and its separating spaces; "" when none */
	size_t arglen;
};
/* Split a command line (no CRLF). Never fails: unknown verbs give MT_SMTP_V_UNKNOWN. */
void mt_smtp_cmd_parse(const char *line, size_t len, struct mt_smtp_cmd *cmd);

enum mt_smtp_body { MT_SMTP_BODY_7BIT = 0, MT_SMTP_BODY_8BITMIME };

/* "FROM:<a@b> SIZE=10 BODY=8BITMIME" or "TO:<c@d>" parsed. */
struct mt_smtp_path {
	char addr[MT_SMTP_PATH_MAX + 1]; /* without the angle brackets; "" for <> */
	bool has_size;
	unsigned long long size;
	enum mt_smtp_body body;
};
/* Parse a MAIL or RCPT argument; keyword is "FROM" or "TO". On failure returns
 * MT_ERR_BADINPUT and writes the whole reply line without CRLF ("555 5.5.4 Unsupported
 * parameter X") to err. Accepts the parameters SIZE and BODY (MAIL only). */
mt_status mt_smtp_path_parse(const char *arg, size_t len, const char *keyword,
                             struct mt_smtp_path *out, struct mt_err *err);

/* Protocol state. The transport (TLS handshake, reading a message) is the caller's. */
enum mt_smtp_srv_state {
	MT_SMTPS_INIT = 0, /* greeting sent, no HELO/EHLO yet */
	MT_SMTPS_READY,    /* HELO/EHLO done, no transaction */
	MT_SMTPS_MAIL,     /* MAIL accepted */
	MT_SMTPS_RCPT,     /* at least one RCPT accepted */
	MT_SMTPS_DATA,     /* 354 sent: the caller reads the message */
	MT_SMTPS_TLS,      /* 220 to STARTTLS sent: the caller runs the handshake */
	MT_SMTPS_QUIT,     /* 221 sent or the session was ended */
	MT_SMTPS__COUNT
};
/* "init", "ready", ...; static storage. */
const char *mt_smtp_srv_state_name(enum mt_smtp_srv_state st);

/* What the caller does after sending the reply. */
enum mt_smtp_act {
	MT_SMTP_ACT_NONE = 0, /* read the next command */
	MT_SMTP_ACT_STARTTLS, /* discard buffered input, then run the TLS handshake */
	MT_SMTP_ACT_DATA,     /* read the message up to "." */
	MT_SMTP_ACT_CLOSE,    /* close the connection */
};

struct mt_smtp_srv_cfg {
	const char *hostname;        /* in the greeting and the EHLO reply */
	unsigned long long max_size; /* SIZE advertised and enforced; 0 = no limit */
	size_t max_rcpts;            /* per transaction; 0 = 1000 */
	bool starttls;               /* offer STARTTLS (the policy is not Off and a cert exists) */
	bool tls_required;           /* 530 5.7.0 to MAIL before STARTTLS */
	/* When set, MAIL is refused with this whole reply line (no CRLF), e.g. a client
	 * certificate that did not verify under a Required-Verify policy. */
	const char *refuse_mail;
	/* Accept a recipient? NULL = any. Return false to answer 550 5.1.1. */
	bool (*rcpt_ok)(const char *addr, void *arg);
	void *rcpt_arg;
};

struct mt_smtp_srv {
	const struct mt_smtp_srv_cfg *cfg;
	enum mt_smtp_srv_state state;
	bool esmtp;     /* EHLO (not HELO) was used */
	bool tls;       /* the session is encrypted */
	char helo[256]; /* the last HELO/EHLO argument (escaped, shortened) */
	struct mt_smtp_path from;
	char **rcpts;
	size_t nrcpts, rcptcap;
	unsigned ncmds;   /* commands seen */
	unsigned nerrors; /* 5xx replies given */
};

/* Result of one command. */
struct mt_smtp_srv_res {
	enum mt_smtp_verb verb;
	enum mt_smtp_act act;
	int code; /* the reply code given */
};

void mt_smtp_srv_init(struct mt_smtp_srv *s, const struct mt_smtp_srv_cfg *cfg);
void mt_smtp_srv_free(struct mt_smtp_srv *s);
/* Append the 220 greeting to out. */
void mt_smtp_srv_greeting(const struct mt_smtp_srv *s, struct mt_buf *out);
/* Handle one command line (no CRLF); appends the reply to out. */
struct mt_smtp_srv_res mt_smtp_srv_line(struct mt_smtp_srv *s, const char *line, size_t len,
                                        struct mt_buf *out);
/* The TLS handshake succeeded: forget everything learnt before it (RFC 3207 4.2). */
void mt_smtp_srv_tls_started(struct mt_smtp_srv *s);
/* The TLS handshake failed after our 220: the session can only end. */
void mt_smtp_srv_tls_failed(struct mt_smtp_srv *s);

enum mt_smtp_data_outcome {
	MT_SMTP_DATA_STORED,   /* 250 2.0.0 Ok: queued as <id> */
	MT_SMTP_DATA_TOOBIG,   /* 552 5.3.4 */
	MT_SMTP_DATA_LONGLINE, /* 500 5.5.2 */
	MT_SMTP_DATA_TEMPFAIL, /* 451 4.3.0 (spool failed) */
	MT_SMTP_DATA_SHUTDOWN, /* 421 4.3.2 (server shutting down) */
};
/* The message ended ("."): appends the reply and resets the transaction. */
int mt_smtp_srv_data_end(struct mt_smtp_srv *s, enum mt_smtp_data_outcome o, const char *queue_id,
                         struct mt_buf *out);

/* Append one reply line "code enh text\r\n" (enh may be NULL). */
void mt_smtp_srv_reply(struct mt_buf *out, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

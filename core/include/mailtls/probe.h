/* probe.h — the probe engine: one SMTP session to one address, STARTTLS (or implicit TLS),
 * the verifier's judgement and the policy's verdict, emitted as typed transcript events.
 *
 * The engine is used by checktls (one server) and mxprobe (every MX address). It emits
 * events through opts->cb as they happen (the text renderer streams them) and records them
 * in the result (JSON/XML renderers read them afterwards). AUTH data is never recorded.
 * Memory: struct mt_probe owns everything it holds; release with mt_probe_free().
 */
#ifndef MAILTLS_PROBE_H
#define MAILTLS_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "mailtls/net.h"
#include "mailtls/smtp.h"
#include "mailtls/tls.h"
#include "mailtls/util.h"

enum mt_ev_kind {
	MT_EV_INFO,    /* a note from the prober ("Connected to ...") */
	MT_EV_SEND,    /* a line we sent */
	MT_EV_RECV,    /* a line the server sent */
	MT_EV_WARN,    /* something wrong, not fatal */
	MT_EV_ERROR,   /* the step failed */
	MT_EV_TLS,     /* handshake done: see result->tlsinfo */
	MT_EV_CERTS,   /* chain verified: see result->vr */
	MT_EV_VERDICT, /* final: see result->verdict */
};
const char *mt_ev_kind_name(enum mt_ev_kind k);

enum mt_phase {
	MT_PH_CONNECT,
	MT_PH_BANNER,
	MT_PH_EHLO,
	MT_PH_STARTTLS,
	MT_PH_HANDSHAKE,
	MT_PH_EHLO_TLS,
	MT_PH_MAIL,
	MT_PH_QUIT,
	MT_PH__COUNT
};
const char *mt_phase_name(enum mt_phase ph);

struct mt_probe;

struct mt_event {
	enum mt_ev_kind kind;
	int64_t t_ms; /* since the probe started */
	const char *text;
};

typedef void (*mt_event_cb)(const struct mt_event *ev, const struct mt_probe *p, void *arg);

/* A mail transaction to run once the TLS stage is settled and the policy allows it (the
 * relay's delivery). The caller owns every pointer; the engine fills the result fields. */
#define MT_RCPT_REPLY_MAX 200
struct mt_delivery {
	const char *mail_from;	   /* "" for the null reverse-path */
	const char *const *rcpts;  /* envelope recipients */
	size_t nrcpts;
	int body_fd;		   /* the message (header and body, LF or CRLF), read from 0 */
	/* filled by the engine */
	bool attempted;		   /* MAIL was sent (the policy let the message on the wire) */
	bool delivered;		   /* the server took the message (250 after DATA) */
	int mail_code, data_code;  /* 0: not reached */
	int *rcpt_codes;	   /* caller's array of nrcpts, filled (0: not reached) */
	char (*rcpt_replies)[MT_RCPT_REPLY_MAX]; /* optional: caller's array of nrcpts, each
					    RCPT's reply ("550 5.1.1 ..."), "" if not reached */
	size_t accepted;	   /* recipients the server accepted */
	char reply[512];	   /* the last reply that decided the outcome, "250 2.0.0 Ok" */
	char held[512];		   /* why the message was not put on the wire, "" if it was */
	size_t body_bytes;	   /* octets sent after DATA, dot-stuffing included */
};

struct mt_probe;
/* Judges a probe in place (mt_probe_judge, or DANE/MTA-STS on top of it). */
typedef void (*mt_probe_judge_fn)(struct mt_probe *p, void *arg);

struct mt_probe_opts {
	const char *host; /* name or IP literal to connect to */
	unsigned port;	  /* 0: 25, or 465 with implicit_tls */
	enum mt_family family;
	bool implicit_tls;
	const char *ehlo; /* NULL: this machine's name */
	const char *mail_from;
	const char *rcpts[16];
	size_t nrcpts;
	struct mt_policy policy;
	struct mt_verify_opts verify;
	struct mt_tls_client_opts tls;
	int timeout_ms;	 /* per phase; 0 = 30 s */
	int deadline_ms; /* whole session; 0 = 120 s */
	mt_event_cb cb;
	void *cb_arg;
	/* The judge, run once the TLS stage is settled (before MAIL) and again at the end;
	 * NULL: mt_probe_judge. DANE and MTA-STS users pass theirs. */
	mt_probe_judge_fn judge;
	void *judge_arg;
	/* When set, run this transaction instead of the probe's MAIL/RCPT/RSET, and only if
	 * the judge's verdict before MAIL is not FAIL: a message is never put on the wire over
	 * a session the policy rejects. */
	struct mt_delivery *deliver;
	/* Connection reuse: after each transaction (done), the next one to run on the same
	 * session, or NULL to QUIT. The callback owns the returned struct until the probe
	 * returns; a transaction the session could not start is left with attempted false. */
	struct mt_delivery *(*deliver_next)(void *arg, struct mt_delivery *done);
	void *deliver_arg;
};

void mt_probe_opts_init(struct mt_probe_opts *o);

enum mt_verdict { MT_VERDICT_PASS, MT_VERDICT_WARN, MT_VERDICT_FAIL };
const char *mt_verdict_name(enum mt_verdict v); /* "pass" "warn" "fail" */

/* Why a probe failed, for exit codes: each program maps these in one place. */
enum mt_outcome {
	MT_OUTCOME_OK,		 /* passed (possibly with warnings) */
	MT_OUTCOME_CHECK_FAILED, /* verification or policy */
	MT_OUTCOME_NO_TLS,	 /* TLS not available or handshake failed */
	MT_OUTCOME_CONNECT,	 /* could not connect, SMTP or DNS error */
	MT_OUTCOME_INTERNAL,
};

struct mt_event_rec {
	enum mt_ev_kind kind;
	int64_t t_ms;
	size_t text_off; /* into mt_probe.evtext */
};

struct mt_probe {
	char host[256];
	unsigned port;
	char address[64];
	struct mt_policy policy;
	char refnames[1024]; /* the reference names tried, comma separated */

	mt_status status;  /* transport/protocol status of the session */
	struct mt_err err; /* what went wrong, when status != MT_OK */
	bool offline; /* a certificate file linted, no session: judged as if presented */
	bool connected, banner_ok, esmtp, starttls_offered, starttls_attempted, tls;
	int banner_code, starttls_code;
	char starttls_reply[512];
	size_t injected_bytes;
	struct mt_ehlo_ext ext, ext_tls;
	struct mt_tls_info tlsinfo;
	size_t sent_chain_len; /* certificates the peer sent (may exceed MT_MAX_CHAIN) */
	bool verified;	       /* vr is filled */
	struct mt_verify_result vr;
	/* session-level findings (no-starttls, injection, handshake...) go into vr.findings too */

	int64_t phase_ms[MT_PH__COUNT]; /* duration of each phase, -1 if not reached */
	int64_t total_ms;

	struct mt_event_rec *events;
	size_t nevents, evcap;
	struct mt_buf evtext;

	enum mt_level reached;
	enum mt_verdict verdict;
	enum mt_outcome outcome;
	char verdict_text[1024]; /* "FAIL: requested verify, reached encrypt; faults: ..." */
	char reason[512];	   /* why it failed, for people ("" unless FAIL) */
};

/* Run one probe. Always fills *p (free with mt_probe_free), including on failure; returns
 * the session status (MT_OK when the dialog ran to QUIT). */
mt_status mt_probe_run(const struct mt_probe_opts *o, struct mt_probe *p);
void mt_probe_free(struct mt_probe *p);

/* Apply the policy to what was found: sets reached, verdict, outcome and verdict_text.
 * Exposed for the offline lint and for tests. */
void mt_probe_judge(struct mt_probe *p);

/* Record the reference names tried (for reports). */
void mt_probe_set_refnames(struct mt_probe *p, const struct mt_verify_opts *v);

/* Event i's text (owned by p). */
const char *mt_probe_event_text(const struct mt_probe *p, size_t i);

#endif

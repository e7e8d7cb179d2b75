/* relay.h — the outbound relay: configuration and destination controls, the durable queue,
 * one delivery attempt through the core probe engine, the queue runner, and its logs.
 *
 * The relay has no TLS, DNS or verification code of its own: an attempt is mt_probe_run()
 * with a struct mt_delivery, judged by mt_probe_judge or mt_probe_dane_hook, exactly as
 * checktls and mxprobe report. Memory: each struct owns its strings; *_free releases them.
 */
#ifndef RELAY_H
#define RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "mailtls/tls.h"
#include "mailtls/util.h"

/* exit codes (sysexits.h values, documented in relay(8)) */
enum {
	RL_EXIT_OK = 0,
	RL_EXIT_USAGE = 64,
	RL_EXIT_DATAERR = 65,
	RL_EXIT_NOINPUT = 69,
	RL_EXIT_SOFTWARE = 70,
	RL_EXIT_CANTCREAT = 73,
	RL_EXIT_TEMPFAIL = 75,
};

/* ---- configuration ---- */

struct rl_dest {
	char domain[256]; /* lower case; "default" for the default destination control */
	struct mt_policy policy;
	unsigned max_conn; /* 0: the global max_conn */
	char route_host[256]; /* "" : MX lookup */
	unsigned route_port;
	bool dane;    /* look up TLSA (and use DANE when secure); default yes */
	bool mta_sts; /* honour MTA-STS; default yes */
	bool set_policy; /* tls= was given */
};

struct rl_config {
	char path[512]; /* the config file, "" if none */
	char queue_dir[512];
	char hostname[256];
	char resolver[128];
	char cafile[512];
	unsigned workers, max_conn;
	unsigned reuse_max; /* further messages sent on one connection (0: no reuse) */
	unsigned retry[16];
	size_t nretry;
	long max_lifetime; /* seconds */
	int timeout_s;
	bool tls_alert;
	char alert_to[8][256];
	size_t nalert_to;
	char maillog[512], attempts[512];
	unsigned mta_sts_port;
	unsigned mx_port; /* port for MX hosts (25; tests use another) */
	char pickup[512]; /* a receiver's spool/new: accepted mail handed to the relay */
	struct rl_dest *dests; /* dests[0] is the default */
	size_t ndests;
	bool verbose;
	bool queue_dir_cli; /* queue_dir came from -q (a reload keeps it) */
};

void rl_config_init(struct rl_config *c);
/* Read a config file (errors name file:line). */
mt_status rl_config_load(struct rl_config *c, const char *path, struct mt_err *err);
/* Fill derived defaults (maillog, attempts, hostname) once queue_dir is known. */
mt_status rl_config_finish(struct rl_config *c, struct mt_err *err);
void rl_config_free(struct rl_config *c);
/* The destination control for a domain (exact match, else the default). */
const struct rl_dest *rl_config_dest(const struct rl_config *c, const char *domain);
/* Parse "domain tls=... max_conn=... route=[h]:p dane=yes mta_sts=no" into d. */
mt_status rl_dest_parse(const char *text, struct rl_dest *d, struct mt_err *err);
/* Parse "90", "5m", "2h", "5d" into seconds. */
mt_status rl_parse_duration(const char *s, long *out, struct mt_err *err);

/* ---- queue ---- */

enum rl_rcpt_state { RL_RCPT_PENDING = 0, RL_RCPT_DONE, RL_RCPT_FAILED };

struct rl_rcpt {
	char addr[512];
	enum rl_rcpt_state state;
	char reply[512]; /* the last answer for this recipient */
	bool dsn_sent;
};

struct rl_msg {
	uint64_t mid;
	time_t created, next_try;
	unsigned attempts;
	char from[512];
	struct rl_rcpt *rcpts;
	size_t nrcpts;
	bool is_alert; /* a TLS alert or DSN of ours: never alerts about itself */
	bool is_dsn;
	char last[512];
	long size;
};

/* Create tmp/, msg/, env/ under dir. */
mt_status rl_queue_init(const char *dir, struct mt_err *err);
/* Copy the message from fd into the queue with its envelope: written, fsync'd, renamed
 * (msg first, then env, which is the commit point), directories synced. Sets *mid. */
mt_status rl_queue_put(const char *dir, int fd, const char *from, const char *const *rcpts,
		       size_t nrcpts, unsigned flags, uint64_t *mid, struct mt_err *err);
#define RL_PUT_ALERT 1u
#define RL_PUT_DSN 2u
/* Same from memory. */
mt_status rl_queue_put_mem(const char *dir, const char *data, size_t len, const char *from,
			   const char *const *rcpts, size_t nrcpts, unsigned flags, uint64_t *mid,
			   struct mt_err *err);
mt_status rl_queue_load(const char *dir, uint64_t mid, struct rl_msg *m, struct mt_err *err);
/* Rewrite the envelope atomically. */
mt_status rl_queue_save(const char *dir, const struct rl_msg *m, struct mt_err *err);
/* Remove a message (env first: once it is gone the message is not queued). */
mt_status rl_queue_remove(const char *dir, uint64_t mid, struct mt_err *err);
/* The queued MIDs (heap array, sorted). Removes orphans from an interrupted put. */
mt_status rl_queue_list(const char *dir, uint64_t **mids, size_t *n, struct mt_err *err);
/* Open the message file read-only. */
int rl_queue_open_msg(const char *dir, uint64_t mid);
void rl_msg_free(struct rl_msg *m);
/* Take the exclusive lock on one message's envelope (non-blocking); returns an fd or -1. */
int rl_queue_lock_msg(const char *dir, uint64_t mid);
/* Remove old temp files and orphaned message files (the runner, at start). */
void rl_queue_cleanup(const char *dir);

/* ---- logs ---- */

mt_status rl_log_open(const struct rl_config *c, struct mt_err *err);
void rl_log_close(void);
/* One AsyncOS-style line: "<ctime> Info: <text>". */
void rl_maillog(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One JSON object (without newline) appended as a line to the attempts file. */
void rl_attempt_record(const char *json);

/* ---- delivery ---- */

struct rl_ctx; /* the runner's shared state (per-destination limits, DCID counter) */

enum rl_result {
	RL_DELIVERED, /* every recipient of the group answered (2xx or 5xx) */
	RL_DEFERRED,  /* try again later */
	RL_BOUNCED,   /* permanent failure for the whole group */
};

/* Deliver the pending recipients of m whose domain is `domain`, updating their states.
 * Returns the overall result; per-recipient states are in m. */
enum rl_result rl_deliver(struct rl_ctx *x, const struct rl_config *c, struct rl_msg *m,
			  const char *domain, char *why, size_t whysz);

/* ---- runner ---- */
/* Move the messages a receiver accepted (c->pickup: the .eml files of <data_dir>/spool/new, whose
 * envelope is in Return-Path: and X-Mailtls-Envelope-To: header fields, removed here) into
 * the queue; each spool file is unlinked only after its queue entry is committed.
 * Returns how many were queued. */
size_t rl_pickup(const struct rl_config *c);
/* Run until SIGTERM (once=false) or until every queued message has been tried once. */
int rl_run(struct rl_config *c, bool once);
/* rl_run's return when SIGHUP asked for a reload and the configuration file checked out:
 * every worker has stopped and the queue lock is released; the caller re-executes itself. */
#define RL_RUN_RELOAD (-1)
/* Build an RFC 3464 DSN for the failed recipients of m and queue it. */
mt_status rl_dsn_queue(const struct rl_config *c, const struct rl_msg *m, struct mt_err *err);
/* Queue a TLS alert about a destination. */
void rl_alert(struct rl_ctx *x, const struct rl_config *c, const char *domain,
	      const char *cause, uint64_t mid);

/* ---- addresses (relay_addr.c) ---- */
/* An envelope address local@domain: printable, no blanks, angle brackets or commas; "" (the
 * null reverse-path) only when null_ok. */
bool rl_addr_ok(const char *a, bool null_ok);
struct rl_addrs {
	char **v;
	size_t n, cap;
};
/* Add one address (trimmed, duplicates ignored case-insensitively); false: no memory. */
bool rl_addrs_add(struct rl_addrs *a, const char *s, size_t len);
/* Add the addresses of a header field's value ("A <a@x>, b@y, "L, F" <c@z>", groups). */
bool rl_parse_addr_list(const char *v, struct rl_addrs *a);
void rl_addrs_free(struct rl_addrs *a);

/* The domain part of an address (after the last '@'), lower-cased into out. */
void rl_addr_domain(const char *addr, char *out, size_t outsz);

#endif

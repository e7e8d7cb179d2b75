/* receiver.h — the receiver's own modules: configuration (receiver_config.c), sender
 * groups (receiver_hat.c), reverse DNS workers (receiver_rdns.c), spool (receiver_spool.c),
 * session records and `receiver sessions` (receiver_record.c), the AsyncOS-style mail log
 * (receiver_maillog.c), certificates and the `cert` subcommands (receiver_cert.c) and the
 * event loop (receiver_server.c).
 *
 * Memory: struct rcv_config owns all its strings; free with rcv_config_free().
 */
#ifndef RECEIVER_H
#define RECEIVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "mailtls/tls.h"
#include "mailtls/util.h"

/* Exit codes (documented in --help and receiver(8)). */
#define RCV_EXIT_OK 0
#define RCV_EXIT_CHECK 1     /* a `cert` check failed: key mismatch, duplicate intermediate... */
#define RCV_EXIT_USAGE 64    /* usage or configuration error */
#define RCV_EXIT_INTERNAL 70 /* internal or runtime failure (cannot bind, out of memory) */

/* ---- inbound TLS policy of a sender group (ESA mail flow policy) ---- */
enum rcv_tls_policy {
	RCV_TLS_OFF = 0,          /* STARTTLS not offered */
	RCV_TLS_PREFERRED,        /* offered, clear text accepted */
	RCV_TLS_REQUIRED,         /* 530 5.7.0 to MAIL before STARTTLS */
	RCV_TLS_PREFERRED_VERIFY, /* offered, client certificate requested and reported */
	RCV_TLS_REQUIRED_VERIFY,  /* required and the client certificate must verify */
	RCV_TLS__COUNT
};
const char *rcv_tls_policy_name(enum rcv_tls_policy p);
bool rcv_tls_policy_parse(const char *s, enum rcv_tls_policy *out);

enum rcv_match_kind { RCV_M_ALL, RCV_M_CIDR, RCV_M_HOST, RCV_M_SUFFIX };
struct rcv_match {
	enum rcv_match_kind kind;
	int family; /* AF_INET / AF_INET6 for CIDR */
	unsigned char addr[16];
	unsigned prefix;
	char name[256]; /* lower case; RCV_M_SUFFIX keeps the leading dot */
};

#define RCV_MAX_MATCH 64
struct rcv_group {
	char name[64];
	enum rcv_tls_policy policy;
	bool request_cert; /* also for policies without -verify */
	struct rcv_match m[RCV_MAX_MATCH];
	size_t nm;
	int line; /* where it was defined, for messages */
};

#define RCV_MAX_LISTEN 16
struct rcv_listen_cfg {
	char addr[128]; /* "127.0.0.1:2525", "[::1]:2525" */
	char host[64];
	unsigned port;
	char *cert, *key; /* NULL: the default certificate */
};

struct rcv_config {
	char *path; /* config file, NULL if none */
	char hostname[256];
	char *data_dir;
	struct rcv_listen_cfg listen[RCV_MAX_LISTEN];
	size_t nlisten;
	char *cert, *key, *key_password; /* default certificate for listeners */
	char *client_ca;                 /* trust anchors for client certificates */
	char *tls_priority;
	bool discard;   /* do not spool messages */
	char **domains; /* accepted recipient domains; none = any */
	size_t ndomains;
	bool reverse_dns;
	char *user;
	struct rcv_group *groups;
	size_t ngroups;
	/* limits */
	unsigned max_sessions, max_per_client, max_commands, max_rcpts, max_errors;
	size_t max_line;
	unsigned long long max_message_size;
	int timeout_command_ms, timeout_data_ms, timeout_tls_ms, session_deadline_ms;
	int shutdown_grace_ms;
	unsigned transcript_max; /* bytes of command/reply transcript kept per session */
	int verbose;
};

/* Defaults (listener 127.0.0.1:2525, data dir ./receiver-data, ...). */
void rcv_config_defaults(struct rcv_config *c);
/* Parse a config file on top of the current values. Errors are "file:line: text". */
mt_status rcv_config_load(struct rcv_config *c, const char *path, struct mt_err *err);
/* One "key = value" setting (from the file or the command line); where is "file:line". */
mt_status rcv_config_set(struct rcv_config *c, const char *key, const char *val, const char *where,
                         int line, struct mt_err *err);
/* Fill in what depends on other settings (the default group, derived paths). */
mt_status rcv_config_finish(struct rcv_config *c, struct mt_err *err);
void rcv_config_free(struct rcv_config *c);
/* A path inside the data directory (heap string, caller frees). */
char *rcv_path(const struct rcv_config *c, const char *rel);
/* True if the recipient's domain is accepted. */
bool rcv_domain_ok(const char *addr, void *cfg);

/* ---- sender groups (HAT) ---- */
mt_status rcv_match_parse(const char *s, struct rcv_match *m, struct mt_err *err);
/* First group matching the client: address (and its verified reverse-DNS name, or NULL).
 * Returns NULL when no group matches (the caller then uses its default). */
const struct rcv_group *rcv_hat_lookup(const struct rcv_config *c, const struct sockaddr *sa,
                                       const char *verified_name);

/* ---- reverse DNS, in worker threads so the event loop never blocks ---- */
struct rcv_rdns_res {
	int fd;
	uint64_t icid;
	char name[256]; /* "" when there is none */
	bool verified;  /* the name resolves back to the address */
};
/* Start workers; returns an fd that becomes readable when results are ready. */
mt_status rcv_rdns_start(int nthreads, int *notify_fd, struct mt_err *err);
void rcv_rdns_submit(int fd, uint64_t icid, const struct sockaddr_storage *ss);
/* Take finished results (up to max); returns the count. */
size_t rcv_rdns_collect(struct rcv_rdns_res *out, size_t max);
/* The blocking lookup the workers run (exposed for tests). */
void rcv_rdns_lookup(const struct sockaddr_storage *ss, char *name, size_t namesz, bool *verified);
void rcv_rdns_stop(void);

/* ---- spool: one file per message, written atomically ---- */
struct rcv_spool_msg {
	int fd;
	char tmp[512], final[512];
	struct mt_buf buf;
	bool failed;
};
/* Create spool/tmp and spool/new; remove leftovers in tmp (from a crash). */
mt_status rcv_spool_init(const char *data_dir, struct mt_err *err);
mt_status rcv_spool_open(const char *data_dir, const char *qid, struct rcv_spool_msg *m,
                         struct mt_err *err);
void rcv_spool_write(struct rcv_spool_msg *m, const void *p, size_t n);
/* fsync, close, rename into spool/new; on failure the temp file is removed. */
mt_status rcv_spool_commit(struct rcv_spool_msg *m, struct mt_err *err);
void rcv_spool_abort(struct rcv_spool_msg *m);
/* Commits in worker threads (fsync would stall the event loop). */
struct rcv_commit_res {
	int fd;
	uint64_t icid;
	mt_status st;
	char final[512];
	char err[256];
};
mt_status rcv_commit_start(int nthreads, int *notify_fd, struct mt_err *err);
/* Hand m (its fd and buffer) to a worker; m is left empty. False if out of memory. */
bool rcv_commit_submit(struct rcv_spool_msg *m, int fd, uint64_t icid);
size_t rcv_commit_collect(struct rcv_commit_res *out, size_t max);
/* Finish queued commits and stop the workers. */
void rcv_commit_stop(void);

/* ---- the AsyncOS-style mail log ---- */
/* Open (append) the mail log; path NULL or "-" = stderr. */
mt_status rcv_maillog_open(const char *path, struct mt_err *err);
void rcv_maillog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rcv_maillog_close(void);
/* Format one log line with the given time (for tests): "Tue Apr 17 00:57:53 2018 Info: ...". */
void rcv_maillog_format(char *out, size_t outsz, time_t t, const char *msg);

/* ---- session records (JSON Lines) ---- */
mt_status rcv_records_open(const char *path, struct mt_err *err);
/* Append one JSON object (a whole line, written with one write()). */
void rcv_records_append(const char *json_line);
void rcv_records_close(void);
/* `receiver sessions`: print the last n records (as a table, or raw JSON). */
int rcv_sessions_cmd(const char *path, unsigned last, bool json, FILE *out, struct mt_err *err);

/* ---- certificates ---- */
/* The certificate and key the listeners use by default: configured, installed
 * (certs/cert.pem), self-signed from `cert new` (certs/selfsigned.pem), or the
 * demonstration certificate, made on first use. *is_demo tells which. Paths are heap
 * strings the caller frees. */
mt_status rcv_cert_default(const struct rcv_config *c, char **cert, char **key, bool *is_demo,
                           struct mt_err *err);
/* Refuse keys readable by group or others. */
mt_status rcv_cert_check_key_mode(const char *keyfile, struct mt_err *err);
/* `receiver cert ...`; returns an exit code. */
int rcv_cert_cmd(struct rcv_config *c, int argc, char **argv);

/* ---- the server ---- */
/* Build a fresh configuration (file + command line) for a SIGHUP reload. */
typedef mt_status (*rcv_reload_fn)(struct rcv_config *out, struct mt_err *err);
/* Bind, drop privileges, serve until SIGTERM/SIGINT; returns an exit code. Takes ownership
 * of c, which must come from malloc (freed on return, with every reloaded config). */
int rcv_server_run(struct rcv_config *c, rcv_reload_fn reload);

/* Write a whole file atomically (temp, fsync, rename) with mode. */
mt_status rcv_write_file_atomic(const char *path, const void *p, size_t n, int mode,
                                struct mt_err *err);

#endif

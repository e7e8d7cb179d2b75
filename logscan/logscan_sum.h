/* logscan_sum.h — summary counters built from finished records.
 *
 * Keyed tables (protocol, cipher, peer domain, peer address, failure reason, time bucket)
 * hold at most a fixed number of distinct keys each; later new keys are counted under
 * "(other)" so memory stays bounded on any input.  The tables own their key strings.
 */
#ifndef LOGSCAN_SUM_H
#define LOGSCAN_SUM_H

#include "logscan_corr.h"

#include <stdint.h>

struct mt_ls_count {
	uint64_t total, tls, failed, none;
};

struct mt_ls_kent {
	char *key;
	uint32_t len, hash; /* strlen(key) and its hash: compared before the bytes */
	char pfx[16];	    /* key's first bytes: short keys compare without touching key */
	struct mt_ls_count c;
	uint64_t aux; /* per-table extra: deliveries for domains */
};

enum { KT_RECENT_BITS = 8 };
struct mt_ls_keytab {
	struct mt_ls_kent *ents;
	uint32_t n, cap_ents, max_keys;
	uint64_t *slots; /* hash << 32 | entry index; low half UINT32_MAX = empty */
	uint32_t mask;
	struct mt_ls_count other; /* keys beyond max_keys */
	uint64_t other_keys;	  /* how many distinct keys went to "(other)" (approximate) */
	char *arena;		  /* the keys' text, in chunks (the first word of each links the previous) */
	char *arena_next;	  /* free space in the newest chunk: arena_left bytes */
	size_t arena_left;
	uint32_t recent[1u << KT_RECENT_BITS]; /* entry index + 1 (0 = none) by a hash of the key's ends: kcount tries it first */
};

enum { MT_LS_BY_NONE = 0, MT_LS_BY_HOUR, MT_LS_BY_DAY };

struct mt_ls_sum {
	struct mt_ls_count dir[3]; /* index MT_LS_DIR_IN / MT_LS_DIR_OUT */
	uint64_t local_conns[3];   /* the same: connections in clear over loopback (--loopback-local) */
	uint64_t msgs, in_tls, in_clear, in_local, in_unknown, deliv, deliv_tls, deliv_clear, msgs_all_tls, msgs_clear;
	uint64_t continued; /* message records that went on under another id (not messages of their own) */
	uint64_t fallbacks; /* Postfix handshake failures withdrawn: sent in clear at level may */
	uint64_t reqfail, by_cause[MT_LS_CAUSE_COUNT];
	uint64_t evicted_msgs_seen;
	time_t t_min, t_max;
	int by;
	struct mt_ls_keytab proto, cipher, domain, ip, reason, bucket;
	/* outbound connections with Postfix 3.11's tls=: by desired security level (the raw value
	 * when it does not parse), downgrades ("may:none", "requiretls:..."), and the flags */
	struct mt_ls_keytab level, downgrade;
	struct mt_ls_tlsfeat_counts {
		uint64_t conns, unparsed, downgraded, blocked, undecided;
		uint64_t requiretls, rtls_downgraded, rtls_blocked, rtls_undecided;
	} tlsfeat;
	/* the address table is too big for the cache: each connection's address is counted
	 * when the next connection arrives, its slot prefetched in between (mt_ls_sum_settle
	 * counts the last one; insertion order, and so every result, is unchanged) */
	bool ip_pending;
	uint8_t ip_pending_tls;
	uint32_t ip_pending_hash;
	size_t ip_pending_n;
	char ip_pending_key[sizeof(((struct mt_ls_conn *)0)->ip)];
};

int mt_ls_sum_init(struct mt_ls_sum *s, int by, uint32_t max_keys);
void mt_ls_sum_free(struct mt_ls_sum *s);
void mt_ls_sum_conn(struct mt_ls_sum *s, const struct mt_ls_conn *c);
/* Finish deferred counting: call before reading the tables. */
void mt_ls_sum_settle(struct mt_ls_sum *s);
void mt_ls_sum_msg(struct mt_ls_sum *s, const struct mt_ls_msg *m);
void mt_ls_sum_reqfail(struct mt_ls_sum *s, const struct mt_ls_reqfail *r);

/* Entry for key (created when absent, or NULL when the table is full). */
struct mt_ls_kent *mt_ls_keytab_get(struct mt_ls_keytab *t, const char *key, size_t n);
/* Free the entries, their keys and the slots (not the table itself, nor aux). */
void mt_ls_keytab_free(struct mt_ls_keytab *t);
/* Entries sorted by total descending (by_key: ascending key); array owned by caller (free). */
struct mt_ls_kent **mt_ls_keytab_sorted(const struct mt_ls_keytab *t, int by_key);
/* The first limit entries of that order (limit 0 = all); *count says how many. */
struct mt_ls_kent **mt_ls_keytab_top(const struct mt_ls_keytab *t, int by_key, uint32_t limit, uint32_t *count);

/* "TLSv1", "TLSv1.1", SSL*: protocols the issue flags as deprecated. */
int mt_ls_proto_deprecated(const char *proto);
/* Normalise a protocol name: Exim "TLS1.2" -> "TLSv1.2". */
void mt_ls_proto_norm(const char *in, char *out, size_t size);
/* Registrable-looking domain of a host name (last two labels, three under short ccSLDs). */
void mt_ls_host_domain(const char *host, char *out, size_t size);
/* The same for the n bytes at host; returns the length written. */
size_t mt_ls_host_domain_n(const char *host, size_t n, char *out, size_t size);
/* The peer domain a connection is summarised under. */
void mt_ls_conn_domain(const struct mt_ls_conn *c, char *out, size_t size);
size_t mt_ls_conn_domain_n(const struct mt_ls_conn *c, char *out, size_t size);
/* Time bucket key for t. */
void mt_ls_bucket(time_t t, int by, char *out, size_t size);
/* ISO 8601 "YYYY-MM-DDTHH:MM:SS" in log time. */
void mt_ls_time_str(time_t t, char *out, size_t size);

#endif

/* logscan_parse.h — one log line in, one typed event out.
 *
 * Each mail-log line goes through mt_ls_parse_line(): the common header (syslog priority,
 * timestamp, host, program tag) is recognised first, then the line is handed to the parser
 * of its format (ESA, Postfix, Exim, Sendmail).  The event only points into the caller's
 * line (struct mt_ls_str slices): nothing is allocated per line, and the event is valid
 * only as long as the line buffer is.
 */
#ifndef LOGSCAN_PARSE_H
#define LOGSCAN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct mt_ls_str {
	const char *p;
	size_t n;
};

enum mt_ls_fmt { MT_LS_FMT_UNKNOWN = 0, MT_LS_FMT_ESA, MT_LS_FMT_POSTFIX, MT_LS_FMT_EXIM, MT_LS_FMT_SENDMAIL, MT_LS_FMT_COUNT };
const char *mt_ls_fmt_name(int fmt);

enum mt_ls_dir { MT_LS_DIR_NONE = 0, MT_LS_DIR_IN, MT_LS_DIR_OUT };
const char *mt_ls_dir_name(int dir);

/* What a line tells about TLS on its connection. */
enum mt_ls_tls { MT_LS_TLS_UNSTATED = 0, MT_LS_TLS_OK, MT_LS_TLS_FAILED, MT_LS_TLS_NONE };
const char *mt_ls_tls_name(int tls);

/* Why a delivery (or reception) that required TLS did not use it: the ESA guide's causes first. */
enum mt_ls_cause {
	MT_LS_CAUSE_NONE = 0,
	MT_LS_CAUSE_NO_ESMTP,	     /* peer does not understand EHLO */
	MT_LS_CAUSE_NOT_ADVERTISED,  /* EHLO reply lacked STARTTLS */
	MT_LS_CAUSE_STARTTLS_ERROR,  /* peer answered STARTTLS with an error */
	MT_LS_CAUSE_HANDSHAKE,	     /* STARTTLS accepted, handshake failed */
	MT_LS_CAUSE_VERIFY,	     /* handshake done, certificate not acceptable */
	MT_LS_CAUSE_CLIENT_NO_TLS,   /* inbound: client did not use STARTTLS where required */
	MT_LS_CAUSE_LOCAL,	     /* our own TLS engine unavailable */
	MT_LS_CAUSE_REQUIRETLS,	     /* the message asked for REQUIRETLS, the peer could not (Postfix 3.11's tls=) */
	MT_LS_CAUSE_OTHER,
	MT_LS_CAUSE_COUNT
};
const char *mt_ls_cause_name(int cause);

enum mt_ls_ev_kind {
	MT_LS_EV_NONE = 0,  /* recognised, nothing TLS-related */
	MT_LS_EV_CONN_OPEN, /* conn, dir, ip, host */
	MT_LS_EV_CONN_TLS,  /* conn: tls outcome with proto/cipher/bits/verify/cert or reason */
	MT_LS_EV_CONN_INFO, /* conn: extra detail (reason, domain, cert) without changing the outcome */
	MT_LS_EV_CONN_CLOSE,
	MT_LS_EV_MSG_RECV,  /* msg received on conn (or inline: tls fields set, conn 0) */
	MT_LS_EV_MSG_RCPT,  /* msg has a recipient in rcpt_domain */
	MT_LS_EV_DELIVERY,  /* msg delivered over conn (or inline) to rcpt_domain */
	MT_LS_EV_REQFAIL,   /* TLS required and not used: cause + reason */
	MT_LS_EV_MSG_DONE,
	MT_LS_EV_MSG_LINK,  /* msg (msgid) comes from the message link names: a copy (copy set) or its
			     * continuation under a new id (ESA "generated based on", "rewritten to") */
	MT_LS_EV_SUMMARY,   /* a whole message on one line, an AsyncOS consolidated event (msgid; the
			     * CEF extension in status): mt_ls_esa_summary_events() makes the
			     * events above of it */
};

struct mt_ls_event {
	int kind;
	int fmt;
	int dir;
	time_t ts;
	uint64_t conn;		 /* connection key, 0 = inline (the line is the whole connection) */
	struct mt_ls_str connid; /* as printed: ICID/DCID number, pid */
	struct mt_ls_str msgid;	 /* MID, queue id, Exim id */
	struct mt_ls_str ip, host, domain, rcpt_domain;
	int tls;
	struct mt_ls_str proto, cipher, verify, cert, reason;
	struct mt_ls_str status; /* a delivery's status; on a Postfix disconnect, the rest of the
				  * line (mt_ls_postfix_starttls reads its counters) */
	int bits;
	int cause;
	bool local;	/* message submitted locally, not over a network connection */
	bool new_conn;	/* this line starts a new connection even if the key is open */
	bool reused;	/* Postfix client: a TLS connection taken from the connection cache */
	bool copy;	/* MSG_LINK: msgid is a copy, the other message goes on (else it continues as msgid) */
	uint16_t port;	/* Postfix client: the peer's port, 0 = not logged */
	uint16_t conn_use; /* Postfix delivery: its connection's use count when >= 2 (conn_use=) */
	uint64_t msgkey; /* message table key, 0 = not computed yet (mt_ls_corr_prepare) */
	/* DELIVERY (Postfix, sent): the id the receiving end queued it as ("queued as Y");
	 * MSG_LINK: the id of the message msgid comes from */
	struct mt_ls_str link;
	/* Postfix 3.11+ DELIVERY or REQFAIL: its tls= field as logged, the TLS security level and
	 * the TLS features the delivery used ("may", "may:none", "dane/requiretls") */
	struct mt_ls_str level;
};

/* The common header of a line. */
struct mt_ls_hdr {
	int fmt;
	time_t ts;
	struct mt_ls_str host, tag, service; /* service: Postfix "smtpd" from "postfix/submission/smtpd" */
	long pid;
	struct mt_ls_str msg; /* the rest of the line */
	uint64_t hosth;	      /* mt_ls_host_hash(host), 0 = not computed yet */
};

struct mt_ls_parse_opts {
	int year; /* for syslog timestamps, which carry none */
	/* the 64 bytes after each line's end are readable (a reader buffer, MT_LS_PAD): short
	 * lines take the same one-load header path as long ones */
	bool padded;
};

enum mt_ls_result {
	MT_LS_IGNORED = 0, /* format known, line irrelevant */
	MT_LS_EVENT,	   /* ev filled */
	MT_LS_UNPARSED,	   /* unknown format or a TLS line we could not read */
};

/* Parse one line (without its newline). ev is fully overwritten when MT_LS_EVENT. */
int mt_ls_parse_line(const char *line, size_t len, const struct mt_ls_parse_opts *o, struct mt_ls_event *ev);

/* Parse n lines: the events go to ev[] in order (their count returned), the indexes of the
 * unparsed lines to unp[] (*nunp of them), and *ignored grows by the ignored ones. */
struct mt_ls_line; /* logscan_input.h: a line as the reader hands it over */
uint32_t mt_ls_parse_lines(const struct mt_ls_line *ln, uint32_t n, const struct mt_ls_parse_opts *o, struct mt_ls_event *ev,
			   uint32_t *unp, uint32_t *nunp, uint64_t *ignored);

/* Split a line's header; false when no known header shape was found. */
bool mt_ls_parse_hdr(const char *line, size_t len, const struct mt_ls_parse_opts *o, struct mt_ls_hdr *h);

/* The per-format parsers: h->msg is the message part. */
int mt_ls_esa_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev);
/* The events an MT_LS_EV_SUMMARY stands for, in order, into out (at most 3): the message's
 * reception on its inbound session, its delivery on its outbound one (each an inline
 * connection with that side's TLS outcome), its end.  Returns how many. */
unsigned mt_ls_esa_summary_events(const struct mt_ls_event *ev, struct mt_ls_event out[3]);
/* AsyncOS's "Www Mmm dd hh:mm:ss yyyy" (a native header's time, a consolidated event's
 * startTime and endTime) in s, whole; false when it is not that. */
bool mt_ls_esa_time(struct mt_ls_str s, time_t *ts);
/* Bytes of the appliance's own time and a colon at the start of the n bytes at p ("Mon Aug
 * 10 10:10:07 2020: ", as a log pushed to syslog may carry it before its message): 26, or 0. */
static inline size_t mt_ls_esa_time_prefix(const char *p, size_t n)
{
	time_t t;
	return n >= 32 && p[24] == ':' && p[25] == ' ' && mt_ls_esa_time((struct mt_ls_str){p, 24}, &t) ? 26 : 0;
}
int mt_ls_postfix_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev);
/* The direction of a Postfix service's lines (smtpd: in; smtp, lmtp, relay, error: out; qmgr,
 * pickup: none); -1 for the services whose lines mt_ls_postfix_parse ignores. */
int mt_ls_postfix_service_dir(struct mt_ls_str svc);
/* What a Postfix disconnect line's command counters (the text after "disconnect from ") say of
 * STARTTLS: MT_LS_TLS_OK, MT_LS_TLS_FAILED (*reason set) or MT_LS_TLS_UNSTATED (none issued). */
int mt_ls_postfix_starttls(struct mt_ls_str counters, struct mt_ls_str *reason);
/* Postfix 3.11's tls= field (smtp_log_tls_feature_status), split: "feature[/feature]", the
 * first the TLS security level, the other "requiretls" when the message asked for REQUIRETLS;
 * each ["!"]name[":"final]["?"]: "!" the policy was not met and delivery was blocked, ":final"
 * downgraded to final (e.g. "may:none": STARTTLS not offered), "?" left undecided (usually a
 * lost connection).  A pre-release form's "(name)" (relaxed) is read as name. */
struct mt_ls_tls_feat {
	bool present, blocked, undecided;
	char name[16], final[16]; /* final: "" unless downgraded */
};
struct mt_ls_tls_status {
	struct mt_ls_tls_feat level, requiretls;
};
/* false (and *st cleared) when s is not of that form. */
bool mt_ls_postfix_tls_status(struct mt_ls_str s, struct mt_ls_tls_status *st);
int mt_ls_exim_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev);
int mt_ls_sendmail_parse(const struct mt_ls_hdr *h, struct mt_ls_event *ev);

/* Zero a small fixed-size struct (n a constant) with plain 16-byte stores.  For the event
 * (288 bytes) and header GCC's generic memset expansion is "rep stos", whose start-up cost
 * was a good part of each line's parse. */
static inline void mt_ls_zero(void *p, size_t n)
{
	unsigned char *d = p;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i z = _mm_setzero_si128();
#pragma GCC unroll 32
	for (; i + 16 <= n; i += 16)
		_mm_storeu_si128((__m128i *)(void *)(d + i), z);
#endif
	if (i + 8 <= n) {
		const uint64_t z8 = 0;
		memcpy(d + i, &z8, 8);
		i += 8;
	}
	for (; i < n; i++)
		d[i] = 0;
}

#ifdef __SSE2__
/* Bit i set where p[i] == c, for the 64 bytes at p (all readable). */
static inline uint64_t mt_ls_mask64(const char *p, char c)
{
	const __m128i k = _mm_set1_epi8(c);
	const __m128i *v = (const __m128i *)(const void *)p;
	return (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(v), k)) |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(v + 1), k)) << 16 |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(v + 2), k)) << 32 |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(v + 3), k)) << 48;
}
#endif

/* Character classes for the per-byte loops (one table load instead of several compares). */
enum { MT_LS_CC_ALNUM = 1, MT_LS_CC_TAGSTOP = 2 /* ' ' '[' ':' */, MT_LS_CC_UHEX = 4 /* 0-9 A-F */, MT_LS_CC_DIGIT = 8 };
extern const unsigned char mt_ls_cc[256];
#define MT_LS_CC(c, cls) (mt_ls_cc[(unsigned char)(c)] & (cls))

/* Helpers shared by the parsers (logscan_parse.c).  The small ones are inline: they run
 * several times per line, and inlining lets the compiler fold strlen() of literals. */
static inline uint64_t mt_ls_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* inline: callers hash short keys (ids, addresses, domains) several times per event */
static inline uint64_t mt_ls_hash(const void *p, size_t n, uint64_t seed)
{
	/* eight bytes per step (ids, addresses and domains are 4..40 bytes), then a final mix */
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL ^ seed ^ ((uint64_t)n << 56);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	if (n) {
		/* the 1..7 tail bytes as one little-endian word, zero-padded, from at most two
		 * loads (a variable-length memcpy is a library call) */
		uint64_t w;
		if (n >= 4) {
			uint32_t lo, hi;
			memcpy(&lo, s, 4);
			memcpy(&hi, s + n - 4, 4);
			w = lo | (((uint64_t)hi >> (8 * (8 - n))) << 32);
		} else {
			w = (uint64_t)s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) | (uint64_t)s[n - 1] << (8 * (n - 1));
		}
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return mt_ls_mix64(h);
}

/* a == b for n bytes.  Literals and ids are short: two overlapping loads of 16, 8 or 4
 * bytes instead of a memcmp call (GCC calls it above a few bytes); reads stay inside both. */
static inline bool mt_ls_eqn(const char *a, const char *b, size_t n)
{
#ifdef __SSE2__
	if (n >= 16 && n <= 32) {
		const __m128i x = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)a),
						 _mm_loadu_si128((const __m128i *)(const void *)b));
		const __m128i y = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
						 _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16)));
		return _mm_movemask_epi8(_mm_and_si128(x, y)) == 0xffff;
	}
#endif
	if (n >= 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		uint64_t x0, y0, x1, y1;
		memcpy(&x0, a, 8);
		memcpy(&y0, b, 8);
		memcpy(&x1, a + n - 8, 8);
		memcpy(&y1, b + n - 8, 8);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (n >= 4) {
		uint32_t x0, y0, x1, y1;
		memcpy(&x0, a, 4);
		memcpy(&y0, b, 4);
		memcpy(&x1, a + n - 4, 4);
		memcpy(&y1, b + n - 4, 4);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

static inline bool mt_ls_startsn(struct mt_ls_str s, const char *lit, size_t n)
{
	return s.n >= n && mt_ls_eqn(s.p, lit, n); /* n a literal's length: the branches fold */
}
#define mt_ls_starts(s, lit) mt_ls_startsn((s), (lit), strlen(lit))
/* Find lit (n bytes) in s; returns offset or -1. */
long mt_ls_findn(struct mt_ls_str s, const char *lit, size_t n);
#define mt_ls_find(s, lit) mt_ls_findn((s), (lit), strlen(lit))
static inline struct mt_ls_str mt_ls_sub(struct mt_ls_str s, size_t off)
{
	if (off > s.n)
		off = s.n;
	return (struct mt_ls_str){s.p + off, s.n - off};
}
/* The value of the d (1..8) decimal digits at p (8 bytes readable there), all known to be
 * digits: one word, no loop. */
static inline uint64_t mt_ls_digits8(const char *p, unsigned d)
{
	uint64_t w;
	memcpy(&w, p, 8);
	/* little-endian: the first digit is the low byte; shifting left drops the bytes after
	 * the digits and leaves zeros (leading zero digits) below them */
	w = (w - 0x3030303030303030ULL) << (8 * (8 - d));
	w = w * 10 + (w >> 8);
	return ((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)) +
		((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >> 32;
}

/* Given t, a little-endian word of bytes minus '0' each: the high bit of every byte that is
 * not a decimal digit.  Exact up to and including the first such byte (a borrow or carry
 * only starts at a non-digit and runs upwards); bytes above it may be flagged falsely. */
static inline uint64_t mt_ls_nondigits(uint64_t t)
{
	return (t | (t + 0x7676767676767676ULL)) & 0x8080808080808080ULL;
}

/* Are the d (1..8) bytes at p all decimal digits?  (8 bytes readable at p.) */
static inline bool mt_ls_digits_ok(const char *p, unsigned d)
{
	uint64_t w;
	memcpy(&w, p, 8);
	/* the d bytes moved to the top, the bytes after them dropped: a flag can only come from
	 * a non-digit among them (or run upwards from one) */
	return mt_ls_nondigits((w - 0x3030303030303030ULL) << (8 * (8 - d))) == 0;
}

/* Read a decimal number at s; returns digits consumed (0 = none). */
static inline size_t mt_ls_num(struct mt_ls_str s, uint64_t *v)
{
	/* most ids are under 8 digits: where they end, from one word */
	if (s.n >= 8) {
		uint64_t w;
		memcpy(&w, s.p, 8);
		uint64_t bad = mt_ls_nondigits(w - 0x3030303030303030ULL);
		if (bad) {
			unsigned k = (unsigned)__builtin_ctzll(bad) >> 3;
			if (v)
				*v = k ? mt_ls_digits8(s.p, k) : 0;
			return k;
		}
	}
#ifdef __SSE2__
	/* ids are 1..16 digits: find where the digits end in one 16-byte step */
	if (s.n >= 16) {
		const __m128i x = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)s.p), _mm_set1_epi8('0'));
		const __m128i nine = _mm_set1_epi8(9);
		unsigned dig = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, nine), nine));
		unsigned k = (unsigned)__builtin_ctz(~dig); /* ~dig has bit 16 and up set */
		if (k < 16) {
			if (v)
				*v = k == 0 ? 0 : k <= 8 ? mt_ls_digits8(s.p, k) : mt_ls_digits8(s.p, k - 8) * 100000000ULL + mt_ls_digits8(s.p + k - 8, 8);
			return k;
		}
	}
#endif
	uint64_t x = 0;
	size_t i = 0, lim = s.n < 19 ? s.n : 19;
	for (unsigned d; i < lim && (d = (unsigned)(unsigned char)s.p[i] - '0') <= 9; i++)
		x = x * 10 + d;
	if (v)
		*v = x;
	return i;
}
/* Token up to the next space. */
static inline struct mt_ls_str mt_ls_word(struct mt_ls_str s)
{
	const char *sp = s.n ? memchr(s.p, ' ', s.n) : NULL;
	return (struct mt_ls_str){s.p, sp ? (size_t)(sp - s.p) : s.n};
}
/* "host[ip]" -> host, ip (Postfix); returns false when the shape is wrong. */
bool mt_ls_host_ip(struct mt_ls_str s, struct mt_ls_str *host, struct mt_ls_str *ip);
/* Domain part of an address (text after the last '@', without trailing '>' or ','). */
struct mt_ls_str mt_ls_addr_domain(struct mt_ls_str addr);
/* Value of " key=" up to ", " (Postfix/Sendmail) or space (Exim); empty when absent. */
struct mt_ls_str mt_ls_kvn(struct mt_ls_str s, const char *key, size_t kn, char stop);
/* The value of the field whose kn-byte key starts at offset at (mt_ls_kvn's value rules). */
struct mt_ls_str mt_ls_kv_at(struct mt_ls_str s, size_t at, size_t kn, char stop);
/* A per-format field index: at[0..n) set to -1, then check(s, i, at) for every place in s
 * where a "key=" field may start by mt_ls_kvn's rule: offset 0 and each byte after a space,
 * in order (check records the first start of each key it wants in at[]).  Inline, so check
 * is called directly. */
static inline void mt_ls_field_starts(struct mt_ls_str s, void (*check)(struct mt_ls_str, size_t, long *), long *at,
				      int n)
{
	for (int k = 0; k < n; k++)
		at[k] = -1;
	check(s, 0, at);
	size_t b = 0;
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' ');
	for (; b + 16 <= s.n; b += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s.p + b)), sp));
		for (; m; m &= m - 1)
			check(s, b + (unsigned)__builtin_ctz(m) + 1, at);
	}
#endif
	for (; b < s.n; b++)
		if (s.p[b] == ' ')
			check(s, b + 1, at);
}
/* The value of the field whose kn-byte key an index found at pos (-1: none, the empty slice). */
static inline struct mt_ls_str mt_ls_field_value(struct mt_ls_str s, long pos, size_t kn, char stop)
{
	return pos < 0 ? (struct mt_ls_str){NULL, 0} : mt_ls_kv_at(s, (size_t)pos, kn, stop);
}
#define mt_ls_kv(s, key, stop) mt_ls_kvn((s), (key), strlen(key), (stop))
/* Where the kn-byte key first starts a word of s (offset 0, or after a space), or -1: the
 * key tried at each such place in order (for a line of few words, cheaper than searching
 * for the key and then checking the byte before). */
static inline long mt_ls_word_keyn(struct mt_ls_str s, const char *key, size_t kn)
{
	if (s.n >= kn && mt_ls_eqn(s.p, key, kn))
		return 0;
	size_t b = 0;
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' ');
	for (; b + 16 <= s.n; b += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s.p + b)), sp));
		for (; m; m &= m - 1) {
			size_t at = b + (unsigned)__builtin_ctz(m) + 1;
			if (s.n - at >= kn && mt_ls_eqn(s.p + at, key, kn))
				return (long)at;
		}
	}
#endif
	for (; b < s.n; b++)
		if (s.p[b] == ' ' && s.n - (b + 1) >= kn && mt_ls_eqn(s.p + b + 1, key, kn))
			return (long)(b + 1);
	return -1;
}
/* mt_ls_kvn by mt_ls_word_keyn: the same first match and value. */
static inline struct mt_ls_str mt_ls_kvn_words(struct mt_ls_str s, const char *key, size_t kn, char stop)
{
	long at = mt_ls_word_keyn(s, key, kn);
	return at < 0 ? (struct mt_ls_str){NULL, 0} : mt_ls_kv_at(s, (size_t)at, kn, stop);
}
#define mt_ls_kv_words(s, key, stop) mt_ls_kvn_words((s), (key), strlen(key), (stop))
/* Classify a free-text failure into a cause. */
int mt_ls_cause_from_text(struct mt_ls_str s);
/* A host name's hash for connection keys (never 0; the empty name has MT_LS_NOHOST_HASH). */
uint64_t mt_ls_host_hash(struct mt_ls_str host);
#define MT_LS_NOHOST_HASH 0x6e6f686f7374ULL
/* The connection key of (format, direction, host hash, id), never 0. */
static inline uint64_t mt_ls_conn_key_h(int fmt, int dir, uint64_t hosth, uint64_t id)
{
	uint64_t k = hosth ^ (((uint64_t)fmt << 8 | (uint64_t)dir) + 1) * 0xff51afd7ed558ccdULL;
	k ^= id * 0x9e3779b97f4a7c15ULL;
	k ^= k >> 29;
	return k ? k : 1;
}
/* A connection key from parts, never 0. */
uint64_t mt_ls_conn_key(int fmt, int dir, struct mt_ls_str host, uint64_t id);
/* The key of connection id on the line whose header is h: its host hash computed once per
 * header shape (the cached syslog prefix carries it). */
static inline uint64_t mt_ls_hdr_conn_key(const struct mt_ls_hdr *h, int fmt, int dir, uint64_t id)
{
	return mt_ls_conn_key_h(fmt, dir, h->hosth ? h->hosth : mt_ls_host_hash(h->host), id);
}

#endif

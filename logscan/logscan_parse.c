/* logscan_parse.c — line header recognition (syslog, AsyncOS native, RFC 3339, Exim) and the
 * small string helpers every format parser uses.  Nothing here allocates: results are slices
 * of the caller's line.
 *
 * Timestamps are converted to seconds as if the log's wall-clock time were UTC ("log time"):
 * logs rarely say their zone, and --since/--until are read the same way, so comparisons and
 * hour/day buckets stay in the log's own clock.
 */
#include "logscan_parse.h"
#include "logscan_input.h"

#include <limits.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CC_RANGE(a, b, v) [a ... b] = v
const unsigned char mt_ls_cc[256] = {
    CC_RANGE('0', '9', MT_LS_CC_ALNUM | MT_LS_CC_UHEX | MT_LS_CC_DIGIT),
    CC_RANGE('A', 'F', MT_LS_CC_ALNUM | MT_LS_CC_UHEX),
    CC_RANGE('G', 'Z', MT_LS_CC_ALNUM),
    CC_RANGE('a', 'z', MT_LS_CC_ALNUM),
    [' '] = MT_LS_CC_TAGSTOP,
    ['['] = MT_LS_CC_TAGSTOP,
    [':'] = MT_LS_CC_TAGSTOP,
};

static const char *const fmt_names[] = {"unknown", "esa", "postfix", "exim", "sendmail"};
const char *mt_ls_fmt_name(int fmt)
{
	return fmt >= 0 && fmt < MT_LS_FMT_COUNT ? fmt_names[fmt] : "unknown";
}

const char *mt_ls_dir_name(int dir)
{
	return dir == MT_LS_DIR_IN ? "in" : dir == MT_LS_DIR_OUT ? "out" : "-";
}

const char *mt_ls_tls_name(int tls)
{
	switch (tls) {
	case MT_LS_TLS_OK: return "tls";
	case MT_LS_TLS_FAILED: return "failed";
	case MT_LS_TLS_NONE: return "none";
	default: return "none";
	}
}

static const char *const cause_names[] = {
    [MT_LS_CAUSE_NONE] = "-",
    [MT_LS_CAUSE_NO_ESMTP] = "no ESMTP",
    [MT_LS_CAUSE_NOT_ADVERTISED] = "STARTTLS not advertised",
    [MT_LS_CAUSE_STARTTLS_ERROR] = "error answering STARTTLS",
    [MT_LS_CAUSE_HANDSHAKE] = "TLS handshake failed",
    [MT_LS_CAUSE_VERIFY] = "certificate not verified",
    [MT_LS_CAUSE_CLIENT_NO_TLS] = "client did not use STARTTLS",
    [MT_LS_CAUSE_LOCAL] = "local TLS unavailable",
    [MT_LS_CAUSE_REQUIRETLS] = "REQUIRETLS not met",
    [MT_LS_CAUSE_OTHER] = "other",
};
const char *mt_ls_cause_name(int cause)
{
	return cause >= 0 && cause < MT_LS_CAUSE_COUNT ? cause_names[cause] : "other";
}

/* A pid with its next digit: saturates at LONG_MAX instead of overflowing (a real pid has a
 * few digits; a long run of them is garbage, and every path must read it alike). */
static inline long pid_digit(long pid, unsigned d)
{
	return pid > (LONG_MAX - 9) / 10 ? LONG_MAX : pid * 10 + (long)d;
}

/* Nearly every line of a log names the same host: remember the last one's hash, per thread
 * (both parsing threads compute keys). */
static _Thread_local struct {
	uint64_t h;
	size_t n;
	char txt[32];
} g_host_cache;

uint64_t mt_ls_host_hash(struct mt_ls_str host)
{
	if (!host.n)
		return MT_LS_NOHOST_HASH;
	if (g_host_cache.h && host.n <= sizeof g_host_cache.txt && g_host_cache.n == host.n &&
	    mt_ls_eqn(g_host_cache.txt, host.p, host.n))
		return g_host_cache.h;
	uint64_t k = mt_ls_hash(host.p, host.n, 0x686f7374);
	k = k ? k : 1;
	if (host.n <= sizeof g_host_cache.txt) {
		g_host_cache.n = host.n;
		memcpy(g_host_cache.txt, host.p, host.n);
		g_host_cache.h = k;
	}
	return k;
}

uint64_t mt_ls_conn_key(int fmt, int dir, struct mt_ls_str host, uint64_t id)
{
	return mt_ls_conn_key_h(fmt, dir, mt_ls_host_hash(host), id);
}

long mt_ls_findn(struct mt_ls_str s, const char *lit, size_t n)
{
	if (!n || s.n < n)
		return n ? -1 : 0;
	const char *p = s.p;
	size_t i = 0;
#ifdef __SSE2__
	/* Lines are short and needles are literals: compare the needle's first and last byte
	 * against 16 positions at once and check only the candidates (much cheaper per call
	 * than memmem's setup).  Loads stay inside s. */
	if (n >= 2 && s.n >= n - 1 + 16) {
		const __m128i first = _mm_set1_epi8(lit[0]), last = _mm_set1_epi8(lit[n - 1]);
		for (; i + n - 1 + 16 <= s.n; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + n - 1));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
			while (m) {
				unsigned k = (unsigned)__builtin_ctz(m);
				if (mt_ls_eqn(p + i + k + 1, lit + 1, n - 2))
					return (long)(i + k);
				m &= m - 1;
			}
		}
		/* the last (< 16) start positions: one more step over the window that ends at the
		 * end of s, its positions before i masked off (a memchr call cost more) */
		if (i <= s.n - n) {
			size_t j = s.n - n + 1 - 16;
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + j + n - 1));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
			m &= ~0u << (i - j);
			while (m) {
				unsigned k = (unsigned)__builtin_ctz(m);
				if (mt_ls_eqn(p + j + k + 1, lit + 1, n - 2))
					return (long)(j + k);
				m &= m - 1;
			}
		}
		return -1;
	}
#endif
	if (n >= 2 && s.n < 32) {
		/* short: a byte loop beats a memchr call per candidate */
		for (size_t k = 0; k + n <= s.n; k++)
			if (p[k] == lit[0] && mt_ls_eqn(p + k + 1, lit + 1, n - 1))
				return (long)k;
		return -1;
	}
	const char *q = p + i, *end = p + (s.n - n);
	const char c0 = lit[0];
	while (q <= end) {
		q = memchr(q, c0, (size_t)(end - q) + 1);
		if (!q)
			return -1;
		if (mt_ls_eqn(q + 1, lit + 1, n - 1))
			return (long)(q - p);
		q++;
	}
	return -1;
}

#ifdef __SSE2__
/* host and ip from the positions of the '[' and the ']' that closes it */
static inline bool host_ip_at(struct mt_ls_str s, size_t lb, size_t rb, struct mt_ls_str *host, struct mt_ls_str *ip)
{
	host->p = s.p;
	host->n = lb;
	ip->p = s.p + lb + 1;
	ip->n = rb - lb - 1;
	return true;
}
#endif

bool mt_ls_host_ip(struct mt_ls_str s, struct mt_ls_str *host, struct mt_ls_str *ip)
{
#ifdef __SSE2__
	/* "host[ip]" is short: both brackets from 16-byte steps (two memchr calls cost more) */
	size_t i = 0, lbi = SIZE_MAX;
	const __m128i kl = _mm_set1_epi8('['), kr = _mm_set1_epi8(']');
	for (; i + 16 <= s.n; i += 16) {
		const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s.p + i));
		unsigned ml = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, kl));
		unsigned mr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, kr));
		if (lbi == SIZE_MAX) {
			if (!ml)
				continue;
			lbi = i + (unsigned)__builtin_ctz(ml);
			mr &= ~0u << (lbi - i); /* a ']' before the '[' does not close it */
		}
		if (mr)
			return host_ip_at(s, lbi, i + (unsigned)__builtin_ctz(mr), host, ip);
	}
	if (i < s.n && s.n >= 16) {
		/* the rest (1..15 bytes): one more step over the window that ends where s does,
		 * its positions before i (seen already) masked off */
		const size_t j = s.n - 16;
		const unsigned skip = (unsigned)(i - j);
		const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s.p + j));
		unsigned ml = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, kl)) & (~0u << skip);
		unsigned mr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, kr)) & (~0u << skip);
		if (lbi == SIZE_MAX) {
			if (!ml)
				return false;
			lbi = j + (unsigned)__builtin_ctz(ml);
			mr &= ~0u << (lbi - j);
		}
		return mr && host_ip_at(s, lbi, j + (unsigned)__builtin_ctz(mr), host, ip);
	}
	for (; i < s.n; i++) { /* shorter than one step */
		if (lbi == SIZE_MAX) {
			if (s.p[i] == '[')
				lbi = i;
		} else if (s.p[i] == ']') {
			return host_ip_at(s, lbi, i, host, ip);
		}
	}
	return false;
#else
	const char *lb = memchr(s.p, '[', s.n);
	if (!lb)
		return false;
	const char *rb = memchr(lb, ']', s.n - (size_t)(lb - s.p));
	if (!rb)
		return false;
	host->p = s.p;
	host->n = (size_t)(lb - s.p);
	ip->p = lb + 1;
	ip->n = (size_t)(rb - lb - 1);
	return true;
#endif
}

struct mt_ls_str mt_ls_addr_domain(struct mt_ls_str a)
{
	const char *at = a.n ? memrchr(a.p, '@', a.n) : NULL;
	if (!at)
		return (struct mt_ls_str){NULL, 0};
	struct mt_ls_str d = {at + 1, a.n - (size_t)(at + 1 - a.p)};
	size_t i = 0;
#ifdef __SSE2__
	/* the domain ends at '>', ',', ' ' or '"': sixteen bytes at a time while they are there */
	const __m128i gt = _mm_set1_epi8('>'), cm = _mm_set1_epi8(','), sp = _mm_set1_epi8(' '), qu = _mm_set1_epi8('"');
	for (; i + 16 <= d.n; i += 16) {
		const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d.p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, cm)),
								       _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, qu))));
		if (m) {
			d.n = i + (unsigned)__builtin_ctz(m);
			return d;
		}
	}
#endif
	while (i < d.n && d.p[i] != '>' && d.p[i] != ',' && d.p[i] != ' ' && d.p[i] != '"')
		i++;
	d.n = i;
	return d;
}

struct mt_ls_str mt_ls_kv_at(struct mt_ls_str s, size_t at, size_t kn, char stop)
{
	const char *v = s.p + at + kn;
	const char *end = s.p + s.n;
	const char *e = v;
	if (e < end && *e == '"') { /* Exim quotes values with spaces: DN="..." */
		v++;
		e = memchr(v, '"', (size_t)(end - v));
		if (!e)
			e = end;
		return (struct mt_ls_str){v, (size_t)(e - v)};
	}
	/* ',' means the ", " field separator: addresses lists use bare commas */
	if (stop == ',') {
		while ((e = memchr(e, ',', (size_t)(end - e))) != NULL && e + 1 < end && e[1] != ' ')
			e++;
		if (!e)
			e = end;
	} else {
		e = memchr(v, stop, (size_t)(end - v));
		if (!e)
			e = end;
	}
	return (struct mt_ls_str){v, (size_t)(e - v)};
}

struct mt_ls_str mt_ls_kvn(struct mt_ls_str s, const char *key, size_t kn, char stop)
{
	size_t off = 0;
	while (off < s.n) {
		long f = mt_ls_findn(mt_ls_sub(s, off), key, kn);
		if (f < 0)
			break;
		const char *p = s.p + off + f;
		/* the key must start a field: at the start, or after a space */
		if (p == s.p || p[-1] == ' ')
			return mt_ls_kv_at(s, (size_t)(p - s.p), kn, stop);
		off = (size_t)(p - s.p) + 1;
	}
	return (struct mt_ls_str){NULL, 0};
}

int mt_ls_cause_from_text(struct mt_ls_str s)
{
	if (mt_ls_find(s, "not offer") >= 0 || mt_ls_find(s, "not advertise") >= 0 ||
	    mt_ls_find(s, "does not support STARTTLS") >= 0 || mt_ls_find(s, "did not offer TLS") >= 0 ||
	    mt_ls_find(s, "STARTTLS not") >= 0)
		return MT_LS_CAUSE_NOT_ADVERTISED;
	if (mt_ls_find(s, "ESMTP") >= 0 || mt_ls_find(s, "EHLO") >= 0)
		return MT_LS_CAUSE_NO_ESMTP;
	if (mt_ls_find(s, "refused to start TLS") >= 0 || mt_ls_find(s, "unexpected response") >= 0 ||
	    mt_ls_find(s, "attempt to start TLS failed") >= 0 || mt_ls_find(s, "454") >= 0)
		return MT_LS_CAUSE_STARTTLS_ERROR;
	if (mt_ls_find(s, "verif") >= 0 || mt_ls_find(s, "certificate") >= 0)
		return MT_LS_CAUSE_VERIFY;
	if (mt_ls_find(s, "engine is unavailable") >= 0)
		return MT_LS_CAUSE_LOCAL;
	if (mt_ls_find(s, "handshake") >= 0 || mt_ls_find(s, "Cannot start TLS") >= 0 || mt_ls_find(s, "SSL") >= 0)
		return MT_LS_CAUSE_HANDSHAKE;
	return MT_LS_CAUSE_OTHER;
}

/* --- timestamps --- */

static int month_of(const char *p)
{
	uint32_t v = ((uint32_t)(unsigned char)p[0] << 16) | ((uint32_t)(unsigned char)p[1] << 8) | (unsigned char)p[2];
	switch (v) {
	case ('J' << 16) | ('a' << 8) | 'n': return 1;
	case ('F' << 16) | ('e' << 8) | 'b': return 2;
	case ('M' << 16) | ('a' << 8) | 'r': return 3;
	case ('A' << 16) | ('p' << 8) | 'r': return 4;
	case ('M' << 16) | ('a' << 8) | 'y': return 5;
	case ('J' << 16) | ('u' << 8) | 'n': return 6;
	case ('J' << 16) | ('u' << 8) | 'l': return 7;
	case ('A' << 16) | ('u' << 8) | 'g': return 8;
	case ('S' << 16) | ('e' << 8) | 'p': return 9;
	case ('O' << 16) | ('c' << 8) | 't': return 10;
	case ('N' << 16) | ('o' << 8) | 'v': return 11;
	case ('D' << 16) | ('e' << 8) | 'c': return 12;
	default: return 0;
	}
}

static inline bool dig(char c)
{
	return c >= '0' && c <= '9';
}

static inline int d2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static time_t mk(int y, int mo, int d, int h, int mi, int s)
{
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return 0;
	return (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
}

/* "hh:mm:ss" */
static bool hms(const char *p, int *h, int *m, int *s)
{
	if (!dig(p[0]) || !dig(p[1]) || p[2] != ':' || !dig(p[3]) || !dig(p[4]) || p[5] != ':' || !dig(p[6]) || !dig(p[7]))
		return false;
	*h = d2(p);
	*m = d2(p + 3);
	*s = d2(p + 6);
	return true;
}

/* Consecutive lines nearly always share their second: remember the last timestamp text
 * (and the year it was read with) and its value, so most lines cost one compare. */
struct ts_cache {
	char txt[16];
	int year;
	time_t ts;
};
static _Thread_local struct ts_cache g_ts_cache = {.year = -1};

static bool syslog_ts1(const char *p, int year, time_t *ts);

/* "Mmm dd hh:mm:ss" (dd may be " d") at p with at least 15 bytes. */
static bool syslog_ts(const char *p, int year, time_t *ts)
{
	struct ts_cache *c = &g_ts_cache;
	if (c->year == year && memcmp(c->txt, p, 15) == 0) {
		*ts = c->ts;
		return true;
	}
	if (!syslog_ts1(p, year, ts))
		return false;
	memcpy(c->txt, p, 15);
	c->year = year;
	c->ts = *ts;
	return true;
}

static bool syslog_ts1(const char *p, int year, time_t *ts)
{
	int mo = month_of(p);
	if (!mo || p[3] != ' ' || p[6] != ' ')
		return false;
	int d = (p[4] == ' ' ? 0 : p[4] - '0') * 10 + (p[5] - '0');
	int h, mi, s;
	if (!dig(p[5]) || !hms(p + 7, &h, &mi, &s))
		return false;
	*ts = mk(year, mo, d, h, mi, s);
	return true;
}

bool mt_ls_esa_time(struct mt_ls_str s, time_t *ts)
{
	if (s.n != 24 || s.p[3] != ' ' || s.p[19] != ' ' || !dig(s.p[20]) || !dig(s.p[21]) || !dig(s.p[22]) || !dig(s.p[23]))
		return false;
	return syslog_ts1(s.p + 4, d2(s.p + 20) * 100 + d2(s.p + 22), ts) && *ts;
}

static _Thread_local struct {
	char txt[19]; /* the last "yyyy-mm-ddThh:mm:ss" read, and its time (zones are not applied) */
	bool ok;
	time_t ts;
} g_iso;

/* "yyyy-mm-dd" then 'T' or ' ' then "hh:mm:ss"; returns bytes consumed including fraction and zone. */
static size_t iso_ts(const char *p, size_t n, bool *space_sep, time_t *ts)
{
	if (n < 19)
		return 0;
	if (g_iso.ok && memcmp(p, g_iso.txt, 19) == 0) { /* the same second as the last line's */
		*space_sep = p[10] == ' ';
		*ts = g_iso.ts;
		goto fraction;
	}
	if (!dig(p[0]) || !dig(p[1]) || !dig(p[2]) || !dig(p[3]) || p[4] != '-' || !dig(p[5]) || !dig(p[6]) ||
	    p[7] != '-' || !dig(p[8]) || !dig(p[9]) || (p[10] != 'T' && p[10] != ' '))
		return 0;
	int h, mi, s;
	if (!hms(p + 11, &h, &mi, &s))
		return 0;
	*space_sep = p[10] == ' ';
	*ts = mk(d2(p) * 100 + d2(p + 2), d2(p + 5), d2(p + 8), h, mi, s);
	memcpy(g_iso.txt, p, 19);
	g_iso.ts = *ts;
	g_iso.ok = true;
fraction:;
	/* the usual rsyslog shape ".dddddd+hh:mm" then a space, checked in place */
	if (n > 32 && p[19] == '.' && dig(p[20]) && dig(p[21]) && dig(p[22]) && dig(p[23]) && dig(p[24]) && dig(p[25]) &&
	    (p[26] == '+' || p[26] == '-') && !*space_sep && dig(p[27]) && dig(p[28]) && p[29] == ':' && dig(p[30]) &&
	    dig(p[31]) && p[32] == ' ')
		return 32;
	size_t i = 19;
	if (i < n && (p[i] == '.' || p[i] == ','))
		for (i++; i < n && dig(p[i]); i++)
			;
	if (i < n && p[i] == 'Z')
		i++;
	else if (i < n && (p[i] == '+' || p[i] == '-') && !*space_sep)
		for (i++; i < n && (dig(p[i]) || p[i] == ':'); i++)
			;
	return i;
}

/* A syslog tag: "name[pid]:" or "name:" (name without spaces). */
static bool tag_at(struct mt_ls_str s, struct mt_ls_hdr *h, size_t *used)
{
	size_t i = 0;
#ifdef __SSE2__
	/* the first ' ', '[' or ':' sixteen bytes at a time (loads stay inside s) */
	const __m128i sp = _mm_set1_epi8(' '), lb = _mm_set1_epi8('['), co = _mm_set1_epi8(':');
	for (; i + 16 <= s.n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s.p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, lb)), _mm_cmpeq_epi8(v, co)));
		if (m) {
			i += (unsigned)__builtin_ctz(m);
			goto found;
		}
	}
#endif
	while (i < s.n && !MT_LS_CC(s.p[i], MT_LS_CC_TAGSTOP))
		i++;
#ifdef __SSE2__
found:
#endif
	if (i == 0 || i >= s.n)
		return false;
	struct mt_ls_str tag = {s.p, i};
	long pid = 0;
	if (s.p[i] == '[') {
		i++;
		size_t st = i;
		for (unsigned d; i < s.n && (d = (unsigned)(unsigned char)s.p[i] - '0') <= 9; i++)
			pid = pid_digit(pid, d);
		if (i == st || i >= s.n || s.p[i] != ']')
			return false;
		i++;
	}
	if (i >= s.n || s.p[i] != ':')
		return false;
	i++;
	if (i < s.n && s.p[i] == ' ')
		i++;
	h->tag = tag;
	h->pid = pid;
	*used = i;
	return true;
}

/* Does a message under a tag of no known format start an AsyncOS consolidated event
 * ("CEF:0|", after the level word "Info: " as AsyncOS writes its other logs, or after its
 * own time and a colon, "Mon Aug 10 10:10:07 2020: CEF:0|")?  AsyncOS
 * pushes a log to syslog under its subscription's name, which the administrator picks
 * ("mail_logs" and "CEF" are read by name); the ESA parser says whether it is one. */
static inline bool cef_msg(const char *p, size_t n)
{
	size_t t = mt_ls_esa_time_prefix(p, n); /* the appliance's own time first */
	p += t, n -= t;
	if (n >= 6 && p[0] == 'I' && memcmp(p, "Info: ", 6) == 0)
		p += 6, n -= 6;
	return n >= 6 && p[0] == 'C' && memcmp(p, "CEF:0|", 6) == 0;
}

static int fmt_of_tag(struct mt_ls_hdr *h)
{
	struct mt_ls_str t = h->tag;
	if (t.n >= 7 && memcmp(t.p, "postfix", 7) == 0) {
		const char *sl = NULL; /* the last '/': tags are short, a memrchr call cost more */
		for (size_t i = t.n; i-- > 7;)
			if (t.p[i] == '/') {
				sl = t.p + i;
				break;
			}
		if (!sl)
			return MT_LS_FMT_UNKNOWN;
		h->service.p = sl + 1;
		h->service.n = t.n - (size_t)(sl + 1 - t.p);
		return MT_LS_FMT_POSTFIX;
	}
	if (t.n == 9 && memcmp(t.p, "mail_logs", 9) == 0)
		return MT_LS_FMT_ESA;
	if (t.n == 3 && memcmp(t.p, "CEF", 3) == 0) /* "CEF:0|Cisco|...": a consolidated event? (its parser says) */
		return MT_LS_FMT_ESA;
	if ((t.n >= 8 && memcmp(t.p, "sendmail", 8) == 0) || (t.n >= 6 && memcmp(t.p, "sm-mta", 6) == 0) ||
	    (t.n >= 6 && memcmp(t.p, "sm-msp", 6) == 0))
		return MT_LS_FMT_SENDMAIL;
	if (t.n >= 4 && memcmp(t.p, "exim", 4) == 0)
		return MT_LS_FMT_EXIM;
	return MT_LS_FMT_UNKNOWN;
}

#ifdef __SSE2__
/* Bits of the 32 bytes at p: *stop where ' ', '[' or ':', return value where '/'. */
static inline uint32_t tag_masks32(const char *p, uint32_t *stop)
{
	const __m128i sp = _mm_set1_epi8(' '), lb = _mm_set1_epi8('['), co = _mm_set1_epi8(':'), sl = _mm_set1_epi8('/');
	const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
	const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	*stop = (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, sp), _mm_cmpeq_epi8(a, lb)), _mm_cmpeq_epi8(a, co))) |
		(uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, sp), _mm_cmpeq_epi8(b, lb)), _mm_cmpeq_epi8(b, co))) << 16;
	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, sl)) | (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, sl)) << 16;
}

/* The number written by the d (1..8) decimal digits at p (8 bytes readable there): false
 * when one of them is not a digit. */
static inline bool digits8(const char *p, unsigned d, long *out)
{
	if (!mt_ls_digits_ok(p, d))
		return false;
	*out = (long)mt_ls_digits8(p, d);
	return true;
}

/* The tag "name[pid]: " or "name: " at the start of s, its name within 32 bytes, from one
 * pass of byte masks; a Postfix tag's service (after its last '/') from the same pass.
 * padded: the 32 bytes at s.p are readable even when s is shorter (bits past its end are
 * masked off).  false: not that shape, and nothing is set (the general path then gives the
 * same answer on every line this accepts). */
static bool tag_fast(struct mt_ls_str s, struct mt_ls_hdr *h, bool padded)
{
	if ((s.n < 32 && !padded) || !s.n)
		return false;
	uint32_t stop;
	uint32_t slash = tag_masks32(s.p, &stop);
	if (s.n < 32)
		stop &= ((uint32_t)1 << s.n) - 1;
	if (!stop)
		return false;
	unsigned j = (unsigned)__builtin_ctz(stop); /* end of the tag's name */
	if (j == 0 || s.p[j] == ' ')
		return false;
	size_t k = j;
	long pid = 0;
	if (s.p[j] == '[') {
		/* "[digits]:": the ':' is the next stop; up to 8 digits converted at once */
		uint32_t after = j < 31 ? stop >> (j + 1) : 0; /* j may be 31: no shift by 32 */
		unsigned c = after ? j + 1 + (unsigned)__builtin_ctz(after) : 0, d = c - j - 2;
		if (c && s.p[c - 1] == ']' && d - 1 < 8 && (padded || j + 9 <= s.n) && digits8(s.p + j + 1, d, &pid)) {
			k = c - 1;
		} else {
			size_t st = ++k;
			for (unsigned dg; k < s.n && (dg = (unsigned)(unsigned char)s.p[k] - '0') <= 9; k++)
				pid = pid_digit(pid, dg);
			if (k == st || k + 1 >= s.n || s.p[k] != ']')
				return false;
		}
		k++;
	}
	if (k >= s.n || s.p[k] != ':')
		return false;
	k++;
	if (k < s.n && s.p[k] == ' ')
		k++;
	h->tag = (struct mt_ls_str){s.p, j};
	h->pid = pid;
	h->msg = mt_ls_sub(s, k);
	uint64_t w, p8;
	if (j >= 8) { /* j < s.n: the 8 bytes are inside the line */
		memcpy(&w, s.p, 8);
		memcpy(&p8, "postfix", 8);
		if (((w ^ p8) & 0x00ffffffffffffffULL) == 0) {
			/* a Postfix tag: the service follows its last '/' (at 7 or later) */
			slash &= (((uint32_t)1 << j) - 1) & ~(uint32_t)0x7f;
			if (!slash) {
				h->fmt = MT_LS_FMT_UNKNOWN;
				return true;
			}
			unsigned l = 31 - (unsigned)__builtin_clz(slash);
			h->service = (struct mt_ls_str){s.p + l + 1, j - l - 1};
			h->fmt = MT_LS_FMT_POSTFIX;
			return true;
		}
	}
	h->fmt = fmt_of_tag(h);
	return true;
}

/* "host tag...": the host word ends at the first ' ' (before any '[' or ':') within the
 * first 32 bytes, then tag_fast. */
static bool host_tag_fast(struct mt_ls_str s, struct mt_ls_hdr *h, bool padded)
{
	if ((s.n < 64 && !padded) || s.n < 3 || s.p[0] == ' ')
		return false;
	uint32_t stop;
	(void)tag_masks32(s.p, &stop);
	if (s.n < 32)
		stop &= ((uint32_t)1 << s.n) - 1;
	if (!stop)
		return false;
	unsigned i = (unsigned)__builtin_ctz(stop);
	if (s.p[i] != ' ' || i + 2 >= s.n)
		return false;
	if (!tag_fast(mt_ls_sub(s, i + 1), h, padded))
		return false;
	h->host = (struct mt_ls_str){s.p, i};
	return true;
}
#endif

/* After the timestamp: [host] tag message.  Up to two words may precede the tag (host, and
 * a level word some collectors add); a tag-less line is not ours. */
static bool after_ts(struct mt_ls_str s, struct mt_ls_hdr *h, bool padded)
{
#ifdef __SSE2__
	if (host_tag_fast(s, h, padded))
		return true;
#else
	(void)padded;
#endif
	for (int w = 0; w < 3; w++) {
		while (s.n && s.p[0] == ' ')
			s = mt_ls_sub(s, 1);
		size_t used;
		if (tag_at(s, h, &used)) {
			h->msg = mt_ls_sub(s, used);
			h->fmt = fmt_of_tag(h);
			return true; /* another program's line (amavis, dovecot): a header, not ours */
		}
		struct mt_ls_str word = mt_ls_word(s);
		if (w == 0)
			h->host = word;
		s = mt_ls_sub(s, word.n);
	}
	return false;
}

/* Exim lines: "yyyy-mm-dd hh:mm:ss[.ddd] [+zzzz] [[pid]] rest".  After the time: the
 * optional zone (" +0100"), the optional "[pid]", the message. */
static void exim_tail(struct mt_ls_str s, struct mt_ls_hdr *h)
{
	if (s.n >= 6 && s.p[0] == ' ' && (s.p[1] == '+' || s.p[1] == '-') && dig(s.p[2]) && dig(s.p[5]))
		s = mt_ls_sub(s, 6);
	if (s.n && s.p[0] == ' ')
		s = mt_ls_sub(s, 1);
	if (s.n && s.p[0] == '[') {
		size_t i = 1;
		long pid = 0;
		while (i < s.n && dig(s.p[i]))
			pid = pid_digit(pid, (unsigned)(s.p[i++] - '0'));
		if (i < s.n && s.p[i] == ']') {
			h->pid = pid;
			s = mt_ls_sub(s, i + 1);
			if (s.n && s.p[0] == ' ')
				s = mt_ls_sub(s, 1);
		}
	}
	h->msg = s;
	h->fmt = MT_LS_FMT_EXIM;
}

/* The same from the time on. */
static bool exim_rest(struct mt_ls_str s, struct mt_ls_hdr *h)
{
	bool sp;
	time_t ts;
	size_t n = iso_ts(s.p, s.n, &sp, &ts);
	if (!n || !sp)
		return false;
	h->ts = ts;
	exim_tail(mt_ls_sub(s, n), h);
	return true;
}

static bool parse_hdr1(const char *line, size_t len, const struct mt_ls_parse_opts *o, struct mt_ls_hdr *h);

bool mt_ls_parse_hdr(const char *line, size_t len, const struct mt_ls_parse_opts *o, struct mt_ls_hdr *h)
{
	if (parse_hdr1(line, len, o, h))
		return true;
	/* container log prefixes: "service   | <syslog line>" */
	const char *bar = memchr(line, '|', len < 64 ? len : 64);
	if (bar && (size_t)(bar - line) + 2 < len && bar[1] == ' ')
		return parse_hdr1(bar + 2, len - (size_t)(bar + 2 - line), o, h);
	return false;
}

/* The time of the "hh:mm:ss" at p on the day that starts at day, with mk()'s range rules
 * (0 when out of range); false when the clock is not of that shape. */
static __attribute__((unused)) bool clock_ts(const char *p, time_t day, time_t *ts)
{
	int h, mi, sec;
	if (!hms(p, &h, &mi, &sec))
		return false;
	*ts = h > 23 || mi > 59 || sec > 60 ? 0 : day + h * 3600 + mi * 60 + sec;
	return true;
}

#ifdef __SSE2__
/* Tags read lately ("postfix/smtpd[20003]: " with its pid, service and format), by a hash of
 * their first bytes and the 8 before their first ':': a Postfix log has a few dozen processes
 * writing at a time, so most lines repeat a recent tag, and a line whose bytes up to the end
 * of a cached tag (the space after its colon included) are the same has that tag: tag_fast
 * reads nothing past them.  One 32-byte compare then replaces its work (padded lines only). */
struct tag_ent {
	__m128i a, b;	     /* the tag's bytes (32; those past k are don't-care) */
	uint32_t mask;	     /* bits of the k bytes that must match */
	uint8_t c, k;	     /* first ':' and the message's offset (0 = empty slot) */
	uint8_t tagn, fmt;   /* tag name's length, format */
	uint8_t svco, svcn;  /* Postfix service offset and length (svco 0xff: none) */
	bool ignored;	     /* every line with this tag is ignored (another program, or a
			      * Postfix service whose lines are not read) */
	long pid;
};
#define TAG_BITS 10
#define TAG_SLOTS (1u << TAG_BITS)
static _Thread_local struct tag_ent g_tags[TAG_SLOTS];

/* The slot for the tag at t (32 bytes readable), and in *c its first ':' (false: none in
 * the first 32 bytes, or before byte 8: not cached). */
static inline bool tag_slot(const char *t, __m128i a, __m128i b, unsigned *c, unsigned *slot)
{
	const __m128i co = _mm_set1_epi8(':');
	uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, co)) | (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, co)) << 16;
	if (!m)
		return false;
	*c = (unsigned)__builtin_ctz(m);
	if (*c < 8)
		return false;
	uint64_t w0, w1;
	memcpy(&w0, t, 8);
	memcpy(&w1, t + *c - 8, 8);
	*slot = (unsigned)(((w0 ^ (w1 * 0x9E3779B97F4A7C15ULL)) * 0xD6E8FEB86659FD93ULL) >> (64 - TAG_BITS));
	return true;
}

/* The header's tag, pid, service, format and message from the cached tag the n bytes at t
 * start with; false: none.  *ignored: the line is one every such tag's line is (nothing else
 * is set then), but for a consolidated event under a tag of no known format. */
static inline __attribute__((always_inline)) bool tag_cached(const char *t, size_t n, struct mt_ls_hdr *h, unsigned *slot,
								bool *ignored)
{
	const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)t);
	const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(t + 16));
	unsigned c;
	if (!tag_slot(t, a, b, &c, slot)) {
		*slot = TAG_SLOTS;
		return false;
	}
	const struct tag_ent *e = &g_tags[*slot];
	if (e->c != c || e->k > n)
		return false;
	uint32_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, e->a)) | (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, e->b)) << 16;
	if ((eq & e->mask) != e->mask)
		return false;
	bool cef = false;
	if (e->ignored && (e->fmt != MT_LS_FMT_UNKNOWN || !(cef = cef_msg(t + e->k, n - e->k)))) {
		*ignored = true;
		return true;
	}
	h->tag = (struct mt_ls_str){t, e->tagn};
	h->pid = e->pid;
	h->service = e->svco == 0xff ? (struct mt_ls_str){NULL, 0} : (struct mt_ls_str){t + e->svco, e->svcn};
	h->msg = (struct mt_ls_str){t + e->k, n - e->k};
	h->fmt = cef ? MT_LS_FMT_ESA : e->fmt;
	return true;
}

/* Remember the tag tag_fast just read at t into slot. */
static void tag_keep(const char *t, const struct mt_ls_hdr *h, unsigned slot)
{
	size_t k = (size_t)(h->msg.p - t);
	/* only "...: ": without the space, the next line's byte after the colon would decide */
	if (slot >= TAG_SLOTS || h->tag.p != t || k > 32 || k < 2 || t[k - 1] != ' ' || t[k - 2] != ':' ||
	    (h->service.p && (h->service.p < t || h->service.p + h->service.n > t + k)))
		return;
	struct tag_ent *e = &g_tags[slot];
	unsigned c = (unsigned)((const char *)memchr(t, ':', k) - t);
	e->a = _mm_loadu_si128((const __m128i *)(const void *)t);
	e->b = _mm_loadu_si128((const __m128i *)(const void *)(t + 16));
	e->mask = k >= 32 ? ~(uint32_t)0 : ((uint32_t)1 << k) - 1;
	e->c = (uint8_t)c;
	e->k = (uint8_t)k;
	e->tagn = (uint8_t)h->tag.n;
	e->fmt = (uint8_t)h->fmt;
	e->svco = h->service.p ? (uint8_t)(h->service.p - t) : 0xff;
	e->svcn = (uint8_t)h->service.n;
	e->pid = h->pid;
	e->ignored = h->fmt == MT_LS_FMT_UNKNOWN || (h->fmt == MT_LS_FMT_POSTFIX && mt_ls_postfix_service_dir(h->service) < 0);
}
#endif

/* The last AsyncOS native header ("Tue Apr 17 00:57:53 2018 ", 25 bytes) and its time:
 * consecutive lines nearly always share it, and a line that starts with the same bytes has
 * the same shape and time, so one compare replaces the checks below. */
static _Thread_local struct {
	char txt[32];
	bool ok, day_ok; /* day_ok: ts is valid, and day its day's 00:00:00 */
	time_t ts, day;
} g_native;

#ifdef __SSE2__
/* The last syslog line's prefix up to its tag ("[<pri>]Mmm dd hh:mm:ss host " or
 * "yyyy-mm-ddThh:mm:ss.dddddd+hh:mm host ", at most 64 bytes), with its time and host:
 * consecutive lines nearly always share it, and a line that starts with the same bytes has
 * the same time and host, so one 64-byte compare replaces the timestamp and host parsing
 * (read with padding only).  In the RFC 3339 shape the six fraction digits may differ (they
 * do on every line): they are only checked to be digits, which is all the parse asks of
 * them. */
static _Thread_local struct {
	char txt[64];
	unsigned n, hoff, hn; /* prefix length (0 = none), host offset and length */
	uint64_t eqmask;      /* the bytes that must be equal */
	uint64_t eqmask_tod;  /* the same without the clock's digits */
	unsigned tod;	      /* offset of "hh:mm:ss" (0 = not used) */
	bool frac;	      /* bytes 20..25 are a fraction: digits, not compared */
	int year;
	time_t ts, day; /* the line's time, and the time at 00:00:00 of its day */
	uint64_t hh;	/* the host's mt_ls_host_hash */
} g_sys;

/* Does the line start with the cached prefix?  *ts gets its time.  A prefix that differs
 * only in the clock's digits (the next second) matches too: its time is the cached day plus
 * the new clock, as mk() would compute it, and the cache takes the new clock. */
static inline bool sys_prefix_eq(const char *line, time_t *ts)
{
#define SYS_EQ16(i)                                                                                              \
	((uint64_t)(uint32_t)_mm_movemask_epi8(                                                                  \
	     _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(line + 16 * (i))),                   \
			    _mm_loadu_si128((const __m128i *)(const void *)(g_sys.txt + 16 * (i))))) << (16 * (i)))
	uint64_t eq = SYS_EQ16(0) | SYS_EQ16(1);
	if (g_sys.n > 32) /* the same for consecutive lines: predictable */
		eq |= SYS_EQ16(2) | SYS_EQ16(3);
#undef SYS_EQ16
	bool same = (eq & g_sys.eqmask) == g_sys.eqmask;
	if (!same && (!g_sys.tod || (eq & g_sys.eqmask_tod) != g_sys.eqmask_tod))
		return false;
	if (g_sys.frac && !mt_ls_digits_ok(line + 20, 6)) /* the six fraction digits */
		return false;
	if (same) {
		*ts = g_sys.ts;
		return true;
	}
	if (!clock_ts(line + g_sys.tod, g_sys.day, ts))
		return false; /* the general path refuses the line */
	memcpy(g_sys.txt + g_sys.tod, line + g_sys.tod, 8);
	g_sys.ts = *ts;
	return true;
}

/* Remember the prefix of a line whose header the general path just read (padded only);
 * its timestamp starts at tsoff, BSD ("Mmm dd hh:mm:ss") or RFC 3339 (iso). */
static void sys_prefix_keep(const char *line, size_t len, int year, const struct mt_ls_hdr *h, size_t tsoff, bool iso)
{
	size_t n = (size_t)(h->tag.p - line);
	if (!h->host.n || h->host.p + h->host.n + 1 != h->tag.p || n > 64 || n >= len) {
		g_sys.n = 0;
		return;
	}
	memcpy(g_sys.txt, line, n);
	g_sys.n = (unsigned)n;
	g_sys.hoff = (unsigned)(h->host.p - line);
	g_sys.hn = (unsigned)h->host.n;
	g_sys.hh = mt_ls_host_hash(h->host);
	g_sys.year = year;
	g_sys.ts = h->ts;
	g_sys.eqmask = n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1; /* the prefix's bytes */
	/* the in-place RFC 3339 shape iso_ts reads (from the line's first byte): its fraction
	 * digits are not part of the key */
	g_sys.frac = iso && tsoff == 0 && n > 33 && line[19] == '.' && (line[26] == '+' || line[26] == '-') &&
		     line[32] == ' ' && h->host.p == line + 33;
	if (g_sys.frac)
		g_sys.eqmask &= ~((uint64_t)0x3f << 20);
	/* the clock: a valid time gives the day's start, and the next second's line matches */
	size_t tod = tsoff + (iso ? 11 : 7);
	int hh, mm, ss;
	g_sys.tod = 0;
	if (h->ts && tod + 8 <= n && hms(line + tod, &hh, &mm, &ss) && hh <= 23 && mm <= 59 && ss <= 60) {
		g_sys.tod = (unsigned)tod;
		g_sys.day = h->ts - (hh * 3600 + mm * 60 + ss);
		g_sys.eqmask_tod = g_sys.eqmask & ~((uint64_t)0xdb << tod); /* digits, not the colons */
	}
}
#endif

/* Does the line (len >= 25) start with the cached native header?  *ts gets its time.  A
 * header that differs only in the clock's digits (the next second) matches too: its time is
 * the cached day plus the new clock (mk()'s range rules), and the cache takes the new clock. */
static inline bool native_eq(const char *line, time_t *ts)
{
#ifdef __SSE2__
	const uint32_t a = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)line),
								       _mm_loadu_si128((const __m128i *)(const void *)g_native.txt)));
	const uint32_t b = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(line + 9)),
								       _mm_loadu_si128((const __m128i *)(const void *)(g_native.txt + 9))));
	const uint32_t all = 0x1ffffff, eq = (a | b << 9) & all;
	if (eq == all) {
		*ts = g_native.ts;
		return true;
	}
	/* "Www Mmm dd hh:mm:ss yyyy ": the clock's digits are bytes 11, 12, 14, 15, 17, 18 */
	if (!g_native.day_ok || (eq | (uint32_t)0xdb << 11) != all)
		return false;
	if (!clock_ts(line + 11, g_native.day, ts))
		return false; /* the general path refuses the line */
	memcpy(g_native.txt + 11, line + 11, 8);
	g_native.ts = *ts;
	return true;
#else
	*ts = g_native.ts;
	return memcmp(line, g_native.txt, 25) == 0;
#endif
}

static bool parse_hdr1(const char *line, size_t len, const struct mt_ls_parse_opts *o, struct mt_ls_hdr *h)
{
	mt_ls_zero(h, sizeof *h);
	struct mt_ls_str s = {line, len};
	time_t nts;
	if (len >= 25 && g_native.ok && native_eq(line, &nts)) {
		h->ts = nts;
		h->fmt = MT_LS_FMT_ESA;
		h->msg = mt_ls_sub(s, 25);
		return true;
	}
	const int year = o && o->year ? o->year : 1970;
	/* syslog priority "<166>" */
	if (s.n > 2 && s.p[0] == '<') {
		size_t i = 1;
		while (i < s.n && i < 5 && dig(s.p[i]))
			i++;
		if (i < s.n && s.p[i] == '>')
			s = mt_ls_sub(s, i + 1);
	}
	if (s.n < 16)
		goto tagonly;
	/* AsyncOS native: "Tue Apr 17 00:57:53 2018 Info: ..." */
	if (s.n >= 25 && s.p[3] == ' ' && s.p[7] == ' ' && s.p[10] == ' ' && s.p[13] == ':' && s.p[19] == ' ' &&
	    dig(s.p[20]) && dig(s.p[23]) && s.p[24] == ' ') {
		time_t ts;
		int year = d2(s.p + 20) * 100 + d2(s.p + 22);
		if (!syslog_ts(s.p + 4, year, &ts))
			return false;
		h->ts = ts;
		h->fmt = MT_LS_FMT_ESA;
		h->msg = mt_ls_sub(s, 25);
		if (s.p == line) { /* no priority prefix: the cache compares from the line's start */
			memcpy(g_native.txt, line, 25);
			g_native.ts = ts;
			g_native.ok = true;
			int hh, mm, ss;
			g_native.day_ok = ts && hms(line + 11, &hh, &mm, &ss);
			if (g_native.day_ok)
				g_native.day = ts - (hh * 3600 + mm * 60 + ss);
		}
		return true;
	}
	/* BSD syslog: "Mmm dd hh:mm:ss " */
	if (s.p[15] == ' ' && s.p[3] == ' ' && s.p[9] == ':') {
		time_t ts;
		if (!syslog_ts(s.p, year, &ts))
			return false;
		h->ts = ts;
		if (!after_ts(mt_ls_sub(s, 16), h, o && o->padded))
			return false;
#ifdef __SSE2__
		if (o && o->padded)
			sys_prefix_keep(line, len, year, h, (size_t)(s.p - line), false);
#endif
		return true;
	}
	if (dig(s.p[0])) {
		bool sp;
		time_t ts;
		size_t n = iso_ts(s.p, s.n, &sp, &ts);
		if (n && sp)
			return exim_rest(s, h);
		if (n) {
			h->ts = ts;
			if (n < s.n && s.p[n] == ' ') /* after_ts skips it too: this lets its fast path match */
				n++;
			if (!after_ts(mt_ls_sub(s, n), h, o && o->padded))
				return false;
#ifdef __SSE2__
			if (o && o->padded)
				sys_prefix_keep(line, len, year, h, (size_t)(s.p - line), true);
#endif
			return true;
		}
		return false;
	}
tagonly:;
	/* No timestamp: "postfix/smtp[1]: ..." as quoted in posts, or "exim[1]: 2024-... ..." from journald. */
	size_t used;
	if (!tag_at(s, h, &used))
		return false;
	h->fmt = fmt_of_tag(h);
	h->msg = mt_ls_sub(s, used);
	if (h->fmt == MT_LS_FMT_UNKNOWN && cef_msg(h->msg.p, h->msg.n))
		h->fmt = MT_LS_FMT_ESA;
	if (h->fmt == MT_LS_FMT_EXIM) {
		long pid = h->pid;
		struct mt_ls_str tag = h->tag;
		if (!exim_rest(h->msg, h))
			return false;
		h->pid = pid;
		h->tag = tag;
	}
	return h->fmt != MT_LS_FMT_UNKNOWN;
}

/* padded and year: what o says (read once per block by the caller: a byte store into the
 * event may alias *o, so the compiler would load them again for every line) */
static inline __attribute__((always_inline)) int parse_line1(const char *line, size_t len, const struct mt_ls_parse_opts *o,
							  bool padded, int year, struct mt_ls_event *ev)
{
	struct mt_ls_hdr h;
	if (!len)
		return MT_LS_IGNORED;
	if ((unsigned char)line[len - 1] <= ' ') { /* one test for the usual line */
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (!len)
			return MT_LS_IGNORED;
	}
	/* the two cached shapes first, without the general path's calls (most lines) */
	time_t ts;
	if (len >= 25 && g_native.ok && native_eq(line, &ts)) {
		h = (struct mt_ls_hdr){.fmt = MT_LS_FMT_ESA, .ts = ts, .msg = {line + 25, len - 25}, .hosth = MT_LS_NOHOST_HASH};
		return mt_ls_esa_parse(&h, ev);
	}
#ifdef __SSE2__
	if (padded && g_sys.n && len > g_sys.n && g_sys.year == year && sys_prefix_eq(line, &ts)) {
		const char *t = line + g_sys.n;
		unsigned slot;
		bool ignored = false;
		/* a cache hit sets every field but ts and host; tag_fast expects them cleared */
		bool tagged = tag_cached(t, len - g_sys.n, &h, &slot, &ignored);
		if (tagged && ignored)
			return MT_LS_IGNORED;
		if (!tagged) {
			h = (struct mt_ls_hdr){.fmt = MT_LS_FMT_UNKNOWN};
			if ((tagged = tag_fast((struct mt_ls_str){t, len - g_sys.n}, &h, true)))
				tag_keep(t, &h, slot);
		}
		if (tagged) {
			h.ts = ts;
			h.host = (struct mt_ls_str){line + g_sys.hoff, g_sys.hn};
			h.hosth = g_sys.hh;
			goto have_hdr;
		}
	}
#endif
	/* Exim's "yyyy-mm-dd hh:mm:ss " in the second of the last stamp read: what the general
	 * path would find (iso_ts reads no fraction or zone before that space) */
	if (len > 20 && line[19] == ' ' && line[10] == ' ' && g_iso.ok && memcmp(line, g_iso.txt, 19) == 0) {
		mt_ls_zero(&h, sizeof h);
		h.ts = g_iso.ts;
		exim_tail((struct mt_ls_str){line + 19, len - 19}, &h);
	} else if (!mt_ls_parse_hdr(line, len, o, &h)) {
		return MT_LS_UNPARSED;
	}
#ifdef __SSE2__
have_hdr:
#endif
	if (h.fmt == MT_LS_FMT_UNKNOWN) {
		if (!cef_msg(h.msg.p, h.msg.n))
			return MT_LS_IGNORED;
		h.fmt = MT_LS_FMT_ESA;
	}
	if (h.fmt == MT_LS_FMT_EXIM && h.tag.n == 0 && h.msg.n == 0)
		return MT_LS_IGNORED;
	switch (h.fmt) {
	case MT_LS_FMT_ESA: return mt_ls_esa_parse(&h, ev);
	case MT_LS_FMT_POSTFIX: return mt_ls_postfix_parse(&h, ev);
	case MT_LS_FMT_EXIM: return mt_ls_exim_parse(&h, ev);
	case MT_LS_FMT_SENDMAIL: return mt_ls_sendmail_parse(&h, ev);
	default: return MT_LS_UNPARSED;
	}
}

int mt_ls_parse_line(const char *line, size_t len, const struct mt_ls_parse_opts *o, struct mt_ls_event *ev)
{
	return parse_line1(line, len, o, o && o->padded, o && o->year ? o->year : 1970, ev);
}

uint32_t mt_ls_parse_lines(const struct mt_ls_line *ln, uint32_t n, const struct mt_ls_parse_opts *o, struct mt_ls_event *ev,
			   uint32_t *unp, uint32_t *nunp, uint64_t *ignored)
{
	uint32_t nev = 0, nu = 0;
	uint64_t ign = 0;
	const bool padded = o && o->padded;
	const int year = o && o->year ? o->year : 1970;
	for (uint32_t i = 0; i < n; i++) {
		int res = parse_line1(ln[i].p, ln[i].n, o, padded, year, &ev[nev]);
		if (res == MT_LS_EVENT)
			nev++;
		else if (res == MT_LS_IGNORED)
			ign++;
		else
			unp[nu++] = i;
	}
	*nunp = nu;
	*ignored += ign;
	return nev;
}

/* logscan_sum.c — see logscan_sum.h. */
#include "logscan_sum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NIL UINT32_MAX

static int kt_init(struct mt_ls_keytab *t, uint32_t max_keys)
{
	memset(t, 0, sizeof *t);
	t->max_keys = max_keys;
	uint32_t ns = 64;
	t->slots = malloc(ns * sizeof *t->slots);
	if (!t->slots)
		return -1;
	memset(t->slots, 0xff, ns * sizeof *t->slots);
	t->mask = ns - 1;
	return 0;
}

void mt_ls_keytab_free(struct mt_ls_keytab *t)
{
	for (char *c = t->arena; c;) {
		char *prev;
		memcpy(&prev, c, sizeof prev);
		free(c);
		c = prev;
	}
	free(t->ents);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static int kt_rehash(struct mt_ls_keytab *t)
{
	uint32_t ns = (t->mask + 1) * 2;
	uint64_t *sl = malloc(ns * sizeof *sl);
	if (!sl)
		return -1;
	memset(sl, 0xff, ns * sizeof *sl);
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t s = t->ents[i].hash & (ns - 1);
		while ((uint32_t)sl[s] != NIL)
			s = (s + 1) & (ns - 1);
		sl[s] = (uint64_t)t->ents[i].hash << 32 | i;
	}
	free(t->slots);
	t->slots = sl;
	t->mask = ns - 1;
	return 0;
}

static struct mt_ls_kent *keytab_get_h(struct mt_ls_keytab *t, const char *key, size_t n, uint32_t h);

struct mt_ls_kent *mt_ls_keytab_get(struct mt_ls_keytab *t, const char *key, size_t n)
{
	return keytab_get_h(t, key, n, (uint32_t)mt_ls_hash(key, n, 7));
}

/* With the hash computed early, a caller can prefetch the slot and do other work while the
 * cache line arrives (the address table is the one summary table too big for the cache). */
static uint32_t keytab_prefetch(const struct mt_ls_keytab *t, const char *key, size_t n)
{
	uint32_t h = (uint32_t)mt_ls_hash(key, n, 7);
	__builtin_prefetch(&t->slots[h & t->mask]);
	return h;
}

static struct mt_ls_kent *keytab_get_h(struct mt_ls_keytab *t, const char *key, size_t n, uint32_t h)
{
	uint32_t s = h & t->mask;
	for (;; s = (s + 1) & t->mask) {
		uint64_t sv = t->slots[s];
		uint32_t i = (uint32_t)sv;
		if (i == NIL)
			break;
		if ((uint32_t)(sv >> 32) != h)
			continue;
		const struct mt_ls_kent *e = &t->ents[i];
		if (e->len == n && mt_ls_eqn(e->pfx, key, n < sizeof e->pfx ? n : sizeof e->pfx) &&
		    (n <= sizeof e->pfx || mt_ls_eqn(e->key, key, n)))
			return &t->ents[i];
	}
	if (t->n >= t->max_keys) {
		t->other_keys++;
		return NULL;
	}
	if (t->n == t->cap_ents) {
		uint32_t nc = t->cap_ents ? t->cap_ents * 2 : 32;
		struct mt_ls_kent *ne = realloc(t->ents, nc * sizeof *ne);
		if (!ne)
			return NULL;
		t->ents = ne;
		t->cap_ents = nc;
	}
	/* keys live in 64 KiB chunks: one malloc per key cost more than the lookup */
	if (t->arena_left < n + 1) {
		size_t sz = n + 1 + sizeof(char *) > 65536 ? n + 1 + sizeof(char *) : 65536;
		char *c = malloc(sz);
		if (!c)
			return NULL;
		memcpy(c, &t->arena, sizeof t->arena);
		t->arena = c;
		t->arena_next = c + sizeof(char *);
		t->arena_left = sz - sizeof(char *);
	}
	char *k = t->arena_next;
	t->arena_next += n + 1;
	t->arena_left -= n + 1;
	memcpy(k, key, n);
	k[n] = '\0';
	struct mt_ls_kent *e = &t->ents[t->n];
	memset(e, 0, sizeof *e);
	e->key = k;
	e->len = (uint32_t)n;
	e->hash = h;
	memcpy(e->pfx, key, n < sizeof e->pfx ? n : sizeof e->pfx);
	t->slots[s] = (uint64_t)h << 32 | t->n++;
	if (t->n * 2 > t->mask + 1)
		kt_rehash(t);
	return e;
}

static int cmp_total(const void *a, const void *b)
{
	const struct mt_ls_kent *x = *(const struct mt_ls_kent *const *)a, *y = *(const struct mt_ls_kent *const *)b;
	if (x->c.total != y->c.total)
		return x->c.total < y->c.total ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int cmp_key(const void *a, const void *b)
{
	const struct mt_ls_kent *x = *(const struct mt_ls_kent *const *)a, *y = *(const struct mt_ls_kent *const *)b;
	return strcmp(x->key, y->key);
}

struct mt_ls_kent **mt_ls_keytab_sorted(const struct mt_ls_keytab *t, int by_key)
{
	struct mt_ls_kent **v = malloc((t->n + 1) * sizeof *v);
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < t->n; i++)
		v[i] = &t->ents[i];
	qsort(v, t->n, sizeof *v, by_key ? cmp_key : cmp_total);
	return v;
}

struct mt_ls_kent **mt_ls_keytab_top(const struct mt_ls_keytab *t, int by_key, uint32_t limit, uint32_t *count)
{
	if (!limit || limit >= t->n / 4) {
		*count = t->n;
		return mt_ls_keytab_sorted(t, by_key);
	}
	/* keys are distinct, so the order is total: keeping the best `limit` in a sorted array
	 * (most entries lose the one compare against the last kept) gives exactly the first
	 * `limit` entries of the full sort, without sorting 100000 addresses to print 20 */
	int (*cmp)(const void *, const void *) = by_key ? cmp_key : cmp_total;
	struct mt_ls_kent **v = malloc((limit + 1) * sizeof *v);
	if (!v)
		return NULL;
	uint32_t k = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		struct mt_ls_kent *e = &t->ents[i];
		if (k == limit && cmp(&e, &v[k - 1]) >= 0)
			continue;
		uint32_t lo = 0, hi = k;
		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			if (cmp(&v[mid], &e) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (k < limit)
			k++;
		memmove(&v[lo + 1], &v[lo], (k - 1 - lo) * sizeof *v);
		v[lo] = e;
	}
	*count = k;
	return v;
}

int mt_ls_sum_init(struct mt_ls_sum *s, int by, uint32_t max_keys)
{
	memset(s, 0, sizeof *s);
	s->by = by;
	if (kt_init(&s->proto, max_keys) || kt_init(&s->cipher, max_keys) || kt_init(&s->domain, max_keys) ||
	    kt_init(&s->ip, max_keys) || kt_init(&s->reason, max_keys) || kt_init(&s->bucket, max_keys) ||
	    kt_init(&s->level, max_keys) || kt_init(&s->downgrade, max_keys)) {
		mt_ls_sum_free(s);
		return -1;
	}
	return 0;
}

void mt_ls_sum_free(struct mt_ls_sum *s)
{
	mt_ls_keytab_free(&s->proto);
	mt_ls_keytab_free(&s->cipher);
	mt_ls_keytab_free(&s->domain);
	mt_ls_keytab_free(&s->ip);
	mt_ls_keytab_free(&s->reason);
	mt_ls_keytab_free(&s->bucket);
	mt_ls_keytab_free(&s->level);
	mt_ls_keytab_free(&s->downgrade);
}

int mt_ls_proto_deprecated(const char *p)
{
	if (!strncmp(p, "SSL", 3))
		return 1;
	if (!strcmp(p, "TLSv1") || !strcmp(p, "TLSv1.0") || !strcmp(p, "TLSv1.1") || !strcmp(p, "TLSv1/SSLv3"))
		return 1;
	return 0;
}

/* Exim writes TLS1.2 where the others write TLSv1.2 */
static bool proto_exim(const char *p)
{
	return p[0] == 'T' && p[1] == 'L' && p[2] == 'S' && p[3] == '1'; /* stops at a NUL */
}

void mt_ls_proto_norm(const char *in, char *out, size_t size)
{
	size_t o = 0;
	if (!size)
		return;
	if (proto_exim(in)) {
		static const char v[] = "TLSv1";
		for (size_t i = 0; i < 5 && o + 1 < size; i++)
			out[o++] = v[i];
		in += 4;
	}
	while (*in && o + 1 < size)
		out[o++] = *in++;
	out[o] = '\0';
}

/* The protocol a connection is counted under: as logged when that is already the normal
 * form (no copy), else normalised into buf. */
static const char *proto_key(const char *p, char *buf, size_t size)
{
	if (!p[0])
		return "(not logged)";
	if (!proto_exim(p))
		return p;
	mt_ls_proto_norm(p, buf, size);
	return buf;
}

/* Copy at most size-1 bytes of the string and terminate (snprintf "%s" without the cost). */
static void cpy(char *out, size_t size, const char *in)
{
	size_t n = strnlen(in, size - 1);
	memcpy(out, in, n);
	out[n] = '\0';
}

/* Copy n bytes lowercased (ASCII): eight at a time, the upper-case letters found with word
 * arithmetic (domains are compared and counted in lower case). */
static void lower_cpy(char *out, const char *in, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, in + i, 8);
		uint64_t low7 = w & ~high;
		uint64_t ge_a = low7 + ones * (0x80 - 'A'); /* high bit: byte >= 'A' */
		uint64_t gt_z = low7 + ones * (0x7f - 'Z'); /* high bit: byte > 'Z' */
		w |= ((ge_a ^ gt_z) & ~w & high) >> 2;	    /* 'A'..'Z' (ASCII only): add 0x20 */
		memcpy(out + i, &w, 8);
	}
	for (; i < n; i++) {
		char ch = in[i];
		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
}

static size_t unknown_domain(char *out, size_t size)
{
	cpy(out, size, "(unknown)");
	return strlen(out);
}

#define NO_DOT SIZE_MAX
/* Where a name's summarised domain starts, from the positions of its last three dots (d1 the
 * last; NO_DOT when absent) in its n bytes: the last two labels, three when the second-level
 * label is short (3 bytes at most) under a two-letter top-level one (co.uk, com.au). */
static inline size_t domain_cut(size_t n, size_t d1, size_t d2, size_t d3)
{
	if (d1 == NO_DOT || d2 == NO_DOT)
		return 0;
	if (n - d1 - 1 == 2 && d1 - d2 - 1 <= 3)
		return d3 == NO_DOT ? 0 : d3 + 1;
	return d2 + 1;
}

size_t mt_ls_host_domain_n(const char *host, size_t n, char *out, size_t size)
{
	while (n && host[n - 1] == '.')
		n--;
	if (!n)
		return unknown_domain(out, size);
	/* an address literal is not a domain: a name has a letter and no ':' (the letter is
	 * nearly always the first byte) */
	bool alpha = ((unsigned)(unsigned char)host[0] | 0x20u) - 'a' < 26u;
	for (size_t i = 1; i < n && !alpha; i++)
		alpha = ((unsigned)(unsigned char)host[i] | 0x20u) - 'a' < 26u;
	if (!alpha || memchr(host, ':', n))
		return unknown_domain(out, size);
	const char *p1 = memrchr(host, '.', n);
	const char *p2 = p1 ? memrchr(host, '.', (size_t)(p1 - host)) : NULL;
	const char *p3 = p2 ? memrchr(host, '.', (size_t)(p2 - host)) : NULL;
	size_t cut = domain_cut(n, p1 ? (size_t)(p1 - host) : NO_DOT, p2 ? (size_t)(p2 - host) : NO_DOT,
				p3 ? (size_t)(p3 - host) : NO_DOT);
	size_t len = n - cut;
	if (len >= size)
		len = size - 1;
	lower_cpy(out, host + cut, len);
	out[len] = '\0';
	return len;
}

void mt_ls_host_domain(const char *host, char *out, size_t size)
{
	(void)mt_ls_host_domain_n(host, strlen(host), out, size);
}

#ifdef __SSE2__
/* Store 16 bytes lowercased (ASCII). */
static inline void lower16(char *out, const char *in)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)in);
	__m128i t = _mm_sub_epi8(x, _mm_set1_epi8('A'));
	__m128i up = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(25)), t); /* 'A'..'Z' */
	_mm_storeu_si128((__m128i *)(void *)out, _mm_or_si128(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
}

static inline uint32_t mask32(__m128i a, __m128i b, char ch)
{
	const __m128i k = _mm_set1_epi8(ch);
	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, k)) | (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, k)) << 16;
}

/* The highest set bit of *m, cleared (NO_DOT when none): the last dot left. */
static inline size_t pop_last(uint32_t *m)
{
	if (!*m)
		return NO_DOT;
	unsigned i = 31 - (unsigned)__builtin_clz(*m);
	*m &= ~((uint32_t)1 << i);
	return i;
}

/* mt_ls_conn_domain_n for names under 32 bytes, from one pass of byte masks over the
 * record's field (its 64 bytes are readable); false: not that case, nothing written. */
static bool conn_domain_fast(const struct mt_ls_conn *c, char *out, size_t size, size_t *len)
{
	_Static_assert(sizeof c->host >= 64 && sizeof c->domain >= 64, "fields read 64 bytes");
	if (size < 64)
		return false;
	bool dom = c->dir == MT_LS_DIR_OUT && c->domain[0];
	const char *f = dom ? c->domain : c->host;
	const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)f);
	const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(f + 16));
	uint32_t z = mask32(a, b, '\0');
	if (!z)
		return false;
	unsigned n = (unsigned)__builtin_ctz(z);
	unsigned cut = 0;
	if (!dom) {
		uint32_t in = ((uint32_t)1 << n) - 1; /* n < 32 */
		uint32_t dots = mask32(a, b, '.') & in;
		while (n && (dots >> (n - 1) & 1)) { /* trailing dots */
			n--;
			dots &= ~((uint32_t)1 << n);
		}
		in = ((uint32_t)1 << n) - 1;
		if (!n || (mask32(a, b, ':') & in) || ((unsigned)(unsigned char)f[0] | 0x20u) - 'a' >= 26u)
			return false; /* (unknown), or a name not starting with a letter: the general path */
		size_t d1 = pop_last(&dots), d2 = pop_last(&dots);
		cut = (unsigned)domain_cut(n, d1, d2, pop_last(&dots));
	}
	/* whole 16-byte steps: reads stay inside the field, writes inside out (size >= 64) */
	for (unsigned i = cut; i < n; i += 16)
		lower16(out + (i - cut), f + i);
	out[n - cut] = '\0';
	*len = n - cut;
	return true;
}
#endif

size_t mt_ls_conn_domain_n(const struct mt_ls_conn *c, char *out, size_t size)
{
#ifdef __SSE2__
	size_t fast;
	if (conn_domain_fast(c, out, size, &fast))
		return fast;
#endif
	if (c->dir == MT_LS_DIR_OUT && c->domain[0]) {
		size_t n = strnlen(c->domain, size - 1);
		lower_cpy(out, c->domain, n);
		out[n] = '\0';
		return n;
	}
	return mt_ls_host_domain_n(c->host, strlen(c->host), out, size);
}

void mt_ls_conn_domain(const struct mt_ls_conn *c, char *out, size_t size)
{
	(void)mt_ls_conn_domain_n(c, out, size);
}

void mt_ls_time_str(time_t t, char *out, size_t size)
{
	struct tm tm;
	if (!t || !gmtime_r(&t, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

void mt_ls_bucket(time_t t, int by, char *out, size_t size)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, by == MT_LS_BY_HOUR ? "%Y-%m-%dT%H:00" : "%Y-%m-%d", &tm);
}

static void count(struct mt_ls_count *c, int tls)
{
	c->total++;
	if (tls == MT_LS_TLS_OK)
		c->tls++;
	else if (tls == MT_LS_TLS_FAILED)
		c->failed++;
	else
		c->none++;
}

/* Count key.  A small cache of entries found, picked by a few of the key's bytes, is tried
 * first: protocols, ciphers and peer domains have few values that recur from one connection
 * to the next, and a hit costs less than hashing the key. */
static void kcountn(struct mt_ls_keytab *t, const char *key, size_t n, int tls)
{
	unsigned pick;
	if (n >= 8) { /* two words: the first and the last eight bytes */
		uint64_t a, b;
		memcpy(&a, key, 8);
		memcpy(&b, key + n - 8, 8);
		pick = (unsigned)(((a ^ (b * 0x9E3779B97F4A7C15ULL) ^ n) * 0xD6E8FEB86659FD93ULL) >> (64 - KT_RECENT_BITS));
	} else {
		pick = n ? ((unsigned char)key[0] + 3u * (unsigned char)key[n / 2] + 5u * (unsigned char)key[n - 1] +
			    7u * (unsigned char)key[n > 1 ? 1 : 0] + 11u * (unsigned)n) &
			       ((1u << KT_RECENT_BITS) - 1)
			 : 0;
	}
	uint32_t r = t->recent[pick];
	struct mt_ls_kent *e = r ? &t->ents[r - 1] : NULL;
	if (!e || e->len != n || !mt_ls_eqn(e->key, key, n)) {
		e = mt_ls_keytab_get(t, key, n);
		if (e)
			t->recent[pick] = (uint32_t)(e - t->ents) + 1;
	}
	count(e ? &e->c : &t->other, tls);
}

static void kcount(struct mt_ls_keytab *t, const char *key, int tls)
{
	kcountn(t, key, strlen(key), tls);
}

static void span(struct mt_ls_sum *s, time_t t)
{
	if (!t)
		return;
	if (!s->t_min || t < s->t_min)
		s->t_min = t;
	if (t > s->t_max)
		s->t_max = t;
}

void mt_ls_sum_settle(struct mt_ls_sum *s)
{
	if (!s->ip_pending)
		return;
	s->ip_pending = false;
	struct mt_ls_kent *e = keytab_get_h(&s->ip, s->ip_pending_key, s->ip_pending_n, s->ip_pending_hash);
	count(e ? &e->c : &s->ip.other, s->ip_pending_tls);
}

/* One feature of a tls=: its flags counted, a downgrade by "name:final". */
static void sum_feat(struct mt_ls_sum *s, const struct mt_ls_tls_feat *f, int tls, uint64_t *blocked, uint64_t *undecided,
		     uint64_t *downgraded)
{
	*blocked += f->blocked;
	*undecided += f->undecided;
	if (f->final[0]) {
		char buf[40];
		(*downgraded)++;
		snprintf(buf, sizeof buf, "%s:%s", f->name, f->final);
		kcount(&s->downgrade, buf, tls);
	}
}

/* A connection's tls= (Postfix 3.11+), split into its features. */
static void sum_tls_status(struct mt_ls_sum *s, const struct mt_ls_conn *c)
{
	struct mt_ls_tlsfeat_counts *k = &s->tlsfeat;
	struct mt_ls_tls_status st;
	k->conns++;
	if (!mt_ls_postfix_tls_status((struct mt_ls_str){c->level, strlen(c->level)}, &st)) {
		k->unparsed++;
		kcount(&s->level, c->level, c->tls);
		return;
	}
	if (st.level.present) {
		kcount(&s->level, st.level.name, c->tls);
		sum_feat(s, &st.level, c->tls, &k->blocked, &k->undecided, &k->downgraded);
	}
	if (st.requiretls.present) {
		k->requiretls++;
		sum_feat(s, &st.requiretls, c->tls, &k->rtls_blocked, &k->rtls_undecided, &k->rtls_downgraded);
	}
}

void mt_ls_sum_conn(struct mt_ls_sum *s, const struct mt_ls_conn *c)
{
	int dir = c->dir == MT_LS_DIR_OUT ? MT_LS_DIR_OUT : MT_LS_DIR_IN;
	mt_ls_sum_settle(s);
	size_t ipn;
#ifdef __SSE2__
	_Static_assert(sizeof c->ip == 48 && sizeof s->ip_pending_key == 48, "the address field is copied whole");
	if (c->ip[0]) { /* the whole field in three steps: its length and a copy without calls */
		const __m128i z = _mm_setzero_si128();
		const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)c->ip);
		const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(c->ip + 16));
		const __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(c->ip + 32));
		uint64_t m = (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, z)) |
			     (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, z)) << 16 |
			     (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(d, z)) << 32 | (uint64_t)1 << 47;
		ipn = (size_t)__builtin_ctzll(m);
		_mm_storeu_si128((__m128i *)(void *)s->ip_pending_key, a);
		_mm_storeu_si128((__m128i *)(void *)(s->ip_pending_key + 16), b);
		_mm_storeu_si128((__m128i *)(void *)(s->ip_pending_key + 32), d);
		s->ip_pending_key[ipn] = '\0';
	} else
#endif
	{
		const char *ip = c->ip[0] ? c->ip : "(unknown)";
		ipn = strlen(ip);
		memcpy(s->ip_pending_key, ip, ipn + 1);
	}
	s->ip_pending = true;
	s->ip_pending_tls = c->tls;
	s->ip_pending_hash = keytab_prefetch(&s->ip, s->ip_pending_key, ipn);
	s->ip_pending_n = ipn;
	count(&s->dir[dir], c->tls);
	span(s, c->t_open);
	char buf[128];
	if (c->tls == MT_LS_TLS_OK) {
		kcount(&s->proto, proto_key(c->proto, buf, sizeof buf), c->tls);
		kcount(&s->cipher, c->cipher[0] ? c->cipher : "(not logged)", c->tls);
	}
	kcountn(&s->domain, buf, mt_ls_conn_domain_n(c, buf, sizeof buf), c->tls);
	if (c->tls == MT_LS_TLS_FAILED)
		kcount(&s->reason, c->reason[0] ? c->reason : "(not logged)", c->tls);
	if (__builtin_expect(c->level[0] != 0, 0))
		sum_tls_status(s, c);
	if (s->by && c->t_open) {
		mt_ls_bucket(c->t_open, s->by, buf, sizeof buf);
		kcount(&s->bucket, buf, c->tls);
	}
}

void mt_ls_sum_msg(struct mt_ls_sum *s, const struct mt_ls_msg *m)
{
	if (!m->received && !m->n_deliv)
		return; /* only recipients seen: nothing to say */
	s->msgs++;
	span(s, m->t);
	switch (m->in) {
	case MT_LS_IN_TLS: s->in_tls++; break;
	case MT_LS_IN_CLEAR: s->in_clear++; break;
	case MT_LS_IN_LOCAL: s->in_local++; break;
	default: s->in_unknown++; break;
	}
	s->deliv += m->n_deliv;
	s->deliv_tls += m->n_tls;
	s->deliv_clear += m->n_clear;
	if (m->in == MT_LS_IN_CLEAR || m->n_clear)
		s->msgs_clear++;
	else if ((m->in == MT_LS_IN_TLS || m->in == MT_LS_IN_LOCAL) && (m->n_tls || m->in == MT_LS_IN_TLS))
		s->msgs_all_tls++;
	if (m->evicted)
		s->evicted_msgs_seen++;
}

void mt_ls_sum_reqfail(struct mt_ls_sum *s, const struct mt_ls_reqfail *r)
{
	s->reqfail++;
	if (r->cause < MT_LS_CAUSE_COUNT)
		s->by_cause[r->cause]++;
	span(s, r->t);
}

/* logscan_tab.h — fixed-capacity hash table with least-recently-used eviction.
 *
 * Holds open connections and messages: entries of a fixed size live in one slab allocated
 * up front, so memory is bounded by the capacity whatever the input size.  Inserting into a
 * full table evicts the least recently touched entry, handing it to the caller first.
 * The table owns its memory; entry pointers stay valid until the entry is deleted/evicted.
 */
#ifndef LOGSCAN_TAB_H
#define LOGSCAN_TAB_H

#include <stddef.h>
#include <stdint.h>

struct mt_ls_tab_slot {
	uint64_t key; /* the key itself, so a probe touches one cache line */
	uint32_t idx; /* slab index, UINT32_MAX = empty */
	uint32_t pad;
};

struct mt_ls_tab_node {
	uint32_t prev, next; /* LRU list through slab indexes; head = oldest */
};

struct mt_ls_tab {
	uint32_t cap, count, elsize, mask;
	uint32_t zero_n; /* bytes of a new entry zeroed by put (default elsize) */
	uint32_t max_mask; /* the slot array grows with the entries, up to max_mask + 1 slots */
	unsigned char *slab;
	uint64_t *keys; /* per slab entry (eviction and draining) */
	struct mt_ls_tab_node *lru;
	uint32_t head, tail, freelist;
	struct mt_ls_tab_slot *slots;
};

/* Allocate for cap entries of elsize bytes; returns 0 or -1 (no memory). */
int mt_ls_tab_init(struct mt_ls_tab *t, uint32_t cap, uint32_t elsize);
void mt_ls_tab_free(struct mt_ls_tab *t);
/* Entry for key (touched as most recent), or NULL. */
void *mt_ls_tab_get(struct mt_ls_tab *t, uint64_t key);
/* The same without touching it (its place in the eviction order stays). */
void *mt_ls_tab_peek(const struct mt_ls_tab *t, uint64_t key);
/* A new entry for key, its first zero_n bytes zeroed (key must not be present).  When full, the oldest entry is
 * first passed to evict(ctx, entry) and removed. */
void *mt_ls_tab_put(struct mt_ls_tab *t, uint64_t key, void (*evict)(void *ctx, void *entry), void *ctx);
void mt_ls_tab_del(struct mt_ls_tab *t, uint64_t key);
/* Hint: key will be looked up soon (loads its home slot into the cache). */
static inline void mt_ls_tab_prefetch(const struct mt_ls_tab *t, uint64_t key)
{
	__builtin_prefetch(&t->slots[(uint32_t)(key ^ (key >> 32)) & t->mask]);
}
/* Second hint, a few steps after mt_ls_tab_prefetch: when key sits in its home slot (or the
 * next), start loading its entry and LRU node too.  Reads the table; changes nothing. */
static inline void mt_ls_tab_prefetch_entry(const struct mt_ls_tab *t, uint64_t key)
{
	uint32_t s = (uint32_t)(key ^ (key >> 32)) & t->mask;
	const struct mt_ls_tab_slot *sl = &t->slots[s];
	if (sl->key != key)
		sl = &t->slots[(s + 1) & t->mask];
	if (sl->key == key && sl->idx != UINT32_MAX) {
		const unsigned char *e = t->slab + (size_t)sl->idx * t->elsize;
		__builtin_prefetch(e);
		__builtin_prefetch(e + 64);
		__builtin_prefetch(&t->lru[sl->idx]);
	}
}
/* An entry's place in the slab, and the entry at a place: stable while the entry lives, and
 * always readable memory (a deleted entry's place is reused by a later put). */
static inline uint32_t mt_ls_tab_index(const struct mt_ls_tab *t, const void *entry)
{
	return (uint32_t)(((const unsigned char *)entry - t->slab) / t->elsize);
}
static inline void *mt_ls_tab_at(const struct mt_ls_tab *t, uint32_t idx)
{
	return t->slab + (size_t)idx * t->elsize;
}
/* Oldest entry or NULL (for draining at end of input). */
void *mt_ls_tab_oldest(struct mt_ls_tab *t, uint64_t *key);

#endif

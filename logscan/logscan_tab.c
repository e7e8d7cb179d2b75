/* logscan_tab.c — see logscan_tab.h.  Open addressing with linear probing and
 * backward-shift deletion, so lookups never walk tombstones. */
#include "logscan_tab.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

int mt_ls_tab_init(struct mt_ls_tab *t, uint32_t cap, uint32_t elsize)
{
	memset(t, 0, sizeof *t);
	if (cap < 4)
		cap = 4;
	uint32_t ns = 8;
	while (ns < cap * 2u)
		ns <<= 1;
	t->cap = cap;
	t->elsize = t->zero_n = elsize;
	t->max_mask = ns - 1;
	/* start small: a log with few sessions open at once keeps its slots in the cache (the
	 * full array, 16 bytes a slot, is larger than L2); grown as entries come */
	if (ns > 1024)
		ns = 1024;
	t->mask = ns - 1;
	t->slab = calloc(cap, elsize);
	t->keys = calloc(cap, sizeof *t->keys);
	t->lru = malloc(cap * sizeof *t->lru);
	t->slots = malloc((size_t)ns * sizeof *t->slots);
	if (!t->slab || !t->keys || !t->lru || !t->slots) {
		mt_ls_tab_free(t);
		return -1;
	}
	for (uint32_t i = 0; i < ns; i++)
		t->slots[i] = (struct mt_ls_tab_slot){0, NIL, 0};
	for (uint32_t i = 0; i < cap; i++)
		t->lru[i].next = i + 1 < cap ? i + 1 : NIL;
	t->freelist = 0;
	t->head = t->tail = NIL;
	return 0;
}

void mt_ls_tab_free(struct mt_ls_tab *t)
{
	free(t->slab);
	free(t->keys);
	free(t->lru);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static inline uint32_t slot_of(const struct mt_ls_tab *t, uint64_t key)
{
	return (uint32_t)(key ^ (key >> 32)) & t->mask;
}

static void lru_unlink(struct mt_ls_tab *t, uint32_t i)
{
	struct mt_ls_tab_node n = t->lru[i];
	if (n.prev != NIL)
		t->lru[n.prev].next = n.next;
	else
		t->head = n.next;
	if (n.next != NIL)
		t->lru[n.next].prev = n.prev;
	else
		t->tail = n.prev;
}

static void lru_append(struct mt_ls_tab *t, uint32_t i)
{
	t->lru[i].prev = t->tail;
	t->lru[i].next = NIL;
	if (t->tail != NIL)
		t->lru[t->tail].next = i;
	else
		t->head = i;
	t->tail = i;
}

static uint32_t find_slot(const struct mt_ls_tab *t, uint64_t key)
{
	for (uint32_t s = slot_of(t, key);; s = (s + 1) & t->mask) {
		const struct mt_ls_tab_slot *sl = &t->slots[s];
		if (sl->idx == NIL)
			return NIL;
		if (sl->key == key)
			return s;
	}
}

void *mt_ls_tab_get(struct mt_ls_tab *t, uint64_t key)
{
	uint32_t s = find_slot(t, key);
	if (s == NIL)
		return NULL;
	uint32_t i = t->slots[s].idx;
	if (t->tail != i) {
		lru_unlink(t, i);
		lru_append(t, i);
	}
	return t->slab + (size_t)i * t->elsize;
}

void *mt_ls_tab_peek(const struct mt_ls_tab *t, uint64_t key)
{
	uint32_t s = find_slot(t, key);
	return s == NIL ? NULL : t->slab + (size_t)t->slots[s].idx * t->elsize;
}

static void del_slot(struct mt_ls_tab *t, uint32_t s)
{
	uint32_t i = t->slots[s].idx;
	lru_unlink(t, i);
	t->lru[i].next = t->freelist;
	t->freelist = i;
	t->count--;
	/* backward-shift: pull later entries of the probe run into the hole */
	uint32_t hole = s;
	for (uint32_t j = (s + 1) & t->mask;; j = (j + 1) & t->mask) {
		struct mt_ls_tab_slot e = t->slots[j];
		if (e.idx == NIL)
			break;
		uint32_t home = slot_of(t, e.key);
		/* move e if its home is not in (hole, j] cyclically */
		if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
			t->slots[hole] = e;
			hole = j;
		}
	}
	t->slots[hole] = (struct mt_ls_tab_slot){0, NIL, 0};
}

void mt_ls_tab_del(struct mt_ls_tab *t, uint64_t key)
{
	uint32_t s = find_slot(t, key);
	if (s != NIL)
		del_slot(t, s);
}

/* Double the slot array (at most to max_mask + 1 slots).  Out of memory, the table keeps
 * its size: the load factor grows, lookups stay correct. */
static void grow(struct mt_ls_tab *t)
{
	uint32_t ns = (t->mask + 1) * 2;
	struct mt_ls_tab_slot *sl = malloc((size_t)ns * sizeof *sl);
	if (!sl)
		return;
	for (uint32_t i = 0; i < ns; i++)
		sl[i] = (struct mt_ls_tab_slot){0, NIL, 0};
	struct mt_ls_tab_slot *old = t->slots;
	uint32_t on = t->mask + 1;
	t->slots = sl;
	t->mask = ns - 1;
	for (uint32_t i = 0; i < on; i++) {
		if (old[i].idx == NIL)
			continue;
		uint32_t s = slot_of(t, old[i].key);
		while (sl[s].idx != NIL)
			s = (s + 1) & t->mask;
		sl[s] = old[i];
	}
	free(old);
}

void *mt_ls_tab_put(struct mt_ls_tab *t, uint64_t key, void (*evict)(void *ctx, void *entry), void *ctx)
{
	if ((t->count + 1) * 2 > t->mask + 1 && t->mask < t->max_mask)
		grow(t);
	if (t->freelist == NIL) {
		uint32_t old = t->head;
		if (evict)
			evict(ctx, t->slab + (size_t)old * t->elsize);
		mt_ls_tab_del(t, t->keys[old]);
		/* a full table evicts on every insert: start loading the next victim's slot and
		 * record now, so the next eviction does not wait for two cache misses */
		uint32_t nh = t->head;
		if (nh != NIL) {
			__builtin_prefetch(&t->slots[slot_of(t, t->keys[nh])]);
			__builtin_prefetch(t->slab + (size_t)nh * t->elsize);
		}
	}
	uint32_t i = t->freelist;
	t->freelist = t->lru[i].next;
	t->keys[i] = key;
	memset(t->slab + (size_t)i * t->elsize, 0, t->zero_n);
	lru_append(t, i);
	uint32_t s = slot_of(t, key);
	while (t->slots[s].idx != NIL)
		s = (s + 1) & t->mask;
	t->slots[s] = (struct mt_ls_tab_slot){key, i, 0};
	t->count++;
	return t->slab + (size_t)i * t->elsize;
}

void *mt_ls_tab_oldest(struct mt_ls_tab *t, uint64_t *key)
{
	if (t->head == NIL)
		return NULL;
	if (key)
		*key = t->keys[t->head];
	return t->slab + (size_t)t->head * t->elsize;
}

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
	t->elsize = elsize;
	t->mask = ns - 1;
	t->slab = calloc(cap, elsize);
	t->keys = calloc(cap, sizeof *t->keys);
	t->prev = malloc(cap * sizeof *t->prev);
	t->next = malloc(cap * sizeof *t->next);
	t->slots = malloc((size_t)ns * sizeof *t->slots);
	if (!t->slab || !t->keys || !t->prev || !t->next || !t->slots) {
		mt_ls_tab_free(t);
		return -1;
	}
	memset(t->slots, 0xff, (size_t)ns * sizeof *t->slots);
	for (uint32_t i = 0; i < cap; i++)
		t->next[i] = i + 1 < cap ? i + 1 : NIL;
	t->freelist = 0;
	t->head = t->tail = NIL;
	return 0;
}

void mt_ls_tab_free(struct mt_ls_tab *t)
{
	free(t->slab);
	free(t->keys);
	free(t->prev);
	free(t->next);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static inline uint32_t slot_of(const struct mt_ls_tab *t, uint64_t key)
{
	return (uint32_t)(key ^ (key >> 32)) & t->mask;
}

static void lru_unlink(struct mt_ls_tab *t, uint32_t i)
{
	if (t->prev[i] != NIL)
		t->next[t->prev[i]] = t->next[i];
	else
		t->head = t->next[i];
	if (t->next[i] != NIL)
		t->prev[t->next[i]] = t->prev[i];
	else
		t->tail = t->prev[i];
}

static void lru_append(struct mt_ls_tab *t, uint32_t i)
{
	t->prev[i] = t->tail;
	t->next[i] = NIL;
	if (t->tail != NIL)
		t->next[t->tail] = i;
	else
		t->head = i;
	t->tail = i;
}

static uint32_t find_slot(const struct mt_ls_tab *t, uint64_t key)
{
	for (uint32_t s = slot_of(t, key);; s = (s + 1) & t->mask) {
		uint32_t i = t->slots[s];
		if (i == NIL)
			return NIL;
		if (t->keys[i] == key)
			return s;
	}
}

void *mt_ls_tab_get(struct mt_ls_tab *t, uint64_t key)
{
	uint32_t s = find_slot(t, key);
	if (s == NIL)
		return NULL;
	uint32_t i = t->slots[s];
	if (t->tail != i) {
		lru_unlink(t, i);
		lru_append(t, i);
	}
	return t->slab + (size_t)i * t->elsize;
}

static void del_slot(struct mt_ls_tab *t, uint32_t s)
{
	uint32_t i = t->slots[s];
	lru_unlink(t, i);
	t->next[i] = t->freelist;
	t->freelist = i;
	t->count--;
	/* backward-shift: pull later entries of the probe run into the hole */
	uint32_t hole = s;
	for (uint32_t j = (s + 1) & t->mask;; j = (j + 1) & t->mask) {
		uint32_t e = t->slots[j];
		if (e == NIL)
			break;
		uint32_t home = slot_of(t, t->keys[e]);
		/* move e if its home is not in (hole, j] cyclically */
		if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
			t->slots[hole] = e;
			hole = j;
		}
	}
	t->slots[hole] = NIL;
}

void mt_ls_tab_del(struct mt_ls_tab *t, uint64_t key)
{
	uint32_t s = find_slot(t, key);
	if (s != NIL)
		del_slot(t, s);
}

void *mt_ls_tab_put(struct mt_ls_tab *t, uint64_t key, void (*evict)(void *ctx, void *entry), void *ctx)
{
	if (t->freelist == NIL) {
		uint32_t old = t->head;
		if (evict)
			evict(ctx, t->slab + (size_t)old * t->elsize);
		mt_ls_tab_del(t, t->keys[old]);
	}
	uint32_t i = t->freelist;
	t->freelist = t->next[i];
	t->keys[i] = key;
	memset(t->slab + (size_t)i * t->elsize, 0, t->elsize);
	lru_append(t, i);
	uint32_t s = slot_of(t, key);
	while (t->slots[s] != NIL)
		s = (s + 1) & t->mask;
	t->slots[s] = i;
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

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

struct mt_ls_tab {
	uint32_t cap, count, elsize, mask;
	unsigned char *slab;
	uint64_t *keys;	      /* per slab entry */
	uint32_t *prev, *next; /* LRU list through slab indexes; head = oldest */
	uint32_t head, tail, freelist;
	uint32_t *slots; /* hash slots -> slab index, UINT32_MAX = empty */
};

/* Allocate for cap entries of elsize bytes; returns 0 or -1 (no memory). */
int mt_ls_tab_init(struct mt_ls_tab *t, uint32_t cap, uint32_t elsize);
void mt_ls_tab_free(struct mt_ls_tab *t);
/* Entry for key (touched as most recent), or NULL. */
void *mt_ls_tab_get(struct mt_ls_tab *t, uint64_t key);
/* A zeroed new entry for key (key must not be present).  When full, the oldest entry is
 * first passed to evict(ctx, entry) and removed. */
void *mt_ls_tab_put(struct mt_ls_tab *t, uint64_t key, void (*evict)(void *ctx, void *entry), void *ctx);
void mt_ls_tab_del(struct mt_ls_tab *t, uint64_t key);
/* Oldest entry or NULL (for draining at end of input). */
void *mt_ls_tab_oldest(struct mt_ls_tab *t, uint64_t *key);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What of a slice's memory the kernel could reclaim, from memory.stat and
 * its change between two samples (Documentation/admin-guide/cgroup-v2.rst).
 * Pure arithmetic: no I/O, no clock.
 *
 * A budget is enforced on the memory that reclaim cannot take back:
 *   - always: anon shared memory (shmem, tmpfs), unevictable pages (mlock,
 *     ramfs), kernel memory other than reclaimable slab (stacks, page
 *     tables, percpu, vmalloc, unreclaimable slab, socket buffers), and
 *     anything memory.current holds that memory.stat does not explain;
 *   - anon only while the slice cannot swap it out: no swap on the machine,
 *     (almost) no free swap left, or the slice's MemorySwapMax reached;
 *   - file cache only while the kernel shows it cannot keep it: refaulting
 *     file pages are activated faster than 1/16 of the cache per second
 *     (the cache is the working set and reclaiming it just reads it back).
 * Page cache that a copy, tar or rsync leaves behind is reclaimable: the
 * kernel drops it (or writes it back) as the slice reaches MemoryHigh. */

#include <stdbool.h>
#include <stdint.h>

#include "cgfs.h"
#include "util.h"

/* memory.stat counts events in pages. */
#define MEMSTAT_PAGE_SIZE 4096ULL
/* Free swap under this share of the machine's swap counts as none (permyriad). */
#define MEMSTAT_SWAP_FREE_MIN 312
/* Progress needs reclaim of at least this much between two samples. */
#define MEMSTAT_PROGRESS_MIN_BYTES (256ULL << 10)

typedef struct memstat_usage {
        uint64_t total;                /* memory.current */
        uint64_t cache;                /* file cache reclaim can drop or write back */
        uint64_t swappable;            /* anon the slice can still swap out */
        uint64_t kernel_reclaimable;   /* reclaimable slab (dentries, inodes) */
        uint64_t unreclaimable;        /* total minus the three above: what the budget is held to */
        bool can_swap;
        bool file_thrashing;
        bool known;                    /* memory.stat was read; without it all of total is unreclaimable */
} memstat_usage;

/* What the slice's tasks hold other than cache: anon counts whether or not
 * it can be swapped out now, since swapping it out is the thrashing a
 * shortage is about, and with swap it is what a job grows by long before
 * it is unreclaimable. Never more than total. */
static inline uint64_t memstat_usage_held(const memstat_usage *u) {
        return u->unreclaimable + u->swappable;
}

/* One reading, kept as the reference for rates. */
typedef struct memstat_sample {
        cgfs_memory_stat stat;
        uint64_t current;
        usec_t at;                     /* 0 = none */
} memstat_sample;

typedef enum memstat_progress {
        MEMSTAT_PROGRESS_UNKNOWN,      /* no usable reference */
        MEMSTAT_PROGRESS_NONE,
        MEMSTAT_PROGRESS_YES,
} memstat_progress;

/* Can the slice swap anon out now? */
bool memstat_can_swap(const cgfs_memory *m, uint64_t swap_total, uint64_t swap_free);

/* Between two samples, were refaulting file pages activated faster than
 * 1/16 of the file cache per second (and at least 1 MiB in all)? */
bool memstat_file_thrashing(const memstat_sample *prev, const memstat_sample *now);

/* Reclaim made progress between two samples when it took back memory that
 * did not come straight back: pgsteal rose by at least
 * MEMSTAT_PROGRESS_MIN_BYTES and refaults (anon and file) were under half
 * of it, or dirty and writeback pages drained by that much. A copy writing
 * back, or a job swapping out within its allowance, progresses; a job at
 * its limit with nothing to reclaim, or thrashing (what is reclaimed is
 * faulted right back), does not. */
memstat_progress memstat_progress_between(const memstat_sample *prev, const memstat_sample *now);

/* stat may be NULL (not read): unreclaimable is then all of m->current. */
void memstat_usage_compute(const cgfs_memory *m, const cgfs_memory_stat *stat, bool can_swap,
                           bool file_thrashing, memstat_usage *ret);

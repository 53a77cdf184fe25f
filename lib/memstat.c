/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "memstat.h"

static uint64_t sub_floor0(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

bool memstat_can_swap(const cgfs_memory *m, uint64_t swap_total, uint64_t swap_free) {
        assert(m);

        if (swap_total == 0 || m->swap_max == 0)
                return false;
        /* Nearly full swap is full: the last pages go to whoever faults first. */
        if (swap_free <= swap_total / 10000 * MEMSTAT_SWAP_FREE_MIN)
                return false;
        /* MemorySwapMax reached, within 1/32 of it. */
        if (m->swap_max != BYTES_INFINITY && m->swap_current >= m->swap_max - m->swap_max / 32)
                return false;
        return true;
}

/* Counters only grow; a smaller one means a new cgroup under the same name. */
static bool counters_usable(const memstat_sample *prev, const memstat_sample *now) {
        const cgfs_memory_stat *a = &prev->stat, *b = &now->stat;

        return prev->at > 0 && now->at > prev->at && b->pgsteal >= a->pgsteal &&
               b->workingset_refault_anon >= a->workingset_refault_anon &&
               b->workingset_refault_file >= a->workingset_refault_file &&
               b->workingset_activate_file >= a->workingset_activate_file;
}

bool memstat_file_thrashing(const memstat_sample *prev, const memstat_sample *now) {
        uint64_t activated, file;
        double seconds;

        assert(prev);
        assert(now);

        if (!counters_usable(prev, now) || !(now->stat.present & CGFS_STAT_HAS_ACTIVATE))
                return false;
        activated = (now->stat.workingset_activate_file - prev->stat.workingset_activate_file) * MEMSTAT_PAGE_SIZE;
        file = now->stat.present & CGFS_STAT_HAS_LRU ? now->stat.active_file + now->stat.inactive_file
                                                    : sub_floor0(now->stat.file, now->stat.shmem);
        seconds = (double) (now->at - prev->at) / (double) USEC_PER_SEC;
        if (activated < (1ULL << 20))
                return false;
        return (double) activated / seconds * 16.0 >= (double) file;
}

memstat_progress memstat_progress_between(const memstat_sample *prev, const memstat_sample *now) {
        const cgfs_memory_stat *a, *b;
        uint64_t stolen, refaulted, pending_before, pending_now;

        assert(prev);
        assert(now);

        a = &prev->stat;
        b = &now->stat;
        if (!counters_usable(prev, now) || !(a->present & b->present & CGFS_STAT_HAS_PGSTEAL))
                return MEMSTAT_PROGRESS_UNKNOWN;

        stolen = (b->pgsteal - a->pgsteal) * MEMSTAT_PAGE_SIZE;
        refaulted = (b->workingset_refault_anon - a->workingset_refault_anon +
                     b->workingset_refault_file - a->workingset_refault_file) * MEMSTAT_PAGE_SIZE;
        if (stolen >= MEMSTAT_PROGRESS_MIN_BYTES && refaulted * 2 < stolen)
                return MEMSTAT_PROGRESS_YES;

        /* Writeback completing frees pages for the next sample's reclaim. */
        pending_before = a->file_dirty + a->file_writeback;
        pending_now = b->file_dirty + b->file_writeback;
        if (pending_before >= pending_now + MEMSTAT_PROGRESS_MIN_BYTES)
                return MEMSTAT_PROGRESS_YES;
        return MEMSTAT_PROGRESS_NONE;
}

void memstat_usage_compute(const cgfs_memory *m, const cgfs_memory_stat *stat, bool can_swap,
                           bool file_thrashing, memstat_usage *ret) {
        uint64_t cache, swappable, left;

        assert(m);
        assert(ret);

        *ret = (memstat_usage) {
                .total = m->current,
                .unreclaimable = m->current,
                .can_swap = can_swap,
                .file_thrashing = file_thrashing,
        };
        if (!stat)
                return;
        ret->known = true;

        /* The file LRUs hold page cache without shmem (which lives on the
         * anon LRUs, being swap-backed) and without unevictable pages.
         * Kernels without them: file minus shmem. */
        cache = stat->present & CGFS_STAT_HAS_LRU ? stat->active_file + stat->inactive_file
                                                 : sub_floor0(stat->file, stat->shmem);
        /* The anon LRUs hold anon and shmem; shmem counts as unreclaimable
         * even when it could be swapped: tmpfs files are what users keep. */
        swappable = stat->present & CGFS_STAT_HAS_LRU ? sub_floor0(stat->active_anon + stat->inactive_anon, stat->shmem)
                                                     : stat->anon;

        ret->cache = file_thrashing ? 0 : cache;
        ret->swappable = can_swap ? swappable : 0;
        ret->kernel_reclaimable = stat->slab_reclaimable;

        /* Whatever memory.current holds beyond what reclaim can take is
         * unreclaimable, including fields this reader does not know. The
         * statistics lag memory.current a little, hence the clamps. */
        left = m->current;
        ret->cache = ret->cache < left ? ret->cache : left;
        left -= ret->cache;
        ret->swappable = ret->swappable < left ? ret->swappable : left;
        left -= ret->swappable;
        ret->kernel_reclaimable = ret->kernel_reclaimable < left ? ret->kernel_reclaimable : left;
        left -= ret->kernel_reclaimable;
        ret->unreclaimable = left;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unreclaimable usage and reclaim progress on struct literals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "memstat.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)
#define PAGES(b) ((b) / MEMSTAT_PAGE_SIZE)
#define SEC USEC_PER_SEC
#define ALL (CGFS_STAT_HAS_KERNEL | CGFS_STAT_HAS_LRU | CGFS_STAT_HAS_ACTIVATE | CGFS_STAT_HAS_PGSTEAL)

/* A dd at MemoryHigh=400M: almost all of it page cache. */
static cgfs_memory_stat copy_stat(void) {
        return (cgfs_memory_stat) {
                .anon = 3 * MiB, .file = 385 * MiB, .kernel = 10 * MiB, .slab_reclaimable = 4 * MiB,
                .shmem = 1 * MiB, .active_anon = 1 * MiB, .inactive_anon = 3 * MiB,
                .active_file = 20 * MiB, .inactive_file = 364 * MiB, .file_dirty = 60 * MiB,
                .present = ALL,
        };
}

static void test_cache_is_reclaimable(void **state) {
        cgfs_memory m = { .current = 400 * MiB, .high = 400 * MiB, .max = 500 * MiB, .swap_max = BYTES_INFINITY };
        cgfs_memory_stat st = copy_stat();
        memstat_usage u;
        (void) state;

        memstat_usage_compute(&m, &st, false, false, &u);
        assert_true(u.known);
        assert_int_equal(u.total, 400 * MiB);
        assert_int_equal(u.cache, 384 * MiB);              /* the file LRUs, shmem not among them */
        assert_int_equal(u.swappable, 0);
        assert_int_equal(u.kernel_reclaimable, 4 * MiB);
        assert_int_equal(u.unreclaimable, 12 * MiB);

        /* The same cache thrashing: the kernel cannot keep it, so it counts. */
        memstat_usage_compute(&m, &st, false, true, &u);
        assert_int_equal(u.cache, 0);
        assert_int_equal(u.unreclaimable, 396 * MiB);

        /* No memory.stat: all of it counts, as before it was read. */
        memstat_usage_compute(&m, NULL, true, false, &u);
        assert_false(u.known);
        assert_int_equal(u.unreclaimable, 400 * MiB);
}

static void test_anon_swap_and_shmem(void **state) {
        cgfs_memory m = { .current = 400 * MiB, .high = 400 * MiB, .max = 500 * MiB, .swap_max = BYTES_INFINITY };
        cgfs_memory_stat st = {
                .anon = 300 * MiB, .shmem = 50 * MiB, .file = 80 * MiB, .unevictable = 8 * MiB,
                .active_anon = 200 * MiB, .inactive_anon = 150 * MiB,      /* anon + shmem */
                .active_file = 10 * MiB, .inactive_file = 20 * MiB,
                .present = ALL,
        };
        memstat_usage u;
        (void) state;

        /* Swappable: anon on the LRUs, never shmem. */
        memstat_usage_compute(&m, &st, true, false, &u);
        assert_int_equal(u.swappable, 300 * MiB);
        assert_int_equal(u.cache, 30 * MiB);
        assert_int_equal(u.unreclaimable, 70 * MiB);        /* shmem, unevictable, the rest */
        memstat_usage_compute(&m, &st, false, false, &u);
        assert_int_equal(u.swappable, 0);
        assert_int_equal(u.unreclaimable, 370 * MiB);

        /* Kernels without the LRU fields: file minus shmem, and anon. */
        st.present = 0;
        memstat_usage_compute(&m, &st, true, false, &u);
        assert_int_equal(u.cache, 30 * MiB);
        assert_int_equal(u.swappable, 300 * MiB);

        /* Statistics that lag memory.current never make usage negative. */
        st.present = ALL;
        m.current = 100 * MiB;
        memstat_usage_compute(&m, &st, true, false, &u);
        assert_int_equal(u.cache, 30 * MiB);
        assert_int_equal(u.swappable, 70 * MiB);
        assert_int_equal(u.unreclaimable, 0);
}

static void test_can_swap(void **state) {
        cgfs_memory m = { .current = 400 * MiB, .swap_max = BYTES_INFINITY };
        (void) state;

        assert_false(memstat_can_swap(&m, 0, 0));                   /* no swap on the machine */
        assert_true(memstat_can_swap(&m, 1 * GiB, 512 * MiB));
        assert_false(memstat_can_swap(&m, 1 * GiB, 20 * MiB));      /* under 3.12% free: full */
        m.swap_max = 0;                                              /* MemorySwapMax=0 */
        assert_false(memstat_can_swap(&m, 1 * GiB, 512 * MiB));
        m.swap_max = 256 * MiB;
        m.swap_current = 100 * MiB;
        assert_true(memstat_can_swap(&m, 1 * GiB, 512 * MiB));
        m.swap_current = 250 * MiB;                                  /* within 1/32 of the allowance */
        assert_false(memstat_can_swap(&m, 1 * GiB, 512 * MiB));
        m.swap_current = 247 * MiB;
        assert_true(memstat_can_swap(&m, 1 * GiB, 512 * MiB));
}

static memstat_sample sample(usec_t at, cgfs_memory_stat st) {
        return (memstat_sample) { .stat = st, .current = 400 * MiB, .at = at };
}

static void test_progress(void **state) {
        cgfs_memory_stat a = copy_stat(), b = copy_stat();
        memstat_sample pa, pb;
        (void) state;

        /* The copy: cache reclaimed, nothing comes back. */
        a.pgsteal = 1000;
        b.pgsteal = 1000 + PAGES(40 * MiB);
        pa = sample(10 * SEC, a);
        pb = sample(11 * SEC, b);
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_YES);

        /* Thrashing: what is reclaimed is faulted right back. */
        b.workingset_refault_file = PAGES(25 * MiB);
        pb = sample(11 * SEC, b);
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_NONE);
        b.workingset_refault_file = PAGES(19 * MiB);
        pb = sample(11 * SEC, b);
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_YES);

        /* A hog at its limit with nothing to reclaim. */
        b = a;
        b.pgsteal = a.pgsteal + PAGES(128 * 1024) - 1;
        pb = sample(11 * SEC, b);
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_NONE);

        /* Writeback draining is progress too. */
        b.file_dirty = a.file_dirty - 1 * MiB;
        pb = sample(11 * SEC, b);
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_YES);

        /* No reference, time running backwards, counters reset, or no pgsteal: unknown. */
        pa.at = 0;
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_UNKNOWN);
        pa = sample(12 * SEC, a);
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_UNKNOWN);
        pa = sample(10 * SEC, a);
        pa.stat.pgsteal = b.pgsteal + 1;
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_UNKNOWN);
        pa = sample(10 * SEC, a);
        pa.stat.present &= ~CGFS_STAT_HAS_PGSTEAL;
        assert_int_equal(memstat_progress_between(&pa, &pb), MEMSTAT_PROGRESS_UNKNOWN);
}

static void test_file_thrashing(void **state) {
        cgfs_memory_stat a = copy_stat(), b = copy_stat();
        memstat_sample pa, pb;
        (void) state;

        /* 384 MiB of cache: thrashing from 24 MiB/s of activations. */
        b.workingset_activate_file = PAGES(48 * MiB);
        pa = sample(10 * SEC, a);
        pb = sample(12 * SEC, b);
        assert_true(memstat_file_thrashing(&pa, &pb));
        b.workingset_activate_file = PAGES(47 * MiB);
        pb = sample(12 * SEC, b);
        assert_false(memstat_file_thrashing(&pa, &pb));
        /* A small cache: under 1 MiB in all is noise. */
        b = a;
        b.active_file = 1 * MiB;
        b.inactive_file = 1 * MiB;
        b.workingset_activate_file = PAGES(1 * MiB) - 1;
        pb = sample(12 * SEC, b);
        assert_false(memstat_file_thrashing(&pa, &pb));
        b.workingset_activate_file = PAGES(1 * MiB);
        pb = sample(12 * SEC, b);
        assert_true(memstat_file_thrashing(&pa, &pb));
        /* Kernels before 5.9 have no activation counter. */
        pb.stat.present &= ~CGFS_STAT_HAS_ACTIVATE;
        assert_false(memstat_file_thrashing(&pa, &pb));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cache_is_reclaimable),
                cmocka_unit_test(test_anon_swap_and_shmem),
                cmocka_unit_test(test_can_swap),
                cmocka_unit_test(test_progress),
                cmocka_unit_test(test_file_thrashing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

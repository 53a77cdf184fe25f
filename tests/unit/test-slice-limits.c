/* SPDX-License-Identifier: GPL-2.0-or-later */

/* limits_step(): the limit to set when a budget is lowered below what the
 * user already uses. Its contract (slice-limits.h): TARGET when that is safe
 * (infinite, a raise or keep, or usage within it), else just above USAGE --
 * LIMITS_STEP_MARGIN_PERCENT of it, at least LIMITS_STEP_MARGIN_MIN, rounded
 * up to whole MiB -- and never higher than CURRENT while stepping down. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgfs.h"
#include "report.h"
#include "slice-limits.h"
#include "tmptree.h"
#include "user.h"
#include "util.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define INF BYTES_INFINITY

static void test_infinite_target(void **state) {
        (void) state;
        assert_int_equal(BYTES_INFINITY, UINT64_MAX);
        /* No budget: always safe, whatever is in force or used. */
        assert_int_equal(limits_step(INF, 1 * GiB, 5 * GiB), INF);
        assert_int_equal(limits_step(INF, INF, INF), INF);
        assert_int_equal(limits_step(INF, 0, 0), INF);
        assert_int_equal(limits_step(INF, 0, UINT64_MAX), INF);
        assert_int_equal(limits_step(INF, 512 * MiB, 0), INF);
}

static void test_raise_or_keep(void **state) {
        (void) state;
        /* Raising a limit is safe even below usage: the usage already fits
         * under the lower limit in force. */
        assert_int_equal(limits_step(4 * GiB, 2 * GiB, 3 * GiB), 4 * GiB);
        assert_int_equal(limits_step(4 * GiB, 2 * GiB, 10 * GiB), 4 * GiB);
        assert_int_equal(limits_step(1 * GiB, 0, 5 * GiB), 1 * GiB);
        /* Keeping what is in force. */
        assert_int_equal(limits_step(2 * GiB, 2 * GiB, 10 * GiB), 2 * GiB);
        assert_int_equal(limits_step(2 * GiB, 2 * GiB, 0), 2 * GiB);
        assert_int_equal(limits_step(UINT64_MAX - 1, UINT64_MAX - 1, UINT64_MAX), UINT64_MAX - 1);
}

static void test_within_budget(void **state) {
        (void) state;
        /* Lowered, but the user fits: straight to the budget. */
        assert_int_equal(limits_step(1 * GiB, 4 * GiB, 512 * MiB), 1 * GiB);
        assert_int_equal(limits_step(1 * GiB, INF, 0), 1 * GiB);
        assert_int_equal(limits_step(1 * GiB, INF, 1 * GiB - 1), 1 * GiB);
        /* Usage exactly at the budget is within it. */
        assert_int_equal(limits_step(1 * GiB, INF, 1 * GiB), 1 * GiB);
        assert_int_equal(limits_step(1 * GiB, 1 * GiB + 1, 1 * GiB), 1 * GiB);
        /* Not whole MiB: the budget is set as it is. */
        assert_int_equal(limits_step(1000000007, INF, 999999999), 1000000007);
}

static void test_step_minimum_margin(void **state) {
        (void) state;
        /* 5% of 200 MiB is 10 MiB: the 16 MiB minimum applies. */
        assert_int_equal(LIMITS_STEP_MARGIN_MIN, 16 * MiB);
        assert_int_equal(LIMITS_STEP_MARGIN_PERCENT, 5);
        assert_int_equal(limits_step(100 * MiB, INF, 200 * MiB), 216 * MiB);
        /* One byte more: rounded up to the next whole MiB. */
        assert_int_equal(limits_step(100 * MiB, INF, 200 * MiB + 1), 217 * MiB);
        /* Usage one byte above the budget. */
        assert_int_equal(limits_step(100 * MiB, 2000 * MiB, 100 * MiB + 1), 117 * MiB);
        /* 5% of 320 MiB is one byte short of 16 MiB (integer division). */
        assert_int_equal(limits_step(100 * MiB, INF, 320 * MiB), 336 * MiB);
}

static void test_step_percent_margin(void **state) {
        (void) state;
        /* 5% of 400 MiB = 20 MiB exactly: already whole MiB. */
        assert_int_equal(limits_step(100 * MiB, INF, 400 * MiB), 420 * MiB);
        /* 1 GiB: 1024 + 51.2 MiB -> 1076 MiB. */
        assert_int_equal(limits_step(512 * MiB, INF, 1 * GiB), 1076 * MiB);
        /* 10 GiB: 10240 + 512 MiB (less 2 bytes of rounding) -> 10752 MiB. */
        assert_int_equal(limits_step(4 * GiB, INF, 10 * GiB), 10752 * MiB);
        /* One byte above a 1000 MiB budget: 50 MiB above usage. */
        assert_int_equal(limits_step(1000 * MiB, 2000 * MiB, 1000 * MiB + 1), 1051 * MiB);
        /* 2 GiB + odd bytes. */
        assert_int_equal(limits_step(512 * MiB, INF, 2048 * MiB + 12345), 2151 * MiB);
}

static void test_step_never_above_current(void **state) {
        (void) state;
        /* The step (1076 MiB) would be above what is in force: keep that. */
        assert_int_equal(limits_step(512 * MiB, 1050 * MiB, 1 * GiB), 1050 * MiB);
        /* Below it: take the step. */
        assert_int_equal(limits_step(512 * MiB, 1100 * MiB, 1 * GiB), 1076 * MiB);
        /* Exactly it. */
        assert_int_equal(limits_step(512 * MiB, 1076 * MiB, 1 * GiB), 1076 * MiB);
        /* Usage already above the limit in force (memory.max was written by
         * someone else, or usage is swap): never raised back. */
        assert_int_equal(limits_step(512 * MiB, 900 * MiB, 1 * GiB), 900 * MiB);
        /* No limit in force: the step is finite, not "infinity". */
        assert_int_equal(limits_step(512 * MiB, INF, 1 * GiB), 1076 * MiB);
}

static void test_converges_as_usage_falls(void **state) {
        static const struct {
                uint64_t usage_mib, expect_mib;
        } seq[] = {
                { 2048, 2151 },
                { 1800, 1890 },
                { 1500, 1575 },
                { 1700, 1575 },   /* usage grows again: the step in force stays */
                { 1000, 1050 },
                { 600, 630 },
                { 530, 557 },
                { 500, 512 },     /* within the budget: done */
                { 400, 512 },
                { 700, 512 },     /* above the budget once there: the kernel's business */
        };
        const uint64_t target = 512 * MiB;
        uint64_t current = INF;

        (void) state;
        for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
                uint64_t usage = seq[i].usage_mib * MiB, next = limits_step(target, current, usage);

                assert_int_equal(next, seq[i].expect_mib * MiB);
                assert_true(next <= current);
                assert_true(next >= target);
                if (next != target && next != current) {
                        assert_true(next >= usage + LIMITS_STEP_MARGIN_MIN);
                        assert_int_equal(next % MiB, 0);
                }
                current = next;
        }
        assert_int_equal(current, target);
}

static void test_huge_usage(void **state) {
        (void) state;
        /* usage + margin does not fit: saturates at infinity, which is then
         * capped by what is in force. */
        assert_int_equal(limits_step(1 * GiB, INF, UINT64_MAX), INF);
        assert_int_equal(limits_step(1 * GiB, INF, UINT64_MAX - 10), INF);
        assert_int_equal(limits_step(1 * GiB, 8 * GiB, UINT64_MAX), 8 * GiB);
        assert_int_equal(limits_step(1 * GiB, 100 * GiB, UINT64_MAX - 1), 100 * GiB);
        assert_int_equal(limits_step(1 * GiB, UINT64_MAX - 1, UINT64_MAX), UINT64_MAX - 1);
        /* 8 EiB: 5% on top still fits, rounded to whole MiB without overflow. */
        assert_int_equal(limits_step(1 * GiB, INF, 1ULL << 63), 9684540638698143744ULL);
        assert_int_equal(9684540638698143744ULL % MiB, 0);
        /* Around the saturation point: finite below, infinity above, and
         * never wrapped around to something small. */
        for (uint64_t usage = UINT64_MAX / 21 * 20 - 64 * MiB; usage < UINT64_MAX / 21 * 20 + 64 * MiB;
             usage += MiB / 2) {
                uint64_t r = limits_step(1 * GiB, INF, usage);

                assert_true(r > usage);
                assert_true(r == INF || r % MiB == 0);
        }
}

static void test_zero(void **state) {
        (void) state;
        assert_int_equal(limits_step(0, 0, 0), 0);
        /* A limit of 0 in force is kept, whatever the usage. */
        assert_int_equal(limits_step(0, 0, 5 * GiB), 0);
        assert_int_equal(limits_step(0, 1 * GiB, 0), 0);
        assert_int_equal(limits_step(0, INF, 0), 0);
        /* One byte used: 16 MiB above it, rounded up. */
        assert_int_equal(limits_step(0, 1 * GiB, 1), 17 * MiB);
        assert_int_equal(limits_step(0, INF, 1), 17 * MiB);
        assert_int_equal(limits_step(0, 16 * MiB, 1), 16 * MiB);
        /* Zero in force is below any usage: kept while the budget is lower... */
        assert_int_equal(limits_step(0, 0, 1), 0);
        /* ...and a raise from zero is a raise. */
        assert_int_equal(limits_step(1 * GiB, 0, 5 * GiB), 1 * GiB);
}

/* The whole contract over a grid of values. */
static void test_contract_grid(void **state) {
        static const uint64_t v[] = {
                0, 1, MiB - 1, MiB, 16 * MiB, 100 * MiB, 333 * MiB + 7, 1 * GiB, 3 * GiB + 1, 64 * GiB,
                (1ULL << 62) + 3, UINT64_MAX - 1, UINT64_MAX,
        };
        const size_t n = sizeof v / sizeof v[0];

        (void) state;
        for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b < n; b++)
                        for (size_t c = 0; c < n; c++) {
                                uint64_t target = v[a], current = v[b], usage = v[c];
                                uint64_t r = limits_step(target, current, usage);

                                if (target == INF || target >= current || usage <= target) {
                                        assert_int_equal(r, target);
                                        continue;
                                }
                                /* Stepping down: between the budget and what is in force. */
                                assert_true(r > target);
                                assert_true(r <= current);
                                if (r == current)
                                        continue;
                                /* Else above usage by the margin, whole MiB, and not far above. */
                                assert_true(r > usage);
                                assert_true(r - usage >= LIMITS_STEP_MARGIN_MIN);
                                assert_true(r - usage >= usage / 100 * LIMITS_STEP_MARGIN_PERCENT);
                                assert_int_equal(r % MiB, 0);
                                assert_true(r - usage < LIMITS_STEP_MARGIN_MIN + usage / 20 + MiB);
                        }
}

static char *read_back(const char *root, const char *file) {
        char path[512], *buf = calloc(1, 64);
        FILE *f;

        snprintf(path, sizeof path, "%s/user.slice/user-4242.slice/%s", root, file);
        f = fopen(path, "re");
        assert_non_null(f);
        assert_non_null(buf);
        (void) fread(buf, 1, 63, f);
        fclose(f);
        return buf;
}

/* `systemctl set-property` by someone else, or a write to the files: the
 * next sample sees limits that are not the ones memgovd set, says so and
 * sets them again. */
static void test_drift_reapplied(void **state) {
        char *root = tmptree_new(), *v;
        context ctx = { .limits_backend = LIMITS_CGROUPFS };
        User u = { .uid = 4242, .has_slice = true, .ctx = &ctx };
        cgfs_memory m = { .current = 100 * MiB, .swap_max = INF };

        (void) state;
        tmptree_mkdir(root, "user.slice/user-4242.slice");
        tmptree_write(root, "user.slice/user-4242.slice/memory.high", "max\n");
        tmptree_write(root, "user.slice/user-4242.slice/memory.max", "max\n");
        tmptree_write(root, "user.slice/user-4242.slice/memory.swap.max", "max\n");
        ctx.cgroot_fd = tmptree_open(root);
        snprintf(u.cgroup, sizeof u.cgroup, "user.slice/user-4242.slice");
        snprintf(u.unit, sizeof u.unit, "user-4242.slice");
        snprintf(u.name, sizeof u.name, "alice");
        u.config.memory_high = 450 * MiB;
        u.config.memory_max = 500 * MiB;
        u.config.memory_swap_max = INF;

        /* First sample: the budget is set. */
        m.high = m.max = INF;
        assert_int_equal(limits_update(&u, &m, false), 0);
        v = read_back(root, "memory.max");
        assert_string_equal(v, "524288000");
        free(v);

        /* Unchanged: nothing is written. */
        tmptree_write(root, "user.slice/user-4242.slice/memory.max", "524288000");
        m.high = 450 * MiB;
        m.max = 500 * MiB;
        assert_int_equal(limits_update(&u, &m, false), 0);

        /* Raised behind memgovd's back: set again on the next sample. */
        tmptree_write(root, "user.slice/user-4242.slice/memory.max", "max\n");
        m.max = INF;
        assert_int_equal(u.limit_resets, 0);
        assert_int_equal(limits_update(&u, &m, false), 0);
        v = read_back(root, "memory.max");
        assert_string_equal(v, "524288000");
        free(v);
        /* Counted for the metrics file, once per reset. */
        assert_int_equal(u.limit_resets, 1);
        assert_int_equal(u.limit_failures, 0);

        /* The kernel keeps whole pages: a value it rounded is no drift. */
        u.config.memory_max = 500 * MiB + 100;
        u.limits.max = 500 * MiB + 100;
        tmptree_write(root, "user.slice/user-4242.slice/memory.max", "untouched");
        m.max = 500 * MiB;
        assert_int_equal(limits_update(&u, &m, false), 0);
        v = read_back(root, "memory.max");
        assert_string_equal(v, "untouched");
        free(v);
        assert_int_equal(u.limit_resets, 1);

        /* A write that fails is counted and retried on the next sample. */
        ctx.status_dirty = false;
        assert_int_equal(unlinkat(ctx.cgroot_fd, "user.slice/user-4242.slice/memory.max", 0), 0);
        assert_int_equal(mkdirat(ctx.cgroot_fd, "user.slice/user-4242.slice/memory.max", 0755), 0);
        m.max = INF;
        assert_true(limits_update(&u, &m, false) < 0);
        assert_int_equal(u.limit_failures, 1);
        assert_true(ctx.status_dirty);
        assert_true(limits_update(&u, &m, false) < 0);
        assert_int_equal(u.limit_failures, 2);

        close(ctx.cgroot_fd);
        tmptree_free(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_drift_reapplied),
                cmocka_unit_test(test_infinite_target),
                cmocka_unit_test(test_raise_or_keep),
                cmocka_unit_test(test_within_budget),
                cmocka_unit_test(test_step_minimum_margin),
                cmocka_unit_test(test_step_percent_margin),
                cmocka_unit_test(test_step_never_above_current),
                cmocka_unit_test(test_converges_as_usage_falls),
                cmocka_unit_test(test_huge_usage),
                cmocka_unit_test(test_zero),
                cmocka_unit_test(test_contract_grid),
        };

        log_set_max_priority(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

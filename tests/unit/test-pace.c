/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The common sampling grid and the growth rule, on plain numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pace.h"

#define MiB (1024ULL * 1024ULL)
#define SEC USEC_PER_SEC

static void test_step(void **state) {
        (void) state;
        assert_int_equal(pace_step(60 * SEC), PACE_STEP_COARSE);
        assert_int_equal(pace_step(30 * SEC), PACE_STEP_COARSE);
        assert_int_equal(pace_step(29 * SEC), PACE_STEP_IDLE);
        assert_int_equal(pace_step(15 * SEC), PACE_STEP_IDLE);
        /* 10 s is not on the 15 s grid: it goes to the 5 s one. */
        assert_int_equal(pace_step(10 * SEC), PACE_STEP_NEAR);
        assert_int_equal(pace_step(2 * SEC), PACE_STEP_FINE);
        assert_int_equal(pace_step(SEC), PACE_STEP_FINE);
        assert_int_equal(pace_step(SEC - 1), 0);
        /* Each step divides the coarser ones, so the grids share ticks. */
        assert_int_equal(PACE_STEP_COARSE % PACE_STEP_IDLE, 0);
        assert_int_equal(PACE_STEP_IDLE % PACE_STEP_NEAR, 0);
        assert_int_equal(PACE_STEP_NEAR % PACE_STEP_FINE, 0);
}

static void test_next_aligns(void **state) {
        usec_t step = PACE_STEP_IDLE;
        (void) state;

        /* Slices looked at 1 s, 7.3 s and 14.99 s into a period all fall
         * due at the same tick. */
        assert_int_equal(pace_next(1000 * SEC + 1 * SEC, step), 1005 * SEC);
        assert_int_equal(pace_next(1000 * SEC + 4300 * USEC_PER_MSEC, step), 1005 * SEC);
        assert_int_equal(pace_next(1004 * SEC + 990 * USEC_PER_MSEC, step), 1005 * SEC);
        /* Exactly on a tick: the next one, never now. */
        assert_int_equal(pace_next(1005 * SEC, step), 1020 * SEC);
        /* A look that came late within the slack does not shift the grid. */
        assert_int_equal(pace_next(1005 * SEC + 900 * USEC_PER_MSEC, step), 1020 * SEC);
        /* The coarse grid's ticks are ticks of the idle grid too. */
        assert_int_equal(pace_next(1000 * SEC, PACE_STEP_COARSE) % PACE_STEP_IDLE, 0);
}

static void test_may_reach(void **state) {
        uint64_t level = 800 * MiB;
        (void) state;

        /* Flat at 100 MiB: cannot reach 800 MiB by any time. */
        assert_false(pace_may_reach(100 * MiB, 0, 100 * MiB, 15 * SEC, level, 1000 * SEC));
        /* Shrinking: neither. */
        assert_false(pace_may_reach(200 * MiB, 0, 100 * MiB, 15 * SEC, level, 30 * SEC));
        /* At or over the level: yes, whatever the growth. */
        assert_true(pace_may_reach(900 * MiB, 0, 800 * MiB, 15 * SEC, level, 16 * SEC));
        /* 10 MiB/s at 500 MiB: twice that for 15 s is 300 MiB, exactly there. */
        assert_true(pace_may_reach(350 * MiB, 0, 500 * MiB, 15 * SEC, level, 30 * SEC));
        /* One second less and it is not. */
        assert_false(pace_may_reach(350 * MiB, 0, 500 * MiB, 15 * SEC, level, 29 * SEC));
        /* No time between the reads, or none to go: no rate to go by. */
        assert_false(pace_may_reach(350 * MiB, 15 * SEC, 500 * MiB, 15 * SEC, level, 30 * SEC));
        assert_false(pace_may_reach(350 * MiB, 0, 500 * MiB, 15 * SEC, level, 15 * SEC));
}

static void test_step_for_growth(void **state) {
        uint64_t level = 800 * MiB;
        usec_t now = 1005 * SEC;
        (void) state;

        /* Idle: the idle grid. */
        assert_int_equal(pace_step_for_growth(15 * SEC, 100 * MiB, now - 15 * SEC, 100 * MiB, now, level),
                         PACE_STEP_IDLE);
        /* No level (no MemoryMax): the interval's own grid. */
        assert_int_equal(pace_step_for_growth(30 * SEC, 0, now - 15 * SEC, 700 * MiB, now, BYTES_INFINITY),
                         PACE_STEP_COARSE);
        /* 1 MiB/s at 700 MiB: 2 MiB/s for 15 s is 30 MiB, still below. */
        assert_int_equal(pace_step_for_growth(15 * SEC, 685 * MiB, now - 15 * SEC, 700 * MiB, now, level),
                         PACE_STEP_IDLE);
        /* 5 MiB/s at 700 MiB: 10 MiB/s reaches 800 MiB in 10 s; the 5 s grid does not. */
        assert_int_equal(pace_step_for_growth(15 * SEC, 625 * MiB, now - 15 * SEC, 700 * MiB, now, level),
                         PACE_STEP_NEAR);
        /* 20 MiB/s at 700 MiB: within 5 s; every second. */
        assert_int_equal(pace_step_for_growth(15 * SEC, 400 * MiB, now - 15 * SEC, 700 * MiB, now, level),
                         PACE_STEP_FINE);
        /* Never coarser than the interval asked for. */
        assert_int_equal(pace_step_for_growth(5 * SEC, 100 * MiB, now - 15 * SEC, 100 * MiB, now, level),
                         PACE_STEP_NEAR);
        /* Below the finest step: not on the grid. */
        assert_int_equal(pace_step_for_growth(100 * USEC_PER_MSEC, 100 * MiB, now - SEC, 100 * MiB, now, level), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_step),
                cmocka_unit_test(test_next_aligns),
                cmocka_unit_test(test_may_reach),
                cmocka_unit_test(test_step_for_growth),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Machine-wide shortage and fair shares on struct literals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "shortage.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)
#define SEC USEC_PER_SEC

static governor_config gc_base(void) {
        governor_config gc;
        governor_config_defaults(&gc);
        return gc;
}

/* A 2 GiB node with 1 GiB of swap, nearly out of both, stalling. */
static shortage_machine short_machine(void) {
        return (shortage_machine) {
                .mem_total = 2000 * MiB, .mem_available = 60 * MiB,
                .swap_total = 1 * GiB, .swap_free = 100 * MiB,
                .pressure = { .some = { .avg10 = 35.0 } },
        };
}

static void test_is_short(void **state) {
        governor_config gc = gc_base();
        shortage_machine m = short_machine();
        (void) state;

        assert_true(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        assert_string_equal(shortage_evidence(&m, &gc, SEC, 100 * SEC), "memory stalls");
        /* MemAvailable over 10% of RAM (200 MiB): not short. */
        m.mem_available = 201 * MiB;
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        m.mem_available = 200 * MiB;
        assert_true(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        m.mem_available = 60 * MiB;
        /* Half the swap still free: the kernel can make room. */
        m.swap_free = 513 * MiB;
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        m.swap_free = 512 * MiB;
        assert_true(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        /* Some swap free but no stalls: low, but coping. */
        m.pressure.some.avg10 = 9.9;
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        /* No swap at all: the floor alone counts, with or without stalls,
         * because the kernel stalls only once the file cache is gone. */
        m.swap_total = m.swap_free = 0;
        assert_true(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        assert_string_equal(shortage_evidence(&m, &gc, SEC, 100 * SEC), "no swap free");
        /* All swap used up (under 1% of it free) is the same. */
        m.swap_total = 1 * GiB;
        m.swap_free = 10 * MiB;
        assert_true(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        m.swap_free = 11 * MiB;
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        m.swap_free = 0;
        m.mem_available = 201 * MiB;
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        m.mem_available = 60 * MiB;
        /* With a trigger, its events tell the stalls. */
        m.swap_free = 100 * MiB;
        m.psi_trigger = true;
        m.psi_event_at = 99 * SEC;
        assert_true(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        assert_false(shortage_is_short(&m, &gc, SEC, 102 * SEC));
        m.swap_free = 0;
        assert_string_equal(shortage_evidence(&m, &gc, SEC, 100 * SEC), "no swap free, memory stalls");
        /* ShortageMemoryFloor=0 turns it off. */
        gc.shortage_memory_floor = 0;
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
}

static void test_next_look(void **state) {
        governor_config gc = gc_base();
        shortage_machine m = {
                .mem_total = 2000 * MiB, .mem_available = 1200 * MiB,
        };
        (void) state;

        /* Far above the floor (200 MiB): the users' own looks come first. */
        assert_true(shortage_next_look(&m, &gc) == USEC_INFINITY);
        m.mem_available = 401 * MiB;
        assert_true(shortage_next_look(&m, &gc) == USEC_INFINITY);
        /* Within twice the floor, the time to fill what is left above it at
         * 1 GiB/s: 200 MiB in about 0.2 s. */
        m.mem_available = 400 * MiB;
        assert_true(shortage_next_look(&m, &gc) >= 190 * USEC_PER_MSEC);
        assert_true(shortage_next_look(&m, &gc) <= 200 * USEC_PER_MSEC);
        /* Closer, never faster than SHORTAGE_LOOK_MIN_USEC. */
        m.mem_available = 250 * MiB;
        assert_int_equal(shortage_next_look(&m, &gc), SHORTAGE_LOOK_MIN_USEC);
        m.mem_available = 10 * MiB;
        assert_int_equal(shortage_next_look(&m, &gc), SHORTAGE_LOOK_MIN_USEC);
        /* A large node: never slower than SHORTAGE_LOOK_MAX_USEC near its floor. */
        m.mem_total = 512 * GiB;
        m.mem_available = 100 * GiB;
        assert_int_equal(shortage_next_look(&m, &gc), SHORTAGE_LOOK_MAX_USEC);
        /* With swap free, the trigger's events wake memgovd instead. */
        m.swap_total = 8 * GiB;
        m.swap_free = 1 * GiB;
        assert_true(shortage_next_look(&m, &gc) == USEC_INFINITY);
        m.swap_free = 0;
        assert_int_equal(shortage_next_look(&m, &gc), SHORTAGE_LOOK_MAX_USEC);
        gc.shortage_memory_floor = 0;
        assert_true(shortage_next_look(&m, &gc) == USEC_INFINITY);
}

static void test_fair_shares(void **state) {
        shortage_user u[] = {
                { .uid = 1001, .unreclaimable = 800 * MiB, .budget = 1536 * MiB },
                { .uid = 1002, .unreclaimable = 600 * MiB, .budget = 1536 * MiB },
                { .uid = 1003, .unreclaimable = 100 * MiB, .budget = 512 * MiB },
        };
        uint64_t shares[3];
        (void) state;

        /* Pool 1200 MiB, equal: 1003 holds less than 400 and keeps its 100;
         * the other two share 1100: 550 each. */
        shortage_fair_shares(u, 3, 1200 * MiB, FAIR_SHARE_EQUAL, shares);
        assert_int_equal(shares[2], 100 * MiB);
        assert_int_equal(shares[0], 550 * MiB);
        assert_int_equal(shares[1], 550 * MiB);
        /* Pool 1300: 1002 fits under 600 too, keeps it, and 1001 gets the 600 left. */
        shortage_fair_shares(u, 3, 1300 * MiB, FAIR_SHARE_EQUAL, shares);
        assert_int_equal(shares[2], 100 * MiB);
        assert_int_equal(shares[1], 600 * MiB);
        assert_int_equal(shares[0], 600 * MiB);
        /* By budget: 1001 and 1002 have 3 times 1003's budget. */
        u[2].unreclaimable = 400 * MiB;
        shortage_fair_shares(u, 3, 1400 * MiB, FAIR_SHARE_BUDGET, shares);
        assert_true(shares[2] > 199 * MiB && shares[2] < 201 * MiB);
        assert_true(shares[0] > 599 * MiB && shares[0] < 601 * MiB);
        /* Weights for equal shares. */
        u[0].weight = 2;
        u[1].weight = 1;
        u[2].weight = 1;
        shortage_fair_shares(u, 3, 1600 * MiB, FAIR_SHARE_EQUAL, shares);
        assert_int_equal(shares[0], 800 * MiB);
        assert_int_equal(shares[1], 400 * MiB);
        assert_int_equal(shares[2], 400 * MiB);
}

static void test_decide_picks_furthest_above(void **state) {
        governor_config gc = gc_base();
        shortage_machine m = short_machine();
        shortage_user u[] = {
                { .uid = 1001, .name = "alice", .unreclaimable = 800 * MiB, .budget = 1536 * MiB },
                { .uid = 1002, .name = "bob", .unreclaimable = 300 * MiB, .budget = 1536 * MiB },
                { .uid = 1003, .name = "carol", .unreclaimable = 900 * MiB, .budget = 1536 * MiB },
        };
        shortage_state st = {};
        shortage_decision d;
        (void) state;

        gc.shortage_memory_floor = 500;   /* 100 MiB: the pools below */
        /* Short, but not yet for ShortageDuration=5s: a dip is not acted on. */
        shortage_decide(&m, u, 3, &gc, SEC, &st, 100 * SEC, &d);
        assert_true(d.is_short);
        assert_false(d.sustained);
        assert_false(d.act);
        shortage_decide(&m, u, 3, &gc, SEC, &st, 104 * SEC, &d);
        assert_false(d.act);
        /* A recovery in between resets the clock. */
        m.mem_available = 300 * MiB;
        shortage_decide(&m, u, 3, &gc, SEC, &st, 104500 * 1000ULL, &d);
        assert_false(d.is_short);
        assert_int_equal(st.short_since, 0);
        m.mem_available = 60 * MiB;
        shortage_decide(&m, u, 3, &gc, SEC, &st, 105 * SEC, &d);
        assert_false(d.act);
        shortage_decide(&m, u, 3, &gc, SEC, &st, 110 * SEC, &d);
        assert_true(d.sustained);
        assert_true(d.act);
        /* Pool 2000 + 60 - 100 = 1960 MiB: bob keeps 300, alice under 830
         * keeps 800, carol's share is the 860 left: 40 above. */
        assert_int_equal(d.user, 2);
        assert_int_equal(d.fair_share, 860 * MiB);
        assert_int_equal(d.excess, 40 * MiB);
        assert_int_equal(d.n_active, 1);
        assert_non_null(strstr(d.reason_text, "carol (uid 1003) holds 900M unreclaimable, 40M above a fair share of 860M"));
        assert_non_null(strstr(d.reason_text, "FairShare=equal"));
        assert_non_null(strstr(d.reason_text, "MemAvailable 60M"));

        /* A user over their own budget: the per-user policy acts, not this. */
        u[0].over_budget = true;
        shortage_decide(&m, u, 3, &gc, SEC, &st, 111 * SEC, &d);
        assert_false(d.act);
        assert_non_null(strstr(d.reason_text, "uid 1001 is over its own budget"));
        u[0].over_budget = false;

        /* Users hold under half of what is in use: the memory is held
         * elsewhere (system services); no user is chosen. */
        u[0].unreclaimable = u[1].unreclaimable = u[2].unreclaimable = 300 * MiB;
        shortage_decide(&m, u, 3, &gc, SEC, &st, 112 * SEC, &d);
        assert_false(d.act);
        assert_non_null(strstr(d.reason_text, "held outside user slices"));
        u[0].unreclaimable = 370 * MiB;       /* 970 of 1940 MiB in use: half */
        shortage_decide(&m, u, 3, &gc, SEC, &st, 112 * SEC, &d);
        assert_true(d.act);
        assert_int_equal(d.user, 0);

        /* A hostile name is not printed. */
        u[0].unreclaimable = u[1].unreclaimable = 600 * MiB;
        u[2].unreclaimable = 1200 * MiB;
        u[2].name = "evil\nMEMGOV_EVENT=kill";
        shortage_decide(&m, u, 3, &gc, SEC, &st, 113 * SEC, &d);
        assert_true(d.act);
        assert_null(strchr(d.reason_text, '\n'));
        assert_non_null(strstr(d.reason_text, ": uid 1003 holds"));

        /* No users at all. */
        shortage_decide(&m, NULL, 0, &gc, SEC, &st, 114 * SEC, &d);
        assert_false(d.act);
}

/* With swap, memory runs low first and the swap fills after: the clock
 * starts with the stalls, and a swap that reaches its floor after
 * ShortageDuration= of them is acted on at once. */
static void test_decide_clock_runs_while_swap_fills(void **state) {
        governor_config gc = gc_base();
        shortage_machine m = short_machine();
        shortage_user u[] = {
                { .uid = 1001, .name = "alice", .unreclaimable = 800 * MiB, .budget = 1536 * MiB },
                { .uid = 1003, .name = "carol", .unreclaimable = 900 * MiB, .budget = 1536 * MiB,
                  .growth = 800 * MiB },
        };
        shortage_state st = {};
        shortage_decision d;
        (void) state;

        m.swap_free = 700 * MiB;
        assert_true(shortage_memory_low(&m, &gc, SEC, 100 * SEC));
        assert_false(shortage_is_short(&m, &gc, SEC, 100 * SEC));
        shortage_decide(&m, u, 2, &gc, SEC, &st, 100 * SEC, &d);
        assert_false(d.is_short);
        assert_false(d.act);
        assert_int_equal(st.short_since, 100 * SEC);
        /* Swap down to its floor 6 s later: no second wait. */
        m.swap_free = 400 * MiB;
        shortage_decide(&m, u, 2, &gc, SEC, &st, 106 * SEC, &d);
        assert_true(d.is_short);
        assert_true(d.sustained);
        assert_true(d.act);
        assert_int_equal(d.user, 1);
        assert_non_null(strstr(d.reason_text, "machine short for 6.0s"));
        /* Without stalls memory is not low while swap is free: the clock stops. */
        m.pressure.some.avg10 = 0;
        m.swap_free = 700 * MiB;
        shortage_decide(&m, u, 2, &gc, SEC, &st, 107 * SEC, &d);
        assert_int_equal(st.short_since, 0);
        /* A dip of swap to its floor with stalls starts the clock afresh. */
        m.pressure.some.avg10 = 35.0;
        m.swap_free = 400 * MiB;
        shortage_decide(&m, u, 2, &gc, SEC, &st, 108 * SEC, &d);
        assert_true(d.is_short);
        assert_false(d.sustained);
        assert_false(d.act);
}

/* Short for ShortageDuration= already: the clock started 10 s ago. */
static void decide_sustained(shortage_machine *m, shortage_user *u, size_t n, governor_config *gc,
                             shortage_decision *d) {
        shortage_state st = { .short_since = 90 * SEC };
        shortage_decide(m, u, n, gc, SEC, &st, 100 * SEC, d);
}

/* The oversubscribed node: alice and bob idle, carol's job grows. */
static void test_decide_growth(void **state) {
        governor_config gc = gc_base();
        shortage_machine m = short_machine();
        shortage_user u[] = {
                { .uid = 1001, .name = "alice", .unreclaimable = 800 * MiB, .budget = 1536 * MiB },
                { .uid = 1002, .name = "bob", .unreclaimable = 600 * MiB, .budget = 1536 * MiB, .growth = 10 * MiB },
                { .uid = 1003, .name = "carol", .unreclaimable = 500 * MiB, .budget = 1536 * MiB, .growth = 480 * MiB },
        };
        shortage_decision d;
        (void) state;

        gc.shortage_memory_floor = 500;   /* 100 MiB: the pools below */
        m.swap_total = m.swap_free = 0;
        /* Pool 1900 + 60 - 100 = 1860 MiB: carol (500) and bob (600) are
         * under 620 and keep theirs; alice's share is the 760 left, 40
         * above. By share alone alice would go; carol grew by 480 of it. */
        decide_sustained(&m, u, 3, &gc, &d);
        assert_true(d.act);
        assert_true(d.by_growth);
        assert_int_equal(d.user, 2);
        assert_int_equal(d.fair_share, 500 * MiB);
        assert_int_equal(d.excess, 0);
        assert_int_equal(d.need, 40 * MiB);
        assert_non_null(strstr(d.reason_text, "carol (uid 1003) grew by 480M within ShortageGrowthWindow=1m00s to 500M"));
        assert_non_null(strstr(d.reason_text, "(MemAvailable 60M, free swap 0B, no swap free, memory stalls)"));
        /* Without swap the floor alone is evidence, and the record says so. */
        m.pressure.some.avg10 = 0;
        decide_sustained(&m, u, 3, &gc, &d);
        assert_true(d.act);
        assert_int_equal(d.user, 2);
        assert_non_null(strstr(d.reason_text, "(MemAvailable 60M, free swap 0B, no swap free): carol"));
        m.pressure.some.avg10 = 35.0;

        /* ShortageGrowthWindow=0: by share alone, alice. */
        gc.shortage_growth_window = 0;
        decide_sustained(&m, u, 3, &gc, &d);
        assert_true(d.act);
        assert_false(d.by_growth);
        assert_int_equal(d.user, 0);
        assert_int_equal(d.excess, 40 * MiB);
        gc.shortage_growth_window = 60 * SEC;

        /* Growth under 64 MiB (a probe, a shell) does not count: nobody
         * grew, so the furthest above their share goes. */
        u[2].growth = 63 * MiB;
        decide_sustained(&m, u, 3, &gc, &d);
        assert_true(d.act);
        assert_false(d.by_growth);
        assert_int_equal(d.user, 0);
        u[2].growth = 64 * MiB;
        decide_sustained(&m, u, 3, &gc, &d);
        assert_int_equal(d.user, 2);
        assert_true(d.by_growth);

        /* One user far above their share and growing: them. */
        u[0].unreclaimable = 1500 * MiB;
        u[0].growth = 700 * MiB;
        u[1].unreclaimable = 200 * MiB;
        u[2].unreclaimable = 100 * MiB;
        u[2].growth = 90 * MiB;
        decide_sustained(&m, u, 3, &gc, &d);
        assert_true(d.act);
        assert_true(d.by_growth);
        assert_int_equal(d.user, 0);
        assert_true(d.excess > 0);

        /* No growth anywhere: the furthest above their share. */
        u[0].growth = u[1].growth = u[2].growth = 0;
        decide_sustained(&m, u, 3, &gc, &d);
        assert_true(d.act);
        assert_false(d.by_growth);
        assert_int_equal(d.user, 0);
}

static void test_history(void **state) {
        shortage_history h = {};
        (void) state;

        /* No history: no growth. */
        assert_int_equal(shortage_history_growth(&h, 500 * MiB, 60 * SEC, 100 * SEC), 0);
        shortage_history_record(&h, 100 * MiB, 60 * SEC, 100 * SEC);
        shortage_history_record(&h, 80 * MiB, 60 * SEC, 110 * SEC);
        shortage_history_record(&h, 300 * MiB, 60 * SEC, 120 * SEC);
        assert_int_equal(h.n, 3);
        /* From the least held in the window. */
        assert_int_equal(shortage_history_growth(&h, 500 * MiB, 60 * SEC, 121 * SEC), 420 * MiB);
        /* Shrinking is no growth. */
        assert_int_equal(shortage_history_growth(&h, 50 * MiB, 60 * SEC, 121 * SEC), 0);
        /* Out of the window, the early samples no longer count. */
        assert_int_equal(shortage_history_growth(&h, 500 * MiB, 60 * SEC, 175 * SEC), 200 * MiB);
        shortage_history_record(&h, 500 * MiB, 60 * SEC, 190 * SEC);
        assert_int_equal(h.n, 1);
        assert_int_equal(shortage_history_growth(&h, 500 * MiB, 60 * SEC, 190 * SEC), 0);

        /* Samples within window/16 (3.75 s) of the newest fold into it: its
         * time stays the first, its figure becomes the least. */
        h = (shortage_history) {};
        shortage_history_record(&h, 100 * MiB, 60 * SEC, 200 * SEC);
        shortage_history_record(&h, 120 * MiB, 60 * SEC, 201 * SEC);
        shortage_history_record(&h, 90 * MiB, 60 * SEC, 203 * SEC);
        assert_int_equal(h.n, 1);
        assert_int_equal(h.at[0], 200 * SEC);
        assert_int_equal(h.held[0], 90 * MiB);
        /* So a slice sampled every second keeps its baseline for the whole
         * window: a job growing 10 MiB a second for 50 s grew 500 MiB. */
        h = (shortage_history) {};
        for (unsigned i = 0; i <= 50; i++)
                shortage_history_record(&h, (100 + 10 * i) * MiB, 60 * SEC, 300 * SEC + i * SEC);
        assert_true(h.n <= SHORTAGE_HISTORY_MAX);
        assert_int_equal(h.at[0], 300 * SEC);
        assert_int_equal(shortage_history_growth(&h, 600 * MiB, 60 * SEC, 350 * SEC), 500 * MiB);

        /* Full: samples exactly window/16 apart fit 17 to a window, one more
         * than is kept: each time the second oldest goes, so the baseline
         * stays as early as the window allows. */
        h = (shortage_history) {};
        for (unsigned i = 0; i < 40; i++)
                shortage_history_record(&h, (100 + i) * MiB, 60 * SEC, 400 * SEC + i * 3750 * 1000ULL);
        assert_int_equal(h.n, SHORTAGE_HISTORY_MAX);
        assert_int_equal(h.at[0], 490 * SEC);
        assert_int_equal(h.held[0], 124 * MiB);
        assert_int_equal(h.held[SHORTAGE_HISTORY_MAX - 1], 139 * MiB);
        assert_int_equal(shortage_history_growth(&h, 140 * MiB, 60 * SEC, 546250 * 1000ULL), 16 * MiB);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_is_short),
                cmocka_unit_test(test_next_look),
                cmocka_unit_test(test_fair_shares),
                cmocka_unit_test(test_decide_picks_furthest_above),
                cmocka_unit_test(test_decide_clock_runs_while_swap_fills),
                cmocka_unit_test(test_decide_growth),
                cmocka_unit_test(test_history),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

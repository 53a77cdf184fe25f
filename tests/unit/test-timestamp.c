/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "timestamp.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
/* 2026-11-30 14:05:09 UTC */
#define NOW S(1796047509)

static void set_zone(const char *tz) {
        setenv("TZ", tz, 1);
        tzset();
}

static usec_t parse_ok(const char *s, usec_t now) {
        usec_t t = 0;
        int r = timestamp_parse(s, now, &t);

        if (r < 0) {
                print_error("timestamp_parse(\"%s\") = %d\n", s, r);
                fail();
        }
        return t;
}

static void test_absolute(void **state) {
        (void) state;
        set_zone("UTC0");

        assert_int_equal(parse_ok("2026-11-30", NOW), S(1795996800));
        assert_int_equal(parse_ok("2026-11-30 14:05", NOW), S(1796047500));
        assert_int_equal(parse_ok("2026-11-30 14:05:09", NOW), S(1796047509));
        assert_int_equal(parse_ok("2026-11-30T14:05:09", NOW), S(1796047509));
        assert_int_equal(parse_ok("2024-02-29", NOW), S(1709164800));
        assert_int_equal(parse_ok("1970-01-01", NOW), 0);

        /* Local time: CET is an hour ahead of UTC in November. */
        set_zone("CET-1");
        assert_int_equal(parse_ok("2026-11-30 14:05:09", NOW), S(1796047509 - 3600));
}

static void test_words(void **state) {
        (void) state;
        set_zone("UTC0");

        assert_int_equal(parse_ok("now", NOW), NOW);
        assert_int_equal(parse_ok("today", NOW), S(1795996800));
        assert_int_equal(parse_ok("yesterday", NOW), S(1795910400));

        /* 23:30 UTC is already 00:30 on December 1st in CET: today began at 23:00 UTC. */
        set_zone("CET-1");
        assert_int_equal(parse_ok("today", S(1796081400)), S(1796079600));
        assert_int_equal(parse_ok("yesterday", S(1796081400)), S(1796079600 - 86400));
}

static void test_relative(void **state) {
        (void) state;
        set_zone("UTC0");

        assert_int_equal(parse_ok("-2h", NOW), NOW - S(7200));
        assert_int_equal(parse_ok("-30min", NOW), NOW - S(1800));
        assert_int_equal(parse_ok("-30m", NOW), NOW - S(1800));
        assert_int_equal(parse_ok("-1d", NOW), NOW - S(86400));
        assert_int_equal(parse_ok("-2days", NOW), NOW - S(2 * 86400));
        assert_int_equal(parse_ok("-1w", NOW), NOW - S(604800));
        assert_int_equal(parse_ok("-45s", NOW), NOW - S(45));
        assert_int_equal(parse_ok("+1h", NOW), NOW + S(3600));
        assert_int_equal(parse_ok("-0s", NOW), NOW);
        assert_int_equal(parse_ok("@1796047509", 0), NOW);
        assert_int_equal(parse_ok("@0", NOW), 0);
}

static void test_invalid(void **state) {
        static const char *const bad[] = {
                "", " ", "tomorrow", "Today", "2h", "-2", "-h", "-2x", "- 2h", "-2 h", "-2h ", "--2h",
                "2026-11-3", "2026-1-30", "26-11-30", "2026/11/30", "2026-11-30 ", "2026-11-30x",
                "2026-13-01", "2026-00-10", "2026-11-31", "2026-02-29", "2026-11-30 24:00", "2026-11-30 14:60",
                "2026-11-30 14:05:60", "2026-11-30 14:5", "2026-11-30 14:05:9", "2026-11-30 +4:05",
                "2026-11-30 14:05:09:00", "+2026-11-30", "2026-11-30  14:05", "-1e3s",
                "@", "@-1", "@+1", "@1.5", "@1\n", "@ 1", "@1s",
        };
        usec_t t = 42;
        (void) state;
        set_zone("UTC0");

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = timestamp_parse(bad[i], NOW, &t);
                if (r != -EINVAL) {
                        print_error("timestamp_parse(\"%s\") = %d, not -EINVAL\n", bad[i], r);
                        fail();
                }
        }
        assert_int_equal(t, 42);   /* untouched on error */
        /* Before the epoch, or past what a usec_t holds. */
        assert_int_equal(timestamp_parse("1969-12-31", NOW, &t), -ERANGE);
        assert_int_equal(timestamp_parse("-100000d", NOW, &t), -ERANGE);
        assert_int_equal(timestamp_parse("+99999999999999999999w", NOW, &t), -ERANGE);
}

static void test_format(void **state) {
        char buf[TIMESTAMP_TEXT_MAX];
        (void) state;

        set_zone("UTC0");
        assert_string_equal(timestamp_format(buf, sizeof buf, NOW + 999999), "2026-11-30 14:05:09");
        set_zone("CET-1");
        assert_string_equal(timestamp_format(buf, sizeof buf, NOW), "2026-11-30 15:05:09");
        /* What it prints, it parses. */
        assert_int_equal(parse_ok(buf, 0), NOW);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absolute),
                cmocka_unit_test(test_words),
                cmocka_unit_test(test_relative),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

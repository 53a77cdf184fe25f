/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "psi.h"

static const char sample[] =
        "some avg10=12.34 avg60=5.00 avg300=1.25 total=123456789\n"
        "full avg10=3.50 avg60=1.00 avg300=0.00 total=4242\n";

static void test_parse(void **state) {
        psi_stats s;
        (void) state;

        assert_int_equal(psi_parse(sample, &s), 0);
        assert_true(s.some.avg10 > 12.33 && s.some.avg10 < 12.35);
        assert_true(s.some.avg300 > 1.24 && s.some.avg300 < 1.26);
        assert_true(s.some.total_usec == 123456789ULL);
        assert_true(s.has_full);
        assert_true(s.full.avg10 > 3.49 && s.full.avg10 < 3.51);
        assert_int_equal(s.full.total_usec, 4242);

        assert_int_equal(psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &s), 0);
        assert_false(s.has_full);
}

static void test_parse_malformed(void **state) {
        static const char *const bad[] = {
                "",
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",           /* no some */
                "some avg10=0.00 avg60=0.00 total=0\n",                        /* missing field */
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 extra=1\n",    /* trailing */
                "some avg10=101.00 avg60=0.00 avg300=0.00 total=0\n",          /* > 100% */
                "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                "most avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n",
        };
        psi_stats s;
        (void) state;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_true(psi_parse(bad[i], &s) < 0);

        /* A line longer than any real one never overruns the parser's copy. */
        char longline[400];
        memset(longline, '9', sizeof longline);
        memcpy(longline, "some avg10=", 11);
        longline[sizeof longline - 1] = 0;
        assert_int_equal(psi_parse(longline, &s), -EINVAL);
}

static void test_trigger_rules(void **state) {
        (void) state;

        assert_int_equal(psi_trigger_check(150000, 1000000, true), 0);
        assert_int_equal(psi_trigger_check(100000, 500000, true), 0);
        assert_int_equal(psi_trigger_check(10000000, 10000000, true), 0);
        assert_int_equal(psi_trigger_check(100000, 499999, true), -EINVAL);
        assert_int_equal(psi_trigger_check(100000, 10000001, true), -EINVAL);
        assert_int_equal(psi_trigger_check(0, 1000000, true), -EINVAL);
        assert_int_equal(psi_trigger_check(1000001, 1000000, true), -EINVAL);
        /* Without CAP_SYS_RESOURCE only multiples of 2 s. */
        assert_int_equal(psi_trigger_check(150000, 1000000, false), -EPERM);
        assert_int_equal(psi_trigger_check(150000, 2000000, false), 0);
        assert_int_equal(psi_trigger_check(150000, 4000000, false), 0);
        assert_int_equal(psi_trigger_check(150000, 3000000, false), -EPERM);
}

static void test_trigger_format(void **state) {
        char buf[PSI_TRIGGER_MAX];
        size_t len = 0;
        (void) state;

        assert_int_equal(psi_trigger_format(PSI_SOME, 150000, 1000000, true, buf, sizeof buf, &len), 0);
        assert_string_equal(buf, "some 150000 1000000");
        /* The kernel wants the NUL too. */
        assert_int_equal(len, strlen("some 150000 1000000") + 1);
        assert_int_equal(psi_trigger_format(PSI_FULL, 200000, 2000000, false, buf, sizeof buf, &len), 0);
        assert_string_equal(buf, "full 200000 2000000");
        assert_int_equal(psi_trigger_format(PSI_SOME, 150000, 1000000, true, buf, 8, &len), -ENOBUFS);
        assert_int_equal(psi_trigger_format(PSI_SOME, 0, 1000000, true, buf, sizeof buf, &len), -EINVAL);
}

static void test_trigger_arm_writes_nul(void **state) {
        char path[] = "/tmp/memgov-psi-XXXXXX";
        char back[64];
        int fd;
        ssize_t n;
        (void) state;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        assert_int_equal(psi_trigger_arm(fd, PSI_SOME, 100000, 1000000, true), 0);
        n = pread(fd, back, sizeof back, 0);
        assert_int_equal(n, (ssize_t) strlen("some 100000 1000000") + 1);
        assert_int_equal(back[n - 1], 0);
        assert_string_equal(back, "some 100000 1000000");
        /* A trigger the kernel would refuse is never written. */
        assert_int_equal(psi_trigger_arm(fd, PSI_SOME, 100000, 1000000, false), -EPERM);
        close(fd);
        /* A write error is returned, not swallowed. */
        assert_int_equal(psi_trigger_arm(fd, PSI_SOME, 100000, 2000000, false), -EBADF);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_trigger_rules),
                cmocka_unit_test(test_trigger_format),
                cmocka_unit_test(test_trigger_arm_writes_nul),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

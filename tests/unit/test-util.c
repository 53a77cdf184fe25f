/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "tmptree.h"
#include "util.h"

static void test_parse_u64(void **state) {
        uint64_t v;
        (void) state;

        assert_int_equal(parse_u64("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_u64("18446744073709551615\n", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_u64("-1", &v), -EINVAL);
        assert_int_equal(parse_u64("+1", &v), -EINVAL);
        assert_int_equal(parse_u64(" 1", &v), -EINVAL);
        assert_int_equal(parse_u64("12x", &v), -EINVAL);
        assert_int_equal(parse_u64("12\n\n", &v), -EINVAL);
        assert_int_equal(parse_u64("", &v), -EINVAL);
}

static void test_parse_int_and_limit(void **state) {
        uint64_t l;
        int i;
        (void) state;

        assert_int_equal(parse_int("-1000\n", &i), 0);
        assert_int_equal(i, -1000);
        assert_int_equal(parse_int("2147483648", &i), -ERANGE);
        assert_int_equal(parse_int("-", &i), -EINVAL);
        assert_int_equal(parse_limit("max\n", &l), 0);
        assert_true(l == BYTES_INFINITY);
        assert_int_equal(parse_limit("4096\n", &l), 0);
        assert_int_equal(l, 4096);
        assert_int_equal(parse_limit("maximum", &l), -EINVAL);
}

static void test_parse_bytes(void **state) {
        uint64_t v;
        (void) state;

        assert_int_equal(parse_bytes("512", 0, &v), 0);
        assert_int_equal(v, 512);
        assert_int_equal(parse_bytes("100K", 0, &v), 0);
        assert_int_equal(v, 102400);
        assert_int_equal(parse_bytes("1.5G", 0, &v), 0);
        assert_true(v == 1610612736ULL);
        assert_int_equal(parse_bytes("2T", 0, &v), 0);
        assert_true(v == 2ULL << 40);
        assert_int_equal(parse_bytes("25%", 8ULL << 30, &v), 0);
        assert_true(v == 2ULL << 30);
        assert_int_equal(parse_bytes("infinity", 0, &v), 0);
        assert_true(v == BYTES_INFINITY);
        assert_int_equal(parse_bytes("101%", 1 << 20, &v), -ERANGE);
        assert_int_equal(parse_bytes("10%", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("12Q", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("-5M", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("1.5", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("99999999T", 0, &v), -ERANGE);
        assert_int_equal(parse_bytes("", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("M", 0, &v), -EINVAL);
        /* strtod() would take these; a config file should not. */
        assert_int_equal(parse_bytes("0x10G", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("1e3", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes("nan", 0, &v), -EINVAL);
        assert_int_equal(parse_bytes(".5K", 0, &v), 0);
        assert_int_equal(v, 512);
        assert_int_equal(parse_bytes("2.0", 0, &v), 0);
        assert_int_equal(v, 2);
}

static void test_parse_usec(void **state) {
        usec_t v;
        (void) state;

        assert_int_equal(parse_usec("2", &v), 0);
        assert_true(v == 2 * USEC_PER_SEC);
        assert_int_equal(parse_usec("500ms", &v), 0);
        assert_true(v == 500 * USEC_PER_MSEC);
        assert_int_equal(parse_usec("1.5s", &v), 0);
        assert_true(v == 1500 * USEC_PER_MSEC);
        assert_int_equal(parse_usec("2min", &v), 0);
        assert_true(v == 120 * USEC_PER_SEC);
        assert_int_equal(parse_usec("1h", &v), 0);
        assert_true(v == 3600 * USEC_PER_SEC);
        assert_int_equal(parse_usec("100us", &v), 0);
        assert_true(v == 100);
        assert_int_equal(parse_usec("infinity", &v), 0);
        assert_true(v == USEC_INFINITY);
        assert_int_equal(parse_usec("5 s", &v), -EINVAL);
        assert_int_equal(parse_usec("5d", &v), -EINVAL);
        assert_int_equal(parse_usec("-1s", &v), -EINVAL);
}

static void test_parse_permyriad_and_boolean(void **state) {
        unsigned p;
        (void) state;

        assert_int_equal(parse_permyriad("10%", &p), 0);
        assert_int_equal(p, 1000);
        assert_int_equal(parse_permyriad("12.5%", &p), 0);
        assert_int_equal(p, 1250);
        assert_int_equal(parse_permyriad("0.8", &p), 0);
        assert_int_equal(p, 8000);
        assert_int_equal(parse_permyriad("100%", &p), 0);
        assert_int_equal(p, 10000);
        assert_int_equal(parse_permyriad("100.1%", &p), -ERANGE);
        assert_int_equal(parse_permyriad("10 %", &p), -EINVAL);
        assert_int_equal(parse_boolean("yes"), 1);
        assert_int_equal(parse_boolean("On"), 1);
        assert_int_equal(parse_boolean("0"), 0);
        assert_int_equal(parse_boolean("false"), 0);
        assert_int_equal(parse_boolean("maybe"), -EINVAL);
}

static void test_format(void **state) {
        char buf[FORMAT_BYTES_MAX];
        (void) state;

        assert_string_equal(format_bytes(buf, sizeof buf, 512), "512B");
        assert_string_equal(format_bytes(buf, sizeof buf, 1536), "1.5K");
        assert_string_equal(format_bytes(buf, sizeof buf, 300ULL << 20), "300M");
        assert_string_equal(format_bytes(buf, sizeof buf, 5ULL << 40), "5.0T");
        assert_string_equal(format_bytes(buf, sizeof buf, BYTES_INFINITY), "infinity");
        assert_string_equal(format_usec(buf, sizeof buf, 250 * USEC_PER_MSEC), "250ms");
        assert_string_equal(format_usec(buf, sizeof buf, 2500 * USEC_PER_MSEC), "2.5s");
        assert_string_equal(format_usec(buf, sizeof buf, 125 * USEC_PER_SEC), "2m05s");
        assert_string_equal(format_usec(buf, sizeof buf, 3720 * USEC_PER_SEC), "1h02m");
        assert_string_equal(format_usec(buf, sizeof buf, USEC_INFINITY), "infinity");
}

static void test_strbuf_and_strv(void **state) {
        _cleanup_strv_free_ char **v = NULL;
        char small[8] = "";
        (void) state;

        strbuf_append(small, sizeof small, "%s", "abc");
        strbuf_append(small, sizeof small, "%d", 12345);
        assert_string_equal(small, "abc1234");
        strbuf_append(small, sizeof small, "more");
        assert_string_equal(small, "abc1234");

        assert_int_equal(strv_length(v), 0);
        assert_false(strv_fnmatch(v, "x"));
        assert_int_equal(strv_extend(&v, "python*"), 0);
        assert_int_equal(strv_extend(&v, "make"), 0);
        assert_int_equal(strv_length(v), 2);
        assert_true(strv_fnmatch(v, "python3"));
        assert_true(strv_fnmatch(v, "make"));
        assert_false(strv_fnmatch(v, "cmake"));
}

static void test_read_file_at(void **state) {
        char *root = tmptree_new();
        char buf[8], big[64];
        size_t len;
        int fd;
        (void) state;

        tmptree_write(root, "small", "1234\n");
        tmptree_write(root, "exact", "1234567");
        tmptree_write(root, "large", "123456789");
        fd = tmptree_open(root);
        assert_int_equal(read_file_at(fd, "small", buf, sizeof buf, &len), 0);
        assert_string_equal(buf, "1234\n");
        assert_int_equal(len, 5);
        assert_int_equal(read_file_at(fd, "exact", buf, sizeof buf, &len), 0);
        assert_string_equal(buf, "1234567");
        assert_int_equal(read_file_at(fd, "large", buf, sizeof buf, NULL), -EFBIG);
        assert_int_equal(read_file_at(fd, "missing", big, sizeof big, NULL), -ENOENT);
        assert_int_equal(read_file_at(fd, ".", big, sizeof big, NULL), -EISDIR);
        close(fd);
        tmptree_free(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_parse_int_and_limit),
                cmocka_unit_test(test_parse_bytes),
                cmocka_unit_test(test_parse_usec),
                cmocka_unit_test(test_parse_permyriad_and_boolean),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_strbuf_and_strv),
                cmocka_unit_test(test_read_file_at),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

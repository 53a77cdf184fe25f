/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "subuid.h"
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

static void test_read_full_file_at(void **state) {
        char *root = tmptree_new();
        _cleanup_free_ char *text = NULL;
        char *big;
        size_t len;
        int fd;
        (void) state;

        /* Three times the first 4 KiB guess, with the interesting part at the end. */
        big = malloc(12289 + 16);
        assert_non_null(big);
        memset(big, 'g', 12289);
        strcpy(big + 12289, "VmSwap:\t1 kB\n");
        tmptree_write(root, "status", big);
        tmptree_write(root, "empty", "");
        fd = tmptree_open(root);
        assert_int_equal(read_full_file_at(fd, "status", 1 << 20, &text, &len), 0);
        assert_int_equal(len, strlen(big));
        assert_string_equal(text, big);
        free(text);
        text = NULL;
        /* Exactly at the bound fits; one byte more does not. */
        assert_int_equal(read_full_file_at(fd, "status", strlen(big), &text, &len), 0);
        free(text);
        text = NULL;
        assert_int_equal(read_full_file_at(fd, "status", strlen(big) - 1, &text, &len), -EFBIG);
        assert_null(text);
        assert_int_equal(read_full_file_at(fd, "empty", 16, &text, &len), 0);
        assert_int_equal(len, 0);
        assert_string_equal(text, "");
        assert_int_equal(read_full_file_at(fd, "missing", 16, &text, &len), -ENOENT);
        free(big);
        close(fd);
        tmptree_free(root);
}

/* A directory whose entries need BIG bytes: ERANGE until the buffer is that big. */
static size_t fake_needed;
static unsigned fake_calls;
static int fake_errno;

static int fake_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t size, struct group **ret) {
        static char *members[] = { "alice", NULL };

        fake_calls++;
        *ret = NULL;
        if (fake_errno)
                return fake_errno;
        if (gid == 404)
                return 0;
        if (size < fake_needed)
                return ERANGE;
        snprintf(buf, size, "big%u", (unsigned) gid);
        *gr = (struct group) { .gr_name = buf, .gr_gid = gid, .gr_mem = members };
        *ret = gr;
        return 0;
}

static int fake_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **ret) {
        fake_calls++;
        *ret = NULL;
        if (size < fake_needed)
                return ERANGE;
        snprintf(buf, size, "user%u", (unsigned) uid);
        *pw = (struct passwd) { .pw_name = buf, .pw_uid = uid, .pw_gid = 100 };
        *ret = pw;
        return 0;
}

/* Members of 300 groups. */
static int fake_getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups) {
        int have = *ngroups;

        (void) user;
        fake_calls++;
        *ngroups = 300;
        if (have < 300)
                return -1;
        for (int i = 0; i < 300; i++)
                groups[i] = i == 0 ? group : (gid_t) (1000 + i);
        return 300;
}

static const nss_ops fake_ops = {
        .getpwuid_r = fake_getpwuid_r,
        .getgrgid_r = fake_getgrgid_r,
        .getgrouplist = fake_getgrouplist,
};

static void test_nss_grow(void **state) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        struct group gr;
        struct passwd pw;
        size_t n;
        (void) state;

        /* 1,500 members of 8-byte names: about 20 KiB, past the old 16 KiB. */
        fake_needed = 20 * 1024;
        fake_calls = 0;
        fake_errno = 0;
        assert_int_equal(nss_getgrgid(&fake_ops, 5000, &gr, &buf), 0);
        assert_string_equal(gr.gr_name, "big5000");
        assert_int_equal(gr.gr_gid, 5000);
        /* 1, 2, 4, 8, 16 KiB refused, 32 KiB fits. */
        assert_int_equal(fake_calls, 6);
        free(buf);
        buf = NULL;

        assert_int_equal(nss_getpwuid(&fake_ops, 1001, &pw, &buf), 0);
        assert_string_equal(pw.pw_name, "user1001");
        free(buf);
        buf = NULL;

        /* Not found, a real error, and a directory that never fits. */
        assert_int_equal(nss_getgrgid(&fake_ops, 404, &gr, &buf), -ENOENT);
        assert_null(buf);
        fake_errno = EIO;
        assert_int_equal(nss_getgrgid(&fake_ops, 5000, &gr, &buf), -EIO);
        fake_errno = 0;
        fake_needed = NSS_BUFFER_MAX + 1;
        fake_calls = 0;
        assert_int_equal(nss_getgrgid(&fake_ops, 5000, &gr, &buf), -ENOBUFS);
        assert_int_equal(fake_calls, 17);   /* 1 KiB .. 64 MiB */
        assert_null(buf);

        fake_calls = 0;
        assert_int_equal(nss_getgrouplist(&fake_ops, "alice", 100, &gids, &n), 0);
        assert_int_equal(n, 300);
        assert_int_equal(gids[0], 100);
        assert_int_equal(gids[299], 1299);
        assert_int_equal(fake_calls, 2);

        /* The real libc answers for root. */
        free(buf);
        buf = NULL;
        assert_int_equal(nss_getpwuid(NULL, 0, &pw, &buf), 0);
        assert_int_equal(pw.pw_uid, 0);
}


/* /etc/subuid through an injectable root: by name or by uid, several
 * ranges, malformed and overflowing lines skipped, a missing file is none. */
static void test_subuid_read(void **state) {
        char *root = tmptree_new();
        subuid_range *r = NULL;
        size_t n = 99;
        int fd;

        (void) state;
        fd = tmptree_open(root);
        assert_int_equal(subuid_read(fd, "etc/subuid", "alice", 1001, &r, &n), 0);
        assert_null(r);
        assert_int_equal(n, 0);

        tmptree_write(root, "etc/subuid",
                      "bob:100000:65536\n"
                      "alice:165536:65536\n"
                      "garbage\n"
                      "alice:x:5\n"
                      "alice:4294967000:1000\n"
                      "alice:300000:0\n"
                      "1001:500000:10\n"
                      "alicex:900000:10\n");
        assert_int_equal(subuid_read(fd, "etc/subuid", "alice", 1001, &r, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(r[0].start, 165536);
        assert_int_equal(r[0].count, 65536);
        assert_int_equal(r[1].start, 500000);
        assert_true(subuid_contains(r, n, 165536));
        assert_true(subuid_contains(r, n, 165536 + 65535));
        assert_false(subuid_contains(r, n, 165536 + 65536));
        assert_false(subuid_contains(r, n, 100000));
        assert_false(subuid_contains(r, n, 900000));
        assert_true(subuid_contains(r, n, 500009));
        free(r);
        close(fd);
        tmptree_free(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_subuid_read),
                cmocka_unit_test(test_parse_int_and_limit),
                cmocka_unit_test(test_parse_bytes),
                cmocka_unit_test(test_parse_usec),
                cmocka_unit_test(test_parse_permyriad_and_boolean),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_strbuf_and_strv),
                cmocka_unit_test(test_read_file_at),
                cmocka_unit_test(test_read_full_file_at),
                cmocka_unit_test(test_nss_grow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

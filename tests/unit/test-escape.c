/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "escape-check.h"
#include "escape.h"
#include "util.h"

/* Inputs as byte strings with explicit lengths: one holds a NUL. */
typedef struct escape_case {
        const char *name;
        const char *in;
        size_t len;
        const char *text, *json, *prom;
} escape_case;

#define IN(s) s, sizeof(s) - 1

static const escape_case cases[] = {
        { "plain",            IN("vim"),                 "vim", "vim", "vim" },
        { "empty",            IN(""),                    "", "", "" },
        { "utf8 passes",      IN("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d"),
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d",
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d" },
        { "newline",          IN("a\nb"),                "a\\nb", "a\nb", "a\\\\nb" },
        { "priority prefix",  IN("<0>boom"),             "\\x3c0>boom", "<0>boom", "<0>boom" },
        { "prefix after nl",  IN("x\n<0>\x1b[2J"),       "x\\n<0>\\x1b[2J", "x\n<0>\x1b[2J", "x\\\\n<0>\\\\x1b[2J" },
        { "lt inside",        IN("a<b"),                 "a<b", "a<b", "a<b" },
        { "csi",              IN("\x1b[31mred"),         "\\x1b[31mred", "\x1b[31mred", "\\\\x1b[31mred" },
        { "osc 52 clipboard", IN("\x1b]52;c;ZWNobw==\x07"), "\\x1b]52;c;ZWNobw==\\x07",
          "\x1b]52;c;ZWNobw==\x07", "\\\\x1b]52;c;ZWNobw==\\\\x07" },
        { "tab and cr",       IN("a\tb\rc"),             "a\\tb\\rc", "a\tb\rc", "a\\\\tb\\\\rc" },
        { "del",              IN("a\x7f"),               "a\\x7f", "a\\x7f", "a\\\\x7f" },
        { "raw c1 csi byte",  IN("\x9b" "2J"),           "\\x9b2J", "\\x9b2J", "\\\\x9b2J" },
        { "utf8 c1 csi",      IN("\xc2\x9b" "2J"),       "\\u009b2J", "\\u009b2J", "\\\\u009b2J" },
        { "utf8 c1 first",    IN("\xc2\x80"),            "\\u0080", "\\u0080", "\\\\u0080" },
        { "nbsp is fine",     IN("\xc2\xa0"),            "\xc2\xa0", "\xc2\xa0", "\xc2\xa0" },
        { "backslash",        IN("a\\x41"),              "a\\\\x41", "a\\\\x41", "a\\\\\\\\x41" },
        { "quote",            IN("say \"hi\""),          "say \"hi\"", "say \"hi\"", "say \\\"hi\\\"" },
        { "stray continuation", IN("a\x80z"),            "a\\x80z", "a\\x80z", "a\\\\x80z" },
        { "bad lead bytes",   IN("\xc0\xc1\xf5\xff"),    "\\xc0\\xc1\\xf5\\xff", "\\xc0\\xc1\\xf5\\xff",
          "\\\\xc0\\\\xc1\\\\xf5\\\\xff" },
        { "overlong slash",   IN("\xc0\xaf"),            "\\xc0\\xaf", "\\xc0\\xaf", "\\\\xc0\\\\xaf" },
        { "overlong 3 byte",  IN("\xe0\x80\xaf"),        "\\xe0\\x80\\xaf", "\\xe0\\x80\\xaf",
          "\\\\xe0\\\\x80\\\\xaf" },
        { "overlong 4 byte",  IN("\xf0\x80\x80\xaf"),    "\\xf0\\x80\\x80\\xaf", "\\xf0\\x80\\x80\\xaf",
          "\\\\xf0\\\\x80\\\\x80\\\\xaf" },
        { "surrogate",        IN("\xed\xa0\x80"),        "\\xed\\xa0\\x80", "\\xed\\xa0\\x80",
          "\\\\xed\\\\xa0\\\\x80" },
        { "above 10ffff",     IN("\xf4\x90\x80\x80"),    "\\xf4\\x90\\x80\\x80", "\\xf4\\x90\\x80\\x80",
          "\\\\xf4\\\\x90\\\\x80\\\\x80" },
        { "max code point",   IN("\xf4\x8f\xbf\xbf"),    "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
        { "cut sequence",     IN("ab\xe2\x82"),          "ab\\xe2\\x82", "ab\\xe2\\x82", "ab\\\\xe2\\\\x82" },
        { "bidi override",    IN("a\xe2\x80\xaegpj.exe"), "a\\u202egpj.exe", "a\\u202egpj.exe",
          "a\\\\u202egpj.exe" },
        { "line separator",   IN("a\xe2\x80\xa8" "b"),   "a\\u2028b", "a\\u2028b", "a\\\\u2028b" },
        /* 15 bytes, a comm cut by the kernel in the middle of a sequence. */
        { "comm cut mid utf8", IN("hogx\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82"),
          "hogx\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\\xe2\\x82", "hogx\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\\xe2\\x82",
          "hogx\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\\\\xe2\\\\x82" },
        { "embedded nul",     "a\0b", 3,                 "a\\x00b", "a\\x00b", "a\\\\x00b" },
};

static void check_one(const escape_case *c, escape_flavor flavor, const char *want) {
        char buf[ESCAPE_BUFSIZE(64)];
        const char *why;
        bool truncated = true;
        size_t n;

        n = escape_buf(c->in, c->len, flavor, buf, sizeof buf, &truncated);
        if (n != strlen(want) || memcmp(buf, want, n) != 0) {
                print_error("case '%s' flavor %d: got '%s' want '%s'\n", c->name, flavor, buf, want);
                fail();
        }
        assert_false(truncated);
        why = escape_check_output(buf, n, flavor);
        if (why) {
                print_error("case '%s' flavor %d: %s\n", c->name, flavor, why);
                fail();
        }
        /* Clean exactly when escaping changes nothing. */
        assert_int_equal(escape_is_clean(c->in, c->len, flavor), n == c->len && memcmp(buf, c->in, n) == 0);
}

static void test_table(void **state) {
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                check_one(&cases[i], ESCAPE_TEXT, cases[i].text);
                check_one(&cases[i], ESCAPE_JSON, cases[i].json);
                check_one(&cases[i], ESCAPE_PROM_LABEL, cases[i].prom);
        }
}

static void test_is_clean(void **state) {
        (void) state;

        assert_true(escape_is_clean(IN("vim"), ESCAPE_TEXT));
        assert_true(escape_is_clean(IN("caf\xc3\xa9"), ESCAPE_TEXT));
        assert_false(escape_is_clean(IN("a\nb"), ESCAPE_TEXT));
        assert_true(escape_is_clean(IN("a\nb"), ESCAPE_JSON));
        assert_false(escape_is_clean(IN("<0>"), ESCAPE_TEXT));
        assert_true(escape_is_clean(IN("<0>"), ESCAPE_JSON));
        assert_false(escape_is_clean(IN("a\\b"), ESCAPE_JSON));
        assert_false(escape_is_clean(IN("\xc2\x9b"), ESCAPE_JSON));
        assert_false(escape_is_clean(IN("a\"b"), ESCAPE_PROM_LABEL));
        assert_true(escape_is_clean(IN("a\"b"), ESCAPE_TEXT));
}

/* A buffer too small keeps whole units only: never half a UTF-8 sequence,
 * never half an escape. */
static void test_truncation(void **state) {
        char buf[64];
        bool truncated;
        size_t n;
        (void) state;

        /* "ab€": 2 + 3 bytes; room for 4 -> "ab" */
        n = escape_buf(IN("ab\xe2\x82\xac"), ESCAPE_TEXT, buf, 5, &truncated);
        assert_int_equal(n, 2);
        assert_string_equal(buf, "ab");
        assert_true(truncated);
        n = escape_buf(IN("ab\xe2\x82\xac"), ESCAPE_TEXT, buf, 6, &truncated);
        assert_int_equal(n, 5);
        assert_false(truncated);

        /* "a\x1b": the escape is 4 bytes; with room for 4, only "a" fits. */
        n = escape_buf(IN("a\x1b"), ESCAPE_TEXT, buf, 5, &truncated);
        assert_string_equal(buf, "a");
        assert_true(truncated);
        n = escape_buf(IN("a\x1b"), ESCAPE_TEXT, buf, 6, &truncated);
        assert_string_equal(buf, "a\\x1b");
        assert_false(truncated);

        /* A label escape of a bad byte is 5 bytes: all or nothing. */
        for (size_t size = 1; size <= 7; size++) {
                n = escape_buf(IN("\xff\xff"), ESCAPE_PROM_LABEL, buf, size, &truncated);
                assert_true(n == 0 || n == 5);
                assert_true(n == 0 ? size <= 5 : size > 5);
                assert_null(escape_check_output(buf, n, ESCAPE_PROM_LABEL));
                assert_true(truncated);
        }

        /* Every prefix size of a hostile comm gives a safe, NUL-terminated result. */
        for (size_t size = 1; size < ESCAPE_COMM_MAX; size++) {
                static const char hostile[] = "x\n<0>\x1b[2J\xc2\x9b\xe2\x82";
                for (escape_flavor f = 0; f < _ESCAPE_FLAVOR_MAX; f++) {
                        n = escape_buf(IN(hostile), f, buf, size, &truncated);
                        assert_true(n < size);
                        assert_int_equal(strlen(buf), n);
                        assert_null(escape_check_output(buf, n, f));
                }
        }

        /* size 1: just the NUL. */
        n = escape_buf(IN("abc"), ESCAPE_TEXT, buf, 1, &truncated);
        assert_int_equal(n, 0);
        assert_string_equal(buf, "");
        assert_true(truncated);
}

/* The worst case of ESCAPE_BUFSIZE holds: 16 bad bytes fill the buffer exactly. */
static void test_worst_case_size(void **state) {
        char in[16], buf[ESCAPE_COMM_MAX];
        bool truncated;
        (void) state;

        memset(in, 0xff, sizeof in);
        assert_int_equal(escape_buf(in, sizeof in, ESCAPE_PROM_LABEL, buf, sizeof buf, &truncated), 80);
        assert_false(truncated);
        memset(in, '\\', sizeof in);
        assert_int_equal(escape_buf(in, sizeof in, ESCAPE_PROM_LABEL, buf, sizeof buf, &truncated), 64);
        assert_false(truncated);
}

static void test_helpers(void **state) {
        char buf[ESCAPE_COMM_MAX];
        _cleanup_free_ char *path = NULL;
        char *longpath;
        (void) state;

        assert_string_equal(escape_text("x\n<0>", buf, sizeof buf), "x\\n<0>");
        assert_string_equal(escape_text("<0>", buf, sizeof buf), "\\x3c0>");
        assert_string_equal(escape_json("a\xff", buf, sizeof buf), "a\\xff");
        assert_string_equal(escape_prom_label("a\"\\\n", buf, sizeof buf), "a\\\"\\\\\\\\\\\\n");
        assert_string_equal(escape_text(NULL, buf, sizeof buf), "");

        path = escape_dup("user.slice/user-1000.slice/user@1000.service/\x1b]52;c;x\x07.scope", ESCAPE_TEXT);
        assert_non_null(path);
        assert_string_equal(path, "user.slice/user-1000.slice/user@1000.service/\\x1b]52;c;x\\x07.scope");

        /* A path far longer than PATH_MAX is escaped whole. */
        longpath = malloc(20001);
        assert_non_null(longpath);
        memset(longpath, '\n', 20000);
        longpath[20000] = 0;
        free(path);
        path = escape_dup(longpath, ESCAPE_TEXT);
        free(longpath);
        assert_non_null(path);
        assert_int_equal(strlen(path), 40000);
        assert_null(escape_check_output(path, 40000, ESCAPE_TEXT));
}

/* What memgovd escaped into a journal field reads back as the original. */
static void test_undo_round_trip(void **state) {
        char in[4], buf[64];
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = NULL, *raw = NULL;

                if (strlen(cases[i].in) != cases[i].len)      /* holds a NUL: not a C string */
                        continue;
                e = escape_dup(cases[i].in, ESCAPE_TEXT);
                assert_non_null(e);
                escape_undo(e);
                raw = strndup(cases[i].in, cases[i].len);
                assert_string_equal(e, raw);
        }
        /* Every pair of bytes, so every lone and leading byte is covered. */
        for (unsigned a = 1; a < 256; a++)
                for (unsigned b = 1; b < 256; b++) {
                        in[0] = (char) a;
                        in[1] = (char) b;
                        in[2] = 0;
                        escape_text(in, buf, sizeof buf);
                        assert_string_equal(escape_undo(buf), in);
                }
}

/* Text that no escape produced stays as it is; nothing can become a NUL. */
static void test_undo_leaves_the_rest(void **state) {
        static const struct {
                const char *in, *out;
        } cases_undo[] = {
                { "plain", "plain" },
                { "a\\nb", "a\nb" },
                { "a\\\\nb", "a\\nb" },
                { "\\q", "\\q" },
                { "\\x00", "\\x00" },
                { "\\x4", "\\x4" },
                { "\\xzz", "\\xzz" },
                { "\\u12", "\\u12" },
                { "\\ud800", "\\ud800" },
                { "\\u0041", "\\u0041" },
                { "end\\", "end\\" },
                { "\\x3c0>x\\x1b[2J", "<0>x\x1b[2J" },
                { "\\u202e", "\xe2\x80\xae" },
                { "\\u009b", "\xc2\x9b" },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases_undo); i++) {
                char *s = strdup(cases_undo[i].in);

                assert_non_null(s);
                escape_undo(s);
                if (strcmp(s, cases_undo[i].out) != 0) {
                        print_error("escape_undo(\"%s\") = \"%s\"\n", cases_undo[i].in, s);
                        free(s);
                        fail();
                }
                free(s);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_is_clean),
                cmocka_unit_test(test_truncation),
                cmocka_unit_test(test_worst_case_size),
                cmocka_unit_test(test_helpers),
                cmocka_unit_test(test_undo_round_trip),
                cmocka_unit_test(test_undo_leaves_the_rest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/* memgovd's stderr channel as journald sees it: stderr is pointed at a file
 * and $JOURNAL_STREAM at that file, as systemd does for a service. A
 * forged comm must not start a line of its own (journald would make it an
 * entry with the priority it names), and a structured record must not be
 * copied to the stream (one record, one entry). */

#include <errno.h>
#include <fcntl.h>
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

#include "report.h"

#define FORGED "x\n<0>\x1b[2J\r\x7f"

static char path[] = "/tmp/test-report-XXXXXX";
static int saved_stderr = -1;

/* Redirects stderr to a fresh file; JOURNAL_STREAM names it when JOURNAL. */
static void capture(bool journal) {
        struct stat st;
        char stream[64];
        int fd;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        assert_true(saved_stderr >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
        assert_int_equal(fstat(STDERR_FILENO, &st), 0);
        snprintf(stream, sizeof stream, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        if (journal)
                setenv("JOURNAL_STREAM", stream, 1);
        else
                unsetenv("JOURNAL_STREAM");
        log_setup();
}

/* Restores stderr; returns what was written, malloc'ed. */
static char *captured(void) {
        char *text = calloc(1, 8192);
        FILE *f;

        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(text);
        (void) fread(text, 1, 8191, f);
        fclose(f);
        unlink(path);
        strcpy(path, "/tmp/test-report-XXXXXX");
        return text;
}

static size_t count_char(const char *s, char c) {
        size_t n = 0;

        for (; *s; s++)
                n += *s == c;
        return n;
}

static void test_forged_line_stays_one_line(void **state) {
        char *text;

        (void) state;
        capture(true);
        log_warning("Sent SIGTERM to pid 42 (%s)", FORGED);
        text = captured();
        assert_string_equal(text, "<4>Sent SIGTERM to pid 42 (x?<0>?[2J?" "?)\n");
        free(text);
}

static void test_record_not_copied_to_journal_stream(void **state) {
        record r;
        char *text;

        (void) state;
        capture(true);
        record_init(&r, "0123456789abcdef0123456789abcdef", "warn", LOG_WARNING, true);
        record_add(&r, "MEMGOV_VICTIM_COMM=%s", "hog");
        record_emit(&r, "test-report: a record that must not reach stderr");
        log_info("after");
        text = captured();
        assert_string_equal(text, "<6>after\n");
        free(text);
}

static void test_record_copied_to_terminal(void **state) {
        record r;
        char *text;

        (void) state;
        capture(false);
        record_init(&r, "0123456789abcdef0123456789abcdef", "warn", LOG_WARNING, true);
        record_emit(&r, "test-report: %s", FORGED);
        text = captured();
        assert_string_equal(text, "memgovd: test-report: x?<0>?[2J?" "?\n");
        assert_int_equal(count_char(text, '\n'), 1);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forged_line_stays_one_line),
                cmocka_unit_test(test_record_not_copied_to_journal_stream),
                cmocka_unit_test(test_record_copied_to_terminal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

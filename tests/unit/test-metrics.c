/* SPDX-License-Identifier: GPL-2.0-or-later */

/* metrics_format() and metrics_write_textfile(): the exact exposition text,
 * label escaping, infinities, the family grouping the format requires, and
 * the atomic replace in a temp dir. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
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

#include "metrics.h"

/* Formats into a malloc'ed string; asserts success. */
static char *format(const metrics_global *g, const metrics_user *users, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        assert_int_equal(metrics_format(f, g, users, n), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

/* The sample line of METRIC (with labels, up to the space), or NULL. */
static const char *find_sample(const char *text, const char *prefix) {
        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, prefix, strlen(prefix)) == 0 && p[strlen(prefix)] == ' ')
                        return p;
        return NULL;
}

/* The value text after "PREFIX " up to the end of the line, copied into buf. */
static const char *sample_value(const char *text, const char *prefix, char *buf, size_t size) {
        const char *p = find_sample(text, prefix), *e;

        assert_non_null(p);
        p += strlen(prefix) + 1;
        e = strchrnul(p, '\n');
        assert_true((size_t) (e - p) < size);
        memcpy(buf, p, e - p);
        buf[e - p] = 0;
        return buf;
}

static const metrics_user alice = {
        .uid = 1001, .user = "alice",
        .usage = 1048576, .high = 3221225472ULL, .max = 4294967296ULL, .swap_usage = 4096,
        .budget_high = 2147483648ULL, .budget_max = UINT64_MAX,
        .psi_some_avg10 = 12.34, .psi_full_avg10 = 0.5,
        .warns = 2, .kills = 1, .kernel_oom_kills = 3,
        .limit_failures = 4, .limit_resets = 5,
        .under_pressure = true, .stepping = true,
};

static void test_exact_output_one_user(void **state) {
        (void) state;
        const metrics_global g = { .wakeups = 42, .reloads = 3, .reload_failures = 1, .dry_run = false,
                                   .updated_realtime_sec = 1796073436, .machine_short = true, .machine_shortages = 6 };
        char *text = format(&g, &alice, 1);

        static const char expected[] =
                "# HELP memgov_dry_run 1 when memgovd runs with DryRun=yes and only logs what it would do, else 0.\n"
                "# TYPE memgov_dry_run gauge\n"
                "memgov_dry_run 0\n"
                "# HELP memgov_users_governed Users whose slices memgovd currently governs.\n"
                "# TYPE memgov_users_governed gauge\n"
                "memgov_users_governed 1\n"
                "# HELP memgov_wakeups_total Times memgovd's event loop woke up since it started.\n"
                "# TYPE memgov_wakeups_total counter\n"
                "memgov_wakeups_total 42\n"
                "# HELP memgov_reloads_total Configuration reloads (SIGHUP) since memgovd started, successful or not.\n"
                "# TYPE memgov_reloads_total counter\n"
                "memgov_reloads_total 3\n"
                "# HELP memgov_reload_failures_total Configuration reloads rejected because of errors; the previous configuration stayed in force.\n"
                "# TYPE memgov_reload_failures_total counter\n"
                "memgov_reload_failures_total 1\n"
                "# HELP memgov_last_update_timestamp_seconds Unix time memgovd wrote this file. It writes it on every change and at least every 90 s.\n"
                "# TYPE memgov_last_update_timestamp_seconds gauge\n"
                "memgov_last_update_timestamp_seconds 1796073436\n"
                "# HELP memgov_machine_memory_short 1 while the machine as a whole is short of memory (MemAvailable and free swap under their floors, memory stalling), else 0.\n"
                "# TYPE memgov_machine_memory_short gauge\n"
                "memgov_machine_memory_short 1\n"
                "# HELP memgov_machine_shortages_total Machine-wide memory shortages that began since memgovd started.\n"
                "# TYPE memgov_machine_shortages_total counter\n"
                "memgov_machine_shortages_total 6\n"
                "# HELP memgov_user_memory_usage_bytes Memory charged to the user's slice (memory.current), in bytes.\n"
                "# TYPE memgov_user_memory_usage_bytes gauge\n"
                "memgov_user_memory_usage_bytes{uid=\"1001\",user=\"alice\"} 1048576\n"
                "# HELP memgov_user_memory_high_bytes MemoryHigh= of the user's slice in bytes: the kernel throttles above it. +Inf when unlimited.\n"
                "# TYPE memgov_user_memory_high_bytes gauge\n"
                "memgov_user_memory_high_bytes{uid=\"1001\",user=\"alice\"} 3221225472\n"
                "# HELP memgov_user_memory_max_bytes MemoryMax= of the user's slice in bytes: the kernel OOM-kills above it. +Inf when unlimited.\n"
                "# TYPE memgov_user_memory_max_bytes gauge\n"
                "memgov_user_memory_max_bytes{uid=\"1001\",user=\"alice\"} 4294967296\n"
                "# HELP memgov_user_budget_high_bytes MemoryHigh= of the user's budget in the configuration, in bytes: what memgovd puts on the slice. +Inf when unlimited.\n"
                "# TYPE memgov_user_budget_high_bytes gauge\n"
                "memgov_user_budget_high_bytes{uid=\"1001\",user=\"alice\"} 2147483648\n"
                "# HELP memgov_user_budget_max_bytes MemoryMax= of the user's budget in the configuration, in bytes: what memgovd puts on the slice. +Inf when unlimited.\n"
                "# TYPE memgov_user_budget_max_bytes gauge\n"
                "memgov_user_budget_max_bytes{uid=\"1001\",user=\"alice\"} +Inf\n"
                "# HELP memgov_user_swap_usage_bytes Swap used by the user's slice (memory.swap.current), in bytes.\n"
                "# TYPE memgov_user_swap_usage_bytes gauge\n"
                "memgov_user_swap_usage_bytes{uid=\"1001\",user=\"alice\"} 4096\n"
                "# HELP memgov_user_pressure_some_avg10 Percent of the last 10 s in which some of the user's tasks stalled on memory (memory.pressure some avg10).\n"
                "# TYPE memgov_user_pressure_some_avg10 gauge\n"
                "memgov_user_pressure_some_avg10{uid=\"1001\",user=\"alice\"} 12.34\n"
                "# HELP memgov_user_pressure_full_avg10 Percent of the last 10 s in which all of the user's runnable tasks stalled on memory (memory.pressure full avg10).\n"
                "# TYPE memgov_user_pressure_full_avg10 gauge\n"
                "memgov_user_pressure_full_avg10{uid=\"1001\",user=\"alice\"} 0.5\n"
                "# HELP memgov_user_warnings_total Memory warnings memgovd sent to the user since it started.\n"
                "# TYPE memgov_user_warnings_total counter\n"
                "memgov_user_warnings_total{uid=\"1001\",user=\"alice\"} 2\n"
                "# HELP memgov_user_kills_total Kills memgovd carried out in the user's slice since it started (one per victim process or cgroup).\n"
                "# TYPE memgov_user_kills_total counter\n"
                "memgov_user_kills_total{uid=\"1001\",user=\"alice\"} 1\n"
                "# HELP memgov_user_kernel_oom_kills_total Tasks the kernel OOM killer killed in the user's slice since memgovd started (memory.events oom_kill).\n"
                "# TYPE memgov_user_kernel_oom_kills_total counter\n"
                "memgov_user_kernel_oom_kills_total{uid=\"1001\",user=\"alice\"} 3\n"
                "# HELP memgov_user_limit_failures_total Attempts to put the budget on the user's slice that failed (a D-Bus error from systemd, a failed write) since memgovd started; each is retried.\n"
                "# TYPE memgov_user_limit_failures_total counter\n"
                "memgov_user_limit_failures_total{uid=\"1001\",user=\"alice\"} 4\n"
                "# HELP memgov_user_limit_resets_total Times the limits of the user's slice were found changed behind memgovd's back (systemctl set-property, a write to the files) and set again.\n"
                "# TYPE memgov_user_limit_resets_total counter\n"
                "memgov_user_limit_resets_total{uid=\"1001\",user=\"alice\"} 5\n"
                "# HELP memgov_user_under_pressure 1 while memgovd considers the user's slice under memory pressure, else 0.\n"
                "# TYPE memgov_user_under_pressure gauge\n"
                "memgov_user_under_pressure{uid=\"1001\",user=\"alice\"} 1\n"
                "# HELP memgov_user_limits_stepping 1 while a limit of the user's slice sits above the budget because usage is above it, stepped down as usage falls, else 0.\n"
                "# TYPE memgov_user_limits_stepping gauge\n"
                "memgov_user_limits_stepping{uid=\"1001\",user=\"alice\"} 1\n";

        assert_string_equal(text, expected);
        free(text);
}

static void test_no_users_keeps_families(void **state) {
        (void) state;
        const metrics_global g = { .dry_run = true };
        char *text = format(&g, NULL, 0);
        char v[64];

        assert_string_equal(sample_value(text, "memgov_users_governed", v, sizeof(v)), "0");
        assert_string_equal(sample_value(text, "memgov_dry_run", v, sizeof(v)), "1");
        /* Every per-user family is declared with no samples. */
        assert_non_null(strstr(text, "# TYPE memgov_user_memory_usage_bytes gauge\n"));
        assert_non_null(strstr(text, "# TYPE memgov_user_kills_total counter\n"));
        assert_null(strstr(text, "{uid="));
        free(text);
}

static void test_infinity_limits(void **state) {
        (void) state;
        const metrics_global g = {};
        metrics_user u = alice;
        char v[64];

        u.high = UINT64_MAX;
        u.max = UINT64_MAX;
        /* A counter at UINT64_MAX is just a big number, never +Inf. */
        u.usage = UINT64_MAX;
        char *text = format(&g, &u, 1);

        assert_string_equal(sample_value(text, "memgov_user_memory_high_bytes{uid=\"1001\",user=\"alice\"}", v, sizeof(v)), "+Inf");
        assert_string_equal(sample_value(text, "memgov_user_memory_max_bytes{uid=\"1001\",user=\"alice\"}", v, sizeof(v)), "+Inf");
        assert_string_equal(sample_value(text, "memgov_user_memory_usage_bytes{uid=\"1001\",user=\"alice\"}", v, sizeof(v)), "18446744073709551615");
        free(text);
}

static void test_label_escaping(void **state) {
        (void) state;
        const metrics_global g = {};
        metrics_user u = alice;

        /* Names from NSS (LDAP, sssd) are not guaranteed to be POSIX-portable:
         * the one escaping rule first (\n, \\, \x1b), then the label syntax. */
        u.user = "a\\b\"c\nd\x1b]52;c;\xff";
        char *text = format(&g, &u, 1);

        assert_non_null(strstr(text, "memgov_user_memory_usage_bytes{uid=\"1001\",user=\"a\\\\\\\\b\\\"c\\\\nd\\\\x1b]52;c;\\\\xff\"} 1048576\n"));
        for (const char *p = text; *p; p++)
                assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
        /* No raw newline may break a sample line: every line is a comment or starts with the name. */
        for (const char *p = text; *p; p = strchr(p, '\n') + 1)
                assert_true(p[0] == '#' || strncmp(p, "memgov_", 7) == 0);
        free(text);
}

static void test_null_user_name(void **state) {
        (void) state;
        const metrics_global g = {};
        metrics_user u = alice;
        char v[64];

        u.uid = 4294967294U;    /* nobody's neighbour: a uid with no passwd entry */
        u.user = NULL;
        char *text = format(&g, &u, 1);

        assert_string_equal(sample_value(text, "memgov_user_kills_total{uid=\"4294967294\",user=\"\"}", v, sizeof(v)), "1");
        free(text);
}

static void test_float_values(void **state) {
        (void) state;
        const metrics_global g = {};
        metrics_user u[3] = { alice, alice, alice };
        char v[64];

        u[0].uid = 1; u[0].psi_some_avg10 = 0.0;    u[0].psi_full_avg10 = 100.0;
        u[1].uid = 2; u[1].psi_some_avg10 = 99.99;  u[1].psi_full_avg10 = 0.01;
        u[2].uid = 3; u[2].psi_some_avg10 = NAN;    u[2].psi_full_avg10 = INFINITY;
        char *text = format(&g, u, 3);

        assert_string_equal(sample_value(text, "memgov_user_pressure_some_avg10{uid=\"1\",user=\"alice\"}", v, sizeof(v)), "0");
        assert_string_equal(sample_value(text, "memgov_user_pressure_full_avg10{uid=\"1\",user=\"alice\"}", v, sizeof(v)), "100");
        assert_string_equal(sample_value(text, "memgov_user_pressure_some_avg10{uid=\"2\",user=\"alice\"}", v, sizeof(v)), "99.99");
        assert_string_equal(sample_value(text, "memgov_user_pressure_full_avg10{uid=\"2\",user=\"alice\"}", v, sizeof(v)), "0.01");
        assert_string_equal(sample_value(text, "memgov_user_pressure_some_avg10{uid=\"3\",user=\"alice\"}", v, sizeof(v)), "NaN");
        assert_string_equal(sample_value(text, "memgov_user_pressure_full_avg10{uid=\"3\",user=\"alice\"}", v, sizeof(v)), "+Inf");
        free(text);
}

/* The format requires one HELP and one TYPE per family, before its samples,
 * and all samples of a family together. Checked for three users. */
static void test_families_grouped(void **state) {
        (void) state;
        const metrics_global g = {};
        metrics_user u[3] = { alice, alice, alice };
        char current[128] = "", seen[64][128];
        size_t n_seen = 0, n_samples = 0;

        u[1].uid = 1002; u[1].user = "bob";
        u[2].uid = 1003; u[2].user = "carol";
        char *text = format(&g, u, 3);

        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char name[128];

                if (sscanf(line, "# TYPE %127s", name) == 1) {
                        for (size_t i = 0; i < n_seen; i++)
                                assert_string_not_equal(seen[i], name);
                        assert_true(n_seen < 64);
                        strcpy(seen[n_seen++], name);
                        strcpy(current, name);
                        continue;
                }
                if (line[0] == '#')
                        continue;
                /* A sample belongs to the family whose TYPE came last. */
                size_t len = strcspn(line, "{ ");
                assert_int_equal(len, strlen(current));
                assert_memory_equal(line, current, len);
                n_samples++;
        }
        /* 8 global samples, 15 families × 3 users. */
        assert_int_equal(n_seen, 23);
        assert_int_equal(n_samples, 8 + 15 * 3);
        free(text);
}

static void test_format_reports_write_error(void **state) {
        (void) state;
        const metrics_global g = {};
        FILE *f = fopen("/dev/full", "we");

        assert_non_null(f);
        assert_int_equal(metrics_format(f, &g, &alice, 1), -ENOSPC);
        fclose(f);
}

static char *make_tmpdir(void) {
        char tmpl[] = "/tmp/test-metrics-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        return strdup(tmpl);
}

static char *slurp(const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re"), *m = open_memstream(&buf, &size);
        int c;

        assert_non_null(f);
        assert_non_null(m);
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(f);
        fclose(m);
        return buf;
}

static void test_write_textfile_atomic(void **state) {
        (void) state;
        const metrics_global g = { .wakeups = 7 };
        char *dir = make_tmpdir(), path[512], tmp[600];
        struct stat before, after;
        mode_t old_umask;

        snprintf(path, sizeof(path), "%s/memgov.prom", dir);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);

        /* A previous, longer file: the new one must replace it entirely. */
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        for (int i = 0; i < 1000; i++)
                fputs("stale_metric 1\n", f);
        fclose(f);
        assert_int_equal(stat(path, &before), 0);

        /* The unit's UMask=0077 must not make the file unreadable for node_exporter. */
        old_umask = umask(0077);
        assert_int_equal(metrics_write_textfile(path, &g, &alice, 1), 0);
        umask(old_umask);

        char *got = slurp(path), *want = format(&g, &alice, 1);
        assert_string_equal(got, want);

        assert_int_equal(stat(path, &after), 0);
        assert_int_equal(after.st_mode & 07777, 0644);
        /* Replaced by rename, not rewritten in place: a reader holding the old
         * file keeps a complete old version. */
        assert_int_not_equal(before.st_ino, after.st_ino);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(errno, ENOENT);

        free(got);
        free(want);
        unlink(path);
        rmdir(dir);
        free(dir);
}

static void test_write_textfile_errors(void **state) {
        (void) state;
        const metrics_global g = {};
        char *dir = make_tmpdir(), path[512], tmp[600], target[600];

        /* A missing directory: an error, and nothing created anywhere. */
        snprintf(path, sizeof(path), "%s/missing/memgov.prom", dir);
        assert_int_equal(metrics_write_textfile(path, &g, NULL, 0), -ENOENT);

        /* A symlink or a FIFO planted at the old fixed temp name is not
         * used: the write neither follows the link nor blocks on the FIFO
         * (alarm: without the fix the open never returns). */
        snprintf(path, sizeof(path), "%s/memgov.prom", dir);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        snprintf(target, sizeof(target), "%s/target", dir);
        assert_int_equal(symlink(target, tmp), 0);
        assert_int_equal(metrics_write_textfile(path, &g, NULL, 0), 0);
        assert_int_equal(access(target, F_OK), -1);
        assert_int_equal(access(path, F_OK), 0);
        unlink(tmp);
        assert_int_equal(mkfifo(tmp, 0644), 0);
        alarm(10);
        assert_int_equal(metrics_write_textfile(path, &g, NULL, 0), 0);
        alarm(0);
        assert_int_equal(access(path, F_OK), 0);

        /* Nothing but the file and the planted FIFO is left behind. */
        {
                DIR *d = opendir(dir);
                struct dirent *de;
                int n = 0;

                assert_non_null(d);
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                n++;
                closedir(d);
                assert_int_equal(n, 2);
        }

        unlink(tmp);
        unlink(path);
        rmdir(dir);
        free(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exact_output_one_user),
                cmocka_unit_test(test_no_users_keeps_families),
                cmocka_unit_test(test_infinity_limits),
                cmocka_unit_test(test_label_escaping),
                cmocka_unit_test(test_null_user_name),
                cmocka_unit_test(test_float_values),
                cmocka_unit_test(test_families_grouped),
                cmocka_unit_test(test_format_reports_write_error),
                cmocka_unit_test(test_write_textfile_atomic),
                cmocka_unit_test(test_write_textfile_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

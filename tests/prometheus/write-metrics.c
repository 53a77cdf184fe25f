/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Writes metrics files with metrics_write_textfile() into DIR, as memgovd
 * would from the daemon states below, for `promtool check metrics`
 * (tests/prometheus/check-metrics). Each state exercises what the format
 * makes delicate: no users, unlimited budgets (+Inf), PSI NaN, counters at
 * their limits, user names no label syntax allows raw. */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

static const metrics_user users[] = {
        { .uid = 1001, .user = "alice",
          .usage = 734003200, .high = 629145600, .max = 734003200, .swap_usage = 67108864,
          .budget_high = 629145600, .budget_max = 734003200,
          .psi_some_avg10 = 42.17, .psi_full_avg10 = 12.5,
          .warns = 4, .kills = 3, .kernel_oom_kills = 1, .limit_failures = 2, .limit_resets = 1,
          .under_pressure = true },
        { .uid = 1002, .user = "bob",
          .usage = 1048576, .high = UINT64_MAX, .max = UINT64_MAX,
          .budget_high = UINT64_MAX, .budget_max = UINT64_MAX,
          .psi_some_avg10 = NAN, .psi_full_avg10 = 0 },
        { .uid = 1003, .user = "carol",
          .usage = UINT64_MAX - 1, .high = 943718400, .max = 1048576000,
          .budget_high = 314572800, .budget_max = 367001600,
          .warns = UINT64_MAX, .kills = UINT64_MAX, .stepping = true },
        /* From LDAP: anything but NUL, and a uid with no name at all. */
        { .uid = 70001, .user = "x\"y\\z\nw\x1b[31m\xff\xfe \xc3\xa9" },
        { .uid = 4294967294U, .user = NULL },
};

static int write_one(const char *dir, const char *name, const metrics_global *g, const metrics_user *u, size_t n) {
        char path[4096];
        int r;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        r = metrics_write_textfile(path, g, u, n);
        if (r < 0)
                fprintf(stderr, "write-metrics: %s: error %d\n", path, r);
        return r;
}

int main(int argc, char **argv) {
        const metrics_global idle = { .updated_realtime_sec = 1796073436 };
        const metrics_global busy = {
                .wakeups = 123456, .reloads = 7, .reload_failures = 2,
                .updated_realtime_sec = 1796073436, .machine_short = true, .machine_shortages = 3,
        };
        const metrics_global dry = { .dry_run = true, .wakeups = UINT64_MAX };

        if (argc != 2) {
                fprintf(stderr, "usage: write-metrics DIR\n");
                return 2;
        }
        if (write_one(argv[1], "no-users.prom", &idle, NULL, 0) < 0 ||
            write_one(argv[1], "users.prom", &busy, users, 3) < 0 ||
            write_one(argv[1], "hostile-names.prom", &dry, users, sizeof users / sizeof users[0]) < 0)
                return 1;
        return 0;
}

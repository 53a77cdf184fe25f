/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): one
 * "# HELP" and one "# TYPE" line per family, then all of its samples. Label
 * values go through escape_prom_label(); +Inf and NaN are spelled
 * the way Go's ParseFloat accepts them. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "metrics.h"
#include "util.h"

typedef enum value_kind {
        VALUE_U64,          /* plain unsigned counter or gauge */
        VALUE_LIMIT,        /* UINT64_MAX means "no limit" and prints +Inf */
        VALUE_DOUBLE,
        VALUE_BOOL,         /* 0 or 1 */
} value_kind;

typedef struct user_family {
        const char *name;
        const char *type;
        const char *help;
        value_kind kind;
        size_t offset;      /* of the field in metrics_user */
} user_family;

static const user_family user_families[] = {
        { "memgov_user_memory_usage_bytes", "gauge",
          "Memory charged to the user's slice (memory.current), in bytes.",
          VALUE_U64, offsetof(metrics_user, usage) },
        { "memgov_user_memory_high_bytes", "gauge",
          "MemoryHigh= of the user's slice in bytes: the kernel throttles above it. +Inf when unlimited.",
          VALUE_LIMIT, offsetof(metrics_user, high) },
        { "memgov_user_memory_max_bytes", "gauge",
          "MemoryMax= of the user's slice in bytes: the kernel OOM-kills above it. +Inf when unlimited.",
          VALUE_LIMIT, offsetof(metrics_user, max) },
        { "memgov_user_budget_high_bytes", "gauge",
          "MemoryHigh= of the user's budget in the configuration, in bytes: what memgovd puts on the slice. +Inf when unlimited.",
          VALUE_LIMIT, offsetof(metrics_user, budget_high) },
        { "memgov_user_budget_max_bytes", "gauge",
          "MemoryMax= of the user's budget in the configuration, in bytes: what memgovd puts on the slice. +Inf when unlimited.",
          VALUE_LIMIT, offsetof(metrics_user, budget_max) },
        { "memgov_user_swap_usage_bytes", "gauge",
          "Swap used by the user's slice (memory.swap.current), in bytes.",
          VALUE_U64, offsetof(metrics_user, swap_usage) },
        { "memgov_user_pressure_some_avg10", "gauge",
          "Percent of the last 10 s in which some of the user's tasks stalled on memory (memory.pressure some avg10).",
          VALUE_DOUBLE, offsetof(metrics_user, psi_some_avg10) },
        { "memgov_user_pressure_full_avg10", "gauge",
          "Percent of the last 10 s in which all of the user's runnable tasks stalled on memory (memory.pressure full avg10).",
          VALUE_DOUBLE, offsetof(metrics_user, psi_full_avg10) },
        { "memgov_user_warnings_total", "counter",
          "Memory warnings memgovd sent to the user since it started.",
          VALUE_U64, offsetof(metrics_user, warns) },
        { "memgov_user_kills_total", "counter",
          "Kills memgovd carried out in the user's slice since it started (one per victim process or cgroup).",
          VALUE_U64, offsetof(metrics_user, kills) },
        { "memgov_user_kernel_oom_kills_total", "counter",
          "Tasks the kernel OOM killer killed in the user's slice since memgovd started (memory.events oom_kill).",
          VALUE_U64, offsetof(metrics_user, kernel_oom_kills) },
        { "memgov_user_limit_failures_total", "counter",
          "Attempts to put the budget on the user's slice that failed (a D-Bus error from systemd, a failed write) since memgovd started; each is retried.",
          VALUE_U64, offsetof(metrics_user, limit_failures) },
        { "memgov_user_limit_resets_total", "counter",
          "Times the limits of the user's slice were found changed behind memgovd's back (systemctl set-property, a write to the files) and set again.",
          VALUE_U64, offsetof(metrics_user, limit_resets) },
        { "memgov_user_under_pressure", "gauge",
          "1 while memgovd considers the user's slice under memory pressure, else 0.",
          VALUE_BOOL, offsetof(metrics_user, under_pressure) },
        { "memgov_user_limits_stepping", "gauge",
          "1 while a limit of the user's slice sits above the budget because usage is above it, stepped down as usage falls, else 0.",
          VALUE_BOOL, offsetof(metrics_user, stepping) },
};

static void print_header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* User names come from NSS (LDAP, sssd) and need not be printable or even
 * UTF-8, which the text format requires: escaped by the one rule every sink
 * uses, then for the label syntax. */
static void print_label_value(FILE *f, const char *s) {
        _cleanup_free_ char *e = escape_dup(s, ESCAPE_PROM_LABEL);

        /* Out of memory: an empty label beats a line a parser rejects. */
        if (e)
                fputs(e, f);
}

static void print_double(FILE *f, double v) {
        if (isnan(v))
                fputs("NaN", f);
        else if (isinf(v))
                fputs(v > 0 ? "+Inf" : "-Inf", f);
        else
                /* PSI averages come with two decimals; %g drops the trailing zeros. */
                fprintf(f, "%.6g", v);
}

static void print_user_sample(FILE *f, const user_family *fam, const metrics_user *u) {
        const char *field = (const char *) u + fam->offset;
        uint64_t v;

        fprintf(f, "%s{uid=\"%u\",user=\"", fam->name, (unsigned) u->uid);
        /* A uid with no passwd entry still gets a series; its name label is empty. */
        print_label_value(f, u->user ? u->user : "");
        fputs("\"} ", f);

        switch (fam->kind) {
        case VALUE_U64:
        case VALUE_LIMIT:
                memcpy(&v, field, sizeof(v));
                if (fam->kind == VALUE_LIMIT && v == UINT64_MAX)
                        fputs("+Inf", f);
                else
                        fprintf(f, "%" PRIu64, v);
                break;
        case VALUE_DOUBLE: {
                double d;

                memcpy(&d, field, sizeof(d));
                print_double(f, d);
                break;
        }
        case VALUE_BOOL: {
                bool b;

                memcpy(&b, field, sizeof(b));
                fputc(b ? '1' : '0', f);
                break;
        }
        }
        fputc('\n', f);
}

static void print_global_u64(FILE *f, const char *name, const char *type, const char *help, uint64_t v) {
        print_header(f, name, type, help);
        fprintf(f, "%s %" PRIu64 "\n", name, v);
}

int metrics_format(FILE *f, const metrics_global *g, const metrics_user *users, size_t n_users) {
        assert(f);
        assert(g);
        assert(users || n_users == 0);

        print_global_u64(f, "memgov_dry_run", "gauge",
                         "1 when memgovd runs with DryRun=yes and only logs what it would do, else 0.",
                         g->dry_run ? 1 : 0);
        print_global_u64(f, "memgov_users_governed", "gauge",
                         "Users whose slices memgovd currently governs.",
                         (uint64_t) n_users);
        print_global_u64(f, "memgov_wakeups_total", "counter",
                         "Times memgovd's event loop woke up since it started.",
                         g->wakeups);
        print_global_u64(f, "memgov_reloads_total", "counter",
                         "Configuration reloads (SIGHUP) since memgovd started, successful or not.",
                         g->reloads);
        print_global_u64(f, "memgov_reload_failures_total", "counter",
                         "Configuration reloads rejected because of errors; the previous configuration stayed in force.",
                         g->reload_failures);
        print_global_u64(f, "memgov_last_update_timestamp_seconds", "gauge",
                         "Unix time memgovd wrote this file. It writes it on every change and at least every 90 s.",
                         g->updated_realtime_sec);
        print_global_u64(f, "memgov_machine_memory_short", "gauge",
                         "1 while the machine as a whole is short of memory (MemAvailable and free swap under their floors, memory stalling), else 0.",
                         g->machine_short ? 1 : 0);
        print_global_u64(f, "memgov_machine_shortages_total", "counter",
                         "Machine-wide memory shortages that began since memgovd started.",
                         g->machine_shortages);

        /* The families are printed even with no users, so dashboards see every
         * name with its type from the first scrape on. */
        for (size_t i = 0; i < ELEMENTSOF(user_families); i++) {
                print_header(f, user_families[i].name, user_families[i].type, user_families[i].help);
                for (size_t j = 0; j < n_users; j++)
                        print_user_sample(f, &user_families[i], &users[j]);
        }

        /* stdio remembers any failed write; one check at the end covers them all. */
        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}

int metrics_write_textfile(const char *path, const metrics_global *g, const metrics_user *users, size_t n_users) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        assert(path);
        assert(g);

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }

        /* The directory may be shared with other exporters and writable by
         * others: a fresh random name created with O_EXCL, so nothing left
         * at a known name (a symlink, a FIFO that would block the open) can
         * redirect or hang the daemon. */
        fd = mkostemp(tmp, O_CLOEXEC|O_NOFOLLOW|O_NONBLOCK);
        if (fd < 0)
                return -errno;

        /* The unit runs with UMask=0077, but node_exporter reads the file as
         * another user: set the mode explicitly. */
        if (fchmod(fd, 0644) < 0) {
                r = -errno;
                close(fd);
                goto fail;
        }

        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                goto fail;
        }

        r = metrics_format(f, g, users, n_users);
        if (r < 0)
                goto fail;

        /* No fsync: this runs on every status change, in the event loop. A
         * crash right after the rename may leave an empty file, which the
         * textfile collector reads as "no samples" until the next write. */
        r = fclose(TAKE_PTR(f));
        if (r != 0) {
                r = -errno;
                goto fail;
        }

        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }

        return 0;

fail:
        (void) unlink(tmp);
        return r;
}

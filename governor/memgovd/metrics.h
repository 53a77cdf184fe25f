/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Prometheus text exposition of memgovd's state, for node_exporter's textfile
 * collector. Pure formatting plus one atomic file write: no allocation in the
 * formatter and no dependency on libmemgov, so it is unit-tested on its own. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct metrics_user {
        uid_t uid;
        const char *user;              /* NULL when the uid has no name: exported as "" */
        uint64_t usage, high, max, swap_usage;   /* bytes; UINT64_MAX (no limit) prints +Inf */
        double psi_some_avg10, psi_full_avg10;    /* percent, 0..100, as the kernel reports */
        uint64_t budget_high, budget_max;         /* the configured budget; UINT64_MAX prints +Inf */
        uint64_t warns, kills, kernel_oom_kills;
        uint64_t limit_failures, limit_resets;
        bool under_pressure;
        bool stepping;                 /* a limit still sits above its budget (usage above it) */
} metrics_user;

typedef struct metrics_global {
        uint64_t wakeups, reloads, reload_failures;
        uint64_t updated_realtime_sec; /* when the file was written, Unix time */
        uint64_t machine_shortages;
        bool machine_short;
        bool dry_run;
} metrics_global;

/* Writes every metric family, each with its # HELP and # TYPE lines and all its
 * samples together (the format requires a family's samples to be contiguous).
 * Returns 0, or -errno when the stream reports an error. */
int metrics_format(FILE *f, const metrics_global *g, const metrics_user *users, size_t n_users);

/* Atomic: writes a fresh PATH.XXXXXX in the same directory, mode 0644
 * whatever the umask (node_exporter runs as another user), and renames it
 * over PATH, so a scrape never sees a half-written file. The temporary name
 * does not end in ".prom", so the collector never reads it. */
int metrics_write_textfile(const char *path, const metrics_global *g, const metrics_user *users, size_t n_users);

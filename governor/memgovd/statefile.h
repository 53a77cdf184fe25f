/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* /run/memgov/status.json, read by `memgovctl status`, and the Prometheus
 * textfile named by MetricsFile=. Both are written atomically (temp file and
 * rename) and only when something changed, never on idle ticks. They get
 * what they show as arguments: the daemon's figures and the users. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "context.h"
#include "user.h"

#define STATEFILE_NAME "status.json"

typedef struct status_info {
        const char *version;
        pid_t pid;
        const char *config_path;
        bool dry_run;
        limits_backend limits_backend;
        bool psi_privileged;
        usec_t pressure_window;
        usec_t updated_realtime;
        uint64_t wakeups, reloads, reload_failures;
        bool machine_short;
        uint64_t machine_shortages;
} status_info;

/* The status document: the daemon's figures and one object per user.
 * Limits are numbers, no limit is null. NULL when out of memory. */
json_object *statefile_document(const status_info *info, User *const *users, size_t n_users);
int statefile_write(const char *path, const status_info *info, User *const *users, size_t n_users);
int statefile_write_metrics(const char *path, const status_info *info, User *const *users, size_t n_users);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* /run/memgov/status.json, read by `memgovctl status`, and the Prometheus
 * textfile named by MetricsFile=. Both are written atomically (temp file and
 * rename) and only when something changed, never on idle ticks. */

#include "daemon.h"

#define STATEFILE_NAME "status.json"

int statefile_write(Daemon *d, const char *path);
int statefile_write_metrics(Daemon *d);

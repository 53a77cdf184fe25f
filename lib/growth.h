/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Footprints of a slice's tasks observed over time, so that Policy=growth
 * can rank by what grew: the footprint now minus the footprint at the
 * earliest observation still within GROWTH_WINDOW_USEC. A task that
 * observation did not see (it started later) grew from 0. Tasks are
 * identified by pid and start time, so a recycled pid is a new task. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define GROWTH_MAX_OBSERVATIONS 16
/* Long enough to reach back to before a build started growing, short
 * enough that a job which grew an hour ago and stayed is not a "grower". */
#define GROWTH_WINDOW_USEC (5 * 60 * USEC_PER_SEC)

typedef struct growth_entry {
        pid_t pid;
        uint64_t start_time;
        uint64_t footprint;            /* bytes */
} growth_entry;

typedef struct growth_observation {
        usec_t at;
        growth_entry *entries;         /* sorted by pid */
        size_t n;
} growth_observation;

typedef struct growth_history {
        growth_observation obs[GROWTH_MAX_OBSERVATIONS];   /* oldest first */
        size_t n;
} growth_history;

/* Adds an observation taken at NOW, taking ownership of ENTRIES (from
 * malloc; may be NULL when N is 0). Observations older than the window are
 * dropped; when the history is full the second oldest goes, so the
 * baseline stays as early as possible. */
int growth_record(growth_history *h, growth_entry *entries, size_t n, usec_t now);

/* The task's footprint at the earliest observation within the window of
 * NOW. false when there is none, or it did not see this task. */
bool growth_baseline(const growth_history *h, pid_t pid, uint64_t start_time, usec_t now, uint64_t *ret);

/* When the baseline observation was taken, 0 = none. */
usec_t growth_baseline_at(const growth_history *h, usec_t now);

void growth_history_done(growth_history *h);

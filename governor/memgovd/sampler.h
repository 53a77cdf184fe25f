/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Reading a slice and asking the policy what to do. A cheap read (memory
 * files only) decides on a copy of the state; only when that says warn or
 * kill is the full task list read and the decision made for real. One timer
 * serves every user: when it fires, every user due within its slack is
 * sampled in the same wake-up. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct Daemon Daemon;
typedef struct User User;

/* Why a slice is evaluated (for the debug log). */
typedef enum sample_cause {
        SAMPLE_TIMER,
        SAMPLE_PSI,
        SAMPLE_EVENTS,
        SAMPLE_START,
        SAMPLE_AFTER_KILL,
} sample_cause;

int sampler_evaluate(User *u, sample_cause cause);
int sampler_on_timer(sd_event_source *s, uint64_t usec, void *userdata);
/* Re-arms d->timer for the earliest due user. */
int sampler_arm(Daemon *d);

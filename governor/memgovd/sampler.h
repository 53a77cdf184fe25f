/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The one evaluation path: sample a slice, let the policy decide (lib,
 * pure), act, report. A cheap read (memory files only) decides on a copy of
 * the state; only when that says warn or kill is the full task list read and
 * the decision made for real. Every event source ends here: the daemon's
 * timer, the watches (through sampler_on_watch), a new slice. */

#include <stdbool.h>

#include "user.h"

/* Why a slice is evaluated (for the debug log). */
typedef enum sample_cause {
        SAMPLE_TIMER,
        SAMPLE_PSI,
        SAMPLE_EVENTS,
        SAMPLE_START,
        SAMPLE_AFTER_KILL,
} sample_cause;

int sampler_evaluate(User *u, sample_cause cause);
/* The grid's look at a slice with nothing going on: memory.current alone
 * (one pread). True when that was enough and the next look is scheduled;
 * false when the slice needs sampler_evaluate(): it is near a warning
 * level, could reach one before the next tick at the growth seen since the
 * last read, or has anything under way. */
bool sampler_idle_look(User *u);
/* The context's on_watch: a watch's event, evaluated. */
void sampler_on_watch(User *u, watch_event ev);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* When to look at a slice next, so that the cost of idle slices does not
 * grow with their number. Every slice is looked at on one common grid on
 * CLOCK_MONOTONIC (multiples of a few fixed steps, each a multiple of the
 * next finer one), so all slices with the same step fall due in the same
 * wake-up, whatever scattered their earlier looks (logins, PSI events).
 * Between the grid ticks, PSI triggers and memory.events wake the daemon
 * for everything urgent. */

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* The grid steps, coarsest first. Each divides the ones before it. */
#define PACE_STEP_COARSE (30 * USEC_PER_SEC)
#define PACE_STEP_IDLE (15 * USEC_PER_SEC)
#define PACE_STEP_NEAR (5 * USEC_PER_SEC)
#define PACE_STEP_FINE (1 * USEC_PER_SEC)

/* The coarsest grid step no longer than INTERVAL; 0 when INTERVAL is below
 * the finest step (such a look is not put on the grid). */
usec_t pace_step(usec_t interval);

/* The first tick of the grid of STEP strictly after NOW. */
usec_t pace_next(usec_t now, usec_t step);

/* Whether usage could reach LEVEL by UNTIL: it is there already, or it
 * grows from CURRENT (read at NOW) at twice the rate it grew since PREV
 * (read at PREV_AT). Usage that did not grow cannot reach it this way:
 * a sudden jump is caught by the next read. */
bool pace_may_reach(uint64_t prev, usec_t prev_at, uint64_t current, usec_t now, uint64_t level, usec_t until);

/* The coarsest grid step no longer than INTERVAL at whose next tick usage,
 * growing as pace_may_reach() assumes, is still below LEVEL; the finest
 * step when there is none, 0 when INTERVAL is below it. LEVEL = BYTES_INFINITY: no level to reach. */
usec_t pace_step_for_growth(usec_t interval, uint64_t prev, usec_t prev_at, uint64_t current, usec_t now,
                            uint64_t level);

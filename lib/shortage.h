/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Machine-wide shortage: the machine as a whole runs out while no user is
 * over budget (the budgets add up to more than RAM, as they do on every
 * login node). Pure: the machine's state, per-user summaries, the
 * [Governor] configuration, the previous state and now -> whom to act on.
 *
 * Short: MemAvailable at or under ShortageMemoryFloor=, free swap at or
 * under ShortageSwapFloor= (or no swap), and memory stalls in
 * /proc/pressure/memory (a trigger event in the last two windows, or some
 * avg10 over ShortagePressure=), all of it for ShortageDuration=. A brief
 * dip resets the clock.
 *
 * Whom: only when no user is over their own budget (those the per-user
 * policy handles) and users hold at least half of the memory in use, the
 * user furthest above their fair share. The pool is what users may hold
 * while the machine keeps its floor: what they hold plus MemAvailable
 * minus ShortageMemoryFloor=. It is shared max-min fair ("water-filling"):
 * a user who holds less than an equal (FairShare=equal, by weight) or
 * budget-proportional (FairShare=budget) part keeps it, and what they
 * leave is shared among the others. Only users are ever chosen: system
 * services stay with the kernel and systemd-oomd. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "psi.h"

#define SHORTAGE_REASON_MAX 384

typedef struct shortage_machine {
        uint64_t mem_total, mem_available, swap_total, swap_free;   /* /proc/meminfo, bytes */
        psi_stats pressure;            /* /proc/pressure/memory */
        bool psi_trigger;              /* a trigger watches it: its events tell stalls */
        usec_t psi_event_at;           /* last trigger event, 0 = never */
} shortage_machine;

typedef struct shortage_user {
        uid_t uid;
        const char *name;              /* for the reason text, may be NULL */
        uint64_t unreclaimable;        /* memstat_usage.unreclaimable of the slice */
        uint64_t budget;               /* policy_budget(), BYTES_INFINITY = none */
        bool over_budget;              /* policy_usage_over_budget(): the per-user policy acts */
        unsigned weight;               /* FairShare=equal: relative share, 0 counts as 1 */
} shortage_user;

typedef struct shortage_state {
        usec_t short_since;            /* 0 = not short */
} shortage_state;

typedef struct shortage_decision {
        bool is_short;                 /* short right now (the clock runs) */
        bool sustained;                /* short for ShortageDuration= */
        bool act;                      /* act on .user */
        size_t user;                   /* index into the users */
        uint64_t fair_share;           /* of that user */
        uint64_t excess;               /* unreclaimable above it */
        size_t n_active;               /* users sharing the pool above their usage */
        char reason_text[SHORTAGE_REASON_MAX];
} shortage_decision;

/* The machine-wide memory pressure condition alone. */
bool shortage_is_short(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now);

/* Max-min fair shares of POOL bytes among N users (FairShare= rule),
 * written to ret_shares[N]. */
void shortage_fair_shares(const shortage_user *users, size_t n, uint64_t pool, fair_share_kind kind,
                          uint64_t *ret_shares);

void shortage_decide(const shortage_machine *m, const shortage_user *users, size_t n_users,
                     const governor_config *gc, usec_t window, shortage_state *state, usec_t now,
                     shortage_decision *ret);

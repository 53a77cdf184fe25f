/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Machine-wide shortage: the machine as a whole runs out while no user is
 * over budget (the budgets add up to more than RAM, as they do on every
 * login node). Pure: the machine's state, per-user summaries, the
 * [Governor] configuration, the previous state and now -> whom to act on.
 *
 * Memory low: MemAvailable at or under ShortageMemoryFloor=, and either no
 * swap free at all or memory stalls in /proc/pressure/memory (a trigger
 * event in the last two windows, or some avg10 over ShortagePressure=).
 * Short: memory low, and free swap at or under ShortageSwapFloor= (or no
 * swap). Acted on when short, with memory low for ShortageDuration=; a
 * brief dip resets the clock, a swap still filling does not.
 *
 * Whom: only when no user is over their own budget (those the per-user
 * policy handles) and users hold at least half of the memory in use, the
 * user furthest above their fair share. The pool is what users may hold
 * while the machine keeps its floor: what they hold plus MemAvailable
 * minus ShortageMemoryFloor=. It is shared max-min fair ("water-filling"):
 * a user who holds less than an equal (FairShare=equal, by weight) or
 * budget-proportional (FairShare=budget) part keeps it, and what they
 * leave is shared among the others. Only users are ever chosen: system
 * services stay with the kernel and systemd-oomd.
 *
 * Growth first: with ShortageGrowthWindow= set, a user whose unreclaimable
 * usage grew by a good part of the pool within that window (see
 * shortage_growth_min()) is chosen before anyone's excess counts, the
 * largest grower first, whatever their share: the memory that ran out is
 * the memory that was just taken, and the users who fitted before keep
 * theirs. Without such growth (a shortage that crept up, or the grower is
 * gone), the user furthest above their fair share. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "psi.h"

#define SHORTAGE_REASON_MAX 384
/* Usage samples kept per user for growth; when full, the second oldest
 * goes, so that the baseline stays as early as the window allows. */
#define SHORTAGE_HISTORY_MAX 16
/* Growth that counts is at least this, and at least 1/32 of the pool:
 * a latency probe or a shell's wobble never does. */
#define SHORTAGE_GROWTH_MIN_BYTES (64ULL << 20)
/* With no swap free, nothing stalls or wakes memgovd before the floor is
 * reached: near it, looks come as often as a job filling memory this fast
 * would need, within these bounds. */
#define SHORTAGE_FILL_RATE (1ULL << 30)             /* bytes a second */
#define SHORTAGE_LOOK_MIN_USEC (200 * USEC_PER_MSEC)
#define SHORTAGE_LOOK_MAX_USEC USEC_PER_SEC

/* One user's usage over time, kept by the caller between decisions. */
typedef struct shortage_history {
        usec_t at[SHORTAGE_HISTORY_MAX];
        uint64_t held[SHORTAGE_HISTORY_MAX];
        size_t n;
} shortage_history;

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
        uint64_t growth;               /* of unreclaimable, within ShortageGrowthWindow= (shortage_history_growth) */
} shortage_user;

typedef struct shortage_state {
        usec_t short_since;            /* memory low since, 0 = not low */
} shortage_state;

typedef struct shortage_decision {
        bool is_short;                 /* short right now */
        bool sustained;                /* short, with memory low for ShortageDuration= */
        bool act;                      /* act on .user */
        size_t user;                   /* index into the users */
        uint64_t fair_share;           /* of that user */
        uint64_t excess;               /* unreclaimable above it */
        size_t n_active;               /* users sharing the pool above their usage */
        bool by_growth;                /* chosen for growth, not for excess */
        uint64_t need;                 /* what users hold above the pool (at most .user's): what must go */
        char reason_text[SHORTAGE_REASON_MAX];
} shortage_decision;

/* MemAvailable at its floor, and stalls or no swap free: the clock runs. */
bool shortage_memory_low(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now);
/* Memory low and the swap at its floor: the machine-wide condition alone. */
bool shortage_is_short(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now);

/* What made the machine count as short, for the reason text: "no swap
 * free", "memory stalls" or both. */
const char *shortage_evidence(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now);
/* How long until the machine should be looked at again without an event:
 * USEC_INFINITY unless no swap is free and MemAvailable is within twice
 * ShortageMemoryFloor=, then the time a job would take to fill what is left
 * above the floor at SHORTAGE_FILL_RATE, within SHORTAGE_LOOK_*_USEC. */
usec_t shortage_next_look(const shortage_machine *m, const governor_config *gc);

/* Max-min fair shares of POOL bytes among N users (FairShare= rule),
 * written to ret_shares[N]. */
void shortage_fair_shares(const shortage_user *users, size_t n, uint64_t pool, fair_share_kind kind,
                          uint64_t *ret_shares);

/* Records HELD at NOW, dropping samples older than WINDOW; samples closer
 * than WINDOW/SHORTAGE_HISTORY_MAX to the newest entry fold into it. */
void shortage_history_record(shortage_history *h, uint64_t held, usec_t window, usec_t now);
/* HELD minus the least held within WINDOW of NOW; 0 without history. */
uint64_t shortage_history_growth(const shortage_history *h, uint64_t held, usec_t window, usec_t now);
/* Growth under this does not count for POOL bytes. */
uint64_t shortage_growth_min(uint64_t pool);

void shortage_decide(const shortage_machine *m, const shortage_user *users, size_t n_users,
                     const governor_config *gc, usec_t window, shortage_state *state, usec_t now,
                     shortage_decision *ret);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shortage.h"

static bool string_has_cc(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static uint64_t sub_floor0(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

static uint64_t share_of(uint64_t total, unsigned permyriad) {
        return total / 10000 * permyriad + total % 10000 * permyriad / 10000;
}

static bool stalled(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now) {
        /* As for a slice: the kernel sends at most one event per window. */
        if (m->psi_trigger)
                return m->psi_event_at > 0 && now >= m->psi_event_at && now - m->psi_event_at <= 2 * window;
        return gc->shortage_pressure > 0 && m->pressure.some.avg10 * 100.0 >= (double) gc->shortage_pressure;
}

/* Nowhere for anonymous memory to go: no swap, or under 1% of it free. */
static bool swap_exhausted(const shortage_machine *m) {
        return m->swap_free <= m->swap_total / 100;
}

static uint64_t memory_floor(const shortage_machine *m, const governor_config *gc) {
        return share_of(m->mem_total, gc->shortage_memory_floor);
}

bool shortage_memory_low(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now) {
        assert(m);
        assert(gc);

        if (gc->shortage_memory_floor == 0 || m->mem_total == 0)
                return false;
        if (m->mem_available > memory_floor(m, gc))
                return false;
        /* With no swap to go to, reclaim has only the file cache, and it
         * stalls only once that is nearly gone: in the VM no stall showed
         * until MemAvailable was 2.4% of RAM, 1.7 s after it passed 5%, and
         * the OOM killer followed within seconds. So the floor alone counts. */
        if (swap_exhausted(m))
                return true;
        return stalled(m, gc, window, now);
}

/* Above it, the kernel can still make room in swap, as slowly as it may. */
static bool swap_at_floor(const shortage_machine *m, const governor_config *gc) {
        return m->swap_total == 0 || m->swap_free <= share_of(m->swap_total, gc->shortage_swap_floor);
}

bool shortage_is_short(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now) {
        return shortage_memory_low(m, gc, window, now) && swap_at_floor(m, gc);
}

const char *shortage_evidence(const shortage_machine *m, const governor_config *gc, usec_t window, usec_t now) {
        bool stalls, no_swap;

        assert(m);
        assert(gc);

        stalls = stalled(m, gc, window, now);
        no_swap = swap_exhausted(m);
        if (stalls && no_swap)
                return "no swap free, memory stalls";
        return no_swap ? "no swap free" : "memory stalls";
}

usec_t shortage_next_look(const shortage_machine *m, const governor_config *gc) {
        uint64_t floor, above;
        usec_t after;

        assert(m);
        assert(gc);

        floor = memory_floor(m, gc);
        /* With swap free, the kernel's stalls tell a shortage and the
         * trigger wakes memgovd; far above the floor there is time for the
         * users' own looks to come first. */
        if (floor == 0 || !swap_exhausted(m) || m->mem_available / 2 > floor)
                return USEC_INFINITY;
        above = sub_floor0(m->mem_available, floor);
        after = above / (SHORTAGE_FILL_RATE / USEC_PER_SEC);
        if (after < SHORTAGE_LOOK_MIN_USEC)
                return SHORTAGE_LOOK_MIN_USEC;
        return after > SHORTAGE_LOOK_MAX_USEC ? SHORTAGE_LOOK_MAX_USEC : after;
}

static uint64_t weight_of(const shortage_user *u, fair_share_kind kind) {
        if (kind == FAIR_SHARE_BUDGET)
                /* In MiB, so that sums of budgets stay far from overflow; no
                 * budget is as much as anyone may hold: RAM in practice. */
                return u->budget == BYTES_INFINITY ? UINT64_MAX >> 24 : (u->budget >> 20) + 1;
        return u->weight > 0 ? u->weight : 1;
}

void shortage_fair_shares(const shortage_user *users, size_t n, uint64_t pool, fair_share_kind kind,
                          uint64_t *ret_shares) {
        _cleanup_free_ bool *settled = NULL;
        long double level;
        bool changed = true;

        assert(users || n == 0);
        assert(ret_shares || n == 0);

        if (n == 0)
                return;
        settled = calloc(n, sizeof *settled);
        /* Water-filling: users under their part keep what they hold, and the
         * rest of the pool is shared among the others, until nobody else
         * fits under the level. At most n rounds. */
        while (changed) {
                long double weights = 0, left = (long double) pool;

                changed = false;
                for (size_t i = 0; i < n; i++) {
                        if (settled && settled[i])
                                left -= (long double) users[i].unreclaimable;
                        else
                                weights += (long double) weight_of(&users[i], kind);
                }
                if (weights == 0)
                        break;
                level = left > 0 ? left / weights : 0;
                for (size_t i = 0; i < n; i++) {
                        if (settled && settled[i])
                                continue;
                        ret_shares[i] = (uint64_t) (level * (long double) weight_of(&users[i], kind));
                        if (settled && users[i].unreclaimable <= ret_shares[i]) {
                                settled[i] = true;
                                changed = true;
                        }
                }
        }
        for (size_t i = 0; i < n; i++)
                if (settled && settled[i])
                        ret_shares[i] = users[i].unreclaimable;
}

static bool in_window(usec_t at, usec_t window, usec_t now) {
        return at <= now && now - at <= window;
}

void shortage_history_record(shortage_history *h, uint64_t held, usec_t window, usec_t now) {
        size_t keep = 0;

        assert(h);

        for (size_t i = 0; i < h->n; i++)
                if (in_window(h->at[i], window, now)) {
                        h->at[keep] = h->at[i];
                        h->held[keep] = h->held[i];
                        keep++;
                }
        h->n = keep;
        /* Samples come as often as every second while a slice nears its
         * budget: one entry per window/SHORTAGE_HISTORY_MAX keeps the whole
         * window. The entry keeps its first time and the least held since,
         * so growth is never taken from further back than the window. */
        if (h->n > 0 && now - h->at[h->n - 1] < window / SHORTAGE_HISTORY_MAX) {
                if (held < h->held[h->n - 1])
                        h->held[h->n - 1] = held;
                return;
        }
        if (h->n == SHORTAGE_HISTORY_MAX) {
                memmove(&h->at[1], &h->at[2], (SHORTAGE_HISTORY_MAX - 2) * sizeof h->at[0]);
                memmove(&h->held[1], &h->held[2], (SHORTAGE_HISTORY_MAX - 2) * sizeof h->held[0]);
                h->n--;
        }
        h->at[h->n] = now;
        h->held[h->n] = held;
        h->n++;
}

uint64_t shortage_history_growth(const shortage_history *h, uint64_t held, usec_t window, usec_t now) {
        uint64_t low = held;

        assert(h);

        /* From the least held, not the oldest sample: a job that dipped and
         * came back grew by all of it. */
        for (size_t i = 0; i < h->n; i++)
                if (in_window(h->at[i], window, now) && h->held[i] < low)
                        low = h->held[i];
        return held - low;
}

uint64_t shortage_growth_min(uint64_t pool) {
        return pool / 32 > SHORTAGE_GROWTH_MIN_BYTES ? pool / 32 : SHORTAGE_GROWTH_MIN_BYTES;
}

static void format_who(const shortage_user *u, char *buf, size_t size) {
        /* The name comes from the password database, but keep it short and printable anyway. */
        if (u->name && strlen(u->name) < 32 && !string_has_cc(u->name))
                snprintf(buf, size, "%s (uid %u)", u->name, (unsigned) u->uid);
        else
                snprintf(buf, size, "uid %u", (unsigned) u->uid);
}

void shortage_decide(const shortage_machine *m, const shortage_user *users, size_t n_users,
                     const governor_config *gc, usec_t window, shortage_state *state, usec_t now,
                     shortage_decision *ret) {
        _cleanup_free_ uint64_t *shares = NULL;
        char avail[FORMAT_BYTES_MAX], swap[FORMAT_BYTES_MAX], held[FORMAT_BYTES_MAX], fair[FORMAT_BYTES_MAX],
             excess[FORMAT_BYTES_MAX], since[32], who[64];
        const char *evidence;
        uint64_t pool, held_by_users;
        size_t best = SIZE_MAX, grower = SIZE_MAX;

        assert(m);
        assert(users || n_users == 0);
        assert(gc);
        assert(state);
        assert(ret);

        *ret = (shortage_decision) { .user = SIZE_MAX };
        /* The clock runs while memory is low, swap or no swap: by the time
         * the swap is down to its floor, the machine has swapped and
         * stalled for as long as it took, which is no brief dip. */
        if (!shortage_memory_low(m, gc, window, now)) {
                state->short_since = 0;
                return;
        }
        if (state->short_since == 0)
                state->short_since = now;
        ret->is_short = swap_at_floor(m, gc);
        if (!ret->is_short)
                return;
        ret->sustained = now - state->short_since >= gc->shortage_duration;
        if (!ret->sustained)
                return;

        snprintf(since, sizeof since, "%" PRIu64 ".%us", (now - state->short_since) / USEC_PER_SEC,
                 (unsigned) ((now - state->short_since) % USEC_PER_SEC / (USEC_PER_SEC / 10)));
        format_bytes(avail, sizeof avail, m->mem_available);
        format_bytes(swap, sizeof swap, m->swap_free);
        evidence = shortage_evidence(m, gc, window, now);

        for (size_t i = 0; i < n_users; i++)
                if (users[i].over_budget) {
                        snprintf(ret->reason_text, sizeof ret->reason_text,
                                 "machine short for %s (MemAvailable %s, free swap %s), but uid %u is over "
                                 "its own budget: its policy acts", since, avail, swap, (unsigned) users[i].uid);
                        return;
                }

        /* Mostly held outside user slices: the kernel's and systemd-oomd's to handle. */
        held_by_users = 0;
        for (size_t i = 0; i < n_users; i++)
                held_by_users += users[i].unreclaimable;
        if (held_by_users < sub_floor0(m->mem_total, m->mem_available) / 2) {
                snprintf(ret->reason_text, sizeof ret->reason_text,
                         "machine short for %s (MemAvailable %s, free swap %s), but users hold %s, under half "
                         "of the memory in use: the memory is held outside user slices", since, avail, swap,
                         format_bytes(held, sizeof held, held_by_users));
                return;
        }
        /* The pool: what users may hold while the machine keeps its floor,
         * which is less than they hold now. Shared max-min fair, a user
         * furthest above their part is where the memory went. */
        pool = sub_floor0(held_by_users + m->mem_available, share_of(m->mem_total, gc->shortage_memory_floor));
        shares = calloc(n_users ? n_users : 1, sizeof *shares);
        if (!shares)
                return;   /* nothing chosen; the next call tries again */
        shortage_fair_shares(users, n_users, pool, gc->fair_share, shares);
        for (size_t i = 0; i < n_users; i++) {
                if (users[i].unreclaimable <= shares[i])
                        continue;
                ret->n_active++;
                if (best == SIZE_MAX ||
                    users[i].unreclaimable - shares[i] > users[best].unreclaimable - shares[best] ||
                    (users[i].unreclaimable - shares[i] == users[best].unreclaimable - shares[best] &&
                     users[i].unreclaimable > users[best].unreclaimable))
                        best = i;
        }
        /* The memory that ran out is what was just taken: the largest
         * grower goes before anyone who was fine before it started. */
        if (gc->shortage_growth_window > 0)
                for (size_t i = 0; i < n_users; i++) {
                        if (users[i].growth < shortage_growth_min(pool))
                                continue;
                        if (grower == SIZE_MAX || users[i].growth > users[grower].growth)
                                grower = i;
                }
        if (best == SIZE_MAX && grower == SIZE_MAX) {
                snprintf(ret->reason_text, sizeof ret->reason_text,
                         "machine short for %s (MemAvailable %s, free swap %s), but no user holds more than "
                         "their fair share", since, avail, swap);
                return;
        }
        if (grower != SIZE_MAX) {
                best = grower;
                ret->by_growth = true;
        }

        ret->act = true;
        ret->user = best;
        ret->fair_share = shares[best];
        ret->excess = sub_floor0(users[best].unreclaimable, shares[best]);
        ret->need = sub_floor0(held_by_users, pool);
        if (ret->need > users[best].unreclaimable)
                ret->need = users[best].unreclaimable;
        format_who(&users[best], who, sizeof who);
        if (ret->by_growth) {
                char grew[FORMAT_BYTES_MAX], growth_window[FORMAT_USEC_MAX];

                snprintf(ret->reason_text, sizeof ret->reason_text,
                         "machine short for %s (MemAvailable %s, free swap %s, %s): %s grew by %s "
                         "within ShortageGrowthWindow=%s to %s unreclaimable, the most of any user (fair share "
                         "%s, FairShare=%s)",
                         since, avail, swap, evidence, who, format_bytes(grew, sizeof grew, users[best].growth),
                         format_usec(growth_window, sizeof growth_window, gc->shortage_growth_window),
                         format_bytes(held, sizeof held, users[best].unreclaimable),
                         format_bytes(fair, sizeof fair, ret->fair_share), fair_share_kind_to_string(gc->fair_share));
                return;
        }
        snprintf(ret->reason_text, sizeof ret->reason_text,
                 "machine short for %s (MemAvailable %s, free swap %s, %s): %s holds %s unreclaimable, "
                 "%s above a fair share of %s (FairShare=%s, %zu of %zu users above theirs), the most of any user",
                 since, avail, swap, evidence, who, format_bytes(held, sizeof held, users[best].unreclaimable),
                 format_bytes(excess, sizeof excess, ret->excess),
                 format_bytes(fair, sizeof fair, ret->fair_share), fair_share_kind_to_string(gc->fair_share),
                 ret->n_active, n_users);
}

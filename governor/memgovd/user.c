/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "user.h"

int user_resolve_config(User *u, const config_set *c) {
        _cleanup_free_ char *pwbuf = NULL, *grbuf = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        struct passwd pw, *pwr = NULL;
        user_config resolved, copy;
        size_t pwsize = 16384, grsize = 16384;
        int n_gids = 64, r;

        pwbuf = malloc(pwsize);
        grbuf = malloc(grsize);
        gids = malloc(sizeof(gid_t) * (size_t) n_gids);
        if (!pwbuf || !grbuf || !gids)
                return -ENOMEM;

        r = getpwuid_r(u->uid, &pw, pwbuf, pwsize, &pwr);
        if (r == 0 && pwr) {
                snprintf(u->name, sizeof u->name, "%s", pw.pw_name);
                if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &n_gids) < 0) {
                        gid_t *bigger = realloc(gids, sizeof(gid_t) * (size_t) n_gids);
                        if (!bigger)
                                return -ENOMEM;
                        gids = bigger;
                        if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &n_gids) < 0)
                                n_gids = 0;
                }
                for (int i = 0; i < n_gids; i++) {
                        struct group gr, *grr = NULL;

                        if (getgrgid_r(gids[i], &gr, grbuf, grsize, &grr) != 0 || !grr)
                                continue;
                        r = strv_extend(&groups, gr.gr_name);
                        if (r < 0)
                                return r;
                }
        } else {
                /* No passwd entry: users.d/UID.conf can still match. */
                snprintf(u->name, sizeof u->name, "%u", (unsigned) u->uid);
                log_warning("uid %u has no passwd entry (%s); using defaults and users.d/%u.conf",
                            (unsigned) u->uid, r > 0 ? strerror(r) : "not found", (unsigned) u->uid);
        }

        config_resolve_user(c, u->uid, u->name, groups, &resolved);
        r = user_config_copy(&resolved, &copy);
        if (r < 0)
                return r;
        user_config_done(&u->config);
        u->config = copy;
        /* limits_update() overwrites the limit fields with what is in force. */
        u->effective = u->config;
        if (u->limits.known) {
                u->effective.memory_high = u->limits.high;
                u->effective.memory_max = u->limits.max;
                u->effective.memory_swap_max = u->limits.swap;
        }
        return 0;
}

usec_t user_next_due(const User *u, bool eval_only, usec_t *ret_slack) {
        usec_t due = USEC_INFINITY, deadline = USEC_INFINITY;
        const user_config *uc = &u->effective;

        /* due: the earliest item; deadline: the earliest by which some item
         * must have run, given how late each may be. */
#define CONSIDER(t, s)                                  \
        do {                                            \
                usec_t _t = (t);                        \
                if (_t != 0 && _t != USEC_INFINITY) {   \
                        if (_t < due)                   \
                                due = _t;               \
                        if (_t + (s) < deadline)        \
                                deadline = _t + (s);    \
                }                                       \
        } while (0)

        if (u->has_slice && u->watch.active) {
                usec_t interval = u->next_sample > u->last_eval ? u->next_sample - u->last_eval : 0;

                /* Samples sit on a common grid (pace.h), which coalesces them;
                 * the slack only lets the kernel merge the tick with other
                 * timers, and bounds how late a warning can come. */
                CONSIDER(u->next_sample, interval / 4 > USEC_PER_SEC ? USEC_PER_SEC : interval / 4 + 1);
                if (u->recheck_until > u->last_eval)
                        CONSIDER(u->last_eval + WATCH_PSI_RECHECK_USEC, 20 * USEC_PER_MSEC);
                /* The policy's clocks: decide the moment a duration runs out. */
                if (u->state.pressure_since && uc->pressure_duration != USEC_INFINITY &&
                    u->state.pressure_since + uc->pressure_duration > u->last_eval)
                        CONSIDER(u->state.pressure_since + uc->pressure_duration + 1, 20 * USEC_PER_MSEC);
                if (u->state.throttled_since && uc->throttle_deadline != USEC_INFINITY &&
                    u->state.throttled_since + uc->throttle_deadline > u->last_eval)
                        CONSIDER(u->state.throttled_since + uc->throttle_deadline + 1, 20 * USEC_PER_MSEC);
                if (u->state.last_kill && (u->state.pressure_since || u->state.throttled_since) &&
                    u->state.last_kill + uc->cooldown > u->last_eval)
                        CONSIDER(u->state.last_kill + uc->cooldown + 1, 20 * USEC_PER_MSEC);
                CONSIDER(u->retry_at, 50 * USEC_PER_MSEC);
                if (!eval_only)
                        CONSIDER(u->watch.unmute_at, 20 * USEC_PER_MSEC);
        }
        if (!eval_only) {
                CONSIDER(u->slice_retry_at, 50 * USEC_PER_MSEC);
                CONSIDER(u->oom.next_try, 20 * USEC_PER_MSEC);
        }
#undef CONSIDER

        if (ret_slack)
                *ret_slack = due == USEC_INFINITY ? 0 : deadline - due;
        return due;
}

usec_t user_next_wakeup(User *const *users, size_t n, usec_t *ret_deadline) {
        usec_t earliest = USEC_INFINITY, deadline = USEC_INFINITY;

        for (size_t i = 0; i < n; i++) {
                usec_t slack, due = user_next_due(users[i], false, &slack);

                if (due == USEC_INFINITY)
                        continue;
                if (due < earliest)
                        earliest = due;
                if (due + slack < deadline)
                        deadline = due + slack;
        }
        if (ret_deadline)
                *ret_deadline = deadline;
        return earliest;
}

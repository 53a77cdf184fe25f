/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "report.h"
#include "user.h"

/* The names of the user's groups, for groups.d. A group that cannot be
 * looked up is logged, not skipped in silence: its groups.d file then does
 * not apply, and the admin must be able to see why. */
static int user_groups(const nss_ops *nss, const struct passwd *pw, char ***ret) {
        _cleanup_strv_free_ char **groups = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        size_t n;
        int r;

        r = nss_getgrouplist(nss, pw->pw_name, pw->pw_gid, &gids, &n);
        if (r < 0) {
                char name[ESCAPE_BUFSIZE(64)];

                return log_warning_errno(r, "Cannot list the groups of %s (uid %u), groups.d does not apply: %m",
                                         escape_text(pw->pw_name, name, sizeof name), (unsigned) pw->pw_uid);
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *buf = NULL;
                struct group gr;

                r = nss_getgrgid(nss, gids[i], &gr, &buf);
                if (r == -ENOENT)       /* a gid without a name has no groups.d file */
                        continue;
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_warning_errno(r, "Cannot look up group %u of uid %u, its groups.d file does not apply: %m",
                                          (unsigned) gids[i], (unsigned) pw->pw_uid);
                        continue;
                }
                r = strv_extend(&groups, gr.gr_name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(groups);
        return 0;
}

int user_resolve_config(User *u, const config_set *c) {
        return user_resolve_config_nss(u, c, &nss_libc);
}

/* Name, groups and subordinate uids: everything asked of NSS and /etc. */
static int user_lookup(User *u, const nss_ops *nss, usec_t now) {
        _cleanup_free_ char *pwbuf = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        struct passwd pw;
        int r;

        r = nss_getpwuid(nss, u->uid, &pw, &pwbuf);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                snprintf(u->name, sizeof u->name, "%s", pw.pw_name);
                r = user_groups(nss, &pw, &groups);
                if (r == -ENOMEM)
                        return r;
        } else {
                /* No passwd entry: users.d/UID.conf can still match. */
                snprintf(u->name, sizeof u->name, "%u", (unsigned) u->uid);
                log_warning_errno(r, "uid %u has no passwd entry (%s); using defaults and users.d/%u.conf",
                                  (unsigned) u->uid, r == -ENOENT ? "not found" : strerror(-r), (unsigned) u->uid);
        }

        /* The user's rootless containers run as their subordinate uids:
         * those processes are the user's, not another user's. */
        {
                subuid_range *ranges = NULL;
                size_t n = 0;

                r = subuid_read(AT_FDCWD, "/etc/subuid", u->name, u->uid, &ranges, &n);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        log_warning_errno(r, "Cannot read /etc/subuid (%m): processes of %s's subordinate uids "
                                          "count as another user's", u->name);
                else {
                        free(u->subuids);
                        u->subuids = ranges;
                        u->n_subuids = n;
                }
        }

        strv_free(u->nss_groups);
        u->nss_groups = TAKE_PTR(groups);
        u->nss_at = now;
        return 0;
}

/* The user's layered config from C, with the groups of the last look-up. */
static int user_apply_config(User *u, const config_set *c) {
        const char *sources[_UC_COUNT];
        user_config resolved, copy;
        int r;

        config_resolve_user_sources(c, u->uid, u->name, u->nss_groups, &resolved, sources);
        if (config_limits_conflict(&resolved)) {
                char h[FORMAT_BYTES_MAX], m[FORMAT_BYTES_MAX];

                log_error("MemoryHigh=%s (%s) is above MemoryMax=%s (%s) for %s (uid %u): using MemoryHigh=%s",
                          format_bytes(h, sizeof h, resolved.memory_high),
                          sources[0] ?: "built-in default", format_bytes(m, sizeof m, resolved.memory_max),
                          sources[1] ?: "built-in default", u->name, (unsigned) u->uid, m);
                resolved.memory_high = resolved.memory_max;
        }
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

int user_resolve_config_nss(User *u, const config_set *c, const nss_ops *nss) {
        int r = user_lookup(u, nss, now_usec(CLOCK_MONOTONIC));

        if (r < 0)
                return r;
        return user_apply_config(u, c);
}

int user_refresh_config(User *u, const config_set *c, const nss_ops *nss, usec_t now) {
        /* A reload re-layers every user's files; asking NSS for each of them
         * again would hold the loop for users x a slow directory server. */
        if (u->nss_at != 0 && now >= u->nss_at && now - u->nss_at < USER_NSS_MAX_AGE_USEC)
                return user_apply_config(u, c);
        return user_resolve_config_nss(u, c, nss);
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

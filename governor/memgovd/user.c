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

/* The user's rootless containers run as their subordinate uids: those
 * processes are the user's, not another user's. /etc/subuid is a local
 * file: read in the loop, by name once the name is known, by uid before. */
static int user_read_subuids(User *u) {
        subuid_range *ranges = NULL;
        size_t n = 0;
        int r;

        r = subuid_read(AT_FDCWD, "/etc/subuid", u->nss_named ? u->name : NULL, u->uid, &ranges, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Cannot read /etc/subuid (%m): processes of %s's subordinate uids "
                                  "count as another user's", u->name);
                return 0;
        }
        free(u->subuids);
        u->subuids = ranges;
        u->n_subuids = n;
        return 0;
}

int user_layer_config(User *u, const config_set *c) {
        const char *sources[_UC_COUNT];
        user_config resolved, copy;
        int r;

        assert(u);
        assert(c);

        if (!u->nss_named)
                /* Until passwd answers, the uid stands for the name in logs. */
                snprintf(u->name, sizeof u->name, "%u", (unsigned) u->uid);
        config_resolve_user_sources(c, u->uid, u->nss_named ? u->name : NULL, u->nss_groups, &resolved, sources);
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

int user_first_config(User *u, const config_set *c) {
        int r = user_layer_config(u, c);

        if (r < 0)
                return r;
        return user_read_subuids(u);
}

/* What the user is governed with while their look-up is missing or failed. */
#define GOVERNED_WITH_MAX (ESCAPE_BUFSIZE(64) + 160)
static const char *governed_with(const User *u, usec_t now, char *buf, size_t size) {
        char age[FORMAT_USEC_MAX], name[ESCAPE_BUFSIZE(64)];

        if (u->nss_at != 0)
                snprintf(buf, size, "governing with the look-up of %s ago", format_usec(age, sizeof age, now - u->nss_at));
        else if (u->nss_named)
                snprintf(buf, size, "governing without groups.d (users.d/%s.conf, users.d/%u.conf and the defaults)",
                         escape_text(u->name, name, sizeof name), (unsigned) u->uid);
        else
                snprintf(buf, size, "governing without groups.d (users.d/%u.conf and the defaults)", (unsigned) u->uid);
        return buf;
}

/* Logs what failed in A. The names in it come from a directory an admin
 * controls, yet are escaped like any other name. */
static void log_failed_answer(const User *u, const resolver_answer *a, usec_t now, bool keep) {
        char name[ESCAPE_BUFSIZE(64)], with[GOVERNED_WITH_MAX], retry[FORMAT_USEC_MAX];

        (void) governed_with(u, now, with, sizeof with);
        (void) format_usec(retry, sizeof retry, USER_NSS_RETRY_USEC);
        if (a->passwd_error == -ENOENT && !keep)
                log_warning("uid %u has no passwd entry (not found); using defaults and users.d/%u.conf",
                            (unsigned) a->uid, (unsigned) a->uid);
        else if (a->passwd_error == -ENOENT)
                log_warning("uid %u has no passwd entry any more; %s, asking again in %s", (unsigned) a->uid, with,
                            retry);
        else if (a->passwd_error < 0)
                log_warning_errno(a->passwd_error, "Cannot look up uid %u (%m); %s, asking again in %s",
                                  (unsigned) a->uid, with, retry);
        else if (a->groups_error < 0)
                log_warning_errno(a->groups_error, "Cannot list the groups of %s (uid %u) (%m); %s, asking again in %s",
                                  escape_text(a->name, name, sizeof name), (unsigned) a->uid, with, retry);
        else if (a->n_failed_groups > 0)
                log_warning_errno(a->failed_error,
                                  "Cannot look up group %u of %s (uid %u) (%m)%s; %s, asking again in %s",
                                  (unsigned) a->failed_gid, escape_text(a->name, name, sizeof name), (unsigned) a->uid,
                                  a->n_failed_groups > 1 ? " and other groups" : "",
                                  keep ? with : "its groups.d file does not apply", retry);
}

int user_take_answer(User *u, const config_set *c, resolver_answer *a, usec_t now) {
        bool complete = resolver_answer_complete(a), had_good = u->nss_at != 0, keep;
        int r;

        assert(u);
        assert(c);
        assert(a);
        assert(a->uid == u->uid);

        u->nss_pending = false;
        u->nss_retry_at = 0;
        if (u->nss_slow_logged) {
                char took[FORMAT_USEC_MAX];

                log_info("NSS look-up for uid %u answered after %s", (unsigned) u->uid,
                         format_usec(took, sizeof took, now - u->nss_asked_at));
        }

        /* "No such user" is an answer; but a directory server that lost a
         * user who is logged in is more likely in trouble than right, so a
         * last good look-up is kept. Anything less than complete keeps it
         * too, and is asked again later; without one, the partial answer is
         * better than nothing. */
        keep = !complete && had_good;
        if (!complete && (a->passwd_error != -ENOENT || had_good))
                u->nss_retry_at = now + USER_NSS_RETRY_USEC;
        if (!keep) {
                if (a->passwd_error == 0) {
                        snprintf(u->name, sizeof u->name, "%s", a->name);
                        u->nss_named = true;
                        if (a->groups_error == 0) {
                                strv_free(u->nss_groups);
                                u->nss_groups = TAKE_PTR(a->groups);
                        }
                } else if (a->passwd_error == -ENOENT) {
                        u->nss_named = false;
                        strv_free(u->nss_groups);
                        u->nss_groups = NULL;
                }
                /* Only a complete answer is a good look-up; a missing passwd
                 * entry is one too (there is nothing more to find). */
                if (complete || a->passwd_error == -ENOENT)
                        u->nss_at = now;
                r = user_read_subuids(u);
                if (r < 0)
                        return r;
        }
        /* After the take: the log says what the user is governed with now. */
        if (!complete)
                log_failed_answer(u, a, now, keep);
        r = user_layer_config(u, c);
        if (r < 0)
                return r;
        return !keep;
}

bool user_lookup_stale(const User *u, usec_t now) {
        return u->nss_at == 0 || now < u->nss_at || now - u->nss_at >= USER_NSS_MAX_AGE_USEC;
}

void user_check_slow_lookup(User *u, usec_t now) {
        char took[FORMAT_USEC_MAX], with[GOVERNED_WITH_MAX];

        if (!u->nss_pending || u->nss_slow_logged || now < u->nss_asked_at + USER_NSS_SLOW_USEC)
                return;
        u->nss_slow_logged = true;
        log_warning("NSS look-up for uid %u has taken %s; %s", (unsigned) u->uid,
                    format_usec(took, sizeof took, now - u->nss_asked_at), governed_with(u, now, with, sizeof with));
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
                if (u->nss_pending && !u->nss_slow_logged)
                        CONSIDER(u->nss_asked_at + USER_NSS_SLOW_USEC, USEC_PER_SEC);
                else if (!u->nss_pending)
                        CONSIDER(u->nss_retry_at, USEC_PER_SEC);
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "escape.h"
#include "report.h"
#include "sampler.h"
#include "slice-limits.h"
#include "users.h"
#include "watch.h"

User *users_find(const user_set *set, uid_t uid) {
        for (size_t i = 0; i < set->n; i++)
                if (set->items[i]->uid == uid)
                        return set->items[i];
        return NULL;
}

static void user_free(user_set *set, User *u) {
        context *ctx;

        if (!u)
                return;
        ctx = u->ctx;
        act_done(u);
        watch_stop(u);
        limits_done(u);
        user_config_done(&u->config);
        free(u->ranked);
        free(u->subuids);
        strv_free(u->nss_groups);
        growth_history_done(&u->history);

        for (size_t i = 0; i < set->n; i++)
                if (set->items[i] == u) {
                        memmove(set->items + i, set->items + i + 1, (set->n - i - 1) * sizeof(User *));
                        set->n--;
                        break;
                }
        free(u);
        ctx->status_dirty = true;
        ctx->timer_dirty = true;
}

static int user_new(context *ctx, user_set *set, const config_set *config, uid_t uid, User **ret) {
        User **array;
        User *u;
        int r;

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->ctx = ctx;
        u->uid = uid;
        snprintf(u->cgroup, sizeof u->cgroup, USER_SLICE_PARENT "/user-%u.slice", (unsigned) uid);
        snprintf(u->unit, sizeof u->unit, "user-%u.slice", (unsigned) uid);
        watch_init(&u->watch);
        act_init(u);

        array = realloc(set->items, (set->n + 1) * sizeof(User *));
        if (!array) {
                act_done(u);
                free(u);
                return -ENOMEM;
        }
        set->items = array;
        set->items[set->n++] = u;

        /* Governed at once with what applies without NSS; the name and
         * groups follow from the resolver (users_answer()). */
        r = user_first_config(u, config);
        if (r < 0) {
                log_error_errno(r, "Cannot resolve the configuration of uid %u: %m", (unsigned) uid);
                user_free(set, u);
                return r;
        }
        *ret = u;
        return 0;
}

/* Queues a look-up of the user's name and groups, unless one is under way. */
static void user_ask(context *ctx, User *u, usec_t now) {
        int r;

        if (u->nss_pending)
                return;
        r = resolver_request(ctx->resolver, u->uid);
        if (r < 0) {
                /* Full: ask again soon; the user keeps what they have. */
                log_debug_errno(r, "Cannot queue the NSS look-up of uid %u (%m): asking again shortly",
                                (unsigned) u->uid);
                u->nss_retry_at = now + (r == -EAGAIN ? USEC_PER_SEC : USER_NSS_RETRY_USEC);
        } else {
                u->nss_pending = true;
                u->nss_asked_at = now;
                u->nss_slow_logged = false;
                u->nss_retry_at = 0;
        }
        ctx->timer_dirty = true;
}

/* After the config changed: the triggers, the limits, and a fresh sample. */
static void user_reapply(context *ctx, User *u, bool force) {
        if (u->has_slice && watch_changed(u)) {
                watch_stop(u);
                (void) watch_start(u);
        }
        /* Re-apply: a budget may have changed either way. The last sample
         * may be old, and a step must start from usage now. */
        if (u->has_slice) {
                cgfs_memory m;

                if (cgfs_read_memory(ctx->cgroot_fd, u->cgroup, &m) >= 0) {
                        u->memory = m;
                        (void) limits_update(u, &m, force);
                }
        } else
                (void) limits_update(u, NULL, force);
        u->next_sample = now_usec(CLOCK_MONOTONIC);
        ctx->status_dirty = true;
        ctx->timer_dirty = true;
}

/* Brings the watches in line with whether the slice exists. */
static void user_sync(User *u, bool is_new) {
        context *ctx = u->ctx;

        if (u->has_slice) {
                u->slice_retry_at = 0;
                if (!u->watch.active) {
                        (void) watch_start(u);
                        /* The first evaluation also puts the limits on (stepped if needed). */
                        (void) sampler_evaluate(u, SAMPLE_START);
                }
                return;
        }

        if (u->watch.active)
                watch_stop(u);

        /* Through systemd, limits can be set before the slice exists: the
         * unit is loaded and gets them when it starts. */
        if (is_new && ctx->limits_backend == LIMITS_SYSTEMD)
                (void) limits_update(u, NULL, true);

        if (u->logged_in && u->slice_retries < USER_SLICE_RETRIES) {
                u->slice_retries++;
                u->slice_retry_at = now_usec(CLOCK_MONOTONIC) + USER_SLICE_RETRY_USEC;
                ctx->timer_dirty = true;
        } else
                u->slice_retry_at = 0;
}

static int seen_add(seen_uid **seen, size_t *n, uid_t uid, bool logged_in, bool has_slice) {
        seen_uid *a;

        for (size_t i = 0; i < *n; i++)
                if ((*seen)[i].uid == uid) {
                        (*seen)[i].logged_in |= logged_in;
                        (*seen)[i].has_slice |= has_slice;
                        return 0;
                }
        a = realloc(*seen, (*n + 1) * sizeof **seen);
        if (!a)
                return -ENOMEM;
        a[(*n)++] = (seen_uid) { uid, logged_in, has_slice };
        *seen = a;
        return 0;
}

int users_discovered(const uid_t *logind, size_t n_logind, char *const *children, seen_uid **ret,
                     size_t *ret_n) {
        _cleanup_free_ seen_uid *seen = NULL;
        size_t n = 0;
        int r;

        assert(ret);
        assert(ret_n);

        for (size_t i = 0; i < n_logind; i++) {
                r = seen_add(&seen, &n, logind[i], true, false);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; children && children[i]; i++) {
                unsigned uid;
                int end = 0;

                if (sscanf(children[i], "user-%u.slice%n", &uid, &end) != 1 || children[i][end] != 0)
                        continue;
                r = seen_add(&seen, &n, (uid_t) uid, false, true);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(seen);
        *ret_n = n;
        return 0;
}

void users_reconcile(context *ctx, user_set *set, const config_set *config, const seen_uid *seen, size_t n_seen) {
        uid_t min_uid = config->governor.min_uid;

        /* Users that are gone, or no longer governed after a reload. */
        for (size_t i = set->n; i > 0; i--) {
                User *u = set->items[i - 1];
                bool keep = false;

                for (size_t j = 0; j < n_seen; j++)
                        if (seen[j].uid == u->uid)
                                keep = u->uid >= min_uid;
                if (!keep) {
                        log_info("No longer governing %s (%u): %s", u->name, (unsigned) u->uid,
                                 u->uid < min_uid ? "below MinUid" : "logged out and slice gone");
                        user_free(set, u);
                }
        }

        for (size_t j = 0; j < n_seen; j++) {
                User *u;
                bool is_new = false;

                if (seen[j].uid < min_uid)
                        continue;
                u = users_find(set, seen[j].uid);
                if (!u) {
                        if (user_new(ctx, set, config, seen[j].uid, &u) < 0)
                                continue;
                        is_new = true;
                        log_info("Governing uid %u: %s%s; its name and groups are being looked up, until then "
                                 "without groups.d (users.d/%u.conf and the defaults)",
                                 (unsigned) u->uid, seen[j].logged_in ? "logged in" : "has a slice",
                                 seen[j].has_slice ? "" : ", slice not there yet", (unsigned) u->uid);
                        user_ask(ctx, u, now_usec(CLOCK_MONOTONIC));
                }
                if (u->has_slice != seen[j].has_slice || u->logged_in != seen[j].logged_in)
                        ctx->status_dirty = true;
                if (seen[j].has_slice && !u->has_slice)
                        u->slice_retries = 0;
                u->logged_in = seen[j].logged_in;
                u->has_slice = seen[j].has_slice;
                user_sync(u, is_new);
        }
        ctx->timer_dirty = true;
}

void users_reload(context *ctx, user_set *set, const config_set *config) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        for (size_t i = 0; i < set->n; i++) {
                User *u = set->items[i];

                /* The new files over the last good look-up at once; asking
                 * NSS for every user again would take a slow directory
                 * server users x its delay. An old look-up is refreshed in
                 * the background and re-layered when it comes. */
                if (user_layer_config(u, config) < 0)
                        continue;   /* keeps the old copy */
                user_reapply(ctx, u, true);
                if (user_lookup_stale(u, now))
                        user_ask(ctx, u, now);
        }
        ctx->rescan = true;
}

void users_answer(context *ctx, user_set *set, const config_set *config, resolver_answer *a) {
        User *u = users_find(set, a->uid);
        int r;

        /* Logged out meanwhile: the answer is of no use. */
        if (!u || !u->nss_pending)
                return;
        r = user_take_answer(u, config, a, now_usec(CLOCK_MONOTONIC));
        if (r < 0) {
                log_error_errno(r, "Cannot apply the NSS look-up of uid %u: %m", (unsigned) u->uid);
                return;
        }
        if (r > 0) {
                char name[ESCAPE_BUFSIZE(64)];
                size_t n = strv_length(u->nss_groups);

                log_info("uid %u is %s: governing with %zu group%s (users.d and groups.d re-layered)",
                         (unsigned) u->uid, escape_text(u->name, name, sizeof name), n, n == 1 ? "" : "s");
        }
        user_reapply(ctx, u, false);
}

void users_follow_lookup(context *ctx, User *u, usec_t now) {
        user_check_slow_lookup(u, now);
        if (!u->nss_pending && u->nss_retry_at && u->nss_retry_at <= now)
                user_ask(ctx, u, now);
}

void users_clear(user_set *set) {
        while (set->n > 0)
                user_free(set, set->items[set->n - 1]);
        free(set->items);
        set->items = NULL;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgfs.h"
#include "report.h"
#include "sampler.h"
#include "user.h"

#define USER_SLICE_PARENT "user.slice"

User *user_find(Daemon *d, uid_t uid) {
        for (size_t i = 0; i < d->n_users; i++)
                if (d->users[i]->uid == uid)
                        return d->users[i];
        return NULL;
}

/* Name and group names from NSS, then the layered config. NSS may be slow
 * (LDAP), but this only runs on logins and reloads, never on the kill path. */
static int user_resolve_config(User *u) {
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

        config_resolve_user(u->daemon->config, u->uid, u->name, groups, &resolved);
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

static void user_free(User *u) {
        Daemon *d;

        if (!u)
                return;
        d = u->daemon;
        act_done(u);
        watch_stop(u);
        limits_done(u);
        user_config_done(&u->config);
        free(u->ranked);

        for (size_t i = 0; i < d->n_users; i++)
                if (d->users[i] == u) {
                        memmove(d->users + i, d->users + i + 1, (d->n_users - i - 1) * sizeof(User *));
                        d->n_users--;
                        break;
                }
        free(u);
        daemon_mark_dirty(d);
        daemon_schedule(d);
}

static int user_new(Daemon *d, uid_t uid, User **ret) {
        User **array;
        User *u;
        int r;

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->daemon = d;
        u->uid = uid;
        snprintf(u->cgroup, sizeof u->cgroup, USER_SLICE_PARENT "/user-%u.slice", (unsigned) uid);
        snprintf(u->unit, sizeof u->unit, "user-%u.slice", (unsigned) uid);
        watch_init(&u->watch);
        act_init(u);

        array = realloc(d->users, (d->n_users + 1) * sizeof(User *));
        if (!array) {
                free(u);
                return -ENOMEM;
        }
        d->users = array;
        d->users[d->n_users++] = u;

        r = user_resolve_config(u);
        if (r < 0) {
                log_error_errno(r, "Cannot resolve the configuration of uid %u: %m", (unsigned) uid);
                user_free(u);
                return r;
        }
        *ret = u;
        return 0;
}

/* Brings the watches in line with whether the slice exists. */
static void user_sync(User *u, bool is_new) {
        Daemon *d = u->daemon;

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
        if (is_new && d->limits_backend == LIMITS_SYSTEMD)
                (void) limits_update(u, NULL, true);

        if (u->logged_in && u->slice_retries < USER_SLICE_RETRIES) {
                u->slice_retries++;
                u->slice_retry_at = now_usec(CLOCK_MONOTONIC) + USER_SLICE_RETRY_USEC;
                daemon_schedule(d);
        } else
                u->slice_retry_at = 0;
}

typedef struct seen_uid {
        uid_t uid;
        bool logged_in, has_slice;
} seen_uid;

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

static void slices_watch_ensure(Daemon *d);

static int users_rescan_now(Daemon *d) {
        _cleanup_free_ uid_t *uids = NULL;
        _cleanup_free_ seen_uid *seen = NULL;
        _cleanup_strv_free_ char **children = NULL;
        size_t n_seen = 0;
        uid_t min_uid = d->config->governor.min_uid;
        int n_uids = 0, r;

        slices_watch_ensure(d);

        if (d->login_monitor) {
                n_uids = sd_get_uids(&uids);
                if (n_uids < 0) {
                        log_warning_errno(n_uids, "Cannot list logind's users: %m");
                        n_uids = 0;
                }
        }
        for (int i = 0; i < n_uids; i++) {
                r = seen_add(&seen, &n_seen, uids[i], true, false);
                if (r < 0)
                        return r;
        }

        r = cgfs_list_children(d->cgroot_fd, USER_SLICE_PARENT, &children);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot list " USER_SLICE_PARENT ": %m");
        for (size_t i = 0; children && children[i]; i++) {
                unsigned uid;
                int end = 0;

                if (sscanf(children[i], "user-%u.slice%n", &uid, &end) != 1 || children[i][end] != 0)
                        continue;
                r = seen_add(&seen, &n_seen, (uid_t) uid, false, true);
                if (r < 0)
                        return r;
        }

        /* Users that are gone, or no longer governed after a reload. */
        for (size_t i = d->n_users; i > 0; i--) {
                User *u = d->users[i - 1];
                bool keep = false;

                for (size_t j = 0; j < n_seen; j++)
                        if (seen[j].uid == u->uid)
                                keep = u->uid >= min_uid;
                if (!keep) {
                        log_info("No longer governing %s (%u): %s", u->name, (unsigned) u->uid,
                                 u->uid < min_uid ? "below MinUid" : "logged out and slice gone");
                        user_free(u);
                }
        }

        for (size_t j = 0; j < n_seen; j++) {
                User *u;
                bool is_new = false;

                if (seen[j].uid < min_uid)
                        continue;
                u = user_find(d, seen[j].uid);
                if (!u) {
                        r = user_new(d, seen[j].uid, &u);
                        if (r < 0)
                                continue;
                        is_new = true;
                        log_info("Governing %s (%u): %s%s", u->name, (unsigned) u->uid,
                                 seen[j].logged_in ? "logged in" : "has a slice",
                                 seen[j].has_slice ? "" : ", slice not there yet");
                }
                if (u->has_slice != seen[j].has_slice || u->logged_in != seen[j].logged_in)
                        daemon_mark_dirty(d);
                if (seen[j].has_slice && !u->has_slice)
                        u->slice_retries = 0;
                u->logged_in = seen[j].logged_in;
                u->has_slice = seen[j].has_slice;
                user_sync(u, is_new);
        }
        daemon_schedule(d);
        return 0;
}

static int on_rescan(sd_event_source *s, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        (void) users_rescan_now(d);
        return 0;
}

void users_request_rescan(Daemon *d) {
        if (d->rescan)
                (void) sd_event_source_set_enabled(d->rescan, SD_EVENT_ONESHOT);
}

static int on_login(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        (void) sd_login_monitor_flush(d->login_monitor);
        users_request_rescan(d);
        return 0;
}

static int on_slices(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        (void) s;
        (void) revents;
        /* Drain: what changed is read from user.slice itself by the rescan.
         * Only note when user.slice itself went away, to watch the root again. */
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        if (e->wd == d->slices_wd && (e->mask & IN_IGNORED))
                                d->slices_wd = -1;
                        p += sizeof *e + e->len;
                }
        }
        users_request_rescan(d);
        return 0;
}

/* inotify of user.slice's directory tells about slices being made and removed
 * (mkdir/rmdir on cgroupfs are plain VFS operations). Before the first login
 * user.slice may not exist: then the root is watched until it appears. */
static void slices_watch_ensure(Daemon *d) {
        char path[64];

        if (d->slices_fd < 0 || d->slices_wd >= 0)
                return;
        snprintf(path, sizeof path, "/proc/self/fd/%d/" USER_SLICE_PARENT, d->cgroot_fd);
        d->slices_wd = inotify_add_watch(d->slices_fd, path,
                                      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR | IN_DELETE_SELF);
        if (d->slices_wd >= 0) {
                if (d->root_wd >= 0) {
                        (void) inotify_rm_watch(d->slices_fd, d->root_wd);
                        d->root_wd = -1;
                }
                return;
        }
        if (d->root_wd < 0) {
                snprintf(path, sizeof path, "/proc/self/fd/%d", d->cgroot_fd);
                d->root_wd = inotify_add_watch(d->slices_fd, path, IN_CREATE | IN_ONLYDIR);
                if (d->root_wd < 0)
                        log_warning("Cannot watch the cgroup root with inotify: %m; new slices are found on logind events and retries only");
        }
}

int users_start(Daemon *d) {
        int r;

        r = sd_event_add_defer(d->event, &d->rescan, on_rescan, d);
        if (r < 0)
                return log_error_errno(r, "Cannot add the rescan source: %m");
        (void) sd_event_source_set_enabled(d->rescan, SD_EVENT_OFF);

        r = sd_login_monitor_new("uid", &d->login_monitor);
        if (r < 0)
                log_warning_errno(r, "logind is not available (%m); following " USER_SLICE_PARENT " only");
        else {
                r = sd_event_add_io(d->event, &d->login_source, sd_login_monitor_get_fd(d->login_monitor),
                                    (uint32_t) sd_login_monitor_get_events(d->login_monitor), on_login, d);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch logind: %m");
        }

        d->slices_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->slices_fd < 0)
                log_warning("inotify unavailable (%m); slices are found on logind events and retries only");
        else {
                r = sd_event_add_io(d->event, &d->slices_source, d->slices_fd, EPOLLIN, on_slices, d);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch " USER_SLICE_PARENT ": %m");
        }

        return users_rescan_now(d);
}

void users_stop(Daemon *d) {
        while (d->n_users > 0)
                user_free(d->users[d->n_users - 1]);
        free(d->users);
        d->users = NULL;
        d->login_source = sd_event_source_disable_unref(d->login_source);
        d->slices_source = sd_event_source_disable_unref(d->slices_source);
        d->rescan = sd_event_source_disable_unref(d->rescan);
        if (d->login_monitor)
                d->login_monitor = sd_login_monitor_unref(d->login_monitor);
        if (d->slices_fd >= 0)
                close(d->slices_fd);
        d->slices_fd = -1;
        d->slices_wd = d->root_wd = -1;
}

void users_reload(Daemon *d) {
        for (size_t i = 0; i < d->n_users; i++) {
                User *u = d->users[i];

                if (user_resolve_config(u) < 0)
                        continue;   /* keeps the old copy */
                if (u->has_slice && watch_changed(u)) {
                        watch_stop(u);
                        (void) watch_start(u);
                }
                /* Re-apply: a budget may have changed either way. The last
                 * sample may be old, and a step must start from usage now. */
                if (u->has_slice) {
                        cgfs_memory m;

                        if (cgfs_read_memory(d->cgroot_fd, u->cgroup, &m) >= 0) {
                                u->memory = m;
                                (void) limits_update(u, &m, true);
                        }
                } else
                        (void) limits_update(u, NULL, true);
                u->next_sample = now_usec(CLOCK_MONOTONIC);
        }
        users_request_rescan(d);
        daemon_mark_dirty(d);
        daemon_schedule(d);
}

void user_slice_gone(User *u) {
        log_info("%s of %s (%u) is gone", u->cgroup, u->name, (unsigned) u->uid);
        watch_stop(u);
        u->has_slice = false;
        users_request_rescan(u->daemon);
        daemon_mark_dirty(u->daemon);
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

                /* Idle samples may come up to a quarter late, so they coalesce
                 * with each other and with the watchdog. */
                CONSIDER(u->next_sample, interval / 4 > 5 * USEC_PER_SEC ? 5 * USEC_PER_SEC : interval / 4 + 1);
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

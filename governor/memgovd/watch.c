/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cgfs.h"
#include "psi.h"
#include "report.h"
#include "watch.h"

/* The kernel sends at most one event per window. More than this many within
 * one window means the fd is stuck readable (a trigger the kernel dropped),
 * and polling it would spin the loop. */
#define WATCH_PSI_BURST_MAX 20

void watch_init(watch *w) {
        assert(w);
        *w = (watch) { .some_fd = -1, .full_fd = -1, .events_fd = -1, .current_fd = -1 };
}

static bool slice_exists(User *u) {
        return faccessat(u->ctx->cgroot_fd, u->cgroup, F_OK, 0) >= 0;
}

static void close_trigger(sd_event_source **s, int *fd) {
        *s = sd_event_source_disable_unref(*s);
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void fall_back(User *u, const char *why) {
        watch *w = &u->watch;

        close_trigger(&w->some_source, &w->some_fd);
        close_trigger(&w->full_source, &w->full_fd);
        if (!w->psi_fallback)
                log_warning("%s: %s; sampling memory.pressure avg10 instead", u->cgroup, why);
        w->psi_fallback = true;
}

static int on_psi(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        User *u = userdata;
        watch *w = &u->watch;
        char buf[512];
        psi_stats stats;
        usec_t now;
        int r;

        (void) s;

        /* Reading tells a live trigger from a removed cgroup (ENODEV). */
        r = read_fd(fd, buf, sizeof buf, NULL);
        if (r == -ENODEV || ((revents & EPOLLERR) && !slice_exists(u))) {
                u->ctx->on_watch(u, WATCH_GONE);
                return 0;
        }

        now = now_usec(CLOCK_MONOTONIC);
        if (now - w->burst_start > w->window) {
                w->burst_start = now;
                w->burst = 0;
        }
        if (++w->burst > WATCH_PSI_BURST_MAX) {
                fall_back(u, "PSI trigger fires without pause");
                u->ctx->timer_dirty = true;
                return 0;
        }

        if (r >= 0 && psi_parse(buf, &stats) >= 0)
                u->pressure = stats;
        u->psi_event_at = now;
        /* The policy counts the slice as under pressure for two windows after an event. */
        u->recheck_until = now + 2 * w->window;
        log_debug("%s: PSI %s event (some avg10 %.2f%%)", u->cgroup, fd == w->full_fd ? "full" : "some",
                  u->pressure.some.avg10);
        u->ctx->on_watch(u, WATCH_PSI);
        return 0;
}

static int on_events(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        User *u = userdata;
        char buf[512];
        int r;

        (void) revents;

        /* EPOLLERR comes with every change on kernfs; only ENODEV means gone.
         * The read also re-arms the notification. */
        r = read_fd(fd, buf, sizeof buf, NULL);
        if (r == -ENODEV || (r < 0 && !slice_exists(u))) {
                u->ctx->on_watch(u, WATCH_GONE);
                return 0;
        }

        /* `high` can fire on every reclaim attempt: mute, then look once. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        u->watch.unmute_at = now_usec(CLOCK_MONOTONIC) + WATCH_EVENTS_MUTE_USEC;
        u->ctx->timer_dirty = true;

        u->ctx->on_watch(u, WATCH_EVENTS);
        return 0;
}

void watch_unmute(User *u) {
        watch *w = &u->watch;

        w->unmute_at = 0;
        /* A change while muted leaves the fd readable, so nothing is lost. */
        if (w->events_source)
                (void) sd_event_source_set_enabled(w->events_source, SD_EVENT_ON);
}

static int arm_trigger(User *u, psi_kind kind, unsigned permyriad, int *ret_fd, sd_event_source **ret_source) {
        context *ctx = u->ctx;
        usec_t window = ctx->pressure_window;
        usec_t stall = window * permyriad / 10000;
        _cleanup_close_ int fd = -1;
        int r;

        if (stall == 0)
                stall = 1;
        fd = cgfs_open(ctx->cgroot_fd, u->cgroup, "memory.pressure", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return fd;
        /* A failed write leaves the fd readable forever: never poll it. */
        r = psi_trigger_arm(fd, kind, stall, window, ctx->privileged);
        if (r < 0)
                return r;
        r = sd_event_add_io(ctx->event, ret_source, fd, EPOLLPRI, on_psi, u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(*ret_source, kind == PSI_FULL ? "psi-full" : "psi-some");
        *ret_fd = take_fd(&fd);
        return 0;
}

int watch_start(User *u) {
        context *ctx = u->ctx;
        watch *w = &u->watch;
        char buf[512];
        int r;

        assert(!w->active);

        w->window = ctx->pressure_window;
        w->some = u->config.pressure_some;
        w->full = u->config.pressure_full;
        w->psi_fallback = false;
        w->burst = 0;
        w->unmute_at = 0;

        w->events_fd = cgfs_open(ctx->cgroot_fd, u->cgroup, "memory.events", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (w->events_fd < 0) {
                r = w->events_fd;
                w->events_fd = -1;
                if (r == -ENOENT)
                        return r;   /* the slice is not (or no longer) there */
                return log_error_errno(r, "Cannot open %s/memory.events: %m", u->cgroup);
        }
        /* A fresh kernfs fd polls readable once; consume that. */
        (void) read_fd(w->events_fd, buf, sizeof buf, NULL);
        r = sd_event_add_io(ctx->event, &w->events_source, w->events_fd, EPOLLPRI, on_events, u);
        if (r < 0) {
                close(w->events_fd);
                w->events_fd = -1;
                return log_error_errno(r, "Cannot watch %s/memory.events: %m", u->cgroup);
        }
        (void) sd_event_source_set_description(w->events_source, "memory-events");
        /* The idle look reads this file alone, on every tick of the grid: one
         * pread on a kept fd instead of openat, read and close per slice. */
        w->current_fd = cgfs_open(ctx->cgroot_fd, u->cgroup, "memory.current", O_RDONLY | O_CLOEXEC);
        if (w->current_fd < 0) {
                log_debug_errno(w->current_fd, "Cannot open %s/memory.current: %m; sampling in full", u->cgroup);
                w->current_fd = -1;
        }

        if (w->some > 0) {
                r = arm_trigger(u, PSI_SOME, w->some, &w->some_fd, &w->some_source);
                if (r < 0) {
                        log_warning_errno(r, "Cannot arm a PSI 'some' trigger on %s: %m", u->cgroup);
                        fall_back(u, "no PSI trigger");
                }
        }
        if (w->full > 0 && !w->psi_fallback) {
                r = arm_trigger(u, PSI_FULL, w->full, &w->full_fd, &w->full_source);
                if (r < 0) {
                        log_warning_errno(r, "Cannot arm a PSI 'full' trigger on %s: %m", u->cgroup);
                        fall_back(u, "no PSI trigger");
                }
        }

        w->active = true;
        log_debug("Watching %s: memory.events%s%s%s", u->cgroup, w->some_fd >= 0 ? ", PSI some" : "",
                  w->full_fd >= 0 ? ", PSI full" : "", w->psi_fallback ? ", PSI avg10 sampling" : "");
        return 0;
}

void watch_stop(User *u) {
        watch *w = &u->watch;

        close_trigger(&w->some_source, &w->some_fd);
        close_trigger(&w->full_source, &w->full_fd);
        close_trigger(&w->events_source, &w->events_fd);
        if (w->current_fd >= 0)
                close(w->current_fd);
        w->current_fd = -1;
        w->active = false;
        w->psi_fallback = false;
        w->unmute_at = 0;
}

bool watch_changed(const User *u) {
        const watch *w = &u->watch;

        return w->window != u->ctx->pressure_window || w->some != u->config.pressure_some ||
               w->full != u->config.pressure_full;
}

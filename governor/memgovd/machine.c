/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "act.h"
#include "machine.h"
#include "policy.h"
#include "procfs.h"
#include "psi.h"
#include "report.h"
#include "snapshot.h"

/* As for a slice's trigger: more events than this within a window means
 * the fd is stuck readable, and polling it would spin the loop. */
#define MACHINE_PSI_BURST_MAX 20

void machine_init(machine_watch *m) {
        assert(m);
        *m = (machine_watch) { .psi_fd = -1 };
}

void machine_stop(machine_watch *m) {
        assert(m);
        m->psi_source = sd_event_source_disable_unref(m->psi_source);
        if (m->psi_fd >= 0)
                close(m->psi_fd);
        m->psi_fd = -1;
        m->recheck_until = m->next_check = 0;
}

static int on_psi(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        machine_watch *m = userdata;
        char buf[512];
        usec_t now = now_usec(CLOCK_MONOTONIC);

        (void) s;
        (void) revents;
        (void) read_fd(fd, buf, sizeof buf, NULL);
        if (now - m->burst_start > m->window) {
                m->burst_start = now;
                m->burst = 0;
        }
        if (++m->burst > MACHINE_PSI_BURST_MAX) {
                log_warning("/proc/pressure/memory: the trigger fires without pause; machine-wide shortage "
                            "handling is off until the next reload");
                machine_stop(m);
                return 0;
        }
        m->event_at = now;
        /* shortage_is_short() counts stalls for two windows after an event. */
        m->recheck_until = now + 2 * m->window;
        m->next_check = now;
        if (m->on_event)
                m->on_event(m->userdata);
        return 0;
}

int machine_start(machine_watch *m, context *ctx, const governor_config *gc) {
        _cleanup_close_ int fd = -1;
        usec_t window = ctx->pressure_window, stall;
        unsigned pressure = gc->shortage_pressure > 0 ? gc->shortage_pressure : 100;
        int r;

        assert(m);

        if (gc->shortage_memory_floor == 0) {
                machine_stop(m);
                return 0;
        }
        if (m->psi_fd >= 0 && m->window == window && m->stall == pressure)
                return 0;
        machine_stop(m);

        stall = window / 10000 * pressure;
        if (stall == 0)
                stall = 1;
        fd = openat(ctx->procfs_fd, "pressure/memory", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return log_warning_errno(errno, "Cannot open /proc/pressure/memory (%m): machine-wide shortage "
                                         "handling is off");
        /* A failed write leaves the fd readable forever: never poll it. */
        r = psi_trigger_arm(fd, PSI_SOME, stall, window, ctx->privileged);
        if (r < 0)
                return log_warning_errno(r, "Cannot arm a PSI trigger on /proc/pressure/memory (%m): "
                                         "machine-wide shortage handling is off");
        r = sd_event_add_io(ctx->event, &m->psi_source, fd, EPOLLPRI, on_psi, m);
        if (r < 0)
                return log_warning_errno(r, "Cannot watch /proc/pressure/memory (%m): machine-wide shortage "
                                         "handling is off");
        (void) sd_event_source_set_description(m->psi_source, "psi-machine");
        m->psi_fd = take_fd(&fd);
        m->window = window;
        m->stall = pressure;
        m->burst = 0;
        log_debug("Watching /proc/pressure/memory: some %" PRIu64 "us in %" PRIu64 "us", (uint64_t) stall,
                  (uint64_t) window);
        return 0;
}

typedef struct user_sample {
        User *user;
        snapshot snap;
        memstat_usage usage;
} user_sample;

/* The memory files of every governed user's slice. Their usage history
 * is the sampler's (every full sample and idle look), this sample added. */
static size_t sample_users(context *ctx, const governor_config *gc, User *const *users, size_t n_users,
                           usec_t now, user_sample *samples, shortage_user *su) {
        size_t n = 0;

        for (size_t i = 0; i < n_users; i++) {
                User *u = users[i];
                user_sample *us = &samples[n];

                if (!u->has_slice || !u->watch.active)
                        continue;
                *us = (user_sample) { .user = u };
                if (snapshot_take(ctx->cgroot_fd, ctx->procfs_fd, u->cgroup, u->uid, SNAPSHOT_MEMORY, &us->snap) < 0)
                        continue;   /* gone or unreadable: the sampler finds out */
                policy_usage(&us->snap.slice, &u->state, &us->usage);
                su[n] = (shortage_user) {
                        .uid = u->uid,
                        .name = u->name,
                        .unreclaimable = memstat_usage_held(&us->usage),
                        .budget = policy_budget(&us->snap.slice.memory, &u->effective),
                        .over_budget = policy_usage_over_budget(&us->usage, &us->snap.slice.memory, &u->effective),
                        .weight = 1,
                        .growth = shortage_history_growth(&u->usage_history, memstat_usage_held(&us->usage),
                                                          gc->shortage_growth_window, now),
                };
                shortage_history_record(&u->usage_history, memstat_usage_held(&us->usage), gc->shortage_growth_window, now);
                n++;
        }
        return n;
}

static bool any_kill_active(User *const *users, size_t n_users) {
        for (size_t i = 0; i < n_users; i++)
                if (users[i]->kill.active)
                        return true;
        return false;
}

/* The chosen user's slice in full, the victims by their own policy, the kill. */
static void act_on(machine_watch *m, context *ctx, User *u, const shortage_decision *sd, uint64_t growth,
                   usec_t now) {
        snapshot full = {};
        policy_decision dec;
        policy_shortage why = {
                .need = sd->need,
                .fair_share = sd->fair_share,
                .excess = sd->excess,
                .growth = sd->by_growth ? growth : 0,
                .why = sd->reason_text,
        };
        int r;

        r = snapshot_take(ctx->cgroot_fd, ctx->procfs_fd, u->cgroup, u->uid, SNAPSHOT_TASKS, &full);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the tasks of %s for a machine-wide shortage: %m", u->cgroup);
                return;
        }
        full.slice.self_pid = ctx->self;
        if (full.slice.mem_total == 0)
                full.slice.mem_total = ctx->mem_total;
        if (full.slice.swap_total == 0)
                full.slice.swap_total = ctx->swap_total;
        full.slice.same_mm = snapshot_same_mm;
        full.slice.history = &u->history;

        policy_decide_shortage(&full.slice, &u->effective, &why, &u->state, now, &dec);
        if (dec.action == DECISION_KILL || dec.action == DECISION_KILL_CGROUP) {
                usec_t last_kill = u->state.last_kill;

                log_notice("Machine-wide shortage: %s", sd->reason_text);
                if (act_kill(u, &full, &dec) >= 0 && u->state.last_kill != last_kill) {
                        m->last_kill = u->state.last_kill;
                        /* Its memory is on its way back: another kill needs
                         * another ShortageDuration= of shortage. */
                        m->state.short_since = 0;
                }
        } else if (now - m->last_log >= MACHINE_LOG_USEC) {
                m->last_log = now;
                log_notice("Machine-wide shortage chose %s (%u), but: %s", u->name, (unsigned) u->uid,
                           dec.reason_text);
        }
        snapshot_done(&full);
}

void machine_check(machine_watch *m, context *ctx, const governor_config *gc, User *const *users, size_t n_users) {
        _cleanup_free_ user_sample *samples = NULL;
        _cleanup_free_ shortage_user *su = NULL;
        shortage_machine machine = {};
        shortage_decision sd;
        procfs_meminfo mi;
        usec_t now = now_usec(CLOCK_MONOTONIC), pace;
        size_t n;
        int r;

        assert(m);
        assert(ctx);
        assert(gc);

        m->next_check = now < m->recheck_until ? now + MACHINE_RECHECK_USEC : 0;
        ctx->timer_dirty = true;
        if (m->psi_fd < 0)
                return;

        r = procfs_read_meminfo(ctx->procfs_fd, &mi);
        if (r < 0) {
                log_warning_errno(r, "Cannot read /proc/meminfo: %m");
                return;
        }
        machine = (shortage_machine) {
                .mem_total = mi.mem_total,
                .mem_available = mi.mem_available,
                .swap_total = mi.swap_total,
                .swap_free = mi.swap_free,
                .psi_trigger = true,
                .psi_event_at = m->event_at,
        };
        pace = shortage_next_look(&machine, gc);
        if (pace != USEC_INFINITY && (m->next_check == 0 || now + pace < m->next_check))
                m->next_check = now + pace;
        /* Not short: nothing to sample. With memory low and swap still
         * free, shortage_decide() without users runs only its clock. */
        if (!shortage_is_short(&machine, gc, m->window, now)) {
                if (m->was_short) {
                        log_info("Machine-wide shortage over (MemAvailable %" PRIu64 "M)", mi.mem_available >> 20);
                        ctx->status_dirty = true;
                }
                m->was_short = false;
                shortage_decide(&machine, NULL, 0, gc, m->window, &m->state, now, &sd);
                return;
        }
        if (!m->was_short) {
                log_info("Machine short of memory: MemAvailable %" PRIu64 "M, free swap %" PRIu64 "M, %s",
                         mi.mem_available >> 20, mi.swap_free >> 20, shortage_evidence(&machine, gc, m->window, now));
                m->shortages++;
                m->last_log = 0;   /* each shortage says once why nothing is done */
                ctx->status_dirty = true;
        }
        m->was_short = true;

        samples = calloc(n_users ? n_users : 1, sizeof *samples);
        su = calloc(n_users ? n_users : 1, sizeof *su);
        if (!samples || !su)
                return;   /* the next look tries again */
        n = sample_users(ctx, gc, users, n_users, now, samples, su);

        shortage_decide(&machine, su, n, gc, m->window, &m->state, now, &sd);
        if (sd.act && sd.user < n) {
                User *u = samples[sd.user].user;

                if (any_kill_active(users, n_users))
                        log_debug("Machine-wide shortage: a kill round is under way; waiting for it");
                else if (m->last_kill > 0 && now - m->last_kill < u->effective.cooldown)
                        log_debug("Machine-wide shortage: held back by Cooldown=");
                else
                        act_on(m, ctx, u, &sd, su[sd.user].growth, now);
        } else if (sd.sustained) {
                if (m->last_log == 0 || now - m->last_log >= MACHINE_LOG_USEC) {
                        m->last_log = now;
                        log_notice("%s", sd.reason_text);
                }
                /* Nobody to act on (the memory is held outside user slices,
                 * or fairly): a node can sit like this for hours, so the
                 * floor's looks slow down to their slowest. */
                if (pace != USEC_INFINITY && now >= m->recheck_until)
                        m->next_check = now + SHORTAGE_LOOK_MAX_USEC;
        }
        for (size_t i = 0; i < n; i++)
                snapshot_done(&samples[i].snap);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "act.h"
#include "slice-limits.h"
#include "policy.h"
#include "report.h"
#include "sampler.h"
#include "snapshot.h"
#include "user.h"

/* A snapshot that fails for want of memory is retried this soon. */
#define SAMPLER_RETRY_USEC (100 * USEC_PER_MSEC)
/* While a limit is being stepped down, follow usage at least this often. */
#define SAMPLER_STEPPING_USEC (5 * USEC_PER_SEC)
/* Without a PSI trigger, avg10 is sampled at least this often near the budget. */
#define SAMPLER_PSI_FALLBACK_USEC (2 * USEC_PER_SEC)
/* A kill that is due but finds no victim: the tasks are read again at most this often, */
#define SAMPLER_NO_VICTIM_RECHECK_USEC (1 * USEC_PER_SEC)
/* and it is logged at most this often. */
#define SAMPLER_NO_VICTIM_LOG_USEC (60 * USEC_PER_SEC)

static const char *const cause_names[] = {
        [SAMPLE_TIMER] = "timer",
        [SAMPLE_PSI] = "psi",
        [SAMPLE_EVENTS] = "memory.events",
        [SAMPLE_START] = "start",
        [SAMPLE_AFTER_KILL] = "after-kill",
};

static void prepare(User *u, snapshot *s) {
        Daemon *d = u->daemon;

        s->slice.psi_event_at = u->psi_event_at;
        /* With a trigger armed its events tell pressure; without, avg10 does. */
        s->slice.psi_trigger = u->watch.active && !u->watch.psi_fallback &&
                               (u->watch.some_fd >= 0 || u->watch.full_fd >= 0);
        s->slice.self_pid = d->pid;
        if (s->slice.mem_total == 0)
                s->slice.mem_total = d->mem_total;
        if (s->slice.swap_total == 0)
                s->slice.swap_total = d->swap_total;
        if (!s->slice.same_mm)
                s->slice.same_mm = snapshot_same_mm;
}

static void note_sample(User *u, const snapshot *s) {
        const cgfs_memory *m = &s->slice.memory;
        uint64_t step, ref;

        u->memory = *m;
        u->events = s->slice.events;
        u->pressure = s->slice.pressure;
        u->sampled = true;
        if (m->current > u->peak)
                u->peak = m->current;
        if (m->peak > u->peak)
                u->peak = m->peak;

        /* status.json follows real changes only, not every wobble. */
        ref = u->effective.memory_max != BYTES_INFINITY ? u->effective.memory_max : u->daemon->mem_total;
        step = ref / 20 > (32ULL << 20) ? ref / 20 : (32ULL << 20);
        if (m->current > u->status_usage + step || m->current + step < u->status_usage)
                daemon_mark_dirty(u->daemon);
}

static void schedule_next(User *u, usec_t now) {
        usec_t interval = policy_next_sample(&u->memory, &u->effective);

        if (u->limits.stepping && interval > SAMPLER_STEPPING_USEC)
                interval = SAMPLER_STEPPING_USEC;
        if (u->watch.psi_fallback && interval > SAMPLER_PSI_FALLBACK_USEC &&
            u->effective.memory_high != BYTES_INFINITY && u->memory.current * 10 >= u->effective.memory_high * 9)
                interval = SAMPLER_PSI_FALLBACK_USEC;
        if (interval < 10 * USEC_PER_MSEC)
                interval = 10 * USEC_PER_MSEC;
        /* A sooner look asked for while evaluating (a kill under way, memory
         * on its way out) or already pending stands. */
        if (u->next_sample <= now || u->next_sample > now + interval)
                u->next_sample = now + interval;
        daemon_schedule(u->daemon);
}

static void update_pressure_flag(User *u) {
        bool p = u->state.pressure_since != 0 || u->state.throttled_since != 0;

        if (p != u->under_pressure) {
                u->under_pressure = p;
                daemon_mark_dirty(u->daemon);
        }
}

static void note_no_action(User *u, const policy_decision *dec, usec_t now) {
        if (dec->no_victim && now - u->last_no_victim_log >= SAMPLER_NO_VICTIM_LOG_USEC) {
                u->last_no_victim_log = now;
                log_warning("%s (%u) is due a kill, but every process in %s is protected (login chain, "
                            "Protect=, oom_score_adj=-1000)", u->name, (unsigned) u->uid, u->cgroup);
        } else if (dec->in_cooldown)
                log_debug("%s: kill held back by Cooldown=", u->cgroup);
}

int sampler_evaluate(User *u, sample_cause cause) {
        Daemon *d = u->daemon;
        snapshot cheap = {}, full = {};
        bool have_full = false;
        policy_decision dec;
        slice_state trial;
        usec_t now;
        int r;

        if (!u->has_slice || !u->watch.active)
                return 0;

        now = now_usec(CLOCK_MONOTONIC);
        u->last_eval = now;
        u->retry_at = 0;

        r = snapshot_take(d->cgroot_fd, d->procfs_fd, u->cgroup, u->uid, SNAPSHOT_MEMORY, &cheap);
        if (r == -ENOENT || r == -ENODEV) {
                user_slice_gone(u);
                return 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot read %s: %m; retrying", u->cgroup);
                u->retry_at = now + SAMPLER_RETRY_USEC;
                daemon_schedule(d);
                return r;
        }
        prepare(u, &cheap);
        note_sample(u, &cheap);
        (void) limits_update(u, &u->memory, false);

        /* No trigger: avg10 over the threshold stands in for the event. */
        if (u->watch.psi_fallback && u->config.pressure_some > 0 &&
            cheap.slice.pressure.some.avg10 * 100.0 >= (double) u->config.pressure_some) {
                u->psi_event_at = now;
                u->recheck_until = now + 2 * d->pressure_window;
                cheap.slice.psi_event_at = now;
        }

        log_debug("%s: sample (%s): usage %" PRIu64 ", some avg10 %.2f", u->cgroup, cause_names[cause],
                  u->memory.current, u->pressure.some.avg10);

        if (u->kill.active)
                goto done;   /* one kill at a time; it re-evaluates when it ends */

        /* Decide on a copy first: the full task list is only read when the
         * cheap read says there is something to do (without tasks, a kill
         * that is due shows as no_victim). */
        trial = u->state;
        policy_decide(&cheap.slice, &u->effective, d->pressure_window, &trial, now, &dec);
        /* A slice whose every task is protected would otherwise be read in
         * full on every re-check while the pressure lasts. */
        if (dec.action == DECISION_NONE && dec.no_victim && dec.kernel_oom_kills == 0 &&
            now - u->last_no_victim_full < SAMPLER_NO_VICTIM_RECHECK_USEC)
                dec.no_victim = false;
        if (dec.action == DECISION_NONE && !dec.no_victim && dec.kernel_oom_kills == 0) {
                u->state = trial;
                note_no_action(u, &dec, now);
                goto done;
        }

        r = snapshot_take(d->cgroot_fd, d->procfs_fd, u->cgroup, u->uid, SNAPSHOT_TASKS, &full);
        if (r == -ENOENT || r == -ENODEV) {
                snapshot_done(&cheap);
                user_slice_gone(u);
                return 0;
        }
        if (r < 0) {
                /* Nothing committed: the next try decides afresh. */
                log_error_errno(r, "Cannot read the tasks of %s: %m; retrying", u->cgroup);
                u->retry_at = now + SAMPLER_RETRY_USEC;
                goto done;
        }
        have_full = true;
        prepare(u, &full);
        policy_decide(&full.slice, &u->effective, d->pressure_window, &u->state, now, &dec);
        act_remember_tasks(u, &full);

        if (dec.kernel_oom_kills > 0)
                act_kernel_oom(u, dec.kernel_oom_kills);

        switch (dec.action) {
        case DECISION_WARN:
                act_warn(u, &full, &dec);
                break;
        case DECISION_KILL:
        case DECISION_KILL_CGROUP:
                (void) act_kill(u, &full, &dec);
                break;
        case DECISION_NONE:
                if (dec.no_victim)
                        u->last_no_victim_full = now;
                note_no_action(u, &dec, now);
                if (dec.stand_down) {
                        /* Memory is on its way out; look again soon. */
                        log_info("%s: %s", u->cgroup, dec.reason_text);
                        u->next_sample = now + 100 * USEC_PER_MSEC;
                        daemon_schedule(d);
                }
                break;
        }

done:
        update_pressure_flag(u);
        schedule_next(u, now);
        snapshot_done(&cheap);
        if (have_full)
                snapshot_done(&full);
        return 0;
}

int sampler_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        (void) s;
        (void) usec;

        /* The user array only shrinks in the deferred rescan, never in here. */
        for (size_t i = 0; i < d->n_users; i++) {
                User *u = d->users[i];
                usec_t slack;

                if (u->watch.unmute_at && u->watch.unmute_at <= now)
                        watch_unmute(u);
                if (u->slice_retry_at && u->slice_retry_at <= now) {
                        u->slice_retry_at = 0;
                        users_request_rescan(d);
                }
                if (u->oom.next_try && u->oom.next_try <= now)
                        act_kernel_oom_retry(u);
                /* Everything due within its slack goes in this one wake-up. */
                if (user_next_due(u, true, &slack) <= now + slack)
                        (void) sampler_evaluate(u, SAMPLE_TIMER);
        }
        daemon_schedule(d);
        return 0;
}

int sampler_arm(Daemon *d) {
        usec_t earliest = USEC_INFINITY, deadline = USEC_INFINITY;
        int r;

        for (size_t i = 0; i < d->n_users; i++) {
                usec_t slack, due = user_next_due(d->users[i], false, &slack);

                if (due == USEC_INFINITY)
                        continue;
                if (due < earliest)
                        earliest = due;
                if (due + slack < deadline)
                        deadline = due + slack;
        }
        if (earliest == USEC_INFINITY)
                return sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);

        r = sd_event_source_set_time(d->timer, earliest);
        if (r < 0)
                return r;
        /* sd-event reads an accuracy of 0 as its 250 ms default. */
        r = sd_event_source_set_time_accuracy(d->timer, deadline > earliest ? deadline - earliest : 1);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-login.h>

#include "act.h"
#include "oom-report.h"
#include "escape.h"
#include "pace.h"
#include "policy.h"
#include "report.h"
#include "sampler.h"
#include "slice-limits.h"
#include "snapshot.h"
#include "watch.h"

/* A snapshot that fails for want of memory is retried this soon. */
#define SAMPLER_RETRY_USEC (100 * USEC_PER_MSEC)
/* While a limit is being stepped down, follow usage at least this often. */
#define SAMPLER_STEPPING_USEC (5 * USEC_PER_SEC)
/* While the budget just set has not yet shown in the slice's files: the
 * warning levels are only known from there. */
#define SAMPLER_LIMITS_LANDING_USEC (5 * USEC_PER_SEC)
/* Without a PSI trigger, avg10 is sampled at least this often near the budget. */
#define SAMPLER_PSI_FALLBACK_USEC (2 * USEC_PER_SEC)
/* A kill that is due but finds no victim: the tasks are read again at most this often, */
#define SAMPLER_NO_VICTIM_RECHECK_USEC (1 * USEC_PER_SEC)
/* and it is logged at most this often. */
#define SAMPLER_NO_VICTIM_LOG_USEC (60 * USEC_PER_SEC)
/* Policy=growth ranks by growth since a baseline taken before the slice
 * went over, so the tasks are observed from this share of the budget on
 * (permille), */
#define SAMPLER_OBSERVE_FROM 500
/* at most this often, and the slice is sampled at least this often then.
 * Far below the budget nothing is read but the memory files. */
#define SAMPLER_OBSERVE_USEC (2 * USEC_PER_SEC)

/* "Part of the slice could not be read" is logged at most this often. */
#define SAMPLER_WALK_WARNING_USEC (10 * 60 * USEC_PER_SEC)

static const char *const cause_names[] = {
        [SAMPLE_TIMER] = "timer",
        [SAMPLE_PSI] = "psi",
        [SAMPLE_EVENTS] = "memory.events",
        [SAMPLE_START] = "start",
        [SAMPLE_AFTER_KILL] = "after-kill",
};

/* sd_session_get_leader() is in libsystemd 254 and later; Debian 12 has
 * 252. It reads LEADER= from logind's state file, and so does this. */
static int session_leader(const char *session, pid_t *ret) {
        char path[128], buf[4096];
        const char *p;
        uint64_t v;
        int r;

        if (strchr(session, '/') || snprintf(path, sizeof path, "/run/systemd/sessions/%s", session) >= (int) sizeof path)
                return -EINVAL;
        r = read_file_at(AT_FDCWD, path, buf, sizeof buf, NULL);
        if (r < 0)
                return r;
        for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, "LEADER=", 7) == 0) {
                        char num[24];
                        size_t n = strcspn(p + 7, "\n");

                        if (n == 0 || n >= sizeof num)
                                return -EINVAL;
                        memcpy(num, p + 7, n);
                        num[n] = 0;
                        if (parse_u64(num, &v) < 0 || v == 0 || v > INT32_MAX)
                                return -EINVAL;
                        *ret = (pid_t) v;
                        return 0;
                }
        return -ENOENT;
}

/* logind's session leaders of the user: facts the user cannot fake, unlike
 * a name or setsid(). Read from logind's state files, no bus call. */
static void session_leaders(User *u) {
        char **sessions = NULL;
        int n;

        u->n_session_leaders = 0;
        n = sd_uid_get_sessions(u->uid, 0, &sessions);
        if (n < 0) {
                log_debug_errno(n, "Cannot list the sessions of %s: %m", u->name);
                return;
        }
        for (int i = 0; i < n && u->n_session_leaders < USER_SESSIONS_MAX; i++) {
                pid_t leader;

                if (session_leader(sessions[i], &leader) >= 0 && leader > 0)
                        u->session_leaders[u->n_session_leaders++] = leader;
        }
        for (int i = 0; i < n; i++)
                free(sessions[i]);
        free(sessions);
}

static void prepare(User *u, snapshot *s) {
        context *ctx = u->ctx;

        s->slice.psi_event_at = u->psi_event_at;
        /* With a trigger armed its events tell pressure; without, avg10 does. */
        s->slice.psi_trigger = u->watch.active && !u->watch.psi_fallback &&
                               (u->watch.some_fd >= 0 || u->watch.full_fd >= 0);
        s->slice.self_pid = ctx->self;
        if (s->slice.mem_total == 0)
                s->slice.mem_total = ctx->mem_total;
        if (s->slice.swap_total == 0)
                s->slice.swap_total = ctx->swap_total;
        if (!s->slice.same_mm)
                s->slice.same_mm = snapshot_same_mm;
        s->slice.history = &u->history;
        s->slice.subuids = u->subuids;
        s->slice.n_subuids = u->n_subuids;
        session_leaders(u);
        s->slice.session_leaders = u->session_leaders;
        s->slice.n_session_leaders = u->n_session_leaders;
}

static bool near_budget(const User *u) {
        uint64_t budget = policy_budget(&u->memory, &u->effective);

        if (budget == BYTES_INFINITY || budget == 0)
                return false;
        return memstat_usage_held(&u->usage) >= budget / 1000 * SAMPLER_OBSERVE_FROM;
}

static bool observing(const User *u) {
        return u->effective.policy == POLICY_GROWTH && near_budget(u);
}

/* Growth counts from when the slice last passed half of its budget. An
 * observation kept from an earlier approach would make every task started
 * since (an editor opened, a notebook kernel loaded) a grower from 0, so
 * the history goes when usage HELD (or anything that is at least it) is
 * back under half. */
static void forget_growth_under_half(User *u, uint64_t held) {
        uint64_t budget = policy_budget(&u->memory, &u->effective);

        if (u->history.n == 0 || budget == BYTES_INFINITY || held >= budget / 1000 * SAMPLER_OBSERVE_FROM)
                return;
        growth_history_done(&u->history);
        u->last_observed = 0;
}

static void observe(User *u, const snapshot *full, usec_t now) {
        int r = policy_observe_tasks(&u->history, &full->slice, now);

        if (r < 0)
                log_debug_errno(r, "%s: cannot record the tasks' footprints: %m", u->cgroup);
        else
                u->last_observed = now;
}

/* status.json follows real changes only, not every wobble. */
static void note_usage(User *u) {
        uint64_t step, ref;

        ref = u->effective.memory_max != BYTES_INFINITY ? u->effective.memory_max : u->ctx->mem_total;
        step = ref / 20 > (32ULL << 20) ? ref / 20 : (32ULL << 20);
        if (u->memory.current > u->status_usage + step || u->memory.current + step < u->status_usage)
                u->ctx->status_dirty = true;
}

static void note_read(User *u, uint64_t current, usec_t now) {
        u->prev_current = u->memory.current;
        u->prev_read_at = u->read_at;
        u->memory.current = current;
        u->read_at = now;
}

static void note_sample(User *u, const snapshot *s, usec_t now) {
        const cgfs_memory *m = &s->slice.memory;

        note_read(u, m->current, now);
        u->memory = *m;
        policy_usage(&s->slice, &u->state, &u->usage);
        shortage_history_record(&u->usage_history, memstat_usage_held(&u->usage),
                                u->ctx->shortage_growth_window, now);
        u->events = s->slice.events;
        u->pressure = s->slice.pressure;
        u->sampled = true;
        if (m->current > u->peak)
                u->peak = m->current;
        if (m->peak > u->peak)
                u->peak = m->peak;
        note_usage(u);
}

/* The lowest warning level above CURRENT; BYTES_INFINITY past every level
 * or without MemoryMax. */
static uint64_t next_warn_level(const User *u, uint64_t current) {
        if (u->memory.max == BYTES_INFINITY)
                return BYTES_INFINITY;
        for (size_t i = 0; i < u->effective.n_warn; i++) {
                uint64_t level = policy_warn_level_bytes(&u->effective, u->memory.max, i);
                if (current < level)
                        return level;
        }
        return BYTES_INFINITY;
}

static void schedule_next(User *u, usec_t now) {
        usec_t interval = policy_next_sample(&u->memory, &u->effective), step, due;

        if (u->limits.stepping && interval > SAMPLER_STEPPING_USEC)
                interval = SAMPLER_STEPPING_USEC;
        if (u->limits.known && !limits_seen(u, &u->memory) && interval > SAMPLER_LIMITS_LANDING_USEC)
                interval = SAMPLER_LIMITS_LANDING_USEC;
        if (u->watch.psi_fallback && interval > SAMPLER_PSI_FALLBACK_USEC &&
            u->effective.memory_high != BYTES_INFINITY && u->memory.current * 10 >= u->effective.memory_high * 9)
                interval = SAMPLER_PSI_FALLBACK_USEC;
        if (observing(u) && interval > SAMPLER_OBSERVE_USEC)
                interval = SAMPLER_OBSERVE_USEC;
        if (interval < 10 * USEC_PER_MSEC)
                interval = 10 * USEC_PER_MSEC;
        /* On the common grid, finer while usage grows towards a level. */
        step = pace_step_for_growth(interval, u->prev_current, u->prev_read_at, u->memory.current, now,
                                    next_warn_level(u, u->memory.current));
        due = step > 0 ? pace_next(now, step) : now + interval;
        /* A sooner look asked for while evaluating (a kill under way, memory
         * on its way out) or already pending stands. */
        if (u->next_sample <= now || u->next_sample > due)
                u->next_sample = due;
        u->ctx->timer_dirty = true;
}

static void update_pressure_flag(User *u) {
        bool p = u->state.pressure_since != 0 || u->state.throttled_since != 0;

        if (p != u->under_pressure) {
                u->under_pressure = p;
                u->ctx->status_dirty = true;
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

/* The slice went away under a watch: drop the watches and look again. */
static void slice_gone(User *u) {
        log_info("%s of %s (%u) is gone", u->cgroup, u->name, (unsigned) u->uid);
        watch_stop(u);
        u->has_slice = false;
        u->ctx->rescan = true;
        u->ctx->status_dirty = true;
}

/* A user can make parts of their slice unreadable (nesting, long names,
 * threaded cgroups, too many tasks): the walk skips them and memgovd acts
 * on what it could read. Said at most every few minutes per user; the
 * path is the user's own text. */
static void note_unreadable(User *u, const snapshot *s, usec_t now) {
        const cgfs_procs *p = &s->procs;
        char path[1024], skipped[1200] = "", tasks[128] = "";

        if (p->n_skipped == 0 && !p->truncated && s->n_unreadable == 0)
                return;
        if (u->last_walk_warning != 0 && now - u->last_walk_warning < SAMPLER_WALK_WARNING_USEC)
                return;
        u->last_walk_warning = now;
        if (p->n_skipped > 0)
                snprintf(skipped, sizeof skipped, "; %zu subtree(s) left out, the first /%s: %s", p->n_skipped,
                         escape_text(p->first_error_path ?: "?", path, sizeof path), strerror(-p->first_error));
        if (s->n_unreadable > 0)
                snprintf(tasks, sizeof tasks, "; %zu task(s) unreadable: %s", s->n_unreadable,
                         strerror(-s->first_error));
        log_warning("%s of %s (%u): part of the slice could not be read%s%s%s; acting on the %zu task(s) that could",
                    u->cgroup, u->name, (unsigned) u->uid, skipped,
                    p->truncated ? "; the walk stopped at its cap" : "", tasks, s->slice.n_tasks);
}

int sampler_evaluate(User *u, sample_cause cause) {
        context *ctx = u->ctx;
        snapshot cheap = {}, full = {};
        bool have_full = false;
        policy_decision dec;
        slice_state trial, before;
        usec_t now;
        int r;

        if (!u->has_slice || !u->watch.active)
                return 0;

        now = now_usec(CLOCK_MONOTONIC);
        u->last_eval = now;
        u->retry_at = 0;

        r = snapshot_take(ctx->cgroot_fd, ctx->procfs_fd, u->cgroup, u->uid, SNAPSHOT_MEMORY, &cheap);
        if (r == -ENOENT || r == -ENODEV) {
                slice_gone(u);
                return 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot read %s: %m; retrying", u->cgroup);
                u->retry_at = now + SAMPLER_RETRY_USEC;
                ctx->timer_dirty = true;
                return r;
        }
        prepare(u, &cheap);
        note_sample(u, &cheap, now);
        forget_growth_under_half(u, memstat_usage_held(&u->usage));
        (void) limits_update(u, &u->memory, false);

        /* No trigger: avg10 over the threshold stands in for the event. */
        if (u->watch.psi_fallback && u->config.pressure_some > 0 &&
            cheap.slice.pressure.some.avg10 * 100.0 >= (double) u->config.pressure_some) {
                u->psi_event_at = now;
                u->recheck_until = now + 2 * ctx->pressure_window;
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
        policy_decide(&cheap.slice, &u->effective, ctx->pressure_window, &trial, now, &dec);
        /* A slice whose every task is protected would otherwise be read in
         * full on every re-check while the pressure lasts. */
        if (dec.action == DECISION_NONE && dec.no_victim && dec.kernel_oom_kills == 0 &&
            now - u->last_no_victim_full < SAMPLER_NO_VICTIM_RECHECK_USEC)
                dec.no_victim = false;
        if (dec.action == DECISION_NONE && !dec.no_victim && dec.kernel_oom_kills == 0) {
                u->state = trial;
                note_no_action(u, &dec, now);
                if (observing(u) && (u->last_observed == 0 || now - u->last_observed >= SAMPLER_OBSERVE_USEC) &&
                    snapshot_take(ctx->cgroot_fd, ctx->procfs_fd, u->cgroup, u->uid, SNAPSHOT_TASKS, &full) >= 0) {
                        have_full = true;
                        observe(u, &full, now);
                        oom_report_remember(u, &full);
                }
                goto done;
        }

        r = snapshot_take(ctx->cgroot_fd, ctx->procfs_fd, u->cgroup, u->uid, SNAPSHOT_TASKS, &full);
        if (r == -ENOENT || r == -ENODEV) {
                snapshot_done(&cheap);
                slice_gone(u);
                return 0;
        }
        if (r < 0) {
                /* Nothing committed: the next try decides afresh. */
                log_error_errno(r, "Cannot read the tasks of %s: %m; retrying", u->cgroup);
                u->retry_at = now + SAMPLER_RETRY_USEC;
                goto done;
        }
        have_full = true;
        note_unreadable(u, &full, now);
        prepare(u, &full);
        /* The decision ranks by growth up to now. */
        if (observing(u))
                observe(u, &full, now);
        before = u->state;
        policy_decide(&full.slice, &u->effective, ctx->pressure_window, &u->state, now, &dec);
        oom_report_remember(u, &full);

        if (dec.kernel_oom_kills > 0)
                oom_report_kills(u, dec.kernel_oom_kills);

        switch (dec.action) {
        case DECISION_WARN:
                act_warn(u, &full, &dec);
                break;
        case DECISION_KILL:
        case DECISION_KILL_CGROUP:
                /* Every kill round busy: undecided, so that the retry
                 * (u->retry_at) decides again on the same evidence. A kill
                 * decision reports no kernel OOM kill, so none is lost. */
                if (act_kill(u, &full, &dec) == -EBUSY)
                        u->state = before;
                break;
        case DECISION_NONE:
                if (dec.no_victim)
                        u->last_no_victim_full = now;
                note_no_action(u, &dec, now);
                if (dec.stand_down) {
                        /* Memory is on its way out; look again soon. */
                        log_info("%s: %s", u->cgroup, dec.reason_text);
                        u->next_sample = now + 100 * USEC_PER_MSEC;
                        ctx->timer_dirty = true;
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

void sampler_on_watch(User *u, watch_event ev) {
        switch (ev) {
        case WATCH_PSI:
                (void) sampler_evaluate(u, SAMPLE_PSI);
                break;
        case WATCH_EVENTS:
                (void) sampler_evaluate(u, SAMPLE_EVENTS);
                break;
        case WATCH_GONE:
                slice_gone(u);
                break;
        }
}

bool sampler_idle_look(User *u) {
        usec_t now, step;
        uint64_t current;
        char buf[64];

        /* Anything going on, or a warning to re-arm: the full evaluation. */
        if (!u->has_slice || !u->watch.active || u->watch.current_fd < 0 || !u->sampled ||
            u->watch.psi_fallback || u->watch.unmute_at != 0 || u->kill.active || u->limits.stepping ||
            u->state.pressure_since != 0 || u->state.throttled_since != 0 || u->state.warned != 0 ||
            u->retry_at != 0)
                return false;
        /* The warning levels come from the last full sample's memory.max:
         * one taken before the budget landed (a new login, a restart, a
         * reload) would keep every idle look blind to them. */
        if (!limits_seen(u, &u->memory))
                return false;
        now = now_usec(CLOCK_MONOTONIC);
        if (u->recheck_until > now)
                return false;
        /* A failed read is for the full evaluation to explain (a slice gone). */
        if (read_fd(u->watch.current_fd, buf, sizeof buf, NULL) < 0 || parse_u64(buf, &current) < 0)
                return false;

        /* Near a level, or growing towards one faster than the idle grid
         * can follow: the full evaluation, which schedules the finer look. */
        {
                cgfs_memory m = u->memory;
                m.current = current;
                usec_t interval = policy_next_sample(&m, &u->effective);
                uint64_t budget = policy_budget(&m, &u->effective);

                if (interval < PACE_STEP_IDLE)
                        return false;
                /* Policy=growth observes the tasks from there on: usage
                 * (cache included) over-estimates what observing() counts. */
                if (u->effective.policy == POLICY_GROWTH && budget != BYTES_INFINITY &&
                    current >= budget / 1000 * SAMPLER_OBSERVE_FROM)
                        return false;
                step = pace_step_for_growth(interval, u->memory.current, u->read_at, current, now,
                                            next_warn_level(u, current));
                if (step < PACE_STEP_IDLE)
                        return false;
        }

        note_read(u, current, now);
        forget_growth_under_half(u, current);
        /* Usage, cache included, is at least what the slice held: growth
         * measured from it is never more than the slice really grew, and a
         * job that starts between two full samples still has a baseline
         * from before it when the machine runs short. */
        shortage_history_record(&u->usage_history, current, u->ctx->shortage_growth_window, now);
        if (current > u->peak)
                u->peak = current;
        note_usage(u);
        u->next_sample = pace_next(now, step);
        u->ctx->timer_dirty = true;
        log_debug("%s: idle look: usage %" PRIu64, u->cgroup, current);
        return true;
}

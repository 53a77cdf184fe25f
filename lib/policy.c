/* SPDX-License-Identifier: GPL-2.0-or-later */
/* When to act: warnings, the evidence for a kill, and the victims of one round. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "policy.h"

static const char *const reason_names[_KILL_REASON_MAX] = {
        [KILL_REASON_NONE]     = "none",
        [KILL_REASON_PRESSURE] = "pressure",
        [KILL_REASON_MAX]      = "max",
        [KILL_REASON_DEADLINE] = "deadline",
        [KILL_REASON_OOM]      = "oom",
        [KILL_REASON_SHORTAGE] = "shortage",
};

const char *kill_reason_to_string(kill_reason r) {
        return r >= 0 && r < _KILL_REASON_MAX ? reason_names[r] : "?";
}

uint64_t policy_budget(const cgfs_memory *m, const user_config *uc) {
        assert(m);
        assert(uc);

        if (m->high != BYTES_INFINITY)
                return m->high;
        if (m->max != BYTES_INFINITY) {
                unsigned top = uc->n_warn > 0 ? uc->warn[uc->n_warn - 1] : 9500;
                return m->max / 10000 * top;
        }
        return BYTES_INFINITY;
}

bool policy_over_budget(const cgfs_memory *m, const user_config *uc) {
        if (m->high != BYTES_INFINITY)
                return m->current >= m->high - m->high / 64;
        if (m->max != BYTES_INFINITY) {
                unsigned top = uc->n_warn > 0 ? uc->warn[uc->n_warn - 1] : 9500;
                return m->current >= m->max / 10000 * top;
        }
        return false;
}

bool policy_usage_over_budget(const memstat_usage *u, const cgfs_memory *m, const user_config *uc) {
        uint64_t budget;

        assert(u);

        if (!policy_over_budget(m, uc))
                return false;
        budget = policy_budget(m, uc);
        return budget != BYTES_INFINITY && u->unreclaimable >= budget - budget / POLICY_BUDGET_SLACK;
}

void policy_usage(const slice_snapshot *s, const slice_state *state, memstat_usage *ret) {
        assert(s);
        assert(state);

        memstat_usage_compute(&s->memory, s->has_stat ? &s->stat : NULL,
                              memstat_can_swap(&s->memory, s->swap_total, s->swap_free), state->file_thrashing, ret);
}

static bool under_pressure(const slice_snapshot *s, const user_config *uc, usec_t window, usec_t now) {
        /* The kernel sends at most one event per window while the stall
         * lasts, so an event in the last two windows means it still does. */
        if (s->psi_trigger)
                return s->psi_event_at > 0 && now >= s->psi_event_at && now - s->psi_event_at <= 2 * window;
        if (uc->pressure_some > 0 && s->pressure.some.avg10 * 100.0 >= (double) uc->pressure_some)
                return true;
        if (uc->pressure_full > 0 && s->pressure.has_full &&
            s->pressure.full.avg10 * 100.0 >= (double) uc->pressure_full)
                return true;
        return false;
}

uint64_t policy_warn_level_bytes(const user_config *uc, uint64_t max, size_t i) {
        return max / 10000 * uc->warn[i] + max % 10000 * uc->warn[i] / 10000;
}

static void format_usage(const memstat_usage *u, char *buf, size_t size) {
        char total[FORMAT_BYTES_MAX], cache[FORMAT_BYTES_MAX], swappable[FORMAT_BYTES_MAX];

        if (!u->known) {
                snprintf(buf, size, "%s used", format_bytes(total, sizeof total, u->total));
                return;
        }
        snprintf(buf, size, "%s used, %s of it cache%s%s%s", format_bytes(total, sizeof total, u->total),
                 format_bytes(cache, sizeof cache, u->cache), u->swappable > 0 ? ", " : "",
                 u->swappable > 0 ? format_bytes(swappable, sizeof swappable, u->swappable) : "",
                 u->swappable > 0 ? " swappable" : "");
}

/* Warnings go by unreclaimable usage: a slice full of cache is not about
 * to be killed, and telling its user so would teach them to ignore us. */
static void decide_warn(const slice_snapshot *s, const user_config *uc, slice_state *state, usec_t now,
                        policy_decision *ret) {
        const cgfs_memory *m = &s->memory;
        uint64_t used = ret->usage.unreclaimable;
        size_t crossed = SIZE_MAX;

        if (m->max == BYTES_INFINITY || uc->n_warn == 0)
                return;

        for (size_t i = 0; i < uc->n_warn && i < CONFIG_MAX_WARN; i++) {
                uint64_t level = policy_warn_level_bytes(uc, m->max, i);
                unsigned rearm = uc->warn[i] > POLICY_WARN_HYSTERESIS ? uc->warn[i] - POLICY_WARN_HYSTERESIS : 0;

                if (used >= level)
                        crossed = i;
                else if ((state->warned & (1U << i)) && used < m->max / 10000 * rearm)
                        state->warned &= ~(1U << i);
        }
        if (crossed == SIZE_MAX || (state->warned & (1U << crossed)))
                return;
        if (state->last_warn[crossed] > 0 && now - state->last_warn[crossed] < POLICY_WARN_INTERVAL_USEC)
                return;

        /* One warning for the highest level reached; the lower ones count as told. */
        state->warned |= (2U << crossed) - 1;
        state->last_warn[crossed] = now;
        ret->action = DECISION_WARN;
        ret->warn_level = crossed;
        /* A kill that was due but held back keeps its explanation. */
        if (ret->reason_text[0])
                return;
        char unrecl[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX], usage[128];
        format_usage(&ret->usage, usage, sizeof usage);
        snprintf(ret->reason_text, sizeof ret->reason_text, "%s %s reached %u%% of MemoryMax=%s (%s)",
                 ret->usage.known ? "unreclaimable usage" : "usage", format_bytes(unrecl, sizeof unrecl, used),
                 uc->warn[crossed] / 100, format_bytes(max, sizeof max, m->max), usage);
}

static bool pid_taken(const policy_decision *ret, pid_t pid) {
        for (size_t i = 0; i < ret->n_pids; i++)
                if (ret->pids[i] == pid)
                        return true;
        return false;
}

/* Adds the victim and, like the kernel, every task sharing its mm, or its
 * memory would not be freed. Only -1000 and kernel threads are spared. */
static void collect_victim_pids(const slice_snapshot *s, size_t victim, policy_decision *ret, policy_victim *v) {
        const procfs_task *t0 = &s->tasks[victim].task;

        v->first_pid = ret->n_pids;
        ret->pids[ret->n_pids++] = t0->pid;
        if (s->same_mm)
                for (size_t i = 0; i < s->n_tasks && ret->n_pids < POLICY_MAX_VICTIM_PIDS; i++) {
                        const procfs_task *t = &s->tasks[i].task;
                        if (i == victim || t->kernel_thread || t->oom_score_adj <= -1000 || t->pid == s->self_pid ||
                            procfs_state_is_dead(t->state) || pid_taken(ret, t->pid))
                                continue;
                        if (s->same_mm(s->same_mm_userdata, t0->pid, t->pid) == 1)
                                ret->pids[ret->n_pids++] = t->pid;
                }
        v->n_pids = ret->n_pids - v->first_pid;
}

static const char *task_cgroup(const slice_snapshot *s, size_t i) {
        return s->tasks[i].cgroup ? s->tasks[i].cgroup : s->cgroup;
}

/* A cgroup kill takes the whole subtree (cgroup.kill): if anything in it is
 * protected, or soft-protected (the login shell, a tmux server that stayed
 * small; SOFT: by task index, may be NULL), a process kill is the right tool. */
static bool cgroup_holds_protected(const slice_snapshot *s, const user_config *uc, const char *cgroup,
                                   const bool *soft) {
        for (size_t i = 0; i < s->n_tasks; i++) {
                const char *cg = task_cgroup(s, i);
                policy_protect p;

                if (!cg || !policy_cgroup_within(cg, cgroup))
                        continue;
                p = policy_classify(s, uc, i);
                if (p != PROTECT_NONE && p != PROTECT_EXITING)
                        return true;
                if (p == PROTECT_NONE && soft && soft[i])
                        return true;
        }
        return false;
}

static uint64_t cgroup_rss(const slice_snapshot *s, const char *cgroup) {
        uint64_t sum = 0;

        for (size_t i = 0; i < s->n_tasks; i++) {
                const char *cg = task_cgroup(s, i);
                if (cg && policy_cgroup_within(cg, cgroup))
                        sum += s->tasks[i].task.rss_bytes;
        }
        return sum;
}

/* A task that is exiting and still holds a good share of the slice (1/16
 * of usage, and 64 MiB always counts): its memory is about to come back.
 * Zombies hold none. */
static const procfs_task *find_dying(const slice_snapshot *s) {
        uint64_t floor = policy_slice_usage(s) / 16;

        if (floor > (64ULL << 20))
                floor = 64ULL << 20;
        for (size_t i = 0; i < s->n_tasks; i++) {
                const procfs_task *t = &s->tasks[i].task;
                uint64_t footprint = policy_task_footprint(t);

                if (t->exiting && !t->kernel_thread && footprint > 0 && footprint >= floor)
                        return t;
        }
        return NULL;
}

/* Unreclaimable usage above the target a round of kills aims for. */
static uint64_t kill_need(const slice_snapshot *s, const user_config *uc, const memstat_usage *u) {
        uint64_t budget = policy_budget(&s->memory, uc), target;

        if (budget == BYTES_INFINITY)
                return 0;
        target = budget - budget / POLICY_TARGET_SLACK;
        return u->unreclaimable > target ? u->unreclaimable - target : 0;
}

static bool add_victim(const slice_snapshot *s, const user_config *uc, const policy_candidate *c,
                       const bool *soft, policy_decision *ret) {
        policy_victim *v = &ret->victims[ret->n_victims];
        const policy_task *t = &s->tasks[c->index];
        const char *cg = task_cgroup(s, c->index);

        if (pid_taken(ret, t->task.pid))
                return false;     /* went with an earlier victim: it shares that one's memory */
        for (size_t i = 0; i < ret->n_victims; i++)
                if (ret->victims[i].cgroup && cg && strcmp(ret->victims[i].cgroup, cg) == 0)
                        return false;     /* its cgroup goes already */

        *v = (policy_victim) { .index = c->index, .score = c->score, .frees = t->task.rss_bytes };
        if (uc->kill_scope == KILL_SCOPE_CGROUP && t->cgroup && strcmp(t->cgroup, s->cgroup) != 0 &&
            !cgroup_holds_protected(s, uc, t->cgroup, soft)) {
                v->cgroup = t->cgroup;
                v->frees = cgroup_rss(s, t->cgroup);
        }
        collect_victim_pids(s, c->index, ret, v);
        ret->frees += v->frees;
        ret->n_victims++;
        return true;
}

/* Under Policy=growth, what the tasks that would stay have grown by while
 * observed: a swarm (build workers) goes on growing while its first
 * members die, so a round must also cover that, or the slice is back over
 * its budget a second later and the swarm dies one round at a time. */
static uint64_t growth_of_unchosen(const policy_candidate *ranked, size_t n, size_t from) {
        uint64_t sum = 0;

        for (size_t i = from; i < n; i++) {
                if (ranked[i].protect != PROTECT_NONE || ranked[i].soft != SOFT_NONE)
                        continue;
                if (ranked[i].score > 0)
                        sum += (uint64_t) ranked[i].score;
        }
        return sum;
}

/* The shell job (process group) that two or more victims of the round
 * share, 0 for none. Such a job is a swarm the user started with one
 * command line, `make -j12` or a parallel pipeline. Its members left
 * behind go on growing into what the round frees; while the kernel
 * throttles them at MemoryHigh their growth shows too little of what they
 * still need, and the slice is back over its budget a moment later. Not
 * the session's own group (pgrp == sid: the login shell's, or every task
 * of a shell without job control, where a group is no job), and not a
 * group holding a protected or soft-protected task. */
static pid_t shared_job(const slice_snapshot *s, const user_config *uc, const bool *soft,
                        const policy_decision *ret) {
        for (size_t i = 0; i < ret->n_victims; i++) {
                const procfs_task *t = &s->tasks[ret->victims[i].index].task;
                bool shared = false, clean = true;

                if (t->pgrp <= 0 || t->pgrp == t->sid)
                        continue;
                for (size_t j = i + 1; j < ret->n_victims && !shared; j++)
                        shared = s->tasks[ret->victims[j].index].task.pgrp == t->pgrp;
                if (!shared)
                        continue;
                for (size_t k = 0; k < s->n_tasks && clean; k++) {
                        policy_protect p;

                        if (s->tasks[k].task.pgrp != t->pgrp)
                                continue;
                        p = policy_classify(s, uc, k);
                        clean = (p == PROTECT_NONE && !soft[k]) || p == PROTECT_EXITING;
                }
                if (clean)
                        return t->pgrp;
        }
        return 0;
}

/* Victims in policy order until what they free covers the need: one
 * unless the first is too small, as in a swarm of build workers. Two of
 * them in one shell job take the rest of that job with them, as Ctrl-C
 * would (shared_job()). */
static int choose_victims(const slice_snapshot *s, const user_config *uc, policy_decision *ret) {
        _cleanup_free_ policy_candidate *ranked = NULL;
        _cleanup_free_ bool *soft = NULL;

        /* Bounded by the slice's task count; the caller holds the snapshot anyway. */
        ranked = calloc(s->n_tasks, sizeof *ranked);
        soft = calloc(s->n_tasks ? s->n_tasks : 1, sizeof *soft);
        if (!ranked || !soft) {
                /* Without memory to rank, fall back to the largest unprotected RSS. */
                policy_candidate best = { .index = SIZE_MAX };
                for (size_t i = 0; i < s->n_tasks; i++)
                        if (policy_classify(s, uc, i) == PROTECT_NONE &&
                            (best.index == SIZE_MAX || s->tasks[i].task.rss_bytes > s->tasks[best.index].task.rss_bytes))
                                best = (policy_candidate) { .index = i, .score = (int64_t) s->tasks[i].task.rss_bytes };
                if (best.index == SIZE_MAX)
                        return -ESRCH;
                (void) add_victim(s, uc, &best, NULL, ret);
                return 0;
        }
        policy_rank(s, uc, uc->policy, ranked);
        for (size_t i = 0; i < s->n_tasks; i++)
                soft[ranked[i].index] = ranked[i].soft != SOFT_NONE;
        for (size_t i = 0; i < s->n_tasks; i++) {
                if (ranked[i].protect != PROTECT_NONE)
                        break;   /* protected tasks are ranked last */
                /* Soft-protected tasks come after the rest: one of them is
                 * chosen only when nothing else is left, and never to make
                 * up a round. */
                if (ranked[i].soft != SOFT_NONE && ret->n_victims > 0)
                        break;
                if (ret->n_victims > 0 && ret->frees >= ret->need &&
                    (uc->policy != POLICY_GROWTH ||
                     ret->frees - ret->need >= growth_of_unchosen(ranked, s->n_tasks, i)))
                        break;
                if (ret->n_victims == POLICY_MAX_VICTIMS || ret->n_pids == POLICY_MAX_VICTIM_PIDS)
                        break;
                (void) add_victim(s, uc, &ranked[i], soft, ret);
        }
        ret->job = shared_job(s, uc, soft, ret);
        if (ret->job > 0) {
                size_t before = ret->n_victims;

                for (size_t i = 0; i < s->n_tasks; i++) {
                        if (ranked[i].protect != PROTECT_NONE || ranked[i].soft != SOFT_NONE ||
                            s->tasks[ranked[i].index].task.pgrp != ret->job)
                                continue;
                        if (ret->n_victims == POLICY_MAX_VICTIMS || ret->n_pids == POLICY_MAX_VICTIM_PIDS)
                                break;
                        (void) add_victim(s, uc, &ranked[i], soft, ret);
                }
                ret->job_victims = ret->n_victims - before;
        }
        return ret->n_victims > 0 ? 0 : -ESRCH;
}

static const char *reason_why(kill_reason reason) {
        switch (reason) {
        case KILL_REASON_PRESSURE:
                return "sustained memory pressure over budget";
        case KILL_REASON_OOM:
                return "out of memory at MemoryMax";
        case KILL_REASON_DEADLINE:
                return "stalled at MemoryHigh without progress past ThrottleDeadline";
        case KILL_REASON_SHORTAGE:
                return "the machine ran short of memory";
        default:
                return kill_reason_to_string(reason);
        }
}

/* How long a task that is exiting may hold the decision back: its memory
 * should come back within a grace; one stuck in exit (D state, a huge
 * munmap, a user's trick) must not shield the slice for ever. */
#define POLICY_STAND_DOWN_MIN_USEC (5 * USEC_PER_SEC)

static usec_t stand_down_limit(const user_config *uc) {
        usec_t twice = uc->kill_grace > USEC_INFINITY / 2 ? USEC_INFINITY : 2 * uc->kill_grace;

        return twice > POLICY_STAND_DOWN_MIN_USEC ? twice : POLICY_STAND_DOWN_MIN_USEC;
}

static void decide_kill(const slice_snapshot *s, const user_config *uc, kill_reason reason, usec_t now,
                        slice_state *state, policy_decision *ret) {
        const procfs_task *dying, *v;
        char rss[FORMAT_BYTES_MAX], frees[FORMAT_BYTES_MAX], usage[128], more[128] = "", comm[ESCAPE_COMM_MAX];

        ret->reason = reason;
        if (state->last_kill > 0 && now - state->last_kill < uc->cooldown) {
                ret->in_cooldown = true;
                snprintf(ret->reason_text, sizeof ret->reason_text, "%s: held back by Cooldown=",
                         kill_reason_to_string(reason));
                return;
        }
        if (ret->kernel_oom_kills > 0) {
                ret->stand_down = true;
                snprintf(ret->reason_text, sizeof ret->reason_text,
                         "%s: the kernel's OOM killer acted in this slice; waiting for its victim's memory",
                         kill_reason_to_string(reason));
                return;
        }
        dying = find_dying(s);
        if (dying && (state->dying_pid != dying->pid || state->dying_start_time != dying->start_time)) {
                state->dying_pid = dying->pid;
                state->dying_start_time = dying->start_time;
                state->dying_since = now;
        }
        if (dying && now - state->dying_since < stand_down_limit(uc)) {
                ret->stand_down = true;
                ret->dying_pid = dying->pid;
                snprintf(ret->reason_text, sizeof ret->reason_text,
                         "%s: pid %d (%s) is already exiting; waiting for its memory",
                         kill_reason_to_string(reason), (int) dying->pid, escape_text(dying->comm, comm, sizeof comm));
                return;
        }
        if (s->n_tasks == 0) {
                ret->no_victim = true;
                snprintf(ret->reason_text, sizeof ret->reason_text, "%s: no task to choose from",
                         kill_reason_to_string(reason));
                return;
        }
        /* A shortage sets its own need: the slice is under its budget. */
        if (reason != KILL_REASON_SHORTAGE)
                ret->need = kill_need(s, uc, &ret->usage);
        if (choose_victims(s, uc, ret) < 0) {
                ret->no_victim = true;
                snprintf(ret->reason_text, sizeof ret->reason_text, "%s: every task is protected",
                         kill_reason_to_string(reason));
                return;
        }

        ret->victim = ret->victims[0].index;
        ret->score = ret->victims[0].score;
        ret->cgroup = ret->victims[0].cgroup;
        v = &s->tasks[ret->victim].task;
        /* An OOM in progress leaves no time for a grace; evidence of a stall does. */
        ret->signal = reason == KILL_REASON_OOM ? SIGKILL : SIGTERM;
        ret->action = ret->cgroup ? DECISION_KILL_CGROUP : DECISION_KILL;
        if (ret->n_victims > 1 && ret->job > 0)
                snprintf(more, sizeof more, " and %zu more, the rest of its job (process group %d) among them, freeing %s",
                         ret->n_victims - 1, (int) ret->job, format_bytes(frees, sizeof frees, ret->frees));
        else if (ret->n_victims > 1)
                snprintf(more, sizeof more, " and %zu more, freeing %s", ret->n_victims - 1,
                         format_bytes(frees, sizeof frees, ret->frees));
        format_usage(&ret->usage, usage, sizeof usage);
        /* The reason is logged and sent as it is: the comm, which the user
         * chose, goes in escaped. */
        snprintf(ret->reason_text, sizeof ret->reason_text, "%s (%s): %s '%s' (pid %d, rss %s, %s score %" PRId64 ")%s%s",
                 reason_why(reason), usage, ret->action == DECISION_KILL_CGROUP ? "killing the cgroup of" : "killing",
                 escape_text(v->comm, comm, sizeof comm), (int) v->pid, format_bytes(rss, sizeof rss, v->rss_bytes),
                 policy_kind_to_string(uc->policy), ret->score, more,
                 uc->kill_scope == KILL_SCOPE_CGROUP && ret->action == DECISION_KILL
                         ? " (process scope: its cgroup holds protected tasks)" : "");
}

/* Progress is judged over POLICY_PROGRESS_INTERVAL_USEC or more, from the
 * reference sample to this one; the verdict holds until the next judgement. */
static void update_progress(const slice_snapshot *s, slice_state *state, usec_t now) {
        memstat_sample cur;

        if (!s->has_stat) {
                state->progress = MEMSTAT_PROGRESS_UNKNOWN;
                state->file_thrashing = false;
                state->progress_ref = (memstat_sample) {};
                return;
        }
        cur = (memstat_sample) { .stat = s->stat, .current = s->memory.current, .at = now };
        if (state->progress_ref.at == 0 || now < state->progress_ref.at) {
                state->progress_ref = cur;
                return;
        }
        if (now - state->progress_ref.at < POLICY_PROGRESS_INTERVAL_USEC)
                return;
        state->progress = memstat_progress_between(&state->progress_ref, &cur);
        state->file_thrashing = memstat_file_thrashing(&state->progress_ref, &cur);
        state->progress_ref = cur;
}

void policy_decide(const slice_snapshot *s, const user_config *uc, usec_t pressure_window, slice_state *state,
                   usec_t now, policy_decision *ret) {
        const cgfs_memory *m;
        const cgfs_events *e, *el;
        bool oom_rose, stalled, pressure, over, throttled, progressing;
        kill_reason reason = KILL_REASON_NONE;

        assert(s);
        assert(uc);
        assert(state);
        assert(ret);

        *ret = (policy_decision) { .action = DECISION_NONE };
        m = &s->memory;
        e = &s->events;
        /* max, high and oom of the slice's own limits only: a descendant that
         * hits a lower limit of its own is the kernel's to handle (its OOM
         * kill still shows in the hierarchical oom_kill). */
        el = &s->events_local;

        /* Counters from before we watched the slice are history, not news. */
        if (!state->initialized) {
                state->last_max_events = el->max;
                state->last_high_events = el->high;
                state->last_oom_kill = e->oom_kill;
                state->last_oom = el->oom;
                state->initialized = true;
        }
        if (e->oom_kill > state->last_oom_kill)
                ret->kernel_oom_kills = e->oom_kill - state->last_oom_kill;
        oom_rose = el->oom > state->last_oom;
        /* The kernel throttled (high) or failed a charge (max) since last time:
         * the slice stalls. Neither alone is evidence for a kill: reclaim
         * follows both, and usually succeeds. */
        stalled = el->high > state->last_high_events || el->max > state->last_max_events;
        state->last_oom_kill = e->oom_kill;
        state->last_oom = el->oom;
        state->last_max_events = el->max;
        state->last_high_events = el->high;

        update_progress(s, state, now);
        policy_usage(s, state, &ret->usage);
        over = policy_usage_over_budget(&ret->usage, m, uc);
        stalled = stalled || under_pressure(s, uc, pressure_window, now);

        pressure = under_pressure(s, uc, pressure_window, now) && over;
        if (!pressure)
                state->pressure_since = 0;
        else if (state->pressure_since == 0)
                state->pressure_since = now;

        /* ThrottleDeadline= counts time at MemoryHigh without progress, not
         * time at MemoryHigh: a copy writing back its cache, or a job
         * swapping within its allowance, is throttled and progressing.
         * Without memory.stat there is no telling, and all of it counts. */
        progressing = s->has_stat ? state->progress != MEMSTAT_PROGRESS_NONE : false;
        throttled = m->high != BYTES_INFINITY && m->current > m->high && !progressing;
        if (!throttled)
                state->throttled_since = 0;
        else if (state->throttled_since == 0 && stalled)
                state->throttled_since = now;

        if (oom_rose && m->max != BYTES_INFINITY)
                reason = KILL_REASON_OOM;
        else if (state->pressure_since > 0 && now - state->pressure_since >= uc->pressure_duration)
                reason = KILL_REASON_PRESSURE;
        else if (state->throttled_since > 0 && uc->throttle_deadline != USEC_INFINITY &&
                 now - state->throttled_since >= uc->throttle_deadline && over)
                reason = KILL_REASON_DEADLINE;

        if (reason != KILL_REASON_NONE) {
                decide_kill(s, uc, reason, now, state, ret);
                if (ret->action != DECISION_NONE)
                        return;
        }
        decide_warn(s, uc, state, now, ret);
}

void policy_decide_shortage(const slice_snapshot *s, const user_config *uc, const policy_shortage *why,
                            slice_state *state, usec_t now, policy_decision *ret) {
        char why_process[POLICY_REASON_MAX];

        assert(s);
        assert(uc);
        assert(why);
        assert(state);
        assert(ret);

        *ret = (policy_decision) { .action = DECISION_NONE, .need = why->need, .shortage = *why };
        ret->shortage.why = NULL;
        policy_usage(s, state, &ret->usage);
        decide_kill(s, uc, KILL_REASON_SHORTAGE, now, state, ret);
        /* Why this user, then why this process. */
        memcpy(why_process, ret->reason_text, sizeof why_process);
        snprintf(ret->reason_text, sizeof ret->reason_text, "%s", why->why ? why->why : "machine short");
        strbuf_append(ret->reason_text, sizeof ret->reason_text, "; %s", why_process);
}

bool policy_snapshot_recovered(const slice_snapshot *fresh, const user_config *uc, const slice_state *state) {
        memstat_usage u;

        assert(fresh);
        assert(uc);
        assert(state);

        if (fresh->events.oom_kill > state->last_oom_kill)
                return true;
        if (fresh->events_local.oom > state->last_oom)
                return false;
        policy_usage(fresh, state, &u);
        return !policy_usage_over_budget(&u, &fresh->memory, uc);
}

bool policy_recovered(const cgfs_memory *m, const cgfs_events *e, const cgfs_events *e_local,
                      const user_config *uc, const slice_state *state) {
        slice_snapshot fresh = {};

        assert(m);
        assert(e);
        assert(e_local);

        fresh.memory = *m;
        fresh.events = *e;
        fresh.events_local = *e_local;
        return policy_snapshot_recovered(&fresh, uc, state);
}

usec_t policy_next_sample(const cgfs_memory *m, const user_config *uc) {
        uint64_t next = BYTES_INFINITY, distance;

        assert(m);
        assert(uc);

        if (m->max == BYTES_INFINITY || uc->n_warn == 0)
                return 30 * USEC_PER_SEC;

        for (size_t i = 0; i < uc->n_warn; i++) {
                uint64_t level = policy_warn_level_bytes(uc, m->max, i);
                if (m->current < level) {
                        next = level;
                        break;
                }
        }
        /* Past every level: memory.events and PSI wake us for what matters;
         * sampling only re-arms warnings and steps limits down. */
        if (next == BYTES_INFINITY)
                return 10 * USEC_PER_SEC;

        /* How far, as a share of the budget, usage is from the next level. */
        /* Far below, every 15 s: a sudden jump is warned within that, and
         * three idle users with the watchdog still wake memgovd only 8 times
         * a minute. */
        distance = (next - m->current) / (m->max / 100 ? m->max / 100 : 1);
        if (distance >= 40)
                return 15 * USEC_PER_SEC;
        if (distance >= 20)
                return 10 * USEC_PER_SEC;
        if (distance >= 10)
                return 5 * USEC_PER_SEC;
        if (distance >= 3)
                return 2 * USEC_PER_SEC;
        return USEC_PER_SEC;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const char *const protect_names[_PROTECT_MAX] = {
        [PROTECT_NONE]          = "",
        [PROTECT_OOM_SCORE_ADJ] = "oom_score_adj=-1000",
        [PROTECT_KERNEL_THREAD] = "kernel thread",
        [PROTECT_EXITING]       = "exiting",
        [PROTECT_NAME]          = "Protect=",
        [PROTECT_SELF]          = "memgovd",
        [PROTECT_OUTSIDE]       = "outside user.slice",
        [PROTECT_LOGIN_CHAIN]   = "login chain",
};

const char *policy_protect_to_string(policy_protect p) {
        return p >= 0 && p < _PROTECT_MAX ? protect_names[p] : "?";
}

static const char *const reason_names[_KILL_REASON_MAX] = {
        [KILL_REASON_NONE]     = "none",
        [KILL_REASON_PRESSURE] = "pressure",
        [KILL_REASON_MAX]      = "max",
        [KILL_REASON_DEADLINE] = "deadline",
};

const char *kill_reason_to_string(kill_reason r) {
        return r >= 0 && r < _KILL_REASON_MAX ? reason_names[r] : "?";
}

uint64_t policy_task_footprint(const procfs_task *t) {
        return t->rss_bytes + t->swap_bytes;
}

uint64_t policy_totalpages(const slice_snapshot *s) {
        /* As mem_cgroup_get_max() for a memcg OOM: the limit plus the swap
         * the cgroup may use; for an unlimited slice, as a global OOM does:
         * all of RAM and swap. */
        if (s->memory.max != BYTES_INFINITY) {
                uint64_t swap = s->memory.swap_max < s->swap_total ? s->memory.swap_max : s->swap_total;
                return (s->memory.max + swap) / POLICY_PAGE_SIZE;
        }
        return (s->mem_total + s->swap_total) / POLICY_PAGE_SIZE;
}

int64_t policy_badness(const procfs_task *t, uint64_t totalpages) {
        /* mm/oom_kill.c oom_badness(): integer division of totalpages first,
         * exactly as the kernel does, so ranks match /proc/PID/oom_score. */
        int64_t points = (int64_t) (t->rss_bytes / POLICY_PAGE_SIZE) +
                         (int64_t) (t->swap_bytes / POLICY_PAGE_SIZE) +
                         (int64_t) (t->pgtables_bytes / POLICY_PAGE_SIZE);
        int64_t adj = (int64_t) t->oom_score_adj * (int64_t) (totalpages / 1000);
        return points + adj;
}

static bool cgroup_is_under(const char *cgroup, const char *parent) {
        size_t n = strlen(parent);

        if (n == 0)
                return true;
        return strncmp(cgroup, parent, n) == 0 && (cgroup[n] == 0 || cgroup[n] == '/');
}

/* Programs that stand between the user and their terminal. */
static bool comm_is_login_program(const char *comm) {
        static const char *const names[] = {
                "sshd", "sshd-session", "login", "su", "sudo", "runuser", "(sd-pam)",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(comm, names[i]) == 0)
                        return true;
        return false;
}

static bool comm_is_multiplexer(const char *comm) {
        /* The tmux server renames itself "tmux: server"; screen's is "screen" or "SCREEN". */
        return strncmp(comm, "tmux", 4) == 0 || strcmp(comm, "screen") == 0 || strcmp(comm, "SCREEN") == 0;
}

/* Parent lookups for the whole slice: sorted pids, so ranking stays
 * O(n log n) on a slice of thousands of tasks. */
typedef struct pid_index {
        pid_t pid;
        size_t index;
} pid_index;

static int cmp_pid_index(const void *a, const void *b) {
        const pid_index *x = a, *y = b;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static const policy_task *find_task(const slice_snapshot *s, const pid_index *idx, pid_t pid) {
        if (idx) {
                pid_index key = { .pid = pid };
                const pid_index *hit = bsearch(&key, idx, s->n_tasks, sizeof *idx, cmp_pid_index);
                return hit ? &s->tasks[hit->index] : NULL;
        }
        for (size_t i = 0; i < s->n_tasks; i++)
                if (s->tasks[i].task.pid == pid)
                        return &s->tasks[i];
        return NULL;
}

/* logind's session scopes ("session-N.scope"): where a login's session leader lives. */
static bool cgroup_is_session_scope(const char *cg) {
        const char *base;
        size_t n;

        if (!cg)
                return false;
        base = strrchr(cg, '/');
        base = base ? base + 1 : cg;
        n = strlen(base);
        return strncmp(base, "session-", 8) == 0 && n > 14 && strcmp(base + n - 6, ".scope") == 0;
}

static bool is_login_chain(const slice_snapshot *s, const pid_index *idx, const procfs_task *t, const char *cg) {
        const policy_task *parent;

        /* Only a session leader in a login session: systemd makes every
         * service's main process a session leader too (setsid), and those
         * are the user's jobs, not their login. */
        if (t->pid == t->sid && cgroup_is_session_scope(cg))
                return true;
        if (t->uid != s->uid)
                return true;
        if (comm_is_login_program(t->comm) || comm_is_multiplexer(t->comm))
                return true;
        /* The user's service manager: "systemd --user" in user@UID.service. */
        if (strcmp(t->comm, "systemd") == 0)
                return true;
        /* The login shell: the child of sshd, login, su or runuser. */
        parent = find_task(s, idx, t->ppid);
        if (parent && comm_is_login_program(parent->task.comm))
                return true;
        return false;
}

static uint64_t slice_usage(const slice_snapshot *s) {
        uint64_t sum = 0;

        if (s->memory.current > 0)
                return s->memory.current;
        for (size_t i = 0; i < s->n_tasks; i++)
                sum += policy_task_footprint(&s->tasks[i].task);
        return sum;
}

static policy_protect classify(const slice_snapshot *s, const user_config *uc, size_t index, const pid_index *idx,
                               uint64_t usage) {
        const policy_task *pt;
        const procfs_task *t;
        const char *cg;

        assert(s);
        assert(uc);
        assert(index < s->n_tasks);

        pt = &s->tasks[index];
        t = &pt->task;
        cg = pt->cgroup ? pt->cgroup : s->cgroup;

        if (t->kernel_thread)
                return PROTECT_KERNEL_THREAD;
        if (t->exiting)
                return PROTECT_EXITING;
        if (t->oom_score_adj <= -1000)
                return PROTECT_OOM_SCORE_ADJ;
        if (s->self_pid > 0 && t->pid == s->self_pid)
                return PROTECT_SELF;
        if (!cg || !cgroup_is_under(cg, "user.slice") || strcmp(cg, "user.slice") == 0)
                return PROTECT_OUTSIDE;
        if (s->cgroup && !cgroup_is_under(cg, s->cgroup))
                return PROTECT_OUTSIDE;
        if (strv_fnmatch(uc->protect, t->comm))
                return PROTECT_NAME;
        /* The login chain is spared unless it is itself the hog. */
        if (policy_task_footprint(t) * 2 <= usage && is_login_chain(s, idx, t, cg))
                return PROTECT_LOGIN_CHAIN;
        return PROTECT_NONE;
}

policy_protect policy_classify(const slice_snapshot *s, const user_config *uc, size_t index) {
        return classify(s, uc, index, NULL, slice_usage(s));
}

static int64_t score_of(const procfs_task *t, policy_kind kind, uint64_t totalpages) {
        switch (kind) {
        case POLICY_RSS:
                return (int64_t) t->rss_bytes;
        case POLICY_RUNTIME:
                return (int64_t) t->cpu_usec;
        case POLICY_BADNESS:
        default:
                return policy_badness(t, totalpages);
        }
}

static int cmp_candidates(const void *a, const void *b, void *userdata) {
        const slice_snapshot *s = userdata;
        const policy_candidate *x = a, *y = b;
        const procfs_task *tx = &s->tasks[x->index].task;
        const procfs_task *ty = &s->tasks[y->index].task;
        bool px = x->protect != PROTECT_NONE, py = y->protect != PROTECT_NONE;

        if (px != py)
                return px ? 1 : -1;
        if (x->score != y->score)
                return x->score > y->score ? -1 : 1;
        if (tx->rss_bytes != ty->rss_bytes)
                return tx->rss_bytes > ty->rss_bytes ? -1 : 1;
        /* The younger task has lost less work. */
        if (tx->start_time != ty->start_time)
                return tx->start_time > ty->start_time ? -1 : 1;
        return tx->pid > ty->pid ? -1 : (tx->pid < ty->pid ? 1 : 0);
}

void policy_rank(const slice_snapshot *s, const user_config *uc, policy_kind kind, policy_candidate *ret) {
        _cleanup_free_ pid_index *idx = NULL;
        uint64_t totalpages, usage;

        assert(s);
        assert(uc);
        assert(ret || s->n_tasks == 0);

        totalpages = policy_totalpages(s);
        usage = slice_usage(s);
        /* Without memory for the index, parents are found by a linear scan. */
        idx = malloc(sizeof *idx * (s->n_tasks ? s->n_tasks : 1));
        if (idx) {
                for (size_t i = 0; i < s->n_tasks; i++)
                        idx[i] = (pid_index) { .pid = s->tasks[i].task.pid, .index = i };
                qsort(idx, s->n_tasks, sizeof *idx, cmp_pid_index);
        }
        for (size_t i = 0; i < s->n_tasks; i++)
                ret[i] = (policy_candidate) {
                        .index = i,
                        .score = score_of(&s->tasks[i].task, kind, totalpages),
                        .protect = classify(s, uc, i, idx, usage),
                };
        qsort_r(ret, s->n_tasks, sizeof *ret, cmp_candidates, (void *) s);
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

static void decide_warn(const slice_snapshot *s, const user_config *uc, slice_state *state, usec_t now,
                        policy_decision *ret) {
        const cgfs_memory *m = &s->memory;
        size_t crossed = SIZE_MAX;

        if (m->max == BYTES_INFINITY || uc->n_warn == 0)
                return;

        for (size_t i = 0; i < uc->n_warn && i < CONFIG_MAX_WARN; i++) {
                uint64_t level = policy_warn_level_bytes(uc, m->max, i);
                unsigned rearm = uc->warn[i] > POLICY_WARN_HYSTERESIS ? uc->warn[i] - POLICY_WARN_HYSTERESIS : 0;

                if (m->current >= level)
                        crossed = i;
                else if ((state->warned & (1U << i)) && m->current < m->max / 10000 * rearm)
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
        char used[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX];
        snprintf(ret->reason_text, sizeof ret->reason_text, "usage %s reached %u%% of MemoryMax=%s",
                 format_bytes(used, sizeof used, m->current), uc->warn[crossed] / 100,
                 format_bytes(max, sizeof max, m->max));
}

static void collect_victim_pids(const slice_snapshot *s, size_t victim, policy_decision *ret) {
        const procfs_task *v = &s->tasks[victim].task;

        ret->pids[0] = v->pid;
        ret->n_pids = 1;
        if (!s->same_mm)
                return;
        /* Like the kernel, take every task that shares the victim's mm, or its
         * memory would not be freed. Only -1000 and kernel threads are spared. */
        for (size_t i = 0; i < s->n_tasks && ret->n_pids < POLICY_MAX_VICTIM_PIDS; i++) {
                const procfs_task *t = &s->tasks[i].task;
                if (i == victim || t->kernel_thread || t->oom_score_adj <= -1000 || t->pid == s->self_pid ||
                    procfs_state_is_dead(t->state))
                        continue;
                if (s->same_mm(s->same_mm_userdata, v->pid, t->pid) == 1)
                        ret->pids[ret->n_pids++] = t->pid;
        }
}

/* A cgroup kill would take the login chain or a protected task with it:
 * then a process kill is the right tool. */
static bool cgroup_holds_protected(const slice_snapshot *s, const user_config *uc, const char *cgroup) {
        for (size_t i = 0; i < s->n_tasks; i++) {
                const char *cg = s->tasks[i].cgroup ? s->tasks[i].cgroup : s->cgroup;
                policy_protect p;

                if (!cg || strcmp(cg, cgroup) != 0)
                        continue;
                p = policy_classify(s, uc, i);
                if (p != PROTECT_NONE && p != PROTECT_EXITING)
                        return true;
        }
        return false;
}

/* A task that is exiting and still holds a good share of the slice (1/16
 * of usage, and 64 MiB always counts): its memory is about to come back.
 * Zombies hold none. */
static const procfs_task *find_dying(const slice_snapshot *s) {
        uint64_t floor = slice_usage(s) / 16;

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

static void decide_kill(const slice_snapshot *s, const user_config *uc, kill_reason reason, usec_t now,
                        const slice_state *state, policy_decision *ret) {
        const procfs_task *dying;
        policy_candidate *ranked;
        const policy_task *v;
        char rss[FORMAT_BYTES_MAX];

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
        if (dying) {
                ret->stand_down = true;
                ret->dying_pid = dying->pid;
                snprintf(ret->reason_text, sizeof ret->reason_text,
                         "%s: pid %d (%s) is already exiting; waiting for its memory",
                         kill_reason_to_string(reason), (int) dying->pid, dying->comm);
                return;
        }
        if (s->n_tasks == 0) {
                ret->no_victim = true;
                snprintf(ret->reason_text, sizeof ret->reason_text, "%s: no task to choose from",
                         kill_reason_to_string(reason));
                return;
        }
        /* Bounded by the slice's task count; the caller holds the snapshot anyway. */
        ranked = calloc(s->n_tasks, sizeof *ranked);
        if (!ranked) {
                /* Without memory to rank, fall back to the largest unprotected RSS. */
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < s->n_tasks; i++)
                        if (policy_classify(s, uc, i) == PROTECT_NONE &&
                            (best == SIZE_MAX || s->tasks[i].task.rss_bytes > s->tasks[best].task.rss_bytes))
                                best = i;
                if (best == SIZE_MAX) {
                        ret->no_victim = true;
                        snprintf(ret->reason_text, sizeof ret->reason_text,
                                 "%s: every task is protected", kill_reason_to_string(reason));
                        return;
                }
                ret->victim = best;
                ret->score = (int64_t) s->tasks[best].task.rss_bytes;
        } else {
                policy_rank(s, uc, uc->policy, ranked);
                if (ranked[0].protect != PROTECT_NONE) {
                        free(ranked);
                        ret->no_victim = true;
                        snprintf(ret->reason_text, sizeof ret->reason_text,
                                 "%s: every task is protected", kill_reason_to_string(reason));
                        return;
                }
                ret->victim = ranked[0].index;
                ret->score = ranked[0].score;
                free(ranked);
        }

        v = &s->tasks[ret->victim];
        /* At the hard limit the kernel is about to OOM-kill: no time for a grace. */
        ret->signal = reason == KILL_REASON_MAX ? SIGKILL : SIGTERM;
        collect_victim_pids(s, ret->victim, ret);
        ret->action = DECISION_KILL;
        if (uc->kill_scope == KILL_SCOPE_CGROUP && v->cgroup && strcmp(v->cgroup, s->cgroup) != 0 &&
            !cgroup_holds_protected(s, uc, v->cgroup)) {
                ret->action = DECISION_KILL_CGROUP;
                ret->cgroup = v->cgroup;
        }
        snprintf(ret->reason_text, sizeof ret->reason_text, "%s: %s '%s' (pid %d, rss %s, %s score %" PRId64 ")%s",
                 reason == KILL_REASON_PRESSURE ? "sustained memory pressure over budget"
                 : reason == KILL_REASON_MAX    ? "hard limit MemoryMax reached"
                                                : "throttled at MemoryHigh past ThrottleDeadline",
                 ret->action == DECISION_KILL_CGROUP ? "killing the cgroup of" : "killing",
                 v->task.comm, (int) v->task.pid, format_bytes(rss, sizeof rss, v->task.rss_bytes),
                 policy_kind_to_string(uc->policy), ret->score,
                 uc->kill_scope == KILL_SCOPE_CGROUP && ret->action == DECISION_KILL
                         ? " (process scope: its cgroup holds protected tasks)" : "");
}

void policy_decide(const slice_snapshot *s, const user_config *uc, usec_t pressure_window, slice_state *state,
                   usec_t now, policy_decision *ret) {
        const cgfs_memory *m;
        const cgfs_events *e, *el;
        bool max_rose, high_rose, pressure, throttled;
        kill_reason reason = KILL_REASON_NONE;

        assert(s);
        assert(uc);
        assert(state);
        assert(ret);

        *ret = (policy_decision) { .action = DECISION_NONE };
        m = &s->memory;
        e = &s->events;
        /* max and high of the slice's own limits only: a descendant that hits
         * a lower limit of its own is the kernel's to handle (its OOM kill
         * still shows in the hierarchical oom_kill). */
        el = &s->events_local;

        /* Counters from before we watched the slice are history, not news. */
        if (!state->initialized) {
                state->last_max_events = el->max;
                state->last_high_events = el->high;
                state->last_oom_kill = e->oom_kill;
                state->initialized = true;
        }
        if (e->oom_kill > state->last_oom_kill)
                ret->kernel_oom_kills = e->oom_kill - state->last_oom_kill;
        max_rose = el->max > state->last_max_events;
        high_rose = el->high > state->last_high_events;
        state->last_oom_kill = e->oom_kill;
        state->last_max_events = el->max;
        state->last_high_events = el->high;

        pressure = under_pressure(s, uc, pressure_window, now) && policy_over_budget(m, uc);
        if (!pressure)
                state->pressure_since = 0;
        else if (state->pressure_since == 0)
                state->pressure_since = now;

        /* Throttling starts with reclaim failing at MemoryHigh and lasts until
         * usage is back under it; a job whose cache reclaims fine dips under. */
        throttled = m->high != BYTES_INFINITY && m->current > m->high;
        if (!throttled)
                state->throttled_since = 0;
        else if (state->throttled_since == 0 && (high_rose || pressure || under_pressure(s, uc, pressure_window, now)))
                state->throttled_since = now;

        if (max_rose && m->max != BYTES_INFINITY)
                reason = KILL_REASON_MAX;
        else if (state->pressure_since > 0 && now - state->pressure_since >= uc->pressure_duration)
                reason = KILL_REASON_PRESSURE;
        else if (state->throttled_since > 0 && uc->throttle_deadline != USEC_INFINITY &&
                 now - state->throttled_since >= uc->throttle_deadline)
                reason = KILL_REASON_DEADLINE;

        if (reason != KILL_REASON_NONE) {
                decide_kill(s, uc, reason, now, state, ret);
                if (ret->action != DECISION_NONE)
                        return;
        }
        decide_warn(s, uc, state, now, ret);
}

bool policy_recovered(const cgfs_memory *m, const cgfs_events *e, const cgfs_events *e_local,
                      const user_config *uc, const slice_state *state) {
        assert(m);
        assert(e);
        assert(e_local);
        assert(uc);
        assert(state);

        if (e->oom_kill > state->last_oom_kill)
                return true;
        if (e_local->max > state->last_max_events)
                return false;
        return !policy_over_budget(m, uc);
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

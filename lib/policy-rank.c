/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who would go first: what protects a task, and the order of the rest. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "policy-rank.h"

static const char *const protect_names[_PROTECT_MAX] = {
        [PROTECT_NONE]          = "",
        [PROTECT_OOM_SCORE_ADJ] = "oom_score_adj=-1000",
        [PROTECT_KERNEL_THREAD] = "kernel thread",
        [PROTECT_EXITING]       = "exiting",
        [PROTECT_OTHER_UID]     = "another user's",
        [PROTECT_SELF]          = "memgovd",
        [PROTECT_OUTSIDE]       = "outside user.slice",
        [PROTECT_LOGIN_CHAIN]   = "login chain",
};

static const char *const soft_names[_SOFT_MAX] = {
        [SOFT_NONE]         = "",
        [SOFT_PROTECT_NAME] = "soft: Protect=",
        [SOFT_LOGIN_NAME]   = "soft: login name",
};

const char *policy_protect_to_string(policy_protect p) {
        return p >= 0 && p < _PROTECT_MAX ? protect_names[p] : "?";
}

const char *policy_soft_to_string(policy_soft p) {
        return p >= 0 && p < _SOFT_MAX ? soft_names[p] : "?";
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

bool policy_cgroup_within(const char *cgroup, const char *parent) {
        size_t n = strlen(parent);

        return n == 0 || strcmp(cgroup, parent) == 0 || cgfs_path_is_below(cgroup, parent);
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

static usec_t history_now(const policy_history *h);

static bool pid_in(const pid_t *pids, size_t n, pid_t pid) {
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* A name that asks for soft protection: the user chose it (prctl, exec,
 * argv[0]), so it is a hint, never a fact. */
static policy_soft soft_by_name(const slice_snapshot *s, const user_config *uc, const pid_index *idx,
                                const procfs_task *t, const char *cg) {
        const policy_task *parent;

        if (strv_fnmatch(uc->protect, t->comm))
                return SOFT_PROTECT_NAME;
        if (comm_is_login_program(t->comm) || comm_is_multiplexer(t->comm))
                return SOFT_LOGIN_NAME;
        /* The user's service manager: "systemd --user" in user@UID.service. */
        if (strcmp(t->comm, "systemd") == 0)
                return SOFT_LOGIN_NAME;
        /* A session leader in a session scope: anyone can setsid(). */
        if (t->pid == t->sid && cgroup_is_session_scope(cg))
                return SOFT_LOGIN_NAME;
        /* A shell under a process named like sshd, login, su or runuser. */
        parent = find_task(s, idx, t->ppid);
        if (parent && comm_is_login_program(parent->task.comm))
                return SOFT_LOGIN_NAME;
        return SOFT_NONE;
}

/* Growth that voids soft protection: more than a sixteenth of the slice,
 * and at least this much. */
#define POLICY_SOFT_GROWTH_MIN (16ULL << 20)

/* Soft protection holds only for a task that stays small and stable. The
 * share of each task and of the name-protected tasks together is checked,
 * so splitting a hog into many processes named "tmux: server" does not
 * help; growth is checked where observations exist (Policy=growth). */
static policy_soft soft_classify(const slice_snapshot *s, const user_config *uc, size_t index,
                                 const pid_index *idx, uint64_t usage, uint64_t soft_total) {
        const procfs_task *t = &s->tasks[index].task;
        const char *cg = s->tasks[index].cgroup ? s->tasks[index].cgroup : s->cgroup;
        policy_soft soft = soft_by_name(s, uc, idx, t, cg);

        if (soft == SOFT_NONE)
                return SOFT_NONE;
        /* The task's own footprint is part of the total. */
        if (soft_total > usage / 4)
                return SOFT_NONE;
        if (s->history && s->history->n > 0) {
                int64_t grew = policy_growth(s, index, history_now(s->history));
                uint64_t limit = usage / 16 > POLICY_SOFT_GROWTH_MIN ? usage / 16 : POLICY_SOFT_GROWTH_MIN;

                if (grew > 0 && (uint64_t) grew > limit)
                        return SOFT_NONE;
        }
        return soft;
}

uint64_t policy_slice_usage(const slice_snapshot *s) {
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
        if (!cg || !policy_cgroup_within(cg, "user.slice") || strcmp(cg, "user.slice") == 0)
                return PROTECT_OUTSIDE;
        if (s->cgroup && !policy_cgroup_within(cg, s->cgroup))
                return PROTECT_OUTSIDE;
        /* Another user's process (sudo, su, a setuid helper), but not the
         * user's own rootless containers. */
        if (t->uid != s->uid && !subuid_contains(s->subuids, s->n_subuids, t->uid))
                return PROTECT_OTHER_UID;
        /* logind's session leader, and the login shell it started unless the
         * user made that the hog (exec in place of the shell). */
        if (pid_in(s->session_leaders, s->n_session_leaders, t->pid))
                return PROTECT_LOGIN_CHAIN;
        if (pid_in(s->session_leaders, s->n_session_leaders, t->ppid) && policy_task_footprint(t) * 2 <= usage)
                return PROTECT_LOGIN_CHAIN;
        (void) idx;
        (void) uc;
        return PROTECT_NONE;
}

/* What the tasks that ask for soft protection by name hold together. */
static uint64_t soft_named_total(const slice_snapshot *s, const user_config *uc, const pid_index *idx) {
        uint64_t sum = 0;

        for (size_t i = 0; i < s->n_tasks; i++) {
                const procfs_task *t = &s->tasks[i].task;
                const char *cg = s->tasks[i].cgroup ? s->tasks[i].cgroup : s->cgroup;

                if (!t->kernel_thread && soft_by_name(s, uc, idx, t, cg) != SOFT_NONE)
                        sum += policy_task_footprint(t);
        }
        return sum;
}

policy_soft policy_classify_soft(const slice_snapshot *s, const user_config *uc, size_t index) {
        uint64_t usage = policy_slice_usage(s);

        assert(index < s->n_tasks);
        return soft_classify(s, uc, index, NULL, usage, soft_named_total(s, uc, NULL));
}

policy_protect policy_classify(const slice_snapshot *s, const user_config *uc, size_t index) {
        return classify(s, uc, index, NULL, policy_slice_usage(s));
}

/* The time growth is measured at: the latest observation. */
static usec_t history_now(const policy_history *h) {
        return h && h->n > 0 ? h->obs[h->n - 1].at : 0;
}

int64_t policy_growth(const slice_snapshot *s, size_t index, usec_t now) {
        const procfs_task *t;
        uint64_t before = 0;

        assert(s);
        assert(index < s->n_tasks);

        t = &s->tasks[index].task;
        /* Not seen at the baseline: it started since, and all of it is growth. */
        (void) growth_baseline(s->history, t->pid, t->start_time, now, &before);
        return (int64_t) policy_task_footprint(t) - (int64_t) before;
}

int policy_observe_tasks(policy_history *h, const slice_snapshot *s, usec_t now) {
        growth_entry *e = NULL;
        size_t n = 0;

        assert(h);
        assert(s);

        if (s->n_tasks > 0) {
                e = calloc(s->n_tasks, sizeof *e);
                if (!e)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < s->n_tasks; i++) {
                const procfs_task *t = &s->tasks[i].task;

                if (t->kernel_thread)
                        continue;
                e[n++] = (growth_entry) {
                        .pid = t->pid, .start_time = t->start_time, .footprint = policy_task_footprint(t),
                };
        }
        return growth_record(h, e, n, now);
}

static void score_of(const slice_snapshot *s, size_t index, policy_kind kind, uint64_t totalpages,
                     policy_candidate *c) {
        const procfs_task *t = &s->tasks[index].task;

        c->tiebreak = 0;
        switch (kind) {
        case POLICY_RSS:
                c->score = (int64_t) t->rss_bytes;
                break;
        case POLICY_RUNTIME:
                c->score = (int64_t) t->cpu_usec;
                break;
        case POLICY_GROWTH:
                c->score = policy_growth(s, index, history_now(s->history));
                c->tiebreak = policy_badness(t, totalpages);
                break;
        case POLICY_BADNESS:
        default:
                c->score = policy_badness(t, totalpages);
                break;
        }
}

static int cmp_candidates(const void *a, const void *b, void *userdata) {
        const slice_snapshot *s = userdata;
        const policy_candidate *x = a, *y = b;
        const procfs_task *tx = &s->tasks[x->index].task;
        const procfs_task *ty = &s->tasks[y->index].task;
        bool px = x->protect != PROTECT_NONE, py = y->protect != PROTECT_NONE;
        bool sx = x->soft != SOFT_NONE, sy = y->soft != SOFT_NONE;

        if (px != py)
                return px ? 1 : -1;
        if (sx != sy)
                return sx ? 1 : -1;
        if (x->score != y->score)
                return x->score > y->score ? -1 : 1;
        if (x->tiebreak != y->tiebreak)
                return x->tiebreak > y->tiebreak ? -1 : 1;
        if (tx->rss_bytes != ty->rss_bytes)
                return tx->rss_bytes > ty->rss_bytes ? -1 : 1;
        /* The younger task has lost less work. */
        if (tx->start_time != ty->start_time)
                return tx->start_time > ty->start_time ? -1 : 1;
        return tx->pid > ty->pid ? -1 : (tx->pid < ty->pid ? 1 : 0);
}

void policy_rank(const slice_snapshot *s, const user_config *uc, policy_kind kind, policy_candidate *ret) {
        _cleanup_free_ pid_index *idx = NULL;
        uint64_t totalpages, usage, soft_total;

        assert(s);
        assert(uc);
        assert(ret || s->n_tasks == 0);

        totalpages = policy_totalpages(s);
        usage = policy_slice_usage(s);
        /* Without memory for the index, parents are found by a linear scan. */
        idx = malloc(sizeof *idx * (s->n_tasks ? s->n_tasks : 1));
        if (idx) {
                for (size_t i = 0; i < s->n_tasks; i++)
                        idx[i] = (pid_index) { .pid = s->tasks[i].task.pid, .index = i };
                qsort(idx, s->n_tasks, sizeof *idx, cmp_pid_index);
        }
        soft_total = soft_named_total(s, uc, idx);
        for (size_t i = 0; i < s->n_tasks; i++) {
                ret[i] = (policy_candidate) {
                        .index = i,
                        .protect = classify(s, uc, i, idx, usage),
                };
                if (ret[i].protect == PROTECT_NONE)
                        ret[i].soft = soft_classify(s, uc, i, idx, usage, soft_total);
                score_of(s, i, kind, totalpages, &ret[i]);
        }
        qsort_r(ret, s->n_tasks, sizeof *ret, cmp_candidates, (void *) s);
}

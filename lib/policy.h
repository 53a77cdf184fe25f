/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The pure policy: a snapshot of one slice + the user's config + the
 * previous state + now -> a decision. No I/O and no clock in here, so every
 * rule is tested on struct literals. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgfs.h"
#include "config.h"
#include "procfs.h"
#include "psi.h"

#define POLICY_PAGE_SIZE 4096ULL
#define POLICY_MAX_VICTIM_PIDS 64
#define POLICY_REASON_MAX 256
/* A level, once warned, is not warned again within this time even if usage dips and comes back. */
#define POLICY_WARN_INTERVAL_USEC (60 * USEC_PER_SEC)
/* Usage must fall this far (permyriad of memory_max) under a level to re-arm it. */
#define POLICY_WARN_HYSTERESIS 200

typedef enum policy_protect {
        PROTECT_NONE,
        PROTECT_OOM_SCORE_ADJ,   /* oom_score_adj == -1000 */
        PROTECT_KERNEL_THREAD,
        PROTECT_EXITING,         /* zombie, dead or PF_EXITING */
        PROTECT_NAME,            /* matches Protect= */
        PROTECT_SELF,            /* the governor itself */
        PROTECT_OUTSIDE,         /* not under user.slice */
        PROTECT_LOGIN_CHAIN,     /* session leader, sshd, login, su, tmux server, systemd --user, another uid */
        _PROTECT_MAX,
} policy_protect;

const char *policy_protect_to_string(policy_protect p);

/* Tells whether two tasks share one address space (kcmp KCMP_VM in
 * production). 1 yes, 0 no, <0 unknown (treated as no). */
typedef int (*policy_same_mm_fn)(void *userdata, pid_t a, pid_t b);

typedef struct policy_task {
        procfs_task task;
        const char *cgroup;            /* leaf cgroup, relative */
} policy_task;

typedef struct slice_snapshot {
        const char *cgroup;            /* e.g. "user.slice/user-1001.slice" */
        uid_t uid;
        cgfs_memory memory;
        cgfs_events events;            /* hierarchical memory.events: oom_kill anywhere below */
        cgfs_events events_local;      /* memory.events.local: max and high of the slice's own limits */
        psi_stats pressure;
        bool psi_trigger;              /* a PSI trigger watches the slice: its events tell pressure */
        usec_t psi_event_at;           /* last PSI trigger event on this slice, 0 = never */
        uint64_t mem_total, swap_total;    /* the machine's, for unlimited slices */
        pid_t self_pid;                /* never chosen */
        policy_task *tasks;
        size_t n_tasks;
        policy_same_mm_fn same_mm;     /* may be NULL */
        void *same_mm_userdata;
} slice_snapshot;

typedef struct policy_candidate {
        size_t index;                  /* into slice_snapshot.tasks */
        int64_t score;                 /* bytes (rss), usec (runtime) or pages (badness) */
        policy_protect protect;
} policy_candidate;

/* Memory of the slice's tasks that counts for "holds more than half". */
uint64_t policy_task_footprint(const procfs_task *t);

/* The kernel's oom_badness in pages; totalpages as the kernel would use for this slice. */
int64_t policy_badness(const procfs_task *t, uint64_t totalpages);
uint64_t policy_totalpages(const slice_snapshot *s);

/* Why a task may never be chosen, PROTECT_NONE if it may. */
policy_protect policy_classify(const slice_snapshot *s, const user_config *uc, size_t index);

/* Scores and orders every task: first victim first, protected tasks last.
 * ret must have room for s->n_tasks entries. */
void policy_rank(const slice_snapshot *s, const user_config *uc, policy_kind kind, policy_candidate *ret);

typedef enum kill_reason {
        KILL_REASON_NONE,
        KILL_REASON_PRESSURE,
        KILL_REASON_MAX,
        KILL_REASON_DEADLINE,
        _KILL_REASON_MAX,
} kill_reason;

const char *kill_reason_to_string(kill_reason r);

/* What the governor remembers about one slice between decisions. */
typedef struct slice_state {
        bool initialized;              /* counters below are valid baselines */
        uint64_t last_max_events;
        uint64_t last_high_events;
        uint64_t last_oom_kill;
        usec_t pressure_since;         /* 0 = not under pressure */
        usec_t throttled_since;        /* 0 = not throttled */
        usec_t last_kill;              /* 0 = never */
        uint32_t warned;               /* bit i: warn level i has been warned and not re-armed */
        usec_t last_warn[CONFIG_MAX_WARN];
} slice_state;

typedef enum decision_action {
        DECISION_NONE,
        DECISION_WARN,
        DECISION_KILL,                 /* pids with signal */
        DECISION_KILL_CGROUP,          /* write cgroup.kill of cgroup */
} decision_action;

typedef struct policy_decision {
        decision_action action;
        size_t warn_level;             /* DECISION_WARN: index into user_config.warn */
        kill_reason reason;
        int signal;                    /* SIGTERM (grace follows) or SIGKILL */
        size_t victim;                 /* index of the chosen task */
        int64_t score;
        pid_t pids[POLICY_MAX_VICTIM_PIDS];   /* victim first, then tasks sharing its mm */
        size_t n_pids;
        const char *cgroup;            /* DECISION_KILL_CGROUP: the victim's leaf cgroup */
        uint64_t kernel_oom_kills;     /* oom_kill rose by this much since the last decision */
        bool in_cooldown;              /* a kill was due but Cooldown= holds it back */
        bool no_victim;                /* a kill was due but every task is protected */
        /* A kill was due but memory is already on its way out: the kernel's OOM
         * killer acted since the last decision, or dying_pid, a task holding a
         * good share of the slice, is exiting. Re-check shortly instead of
         * taking a second, innocent task, as the kernel's OOM killer does. */
        bool stand_down;
        pid_t dying_pid;
        char reason_text[POLICY_REASON_MAX];
} policy_decision;

/* The heart of memgov. Updates state, except last_kill: the caller sets
 * that when it really kills, so a kill that did not happen (the task was
 * gone, the slice recovered) starts no Cooldown=. Kill beats warn; a kernel
 * OOM kill is reported alongside whatever else is decided. */
void policy_decide(const slice_snapshot *s, const user_config *uc, usec_t pressure_window,
                   slice_state *state, usec_t now, policy_decision *ret);

/* Above its budget: at MemoryHigh (within 1/64 of it), or, without
 * MemoryHigh, past the last warning level of MemoryMax. Pressure only
 * leads to a kill in a slice over its budget. */
bool policy_over_budget(const cgfs_memory *m, const user_config *uc);

/* Warn level I of UC in bytes of MAX, rounded as the policy compares it. */
uint64_t policy_warn_level_bytes(const user_config *uc, uint64_t max, size_t i);

/* The re-check just before a kill, on a fresh read: true when the kill is
 * no longer due. The slice recovered (usage back under MemoryHigh, or under
 * the last warn level when there is no MemoryHigh, and no new max event), or
 * the kernel's OOM killer acted since the decision and its victim's memory
 * is being freed. */
bool policy_recovered(const cgfs_memory *m, const cgfs_events *e, const cgfs_events *e_local,
                      const user_config *uc, const slice_state *state);

/* When to sample memory.current again: rarely when far below the first
 * warn level, often near it. */
usec_t policy_next_sample(const cgfs_memory *m, const user_config *uc);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The pure policy: a snapshot of one slice + the user's config + the
 * previous state + now -> a decision. No I/O and no clock in here, so every
 * rule is tested on struct literals. The snapshot and the ranking are in
 * policy-rank.h. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgfs.h"
#include "config.h"
#include "memstat.h"
#include "policy-rank.h"

/* Capacity of policy_decision.pids: every victim of one round with the
 * tasks sharing its memory. */
#define POLICY_MAX_VICTIM_PIDS 256
/* At most this many victims in one round. */
#define POLICY_MAX_VICTIMS 64
#define POLICY_REASON_MAX 768
/* A level, once warned, is not warned again within this time even if usage dips and comes back. */
#define POLICY_WARN_INTERVAL_USEC (60 * USEC_PER_SEC)
/* Usage must fall this far (permyriad of memory_max) under a level to re-arm it. */
#define POLICY_WARN_HYSTERESIS 200
/* Unreclaimable usage within 1/16 of the budget is over it: what is left
 * is the file cache a running program needs (its text, libraries). */
#define POLICY_BUDGET_SLACK 16
/* A round of kills frees enough to bring unreclaimable usage 1/8 under
 * the budget, so that the next allocation does not start it again. */
#define POLICY_TARGET_SLACK 8
/* Reclaim progress is judged over at least this long: memory.stat is
 * flushed lazily and shorter deltas are noise. */
#define POLICY_PROGRESS_INTERVAL_USEC (1 * USEC_PER_SEC)


typedef enum kill_reason {
        KILL_REASON_NONE,
        KILL_REASON_PRESSURE,
        KILL_REASON_MAX,               /* no longer decided: a max event is no evidence of an OOM */
        KILL_REASON_DEADLINE,
        KILL_REASON_OOM,               /* the slice's own OOM, with no kernel kill yet: SIGKILL */
        KILL_REASON_SHORTAGE,          /* the machine is short and this user was chosen (shortage.h) */
        _KILL_REASON_MAX,
} kill_reason;

const char *kill_reason_to_string(kill_reason r);

/* Why a machine-wide shortage chose a user (from shortage_decide()). */
typedef struct policy_shortage {
        uint64_t need;                 /* what the round must free */
        uint64_t fair_share, excess;   /* the user's share and unreclaimable usage above it */
        uint64_t growth;               /* chosen for growth within ShortageGrowthWindow=; 0 = for excess */
        const char *why;               /* why this user, leading the reason text */
} policy_shortage;

/* What the governor remembers about one slice between decisions. */
typedef struct slice_state {
        bool initialized;              /* counters below are valid baselines */
        uint64_t last_max_events;
        uint64_t last_high_events;
        uint64_t last_oom_kill;
        uint64_t last_oom;             /* memory.events.local oom */
        usec_t pressure_since;         /* 0 = not under pressure over budget */
        /* At MemoryHigh, stalled and without reclaim progress since; 0 = not. */
        usec_t throttled_since;
        memstat_sample progress_ref;   /* the sample progress is measured from */
        memstat_progress progress;     /* the verdict over the last interval */
        bool file_thrashing;           /* the cache refaulted into the working set over that interval */
        usec_t last_kill;              /* 0 = never */
        /* The exiting task the policy stands down for, and since when: the
         * wait has a limit (POLICY_STAND_DOWN_MIN_USEC, 2 x KillGrace=). */
        pid_t dying_pid;
        uint64_t dying_start_time;
        usec_t dying_since;
        uint32_t warned;               /* bit i: warn level i has been warned and not re-armed */
        usec_t last_warn[CONFIG_MAX_WARN];
} slice_state;

typedef enum decision_action {
        DECISION_NONE,
        DECISION_WARN,
        DECISION_KILL,                 /* pids with signal */
        DECISION_KILL_CGROUP,          /* write cgroup.kill of cgroup */
} decision_action;

/* One victim of a round. The act layer handles each in turn: write
 * cgroup.kill of .cgroup when it is set, else signal
 * pids[first_pid .. first_pid + n_pids - 1] (the victim first, then the
 * tasks sharing its memory). */
typedef struct policy_victim {
        size_t index;                  /* into slice_snapshot.tasks */
        int64_t score;
        uint64_t frees;                /* what killing it is expected to free: its RSS, or its cgroup's */
        size_t first_pid, n_pids;
        const char *cgroup;            /* its leaf cgroup for KillScope=cgroup, else NULL */
} policy_victim;

typedef struct policy_decision {
        decision_action action;
        size_t warn_level;             /* DECISION_WARN: index into user_config.warn */
        kill_reason reason;
        int signal;                    /* SIGTERM (grace follows) or SIGKILL */
        size_t victim;                 /* victims[0].index */
        int64_t score;                 /* victims[0].score */
        /* Every victim's pids, victim by victim (see policy_victim). */
        pid_t pids[POLICY_MAX_VICTIM_PIDS];
        size_t n_pids;
        const char *cgroup;            /* DECISION_KILL_CGROUP: victims[0].cgroup */
        /* Victims in policy order. More than one when the first cannot bring
         * unreclaimable usage back under the target by itself. */
        policy_victim victims[POLICY_MAX_VICTIMS];
        size_t n_victims;
        /* The shell job (process group) two victims shared, whose other
         * members the round also takes; 0 = none. job_victims of the
         * victims, at the end, are there only for being in it. */
        pid_t job;
        size_t job_victims;
        uint64_t frees;                /* sum of the victims' frees */
        uint64_t need;                 /* unreclaimable usage above the target */
        memstat_usage usage;           /* total, cache and unreclaimable at the decision */
        uint64_t kernel_oom_kills;     /* oom_kill rose by this much since the last decision */
        bool in_cooldown;              /* a kill was due but Cooldown= holds it back */
        bool no_victim;                /* a kill was due but every task is protected */
        /* A kill was due but memory is already on its way out: the kernel's OOM
         * killer acted since the last decision, or dying_pid, a task holding a
         * good share of the slice, is exiting. Re-check shortly instead of
         * taking a second, innocent task, as the kernel's OOM killer does. */
        bool stand_down;
        pid_t dying_pid;
        policy_shortage shortage;      /* KILL_REASON_SHORTAGE: why this user (.why is NULL here) */
        char reason_text[POLICY_REASON_MAX];
} policy_decision;

/* The heart of memgov. Updates state, except last_kill: the caller sets
 * that when it really kills, so a kill that did not happen (the task was
 * gone, the slice recovered) starts no Cooldown=. Kill beats warn; a kernel
 * OOM kill is reported alongside whatever else is decided. */
void policy_decide(const slice_snapshot *s, const user_config *uc, usec_t pressure_window,
                   slice_state *state, usec_t now, policy_decision *ret);

/* A machine-wide shortage chose this user (shortage_decide()): the
 * victims of the user's own policy, protections as for any kill, until
 * they free WHY->need; WHY->why leads the reason text. Cooldown= and a
 * task already exiting hold it back as for any kill. */
void policy_decide_shortage(const slice_snapshot *s, const user_config *uc, const policy_shortage *why,
                            slice_state *state, usec_t now, policy_decision *ret);

/* At its budget: at MemoryHigh (within 1/64 of it), or, without
 * MemoryHigh, past the last warning level of MemoryMax. Counts all of
 * memory.current, cache included. */
bool policy_over_budget(const cgfs_memory *m, const user_config *uc);
/* The budget in bytes: MemoryHigh, or the last warning level of
 * MemoryMax; BYTES_INFINITY for none. */
uint64_t policy_budget(const cgfs_memory *m, const user_config *uc);
/* Over budget with memory reclaim cannot free: at the budget
 * (policy_over_budget()) and unreclaimable usage within 1/16 of it. A
 * kill needs this. */
bool policy_usage_over_budget(const memstat_usage *u, const cgfs_memory *m, const user_config *uc);
/* Total, cache and unreclaimable usage of S, with the thrashing verdict
 * STATE holds (see memstat.h). */
void policy_usage(const slice_snapshot *s, const slice_state *state, memstat_usage *ret);

/* Warn level I of UC in bytes of MAX, rounded as the policy compares it. */
uint64_t policy_warn_level_bytes(const user_config *uc, uint64_t max, size_t i);

/* The re-check just before a kill, on FRESH (a SNAPSHOT_MEMORY read):
 * true when the kill is no longer due, by the definition the decision
 * used. The kernel's OOM killer acted since the decision (its victim's
 * memory is being freed), or, with no new OOM in the slice, unreclaimable
 * usage is no longer over budget. */
bool policy_snapshot_recovered(const slice_snapshot *fresh, const user_config *uc, const slice_state *state);
/* The same without memory.stat (all of memory.current unreclaimable), for
 * callers that read only memory.*, memory.events and memory.events.local. */
bool policy_recovered(const cgfs_memory *m, const cgfs_events *e, const cgfs_events *e_local,
                      const user_config *uc, const slice_state *state);

/* When to sample memory.current again: rarely when far below the first
 * warn level, often near it. */
usec_t policy_next_sample(const cgfs_memory *m, const user_config *uc);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Who would go first: the snapshot of one slice the policy decides on,
 * what protects a task, and the order of the rest. policy.h builds the
 * decision on top of this; nothing here knows about decisions. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgfs.h"
#include "config.h"
#include "growth.h"
#include "procfs.h"
#include "psi.h"

#define POLICY_PAGE_SIZE 4096ULL

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

/* Growth observations of one slice's tasks (see growth.h), kept by the
 * caller between decisions and fed with policy_observe_tasks(). */
typedef growth_history policy_history;

typedef struct slice_snapshot {
        const char *cgroup;            /* e.g. "user.slice/user-1001.slice" */
        uid_t uid;
        cgfs_memory memory;
        cgfs_events events;            /* hierarchical memory.events: oom_kill anywhere below */
        cgfs_events events_local;      /* memory.events.local: max, high and oom of the slice's own limits */
        cgfs_memory_stat stat;         /* memory.stat */
        bool has_stat;                 /* false: unreclaimable usage is all of memory.current */
        psi_stats pressure;
        bool psi_trigger;              /* a PSI trigger watches the slice: its events tell pressure */
        usec_t psi_event_at;           /* last PSI trigger event on this slice, 0 = never */
        uint64_t mem_total, swap_total;    /* the machine's, for unlimited slices */
        uint64_t swap_free;            /* the machine's: can anon still be swapped out? */
        uint64_t mem_available;
        pid_t self_pid;                /* never chosen */
        policy_task *tasks;
        size_t n_tasks;
        policy_same_mm_fn same_mm;     /* may be NULL */
        void *same_mm_userdata;
        const policy_history *history; /* for Policy=growth, may be NULL: every task grew from 0 */
} slice_snapshot;

typedef struct policy_candidate {
        size_t index;                  /* into slice_snapshot.tasks */
        int64_t score;                 /* bytes (rss, growth), usec (runtime) or pages (badness) */
        int64_t tiebreak;              /* growth: badness; 0 for the others */
        policy_protect protect;
} policy_candidate;

/* Memory of the slice's tasks that counts for "holds more than half". */
uint64_t policy_task_footprint(const procfs_task *t);
/* memory.current, or the tasks' footprints summed when it is unknown (0). */
uint64_t policy_slice_usage(const slice_snapshot *s);

/* Records the footprint of every task of S at NOW in H, the observation
 * Policy=growth measures growth from. The caller takes these full
 * snapshots as the slice approaches its budget. */
int policy_observe_tasks(policy_history *h, const slice_snapshot *s, usec_t now);
/* Footprint now minus at the baseline observation (see growth.h). */
int64_t policy_growth(const slice_snapshot *s, size_t index, usec_t now);

/* The kernel's oom_badness in pages; totalpages as the kernel would use for this slice. */
int64_t policy_badness(const procfs_task *t, uint64_t totalpages);
uint64_t policy_totalpages(const slice_snapshot *s);

/* Why a task may never be chosen, PROTECT_NONE if it may. */
policy_protect policy_classify(const slice_snapshot *s, const user_config *uc, size_t index);

/* Scores and orders every task: first victim first, protected tasks last.
 * ret must have room for s->n_tasks entries. Policy=growth measures
 * growth up to the latest observation in s->history. */
void policy_rank(const slice_snapshot *s, const user_config *uc, policy_kind kind, policy_candidate *ret);

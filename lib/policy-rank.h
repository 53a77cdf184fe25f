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
#include "subuid.h"

#define POLICY_PAGE_SIZE 4096ULL

/* Hard protection: a task is never chosen. Only from facts a user cannot
 * fake: the kernel's own flags, oom_score_adj=-1000 (lowering it takes
 * CAP_SYS_RESOURCE), another user's uid, logind's record of the session.
 * A task's name is the user's choice and gives soft protection at most
 * (policy_soft). */
typedef enum policy_protect {
        PROTECT_NONE,
        PROTECT_OOM_SCORE_ADJ,   /* oom_score_adj == -1000 */
        PROTECT_KERNEL_THREAD,
        PROTECT_EXITING,         /* zombie, dead or PF_EXITING */
        PROTECT_OTHER_UID,       /* another user's uid, not one of the user's subuids */
        PROTECT_SELF,            /* the governor itself */
        PROTECT_OUTSIDE,         /* not under user.slice */
        PROTECT_LOGIN_CHAIN,     /* logind's session leader, or its child (the login shell) unless it is the hog */
        _PROTECT_MAX,
} policy_protect;

/* Soft protection: ranked after every other unprotected task, and only
 * while the task stays small and stable: not when it holds more than a
 * quarter of the slice, not when the name-protected tasks together do, and
 * not when it grew while the slice went towards its budget. Otherwise it is
 * ranked like any other task, whatever its name. */
typedef enum policy_soft {
        SOFT_NONE,
        SOFT_PROTECT_NAME,       /* matches Protect= */
        SOFT_LOGIN_NAME,         /* named like sshd, login, su, tmux, screen, systemd --user, or a login shell */
        _SOFT_MAX,
} policy_soft;

const char *policy_soft_to_string(policy_soft p);

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
        /* Facts from outside the slice, given by the caller: logind's
         * session leaders of the user (the daemon asks logind; may be
         * empty) and the user's subordinate uids (/etc/subuid). */
        const pid_t *session_leaders;
        size_t n_session_leaders;
        const subuid_range *subuids;
        size_t n_subuids;
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
        policy_soft soft;              /* only with PROTECT_NONE */
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

/* CGROUP is PARENT or below it ("" is the root, above everything). */
bool policy_cgroup_within(const char *cgroup, const char *parent);

/* Why a task may never be chosen, PROTECT_NONE if it may. */
policy_protect policy_classify(const slice_snapshot *s, const user_config *uc, size_t index);
/* For a task that may be chosen: whether its name still earns it a place
 * after the others (see policy_soft). */
policy_soft policy_classify_soft(const slice_snapshot *s, const user_config *uc, size_t index);

/* Scores and orders every task: first victim first, soft-protected tasks
 * after the rest, protected tasks last.
 * ret must have room for s->n_tasks entries. Policy=growth measures
 * growth up to the latest observation in s->history. */
void policy_rank(const slice_snapshot *s, const user_config *uc, policy_kind kind, policy_candidate *ret);

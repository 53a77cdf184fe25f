/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Takes a slice_snapshot from the cgroupfs and procfs roots: the slice's
 * memory files and the tasks of its whole subtree. Tasks that vanish while
 * being read are skipped. */

#include "policy.h"

typedef struct snapshot {
        slice_snapshot slice;
        char *cgroup;
        cgfs_procs procs;
        policy_task *tasks;
        size_t n_unreadable;           /* tasks skipped for an error other than having exited */
        int first_error;               /* the first such error, for the log */
        bool has_memory;               /* the memory files were there */
} snapshot;

/* What to read: the memory files only (cheap, for the sampling timer:
 * memory.current, .high, .max, .swap.*, .peak, .stat, .events,
 * .events.local, .pressure and /proc/meminfo), or everything. */
typedef enum snapshot_depth {
        SNAPSHOT_MEMORY,
        SNAPSHOT_TASKS,
        /* Tasks, with the memory files optional: `memgovctl top` ranks the
         * tasks of any cgroup, also on a host whose memory controller is
         * not on cgroup v2. Missing limits read as unlimited. */
        SNAPSHOT_TASKS_ANY,
} snapshot_depth;

int snapshot_take(int cgroot_fd, int procfs_fd, const char *cgroup, uid_t uid, snapshot_depth depth,
                  snapshot *ret);
/* The same snapshot, its tasks read on up to READERS threads (at most
 * SNAPSHOT_READERS_MAX, the caller's own included): for a command a person
 * waits on, where reading /proc is nearly all the time. */
#define SNAPSHOT_READERS_MAX 4U
int snapshot_take_parallel(int cgroot_fd, int procfs_fd, const char *cgroup, uid_t uid, snapshot_depth depth,
                           unsigned readers, snapshot *ret);
void snapshot_done(snapshot *s);

/* kcmp(KCMP_VM): the policy_same_mm_fn used in production. */
int snapshot_same_mm(void *userdata, pid_t a, pid_t b);

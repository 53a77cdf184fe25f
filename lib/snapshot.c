/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "snapshot.h"

int snapshot_same_mm(void *userdata, pid_t a, pid_t b) {
        long r;

        (void) userdata;
        r = syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);
        if (r < 0)
                return -errno;
        return r == 0;
}

void snapshot_done(snapshot *s) {
        if (!s)
                return;
        free(s->tasks);
        cgfs_procs_done(&s->procs);
        free(s->cgroup);
        *s = (snapshot) {};
}

int snapshot_take(int cgroot_fd, int procfs_fd, const char *cgroup, uid_t uid, snapshot_depth depth,
                  snapshot *ret) {
        _cleanup_(snapshot_done) snapshot s = {};
        procfs_meminfo mi = {};
        int r;

        assert(cgroup);
        assert(ret);

        r = cgfs_path_check(cgroup);
        if (r < 0)
                return r;
        s.cgroup = strdup(cgroup);
        if (!s.cgroup)
                return -ENOMEM;
        s.slice = (slice_snapshot) {
                .cgroup = s.cgroup,
                .uid = uid,
                .self_pid = getpid(),
                .same_mm = snapshot_same_mm,
        };

        r = cgfs_read_memory(cgroot_fd, cgroup, &s.slice.memory);
        if (r == -ENOENT && depth == SNAPSHOT_TASKS_ANY)
                s.slice.memory = (cgfs_memory) {
                        .high = BYTES_INFINITY, .max = BYTES_INFINITY, .swap_max = BYTES_INFINITY,
                };
        else if (r < 0)
                return r;
        else
                s.has_memory = true;
        /* One small file (about 1.5 KiB on 6.1): what of the usage is cache. */
        r = cgfs_read_memory_stat(cgroot_fd, cgroup, &s.slice.stat);
        if (r >= 0)
                s.slice.has_stat = true;
        else if (r != -ENOENT)
                return r;
        r = cgfs_read_events(cgroot_fd, cgroup, false, &s.slice.events);
        if (r < 0 && !(r == -ENOENT && depth == SNAPSHOT_TASKS_ANY))
                return r;
        r = cgfs_read_events(cgroot_fd, cgroup, true, &s.slice.events_local);
        if (r == -ENOENT)
                /* Before 5.2 there is no .local: the hierarchical counts stand in. */
                s.slice.events_local = s.slice.events;
        else if (r < 0)
                return r;
        /* PSI may be off (psi=0): the policy then works from events alone. */
        r = cgfs_read_pressure(cgroot_fd, cgroup, &s.slice.pressure);
        if (r < 0 && r != -ENOENT && r != -EOPNOTSUPP)
                return r;
        r = procfs_read_meminfo(procfs_fd, &mi);
        if (r < 0)
                return r;
        s.slice.mem_total = mi.mem_total;
        s.slice.swap_total = mi.swap_total;
        s.slice.swap_free = mi.swap_free;
        s.slice.mem_available = mi.mem_available;

        if (depth != SNAPSHOT_MEMORY) {
                size_t n = 0;

                r = cgfs_collect_procs(cgroot_fd, cgroup, &s.procs);
                if (r < 0)
                        return r;
                s.tasks = calloc(s.procs.n_pids ? s.procs.n_pids : 1, sizeof *s.tasks);
                if (!s.tasks)
                        return -ENOMEM;
                for (size_t i = 0; i < s.procs.n_pids; i++) {
                        policy_task *pt = &s.tasks[n];

                        r = procfs_read_task(procfs_fd, s.procs.pids[i], &pt->task);
                        if (r < 0) {
                                /* -ESRCH: exited since cgroup.procs was read, normal churn.
                                 * Anything else hides one task, never the whole slice. */
                                if (r != -ESRCH) {
                                        if (s.n_unreadable++ == 0)
                                                s.first_error = r;
                                }
                                continue;
                        }
                        pt->cgroup = s.procs.cgroups[s.procs.cgroup_index[i]];
                        n++;
                }
                s.slice.tasks = s.tasks;
                s.slice.n_tasks = n;
        }
        *ret = s;
        s = (snapshot) {};
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <sched.h>
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

/* Tasks handed out to the readers this many at a time: few enough atomic
 * steps, and an even share of the slice for each reader. */
#define READ_CHUNK 32U
/* A reader's stack: procfs_read_task() needs a few KiB; the default 8 MiB
 * would count against a strict overcommit limit on a machine in trouble. */
#define READER_STACK (1U << 20)

typedef struct task_reader {
        int procfs_fd;
        const pid_t *pids;
        policy_task *tasks;            /* slot i for pids[i] */
        int *results;                  /* procfs_read_task()'s return for pids[i] */
        size_t n;
        size_t next;                   /* the next unread slot, shared */
} task_reader;

static void *read_some_tasks(void *userdata) {
        task_reader *tr = userdata;

        for (;;) {
                size_t from = __atomic_fetch_add(&tr->next, READ_CHUNK, __ATOMIC_RELAXED), to;

                if (from >= tr->n)
                        return NULL;
                to = from + READ_CHUNK < tr->n ? from + READ_CHUNK : tr->n;
                for (size_t i = from; i < to; i++)
                        tr->results[i] = procfs_read_task(tr->procfs_fd, tr->pids[i], &tr->tasks[i].task);
        }
}

/* A reader thread, with an fd table of its own: its three opens and
 * closes a task then take no turns on one shared table's lock, and its
 * reads find their files without counting references. If the kernel
 * refuses, it reads through the shared table. */
static void *reader_thread(void *userdata) {
        (void) unshare(CLONE_FILES);
        return read_some_tasks(userdata);
}

/* Reads every task of s->procs into s->tasks, on up to READERS threads
 * (this one included), then keeps the readable ones in cgroup.procs order:
 * the snapshot is the same however many read it. */
static int read_tasks(int procfs_fd, snapshot *s, unsigned readers) {
        _cleanup_free_ int *results = NULL;
        pthread_t threads[SNAPSHOT_READERS_MAX];
        unsigned started = 0;
        pthread_attr_t attr;
        task_reader tr;
        size_t n = 0;

        s->tasks = calloc(s->procs.n_pids ? s->procs.n_pids : 1, sizeof *s->tasks);
        results = calloc(s->procs.n_pids ? s->procs.n_pids : 1, sizeof *results);
        if (!s->tasks || !results)
                return -ENOMEM;
        tr = (task_reader) {
                .procfs_fd = procfs_fd,
                .pids = s->procs.pids,
                .tasks = s->tasks,
                .results = results,
                .n = s->procs.n_pids,
        };
        if (readers > SNAPSHOT_READERS_MAX)
                readers = SNAPSHOT_READERS_MAX;
        /* No more readers than chunks; without threads this one reads all. */
        if (readers > 1 && pthread_attr_init(&attr) == 0) {
                (void) pthread_attr_setstacksize(&attr, READER_STACK);
                while (started + 1 < readers && (started + 1) * READ_CHUNK < tr.n &&
                       pthread_create(&threads[started], &attr, reader_thread, &tr) == 0)
                        started++;
                pthread_attr_destroy(&attr);
        }
        read_some_tasks(&tr);
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);

        for (size_t i = 0; i < s->procs.n_pids; i++) {
                int r = results[i];

                if (r < 0) {
                        /* -ESRCH: exited since cgroup.procs was read, normal churn.
                         * Anything else hides one task, never the whole slice. */
                        if (r != -ESRCH && s->n_unreadable++ == 0)
                                s->first_error = r;
                        continue;
                }
                if (n != i)
                        s->tasks[n] = s->tasks[i];
                s->tasks[n].cgroup = s->procs.cgroups[s->procs.cgroup_index[i]];
                n++;
        }
        s->slice.tasks = s->tasks;
        s->slice.n_tasks = n;
        return 0;
}

int snapshot_take(int cgroot_fd, int procfs_fd, const char *cgroup, uid_t uid, snapshot_depth depth,
                  snapshot *ret) {
        return snapshot_take_parallel(cgroot_fd, procfs_fd, cgroup, uid, depth, 1, ret);
}

int snapshot_take_parallel(int cgroot_fd, int procfs_fd, const char *cgroup, uid_t uid, snapshot_depth depth,
                           unsigned readers, snapshot *ret) {
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
                r = cgfs_collect_procs(cgroot_fd, cgroup, &s.procs);
                if (r < 0)
                        return r;
                r = read_tasks(procfs_fd, &s, readers);
                if (r < 0)
                        return r;
        }
        *ret = s;
        s = (snapshot) {};
        return 0;
}

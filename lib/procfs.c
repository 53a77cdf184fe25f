/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "util.h"

#define PROCFS_STAT_MAX 1024
/* Most status files fit here; one with hundreds of supplementary groups
 * (SSSD, AD) is read whole into a growing buffer instead. */
#define PROCFS_STATUS_SMALL 4096
/* 65536 groups (NGROUPS_MAX) of 10 digits and a space: about 720 KiB. */
#define PROCFS_STATUS_MAX (4U << 20)
/* Threads looked at for a live one when the main thread is gone. */
#define PROCFS_THREADS_MAX 4096

static uint64_t page_size(void) {
        static uint64_t cached;

        if (!cached) {
                long v = sysconf(_SC_PAGESIZE);
                cached = v > 0 ? (uint64_t) v : 4096;
        }
        return cached;
}

bool procfs_state_is_dead(char state) {
        return state == 'Z' || state == 'X' || state == 'x';
}

/* /proc/PID/stat: "pid (comm) state ppid pgrp session tty tpgid flags ...".
 * comm may hold spaces and parentheses, so the fields start after the last ')'. */
int procfs_parse_stat(const char *text, long ticks_per_sec, procfs_task *task) {
        unsigned long long utime, stime, starttime, rss;
        const char *open, *close;
        int pid, ppid, sid;
        unsigned flags;
        char state;
        size_t commlen;

        assert(text);
        assert(task);

        if (ticks_per_sec <= 0)
                return -EINVAL;
        open = strchr(text, '(');
        close = strrchr(text, ')');
        if (!open || !close || close < open)
                return -EINVAL;
        if (sscanf(text, "%d (", &pid) != 1 || pid <= 0)
                return -EINVAL;
        commlen = (size_t) (close - open - 1);
        if (commlen >= PROCFS_COMM_MAX)
                return -EINVAL;

        /* Fields 3..24, walked by hand: sscanf dominated the profile of
         * `memgovctl top` on a slice of thousands of tasks. */
        {
                unsigned long long f[25] = {};
                const char *p = close + 1;

                if (p[0] != ' ' || !p[1] || p[2] != ' ')
                        return -EINVAL;
                state = p[1];
                p += 3;
                for (int i = 4; i <= 24; i++) {
                        char *end;
                        bool neg = *p == '-';

                        errno = 0;
                        f[i] = strtoull(neg ? p + 1 : p, &end, 10);
                        if (end == (neg ? p + 1 : p) || errno == ERANGE || (*end != ' ' && *end != '\n' && *end))
                                return -EINVAL;
                        if (neg)
                                f[i] = (unsigned long long) -(long long) f[i];
                        if (i < 24 && *end != ' ')
                                return -EINVAL;
                        p = end + (*end == ' ');
                }
                ppid = (int) f[4];
                sid = (int) f[6];
                flags = (unsigned) f[9];
                utime = f[14];
                stime = f[15];
                starttime = f[22];
                rss = f[24];
        }

        memcpy(task->comm, open + 1, commlen);
        task->comm[commlen] = 0;
        task->pid = pid;
        task->ppid = ppid;
        task->sid = sid;
        task->state = state;
        task->flags = flags;
        task->cpu_usec = (utime + stime) * USEC_PER_SEC / (unsigned long long) ticks_per_sec;
        task->start_time = starttime;
        task->rss_bytes = rss * page_size();
        task->kernel_thread = flags & PF_KTHREAD_FLAG;
        task->exiting = (flags & PF_EXITING_FLAG) || procfs_state_is_dead(state);
        return 0;
}

/* "VmSwap:\t    1234 kB" -> bytes. */
static int parse_kb(const char *value, uint64_t *ret) {
        unsigned long long kb;
        char *end;

        while (*value == ' ' || *value == '\t')
                value++;
        if (*value < '0' || *value > '9')
                return -EINVAL;
        errno = 0;
        kb = strtoull(value, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (strncmp(end, " kB", 3) != 0 || (end[3] != 0 && end[3] != '\n'))
                return -EINVAL;
        if (kb > UINT64_MAX / 1024)
                return -ERANGE;
        *ret = kb * 1024;
        return 0;
}

/* The value after "Key:" if LINE starts with it, else NULL. */
static const char *status_value(const char *line, const char *key, size_t keylen) {
        if (strncmp(line, key, keylen) != 0)
                return NULL;
        return line + keylen;
}

int procfs_parse_status(const char *text, procfs_task *task) {
        bool seen_uid = false, seen_tgid = false;
        const char *p = text;

        assert(text);
        assert(task);

        task->swap_bytes = 0;
        task->pgtables_bytes = 0;

        /* This runs for every task of a slice on a machine in trouble: look
         * only at the lines we need, in place, without copying. */
        for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
                const char *v;
                int r = 0;

                switch (p[0]) {
                case 'U':
                        if ((v = status_value(p, "Uid:", 4))) {
                                unsigned ruid, euid;
                                /* Real, effective, saved, fs: "owned by" means effective,
                                 * so root's su in the user's session counts as root's. */
                                if (sscanf(v, " %u %u", &ruid, &euid) != 2)
                                        return -EINVAL;
                                task->uid = euid;
                                seen_uid = true;
                        }
                        break;
                case 'T':
                        if ((v = status_value(p, "Tgid:", 5))) {
                                int tgid;
                                if (sscanf(v, " %d", &tgid) != 1 || tgid <= 0)
                                        return -EINVAL;
                                task->tgid = tgid;
                                seen_tgid = true;
                        }
                        break;
                case 'V':
                        if ((v = status_value(p, "VmSwap:", 7)))
                                r = parse_kb(v, &task->swap_bytes);
                        else if ((v = status_value(p, "VmPTE:", 6)))
                                r = parse_kb(v, &task->pgtables_bytes);
                        break;
                }
                if (r < 0)
                        return r;
        }
        return seen_uid && seen_tgid ? 0 : -EINVAL;
}

int procfs_parse_oom_score_adj(const char *text, int *ret) {
        int v, r;

        assert(text);
        assert(ret);

        r = parse_int(text, &v);
        if (r < 0)
                return r;
        if (v < -1000 || v > 1000)
                return -ERANGE;
        *ret = v;
        return 0;
}

int procfs_parse_meminfo(const char *text, procfs_meminfo *ret) {
        procfs_meminfo m = {};
        bool seen_total = false;
        const char *p = text;

        assert(text);
        assert(ret);

        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                const char *colon = memchr(p, ':', len);
                uint64_t *dst = NULL;

                if (!colon)
                        return -EINVAL;
#define KEY(k) ((size_t) (colon - p) == strlen(k) && memcmp(p, k, strlen(k)) == 0)
                if (KEY("MemTotal")) {
                        dst = &m.mem_total;
                        seen_total = true;
                } else if (KEY("MemAvailable"))
                        dst = &m.mem_available;
                else if (KEY("SwapTotal"))
                        dst = &m.swap_total;
                else if (KEY("SwapFree"))
                        dst = &m.swap_free;
#undef KEY
                if (dst) {
                        char value[64];
                        size_t vlen = len - (size_t) (colon + 1 - p);
                        int r;
                        if (vlen >= sizeof value)
                                return -EINVAL;
                        memcpy(value, colon + 1, vlen);
                        value[vlen] = 0;
                        r = parse_kb(value, dst);
                        if (r < 0)
                                return r;
                }
                if (!eol)
                        break;
                p = eol + 1;
        }
        if (!seen_total)
                return -EINVAL;
        *ret = m;
        return 0;
}

static int errno_to_gone(int r) {
        /* The task exited between listing and reading: not an error for callers. */
        return r == -ENOENT || r == -ESRCH ? -ESRCH : r;
}

static long ticks(void) {
        static long cached;

        if (!cached) {
                cached = sysconf(_SC_CLK_TCK);
                if (cached <= 0)
                        cached = 100;
        }
        return cached;
}

static int open_pid_dir(int procfs_fd, pid_t pid) {
        char name[16];
        int fd;

        if (pid <= 0)
                return -EINVAL;
        snprintf(name, sizeof name, "%d", (int) pid);
        /* Files read through this fd belong to this very task, or fail with
         * ESRCH once it is gone: a recycled pid can't slip in between reads. */
        fd = openat(procfs_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? errno_to_gone(-errno) : fd;
}

static int read_stat_at(int piddir, procfs_task *t) {
        char buf[PROCFS_STAT_MAX];
        int r;

        r = read_file_at(piddir, "stat", buf, sizeof buf, NULL);
        if (r < 0)
                return errno_to_gone(r);
        return procfs_parse_stat(buf, ticks(), t);
}

/* Opens /proc/PID and reads its stat: the first step of both readers.
 * Returns the pid dir fd, which the caller closes. */
static int open_and_read_stat(int procfs_fd, pid_t pid, procfs_task *t) {
        _cleanup_close_ int piddir = -1;
        int r;

        piddir = open_pid_dir(procfs_fd, pid);
        if (piddir < 0)
                return piddir;
        r = read_stat_at(piddir, t);
        if (r < 0)
                return r;
        if (t->pid != pid)
                return -EINVAL;
        return take_fd(&piddir);
}

int procfs_read_stat(int procfs_fd, pid_t pid, procfs_task *ret) {
        _cleanup_close_ int piddir = -1;
        procfs_task t = {};

        assert(ret);

        piddir = open_and_read_stat(procfs_fd, pid, &t);
        if (piddir < 0)
                return piddir;
        *ret = t;
        return 0;
}

/* The whole of /proc/PID/status, however long: VmSwap and VmPTE come
 * after the Groups line. */
static int read_status_at(int dirfd, const char *path, procfs_task *t) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *big = NULL;
        char buf[PROCFS_STATUS_SMALL];
        int r;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno_to_gone(-errno);
        r = read_fd(fd, buf, sizeof buf, NULL);
        if (r == -EFBIG) {
                r = read_full_fd(fd, PROCFS_STATUS_MAX, &big, NULL);
                if (r < 0)
                        return errno_to_gone(r);
                return procfs_parse_status(big, t);
        }
        if (r < 0)
                return errno_to_gone(r);
        return procfs_parse_status(buf, t);
}

/* The main thread of a process may exit (pthread_exit) while other
 * threads go on: its stat then says Z with rss 0 and its status has no
 * Vm lines, yet the process holds all its memory. Like the kernel's
 * find_lock_task_mm(), take the memory figures from a live thread.
 * Returns 1 when one was found, 0 when none is alive. */
static int read_live_thread(int piddir, procfs_task *t) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned seen = 0;
        int fd;

        fd = openat(piddir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno_to_gone(-errno);
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        while ((de = readdir(d)) && seen++ < PROCFS_THREADS_MAX) {
                char path[64];
                procfs_task th = {};
                uint64_t tid;

                if (parse_u64(de->d_name, &tid) < 0 || tid == 0 || tid > INT32_MAX || (pid_t) tid == t->pid)
                        continue;
                snprintf(path, sizeof path, "%d/stat", (int) tid);
                {
                        char buf[PROCFS_STAT_MAX];
                        if (read_file_at(dirfd(d), path, buf, sizeof buf, NULL) < 0 ||
                            procfs_parse_stat(buf, ticks(), &th) < 0)
                                continue;   /* that thread exited meanwhile */
                }
                if (th.exiting)
                        continue;
                snprintf(path, sizeof path, "%d/status", (int) tid);
                if (read_status_at(dirfd(d), path, &th) < 0 || th.tgid != t->pid)
                        continue;
                /* The process keeps its identity (pid, comm, start time, cpu
                 * of the whole group): only the liveness and memory are the
                 * thread's, which shares the process's mm. */
                t->state = th.state;
                t->flags = th.flags;
                t->exiting = false;
                t->rss_bytes = th.rss_bytes;
                t->swap_bytes = th.swap_bytes;
                t->pgtables_bytes = th.pgtables_bytes;
                return 1;
        }
        return 0;
}

int procfs_read_task(int procfs_fd, pid_t pid, procfs_task *ret) {
        _cleanup_close_ int piddir = -1;
        char buf[64];
        procfs_task t = {};
        int r;

        assert(ret);

        piddir = open_and_read_stat(procfs_fd, pid, &t);
        if (piddir < 0)
                return piddir;

        r = read_status_at(piddir, "status", &t);
        if (r < 0)
                return r;

        if (t.exiting && t.tgid == t.pid && !t.kernel_thread) {
                r = read_live_thread(piddir, &t);
                if (r < 0)
                        return r;
        }

        r = read_file_at(piddir, "oom_score_adj", buf, sizeof buf, NULL);
        if (r < 0)
                return errno_to_gone(r);
        r = procfs_parse_oom_score_adj(buf, &t.oom_score_adj);
        if (r < 0)
                return r;

        *ret = t;
        return 0;
}

int procfs_read_meminfo(int procfs_fd, procfs_meminfo *ret) {
        char buf[8192];
        int r;

        r = read_file_at(procfs_fd, "meminfo", buf, sizeof buf, NULL);
        if (r < 0)
                return r;
        return procfs_parse_meminfo(buf, ret);
}

int procfs_read_cgroup(int procfs_fd, pid_t pid, char *buf, size_t size) {
        char path[32], text[4096];
        const char *p;
        int r;

        assert(buf);

        snprintf(path, sizeof path, "%d/cgroup", (int) pid);
        r = read_file_at(procfs_fd, path, text, sizeof text, NULL);
        if (r < 0)
                return errno_to_gone(r);
        /* On hybrid hosts the file has one line per v1 hierarchy; we want "0::". */
        for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                if (strncmp(p, "0::/", 4) == 0) {
                        const char *start = p + 4;
                        size_t len = strcspn(start, "\n");
                        if (len >= size)
                                return -ENAMETOOLONG;
                        memcpy(buf, start, len);
                        buf[len] = 0;
                        return 0;
                }
        }
        return -ENODATA;
}

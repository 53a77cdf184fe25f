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

/* The caches below are read by several readers at once (snapshot.c):
 * each computes the same value, so relaxed atomics are all they need. */
static uint64_t page_size(void) {
        static uint64_t cached;
        uint64_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

        if (!v) {
                long l = sysconf(_SC_PAGESIZE);
                v = l > 0 ? (uint64_t) l : 4096;
                __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
        }
        return v;
}

bool procfs_state_is_dead(char state) {
        return state == 'Z' || state == 'X' || state == 'x';
}

/* /proc/PID/stat: "pid (comm) state ppid pgrp session tty tpgid flags ...".
 * comm may hold spaces and parentheses, so the fields start after the last ')'. */
int procfs_parse_stat(const char *text, long ticks_per_sec, procfs_task *task) {
        unsigned long long utime, stime, starttime, rss;
        const char *open, *close;
        int pid, ppid, pgrp, sid;
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
        {
                char *end;
                long v;

                errno = 0;
                v = strtol(text, &end, 10);
                if (end == text || errno == ERANGE || v <= 0 || v > INT32_MAX || *end != ' ' || end + 1 != open)
                        return -EINVAL;
                pid = (int) v;
        }
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
                pgrp = (int) f[5];
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
        task->pgrp = pgrp;
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

/* One decimal number after blanks, as sscanf(" %u") reads it, without
 * sscanf's cost on every task of a big slice. Returns the end, or NULL. */
static const char *status_number(const char *v, unsigned long *ret) {
        unsigned long n;
        char *end;

        while (*v == ' ' || *v == '\t')
                v++;
        if (*v < '0' || *v > '9')
                return NULL;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno == ERANGE || n > UINT32_MAX)
                return NULL;
        *ret = n;
        return end;
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
        while (*p) {
                const char *v, *eol;
                unsigned long n;
                int r = 0;

                switch (p[0]) {
                case 'U':
                        if ((v = status_value(p, "Uid:", 4))) {
                                /* Real, effective, saved, fs: "owned by" means effective,
                                 * so root's su in the user's session counts as root's. */
                                if (!(v = status_number(v, &n)) || !status_number(v, &n))
                                        return -EINVAL;
                                task->uid = (uid_t) n;
                                seen_uid = true;
                        }
                        break;
                case 'T':
                        if ((v = status_value(p, "Tgid:", 5))) {
                                if (!status_number(v, &n) || n == 0 || n > INT32_MAX)
                                        return -EINVAL;
                                task->tgid = (pid_t) n;
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
                eol = strchr(p, '\n');
                if (!eol)
                        break;
                p = eol + 1;
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
        long v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

        if (!v) {
                v = sysconf(_SC_CLK_TCK);
                if (v <= 0)
                        v = 100;
                __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
        }
        return v;
}

/* "PID/" into BUF, which holds at least PID_PATH_MAX bytes; returns its length. */
#define PID_PATH_MAX 64
static size_t format_pid_dir(char *buf, pid_t pid) {
        char digits[12];
        size_t n = 0, len = 0;

        /* By hand: snprintf was a visible share of reading a task. */
        for (unsigned v = (unsigned) pid; v > 0 || n == 0; v /= 10)
                digits[n++] = (char) ('0' + v % 10);
        while (n > 0)
                buf[len++] = digits[--n];
        buf[len++] = '/';
        buf[len] = 0;
        return len;
}

/* PID/NAME under the procfs root. */
static int open_pid_file(int procfs_fd, pid_t pid, const char *name) {
        char path[PID_PATH_MAX];
        size_t len, namelen = strlen(name);
        int fd;

        assert(pid > 0);
        len = format_pid_dir(path, pid);
        assert(len + namelen < sizeof path);
        memcpy(path + len, name, namelen + 1);
        fd = openat(procfs_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? errno_to_gone(-errno) : fd;
}

static int read_stat_fd(int fd, pid_t pid, procfs_task *t) {
        char buf[PROCFS_STAT_MAX];
        int r;

        r = read_fd(fd, buf, sizeof buf, NULL);
        if (r < 0)
                return errno_to_gone(r);
        r = procfs_parse_stat(buf, ticks(), t);
        if (r < 0)
                return r;
        return t->pid == pid ? 0 : -EINVAL;
}

int procfs_read_stat(int procfs_fd, pid_t pid, procfs_task *ret) {
        _cleanup_close_ int fd = -1;
        procfs_task t = {};
        int r;

        assert(ret);

        if (pid <= 0)
                return -EINVAL;
        fd = open_pid_file(procfs_fd, pid, "stat");
        if (fd < 0)
                return fd;
        r = read_stat_fd(fd, pid, &t);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

/* The whole of /proc/PID/status, however long: VmSwap and VmPTE come
 * after the Groups line. */
static int read_status_fd(int fd, procfs_task *t) {
        _cleanup_free_ char *big = NULL;
        char buf[PROCFS_STATUS_SMALL];
        int r;

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

static int read_status_at(int dirfd, const char *path, procfs_task *t) {
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno_to_gone(-errno);
        return read_status_fd(fd, t);
}

/* The main thread of a process may exit (pthread_exit) while other
 * threads go on: its stat then says Z with rss 0 and its status has no
 * Vm lines, yet the process holds all its memory. Like the kernel's
 * find_lock_task_mm(), take the memory figures from a live thread.
 * Returns 1 when one was found, 0 when none is alive. */
static int read_live_thread(int procfs_fd, procfs_task *t) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned seen = 0;
        int fd;

        fd = open_pid_file(procfs_fd, t->pid, "task");
        if (fd < 0)
                return fd;
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
        _cleanup_close_ int stat_fd = -1, status_fd = -1, adj_fd = -1;
        char buf[64];
        procfs_task t = {};
        int r;

        assert(ret);

        if (pid <= 0)
                return -EINVAL;
        /* All three files are opened before any is read. Each open finds the
         * task that holds PID at that moment; for a later open to find
         * another task, the first must have been reaped, and a read of a
         * file whose task is reaped fails with ESRCH. So the figures read
         * below are one task's, or the task counts as gone, without the
         * open and close of /proc/PID itself on every task. */
        stat_fd = open_pid_file(procfs_fd, pid, "stat");
        if (stat_fd < 0)
                return stat_fd;
        status_fd = open_pid_file(procfs_fd, pid, "status");
        if (status_fd < 0)
                return status_fd;
        adj_fd = open_pid_file(procfs_fd, pid, "oom_score_adj");
        if (adj_fd < 0)
                return adj_fd;

        r = read_stat_fd(stat_fd, pid, &t);
        if (r < 0)
                return r;
        r = read_status_fd(status_fd, &t);
        if (r < 0)
                return r;
        if (t.exiting && t.tgid == t.pid && !t.kernel_thread) {
                /* Opened after the three files: oom_score_adj, read last,
                 * fails if this found a new task under the same pid. */
                r = read_live_thread(procfs_fd, &t);
                if (r < 0)
                        return r;
        }

        r = read_fd(adj_fd, buf, sizeof buf, NULL);
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

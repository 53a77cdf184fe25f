/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Readers for /proc, relative to a procfs root dir fd. Only the files the
 * policy needs are read, and only for pids the caller names: memgov never
 * scans all of /proc, because it runs on a machine in trouble. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_COMM_MAX 16   /* TASK_COMM_LEN */

typedef struct procfs_task {
        pid_t pid, ppid, tgid, sid;
        pid_t pgrp;                    /* process group: the shell job the task belongs to */
        uid_t uid;                     /* effective uid */
        char comm[PROCFS_COMM_MAX];
        char state;                    /* R S D Z T t X I ... */
        unsigned flags;                /* PF_* from /proc/PID/stat */
        uint64_t rss_bytes;            /* get_mm_rss(): anon + file + shmem */
        uint64_t swap_bytes;
        uint64_t pgtables_bytes;
        uint64_t cpu_usec;             /* utime + stime */
        uint64_t start_time;           /* clock ticks after boot: identity with pid */
        int oom_score_adj;
        bool kernel_thread;
        bool exiting;                  /* PF_EXITING or zombie/dead */
} procfs_task;

typedef struct procfs_meminfo {
        uint64_t mem_total, mem_available, swap_total, swap_free;   /* bytes */
} procfs_meminfo;

#define PF_EXITING_FLAG 0x00000004U
#define PF_KTHREAD_FLAG 0x00200000U

/* Parsers, exposed for tests. ticks_per_sec converts utime/stime. */
int procfs_parse_stat(const char *text, long ticks_per_sec, procfs_task *task);
int procfs_parse_status(const char *text, procfs_task *task);
int procfs_parse_meminfo(const char *text, procfs_meminfo *ret);
/* -1000..1000, else -ERANGE. */
int procfs_parse_oom_score_adj(const char *text, int *ret);

/* Reads stat, status and oom_score_adj of one task. -ESRCH when the task
 * vanished (or turned out to be a different one mid-read): callers skip it. */
int procfs_read_task(int procfs_fd, pid_t pid, procfs_task *ret);
/* Only stat: the cheap identity (start_time) and state check. */
int procfs_read_stat(int procfs_fd, pid_t pid, procfs_task *ret);
int procfs_read_meminfo(int procfs_fd, procfs_meminfo *ret);
/* The unified-hierarchy line of /proc/PID/cgroup, without the leading "0::/". */
int procfs_read_cgroup(int procfs_fd, pid_t pid, char *buf, size_t size);
/* True when the task's "state" letter means it will never run user code again. */
bool procfs_state_is_dead(char state);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Fake cgroupfs and procfs trees in temp dirs, for the readers' tests. */

#include <sys/types.h>

/* Creates an empty temp dir; returns its malloc'ed path. Aborts on failure. */
char *tmptree_new(void);
/* Writes CONTENT to ROOT/RELPATH, creating parent dirs. Aborts on failure. */
void tmptree_write(const char *root, const char *relpath, const char *content);
void tmptree_writef(const char *root, const char *relpath, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void tmptree_mkdir(const char *root, const char *relpath);
/* Opens ROOT as a dir fd (O_DIRECTORY|O_CLOEXEC). */
int tmptree_open(const char *root);
/* rm -rf ROOT and free it. */
void tmptree_free(char *root);

/* A fake /proc/PID with stat, status and oom_score_adj as the kernel writes them. */
typedef struct fake_task {
        pid_t pid, ppid, sid;
        pid_t pgrp;                      /* 0: the task leads its own group */
        unsigned uid;
        const char *comm;
        char state;
        unsigned flags;
        unsigned long rss_kb, swap_kb, pte_kb;
        unsigned long utime, stime;      /* ticks */
        unsigned long long start_time;   /* ticks */
        int oom_score_adj;
} fake_task;

void tmptree_add_task(const char *procroot, const fake_task *t);
